//! The API's errors, each answered as a JSON object with the status that says whose fault it is.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A path or query parameter is malformed (an address, a hash, a page size).
    #[error("{what} is malformed: {why}")]
    BadParameter {
        /// Which parameter.
        what: &'static str,
        /// What is wrong with it.
        why: String,
    },
    /// The body is larger than the API reads for this route.
    #[error("the body is larger than {max} bytes")]
    TooLarge {
        /// The limit, in bytes.
        max: usize,
    },
    /// The body does not hash to the key it is stored under.
    #[error("the body's SHA-256 is {actual}, not the key {expected}")]
    HashMismatch {
        /// The key in the path.
        expected: String,
        /// What the body hashes to.
        actual: String,
    },
    /// The body is not one signed Ethereum transaction.
    #[error("not a signed transaction: {0}")]
    BadTransaction(String),
    /// The body is not the JSON the route takes.
    #[error("the body is not the expected JSON: {0}")]
    BadJson(String),
    /// Nothing is stored under the key, or no such route.
    #[error("{0}")]
    NotFound(String),
    /// Something else is stored under the key and is not replaced.
    #[error("{0}")]
    Conflict(String),
    /// The node refused a relayed transaction (a wrong nonce, too low a fee, a revert…).
    #[error("the node refused the transaction: {0}")]
    Refused(String),
    /// Governance's verification refuses a TEE's evidence: why, in words.
    #[error("{0}")]
    AdmissionRefused(String),
    /// A call would revert: the contract's error, decoded.
    #[error("{0}")]
    Reverted(String),
    /// The chain could not be read.
    #[error("reading the chain: {0}")]
    Chain(#[from] medshare_chain::Error),
    /// The ledger could not be reached.
    #[error("reaching the node: {0}")]
    Ledger(#[from] medshare_ledger::Error),
    /// The store failed.
    #[error("the store: {0}")]
    Store(medshare_storage::Error),
}

/// The JSON body of every error.
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What went wrong and why.
    pub error: String,
    /// What to do about it, when there is something to do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Error {
    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadParameter { .. } | Self::BadTransaction(_) | Self::BadJson(_) => {
                StatusCode::BAD_REQUEST
            }
            Self::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::HashMismatch { .. }
            | Self::Refused(_)
            | Self::Reverted(_)
            | Self::AdmissionRefused(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Chain(_) | Self::Ledger(_) | Self::Store(_) => StatusCode::BAD_GATEWAY,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            Self::HashMismatch { .. } => {
                Some("PUT the object under the hex SHA-256 of its exact bytes".into())
            }
            Self::BadTransaction(_) => Some(
                "send {\"raw\": \"0x…\"}: the EIP-2718 encoding of a signed transaction".into(),
            ),
            Self::Reverted(_) => Some("the contract refuses this call: nothing was sent".into()),
            Self::AdmissionRefused(_) => Some(
                "do not admit this TEE: its evidence does not pass governance's verification"
                    .into(),
            ),
            Self::TooLarge { .. } => Some("a record's ciphertext is at most about 1 MiB".into()),
            Self::Chain(_) | Self::Ledger(_) => {
                Some("is the node running and the deployment file right?".into())
            }
            _ => None,
        }
    }
}

impl From<medshare_storage::Error> for Error {
    fn from(e: medshare_storage::Error) -> Self {
        match e {
            medshare_storage::Error::NotFound { key, .. } => {
                Self::NotFound(format!("no object {key}"))
            }
            medshare_storage::Error::TooLarge { max, .. } => Self::TooLarge {
                max: usize::try_from(max).unwrap_or(usize::MAX),
            },
            other => Self::Store(other),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(error = %self, "request failed");
        }
        let body = ErrorBody {
            error: self.to_string(),
            hint: self.hint(),
        };
        (status, Json(body)).into_response()
    }
}
