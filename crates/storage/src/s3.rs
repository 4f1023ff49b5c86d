//! [`S3Store`]: any S3-compatible object store, through the `object_store` crate.

use crate::{Error, Key, MAX_OBJECT_BYTES, Result, Store, check_size, check_sizes};
use object_store::{
    ObjectStoreExt, PutPayload, RetryConfig,
    aws::{AmazonS3, AmazonS3Builder},
    client::{HttpError, HttpErrorKind},
    path::Path,
};
use std::time::Duration;

/// How long a request is retried (with exponential backoff) before its error is returned, by
/// default: long enough to ride out a restart of the service, short enough that a job whose
/// store is down stops within a minute.
pub const DEFAULT_RETRY_TIMEOUT: Duration = Duration::from_secs(30);

/// Where an S3 bucket is and how to reach it.
#[derive(Clone)]
pub struct S3Config {
    /// The bucket.
    pub bucket: String,
    /// The service endpoint, e.g. `http://127.0.0.1:3900` for a local Garage; `None` for AWS.
    pub endpoint: Option<String>,
    /// The region (`garage` for Garage's default).
    pub region: String,
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
    /// How long a failing request is retried before its error is returned
    /// ([`DEFAULT_RETRY_TIMEOUT`]; `MEDSHARE_S3_RETRY_SECONDS`).
    pub retry_timeout: Duration,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        f.debug_struct("S3Config")
            .field("bucket", &self.bucket)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

impl S3Config {
    /// The bucket `bucket` with the endpoint, region and credentials from the environment:
    /// `MEDSHARE_S3_ENDPOINT` (or `AWS_ENDPOINT_URL`), `AWS_REGION` (default `us-east-1`),
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, and `MEDSHARE_S3_RETRY_SECONDS` (default
    /// [`DEFAULT_RETRY_TIMEOUT`]).
    pub fn from_env(bucket: &str) -> Result<Self> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let need = |name: &str| {
            var(name).ok_or_else(|| {
                Error::Config(format!("s3://{bucket} needs {name} in the environment"))
            })
        };
        if bucket.is_empty() {
            return Err(Error::Config("s3:// needs a bucket name".into()));
        }
        Ok(Self {
            bucket: bucket.to_owned(),
            endpoint: var("MEDSHARE_S3_ENDPOINT").or_else(|| var("AWS_ENDPOINT_URL")),
            region: var("AWS_REGION").unwrap_or_else(|| "us-east-1".into()),
            access_key_id: need("AWS_ACCESS_KEY_ID")?,
            secret_access_key: need("AWS_SECRET_ACCESS_KEY")?,
            retry_timeout: match var("MEDSHARE_S3_RETRY_SECONDS") {
                None => DEFAULT_RETRY_TIMEOUT,
                Some(v) => Duration::from_secs(v.parse().map_err(|_| {
                    Error::Config(format!(
                        "MEDSHARE_S3_RETRY_SECONDS must be a whole number of seconds, not {v:?}"
                    ))
                })?),
            },
        })
    }
}

/// PUT requests in flight at once in [`Store::put_many`].
const CONCURRENT_PUTS: usize = 16;

/// A bucket of an S3-compatible service.
#[derive(Debug)]
pub struct S3Store {
    inner: AmazonS3,
    describe: String,
}

impl S3Store {
    /// Connects (lazily: no request is made until the first operation).
    pub fn new(config: S3Config) -> Result<Self> {
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&config.bucket)
            .with_region(&config.region)
            .with_access_key_id(&config.access_key_id)
            .with_secret_access_key(&config.secret_access_key)
            .with_retry(RetryConfig {
                retry_timeout: config.retry_timeout,
                ..RetryConfig::default()
            });
        if let Some(endpoint) = &config.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"))
                .with_virtual_hosted_style_request(false);
        }
        let inner = builder.build().map_err(|e| Error::Config(e.to_string()))?;
        let describe = match &config.endpoint {
            Some(e) => format!("s3://{} at {e}", config.bucket),
            None => format!("s3://{}", config.bucket),
        };
        Ok(Self { inner, describe })
    }

    fn io(&self, op: &'static str, key: &Key, e: object_store::Error) -> Error {
        match e {
            object_store::Error::NotFound { .. } => Error::NotFound {
                key: key.to_string(),
                store: self.describe.clone(),
            },
            other if unreachable(&other) => Error::Unavailable {
                store: self.describe.clone(),
                reason: other.to_string(),
            },
            other => Error::Io {
                store: self.describe.clone(),
                op,
                key: key.to_string(),
                reason: other.to_string(),
            },
        }
    }
}

/// Whether `e` says the service could not be reached at all (connecting, sending the request or
/// waiting for the answer failed, after the retries), as opposed to an answer about one object
/// (a 4xx, or a 5xx that outlasted the retries).
fn unreachable(e: &object_store::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(http) = s.downcast_ref::<HttpError>() {
            return matches!(
                http.kind(),
                HttpErrorKind::Connect
                    | HttpErrorKind::Request
                    | HttpErrorKind::Timeout
                    | HttpErrorKind::Interrupted
            );
        }
        source = s.source();
    }
    false
}

#[async_trait::async_trait]
impl Store for S3Store {
    async fn put(&self, key: &Key, bytes: Vec<u8>) -> Result<()> {
        check_size(key, bytes.len() as u64, MAX_OBJECT_BYTES)?;
        self.inner
            .put(&Path::from(key.as_str()), PutPayload::from(bytes))
            .await
            .map(|_| ())
            .map_err(|e| self.io("put", key, e))
    }

    async fn put_many(&self, objects: Vec<(Key, Vec<u8>)>) -> Result<()> {
        check_sizes(&objects)?;
        let mut objects = objects.into_iter();
        loop {
            let mut requests = tokio::task::JoinSet::new();
            for (key, bytes) in objects.by_ref().take(CONCURRENT_PUTS) {
                let inner = self.inner.clone();
                requests.spawn(async move {
                    let path = Path::from(key.as_str());
                    let put = inner.put(&path, PutPayload::from(bytes)).await;
                    (key, put)
                });
            }
            if requests.is_empty() {
                return Ok(());
            }
            while let Some(done) = requests.join_next().await {
                let (key, put) =
                    done.map_err(|e| Error::Config(format!("storage task failed: {e}")))?;
                put.map_err(|e| self.io("put", &key, e))?;
            }
        }
    }

    async fn get_at_most(&self, key: &Key, max: u64) -> Result<Vec<u8>> {
        let result = self
            .inner
            .get(&Path::from(key.as_str()))
            .await
            .map_err(|e| self.io("get", key, e))?;
        // The size is the response's Content-Length (object_store refuses a response without
        // one), known before the body is read; the HTTP client reads no more body than that.
        // Dropping an unread response closes its connection.
        check_size(key, result.meta.size, max.min(MAX_OBJECT_BYTES))?;
        let bytes = result.bytes().await.map_err(|e| self.io("get", key, e))?;
        Ok(bytes.to_vec())
    }

    fn describe(&self) -> String {
        self.describe.clone()
    }
}
