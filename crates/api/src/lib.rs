//! The HTTP API behind `medshare serve` and its web app.
//!
//! # What this crate owns
//!
//! [`router`] builds the axum [`Router`] of a JSON API over one medshare deployment, described
//! by an OpenAPI document generated from this code ([`ApiDoc`], served at `/api/openapi.json`):
//!
//! * **Chain state for the pages** — the deployment and chain ([`routes::info`]), an account's
//!   nonce ([`routes::account`]), a patient's records with their privacy budgets
//!   ([`routes::records_of_owner`]), the jobs and their status ([`routes::jobs`],
//!   [`routes::job`]), a patient's audit trail ([`routes::audit_of_owner`]).
//! * **Read-only calls** of the deployment's contracts ([`routes::call`]): views the pages read
//!   (grants, rules, budgets) and a transaction tried before the browser signs it, with the
//!   contract's error decoded; the TEEs and their keys ([`routes::tees`]).
//! * **A TEE's admission verified** ([`routes::tee_admission`]): its submitted key and evidence
//!   checked by governance's own verifier (`medshare_parties::governance::verify_admission`)
//!   with this deployment's expectations, answering what governance's browser then signs into
//!   `Registration.admitTee`, or why it must not.
//! * **A relay** for transactions the browser has already signed ([`routes::send_transaction`]):
//!   a body that is not one signed EIP-2718 transaction is refused before the node sees it.
//! * **Content-addressed ciphertext** ([`routes::put_record_object`], [`routes::put_result_object`]
//!   and their `GET`s): an object is stored only under the SHA-256 of its body, and only up to
//!   the size the TEE's host would fetch. A record's TD_i and US_i ([`routes::put_record_meta`])
//!   only when the owner's signature over the Record verifies and the Record names that
//!   ciphertext, never over another owner's.
//!
//! Every error is a JSON object `{"error": …, "hint": …}` with a status that says whose fault it
//! is ([`Error`]).
//!
//! It also serves the web app's pages (`/`, `/assets/…`), built from `web/` and embedded in the
//! binary.
//!
//! # What it never sees
//!
//! A private key, a data key or a plaintext value: the browser signs transactions and encrypts
//! records itself; this API reads public chain state, forwards signed bytes, and stores bytes
//! that are ciphertext to it. It holds no wallet that signs (the [`ContractClient`] it is given is
//! used for views only).
//!
//! # What it does not do (yet)
//!
//! Store a result's signature object (the TEE's host stores it; [`routes::get_result_meta`]
//! reads it).

#![forbid(unsafe_code)]

mod app;
mod error;
pub mod routes;
pub mod types;

pub use error::{Error, ErrorBody};

use axum::{
    Router,
    routing::{get, post},
};
use medshare_chain::ContractClient;
use medshare_storage::Store;
use std::sync::Arc;
use utoipa::OpenApi;

/// The largest request body the API reads: a record ciphertext at the TEE host's bound
/// ([`medshare_parties::tee::MAX_CIPHERTEXT_BYTES`]); transactions and JSON are far smaller.
pub const MAX_BODY_BYTES: usize = medshare_parties::tee::MAX_CIPHERTEXT_BYTES;

/// The largest signed transaction the relay forwards (128 KiB: geth's `txMaxSize`).
pub const MAX_TRANSACTION_BYTES: usize = 128 * 1024;

/// The largest record metadata object (TD_i and US_i as JSON) the API stores.
pub const MAX_META_BYTES: usize = 64 * 1024;

/// The largest collateral body `POST /api/tees/{address}/admission` reads (256 KiB: Intel's
/// collateral for one quote is about 20 KiB).
pub const MAX_COLLATERAL_BYTES: usize = 256 * 1024;

/// The most items one page of a list returns.
pub const MAX_PAGE: usize = 500;

/// What the handlers share: the deployment (read through a client that never signs) and the
/// store.
#[derive(Clone)]
pub struct Api {
    chain: ContractClient,
    store: Arc<dyn Store>,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("deployment", self.chain.deployment())
            .field("store", &self.store)
            .finish()
    }
}

impl Api {
    /// The API over `chain`'s deployment and `store`. `chain`'s wallet is never asked to sign:
    /// give it a throwaway key.
    pub fn new(chain: ContractClient, store: Arc<dyn Store>) -> Self {
        Self { chain, store }
    }
}

/// The OpenAPI document of the API (served at `/api/openapi.json`).
#[derive(OpenApi)]
#[openapi(
    info(
        title = "medshare API",
        description = "Chain state, a relay for signed transactions and content-addressed \
                       ciphertext for medshare's web app. It never receives a private key, a \
                       data key or a plaintext value."
    ),
    paths(
        routes::info,
        routes::account,
        routes::records_of_owner,
        routes::jobs,
        routes::job,
        routes::audit_of_owner,
        routes::send_transaction,
        routes::receipt,
        routes::put_record_object,
        routes::get_record_object,
        routes::put_record_meta,
        routes::get_record_meta,
        routes::put_result_object,
        routes::get_result_object,
        routes::get_result_meta,
        routes::tees,
        routes::tee_admission,
        routes::tee_admission_with_collateral,
        routes::call,
    ),
    components(schemas(
        types::Info,
        types::Contracts,
        types::Account,
        types::RecordView,
        types::Budget,
        types::RecordPage,
        types::JobView,
        types::ResultView,
        types::JobPage,
        types::AuditEntry,
        types::AuditPage,
        types::SignedTransaction,
        types::TransactionAccepted,
        types::Receipt,
        types::ObjectStored,
        types::TeeView,
        types::TeePage,
        types::AdmissionView,
        types::CallRequest,
        types::CallResult,
        ErrorBody,
    ))
)]
pub struct ApiDoc;

/// The API's routes over `api`.
pub fn router(api: Api) -> Router {
    Router::new()
        .route("/", get(app::page))
        .route("/index.html", get(app::page))
        .route("/assets/{*file}", get(app::page))
        .route("/api/openapi.json", get(routes::openapi))
        .route("/api/info", get(routes::info))
        .route("/api/accounts/{address}", get(routes::account))
        .route("/api/owners/{owner}/records", get(routes::records_of_owner))
        .route("/api/owners/{owner}/audit", get(routes::audit_of_owner))
        .route("/api/tees", get(routes::tees))
        .route(
            "/api/tees/{address}/admission",
            get(routes::tee_admission).post(routes::tee_admission_with_collateral),
        )
        .route("/api/calls", post(routes::call))
        .route("/api/jobs", get(routes::jobs))
        .route("/api/jobs/{job}", get(routes::job))
        .route("/api/transactions", post(routes::send_transaction))
        .route("/api/transactions/{hash}/receipt", get(routes::receipt))
        .route(
            "/api/objects/records/{hash}",
            get(routes::get_record_object).put(routes::put_record_object),
        )
        .route(
            "/api/objects/records/{hash}/meta",
            get(routes::get_record_meta).put(routes::put_record_meta),
        )
        .route(
            "/api/objects/results/{hash}",
            get(routes::get_result_object).put(routes::put_result_object),
        )
        .route(
            "/api/objects/results/{hash}/meta",
            get(routes::get_result_meta),
        )
        .fallback(routes::not_found)
        .with_state(api)
}

/// Serves [`router`] on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    api: Api,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(api))
        .with_graceful_shutdown(shutdown)
        .await
}
