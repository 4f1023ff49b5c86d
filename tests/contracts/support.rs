//! Backends and assertions shared by the suite.

use medshare_testkit::{Backend, World};
use std::path::Path;

pub(crate) async fn embedded() -> Backend {
    Backend::embedded().await.expect("embedded chain")
}

pub(crate) async fn node() -> Backend {
    Backend::node(Path::new(env!("CARGO_BIN_EXE_medshare")))
        .await
        .expect("medshare node")
}

pub(crate) async fn anvil() -> Backend {
    Backend::anvil().await.expect("anvil")
}

/// A fresh deployment with one party of each role.
pub(crate) async fn world(backend: &Backend) -> World {
    World::new(backend).await.expect("deployment and parties")
}

/// The named custom error of a contract revert, looking through the harness's error.
fn revert_name(e: &(dyn std::error::Error + 'static)) -> Option<&'static str> {
    if let Some(medshare_chain::Error::Reverted { name, .. }) =
        e.downcast_ref::<medshare_chain::Error>()
    {
        return *name;
    }
    if let Some(medshare_testkit::Error::Chain(medshare_chain::Error::Reverted { name, .. })) =
        e.downcast_ref::<medshare_testkit::Error>()
    {
        return *name;
    }
    None
}

/// Asserts that `result` is a revert with the contract's custom error `expected`.
#[track_caller]
pub(crate) fn refused<T: std::fmt::Debug, E: std::error::Error + 'static>(
    result: Result<T, E>,
    expected: &str,
) {
    match result {
        Ok(v) => {
            panic!("expected the contract to refuse with {expected}, but the call succeeded: {v:?}")
        }
        Err(e) => assert_eq!(
            revert_name(&e),
            Some(expected),
            "expected {expected}, got: {e}"
        ),
    }
}

/// The privacy budget the suite's patients give their records: ε = 3 (three jobs of the
/// world's ε = 1).
pub(crate) const BUDGET: u32 = 3_000;
