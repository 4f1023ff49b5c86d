//! Setting up a deployment in one process, for demos, benchmarks and tests: deploy the five
//! contracts, enable the simulation backend for one enclave program, admit a TEE through the
//! same evidence check governance runs (`medshare governance admit-tee`), and register the
//! parties a job needs.
//!
//! One process then holds the admin's key, which no real deployment does (there, governance is
//! a set of institutions, each with its own key); the admission itself is the real one.
//!
//! The order every such run follows (`medshare demo`, `bench paper`, `tests/flow.rs`):
//!
//! ```text
//!  deploy_for_simulation(admin wallet, measurement)   contracts; simulation accepted; program allowlisted
//!  trust_anchors(&admin) → the enclave is sealed       (in process, or `medshare-enclave register`)
//!  host_tee(&admin, enclave, store)                    an in-process TEE submits PK_T and its evidence
//!  admit_and_register(&admin, tee, data type, rules)   governance admits it; rules; demander, reviewer
//!  patient(&admin, store) …                            patients with fresh keys
//! ```

use crate::{
    Result,
    demander::Demander,
    governance::{Admission, Governance},
    reviewer::Reviewer,
    tee::{TeeHost, sealers_of},
    user::Patient,
};
use alloy_primitives::{Address, B256};
use medshare_chain::{ContractClient, DataTypeRules, Wallet};
use medshare_crypto::Identity;
use medshare_enclave_api::{EnclaveApi, TrustAnchors};
use medshare_storage::Store;
use std::sync::Arc;

/// Deploys the contracts from `admin` (Registration's first admin), accepts simulated
/// evidence, and allowlists the enclave program whose measurement is `measurement`.
pub async fn deploy_for_simulation(admin: Wallet, measurement: B256) -> Result<ContractClient> {
    let chain = ContractClient::deploy(admin).await?;
    chain.set_accept_simulated(true).await?;
    chain.set_measurement_allowed(measurement, true).await?;
    Ok(chain)
}

/// Verifies `tee`'s submitted evidence against this chain (its sealers read from the node's
/// latest block) and admits it, as governance does.
pub async fn admit(admin: &ContractClient, tee: Address) -> Result<Admission> {
    let sealers = sealers_of(admin.ledger().as_ref()).await?;
    admit_with(admin, tee, &sealers).await
}

/// [`admit`] with the chain's sealers given (none for a node that signs no headers, whose
/// TEEs must use the unverified-header mode governance accepts explicitly).
pub async fn admit_with(
    admin: &ContractClient,
    tee: Address,
    sealers: &[Address],
) -> Result<Admission> {
    Governance::new(admin.clone())
        .admit(
            tee,
            sealers,
            None,
            crate::now(),
            &medshare_attestation::Policy::strict(),
        )
        .await
}

/// The trust anchors an enclave for `admin`'s deployment is sealed with: the chain id, the
/// deployment, and the sealer of the node's latest block.
pub async fn trust_anchors(admin: &ContractClient) -> Result<TrustAnchors> {
    Ok(TrustAnchors::sealed(
        admin.chain_id(),
        admin.deployment(),
        sealers_of(admin.ledger().as_ref()).await?,
    ))
}

/// Hosts `enclave` (sealed with [`trust_anchors`]) in this process, on `admin`'s ledger and
/// deployment, and submits its key and evidence (`Registration.submitTee`). It is active once
/// admitted ([`admit`], [`admit_and_register`]).
pub async fn host_tee(
    admin: &ContractClient,
    enclave: Box<dyn EnclaveApi>,
    store: Arc<dyn Store>,
) -> Result<TeeHost> {
    let tee = TeeHost::new(
        enclave,
        admin.ledger().clone(),
        Some(*admin.deployment()),
        store,
    )
    .await?;
    tee.register().await?;
    Ok(tee)
}

/// `identity`'s handle on `admin`'s deployment, through `admin`'s ledger.
pub async fn join(admin: &ContractClient, identity: &Identity) -> Result<ContractClient> {
    let wallet = Wallet::new(admin.ledger().clone(), identity.signer().clone()).await?;
    Ok(admin.as_party(wallet))
}

/// The parties a job needs besides the TEE and the patients.
pub struct Parties {
    /// A registered demander.
    pub demander: Demander,
    /// A reviewer governance appointed.
    pub reviewer: Reviewer,
}

/// Admits `tee` ([`admit`]), sets `data_type`'s rules, and registers a demander and appoints a
/// reviewer, each with a fresh key; the demander fetches results from `store`.
pub async fn admit_and_register(
    admin: &ContractClient,
    tee: Address,
    data_type: B256,
    rules: &DataTypeRules,
    store: Arc<dyn Store>,
) -> Result<Parties> {
    admit(admin, tee).await?;
    admin.set_data_type_rules(data_type, rules).await?;
    let demander_id = Identity::random();
    let demander_chain = join(admin, &demander_id).await?;
    let demander = Demander::new(demander_id, demander_chain, store);
    demander.register().await?;
    let reviewer_id = Identity::random();
    admin
        .appoint_reviewer(reviewer_id.public_key_uncompressed())
        .await?;
    let reviewer = Reviewer::new(join(admin, &reviewer_id).await?);
    Ok(Parties { demander, reviewer })
}

/// A patient with a fresh key, registered as a user; its ciphertexts go to `store`.
pub async fn patient(admin: &ContractClient, store: Arc<dyn Store>) -> Result<Patient> {
    let identity = Identity::random();
    let chain = join(admin, &identity).await?;
    let patient = Patient::new(identity, chain, store);
    patient.register().await?;
    Ok(patient)
}
