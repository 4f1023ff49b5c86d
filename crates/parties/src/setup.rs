//! Setting up a deployment in one process, for demos, benchmarks and tests: deploy the five
//! contracts, enable the simulation backend for one enclave program, and admit a TEE through the
//! same evidence check governance runs (`medshare governance admit-tee`).
//!
//! One process then holds the admin's key, which no real deployment does (there, governance is
//! a set of institutions, each with its own key); the admission itself is the real one.

use crate::{
    Result,
    governance::{Admission, Governance},
    tee::sealers_of,
};
use alloy_primitives::{Address, B256};
use medshare_chain::{Medshare, Wallet};

/// Deploys the contracts from `admin` (Registration's first admin), accepts simulated
/// evidence, and allowlists the enclave program whose measurement is `measurement`.
pub async fn deploy_for_simulation(admin: Wallet, measurement: B256) -> Result<Medshare> {
    let chain = Medshare::deploy(admin).await?;
    chain.set_accept_simulated(true).await?;
    chain.set_measurement_allowed(measurement, true).await?;
    Ok(chain)
}

/// Verifies `tee`'s submitted evidence against this chain (its sealers read from the node's
/// latest block) and admits it, as governance does.
pub async fn admit(admin: &Medshare, tee: Address) -> Result<Admission> {
    let sealers = sealers_of(admin.ledger().as_ref()).await?;
    admit_with(admin, tee, &sealers).await
}

/// [`admit`] with the chain's sealers given (none for a node that signs no headers, whose
/// TEEs must use the unverified-header mode governance accepts explicitly).
pub async fn admit_with(admin: &Medshare, tee: Address, sealers: &[Address]) -> Result<Admission> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Governance::new(admin.clone())
        .admit(
            tee,
            sealers,
            None,
            now,
            &medshare_attestation::Policy::strict(),
        )
        .await
}
