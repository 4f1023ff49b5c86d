//! `medshare governance …`: the admins' commands — measurements, what evidence is accepted,
//! admitting TEEs, data types' rules, reviewers, admins, revocation.

use super::{Party, epsilon_text, parse_budget, print_json};
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use medshare_primitives::DataType;
use medshare_records::Schema;
use std::path::PathBuf;

#[derive(Subcommand)]
pub(crate) enum GovernanceCommand {
    /// Allowlist (or delist) an enclave measurement: SGX's MRENCLAVE, the TDX measurement, or
    /// for the simulation backend the SHA-256 of the `medshare-enclave` program.
    #[command(
        after_help = "Examples:\n  medshare governance measurement --keystore admin.json --enclave-binary target/release/medshare-enclave\n  medshare governance measurement --keystore admin.json --measurement 0x… --remove"
    )]
    Measurement(MeasurementArgs),
    /// Accept (or refuse) simulated attestation evidence: only for tests and demos.
    #[command(
        after_help = "Examples:\n  medshare governance accept-simulated --keystore admin.json --accept true"
    )]
    AcceptSimulated(AcceptArgs),
    /// Accept (or refuse) TEEs whose view of the chain rests on unsigned headers (a node such as
    /// anvil): only for tests.
    #[command(
        after_help = "Examples:\n  medshare governance accept-unverified-headers --keystore admin.json --accept true   # anvil, tests only"
    )]
    AcceptUnverifiedHeaders(AcceptArgs),
    /// Verify a TEE's submitted evidence and admit it with the measurement the evidence
    /// attests. A TEE is active only once admitted.
    #[command(
        after_help = "Examples:\n  medshare governance admit-tee --keystore admin.json --tee 0x…   # the address `medshare enclave register` printed"
    )]
    AdmitTee(AdmitArgs),
    /// Set a data type's rules: the smallest cohort a job may train on, the largest ε, whether
    /// models without differential privacy are allowed, and its schema (public feature ranges).
    #[command(
        after_help = "Examples:\n  medshare governance data-type --keystore admin.json --data-type breast-cancer-wdbc --min-cohort 50 --max-epsilon 2\n  medshare schema show cardiometabolic --json > cardio.json\n  medshare governance data-type --keystore admin.json --data-type my-type --schema my-type.json"
    )]
    DataType(DataTypeArgs),
    /// Appoint the holder of a public key as a reviewer.
    #[command(
        after_help = "Examples:\n  medshare key show reviewer.json --json | jq -r .public_key\n  medshare governance appoint-reviewer --keystore admin.json --public-key 0x…"
    )]
    AppointReviewer(KeyArgs),
    /// Remove a reviewer (jobs it approved stop running).
    #[command(
        after_help = "Examples:\n  medshare governance remove-reviewer --keystore admin.json --address 0x…"
    )]
    RemoveReviewer(AddressArgs),
    /// Add an admin.
    #[command(
        after_help = "Examples:\n  medshare governance add-admin --keystore admin.json --address 0x…"
    )]
    AddAdmin(AddressArgs),
    /// Revoke a TEE (e.g. its key leaked).
    #[command(
        after_help = "Examples:\n  medshare governance revoke-tee --keystore admin.json --address 0x…"
    )]
    RevokeTee(AddressArgs),
}

#[derive(Args)]
pub(crate) struct MeasurementArgs {
    #[command(flatten)]
    party: Party,
    /// The measurement (0x…, 32 bytes).
    #[arg(
        long,
        required_unless_present = "enclave_binary",
        conflicts_with = "enclave_binary"
    )]
    measurement: Option<alloy_primitives::B256>,
    /// Allowlist the simulation backend's measurement of this `medshare-enclave` program (its
    /// SHA-256): only a program governance built or checked itself.
    #[arg(long)]
    enclave_binary: Option<PathBuf>,
    /// Delist instead of allowlisting.
    #[arg(long)]
    remove: bool,
}

#[derive(Args)]
pub(crate) struct AcceptArgs {
    #[command(flatten)]
    party: Party,
    /// `true` to accept, `false` to refuse.
    #[arg(long, action = clap::ArgAction::Set)]
    accept: bool,
}

#[derive(Args)]
pub(crate) struct AdmitArgs {
    #[command(flatten)]
    party: Party,
    /// The TEE's account (as `medshare-enclave register` printed it).
    #[arg(long)]
    tee: alloy_primitives::Address,
    /// A sealer (validator) of this chain; repeat for a consortium. The TEE's trust anchors must
    /// name exactly these. Default: the sealer of the node's latest block.
    #[arg(long = "sealer")]
    sealers: Vec<alloy_primitives::Address>,
    /// The collateral of a hardware quote (JSON as Intel PCS / a PCCS serves it, in dcap-qvl's
    /// format): needed for SGX and TDX evidence.
    #[arg(long)]
    collateral: Option<PathBuf>,
    /// Also accept this TCB status (default: UpToDate only), e.g. SWHardeningNeeded; repeat.
    #[arg(long = "accept-tcb")]
    accept_tcb: Vec<String>,
    /// Accept a platform with SMT (hyper-threading) enabled.
    #[arg(long)]
    allow_smt: bool,
    /// Verify the collateral's validity at this time (unix seconds) instead of now.
    #[arg(long)]
    now: Option<u64>,
}

#[derive(Args)]
pub(crate) struct DataTypeArgs {
    #[command(flatten)]
    party: Party,
    /// The data type's name (`breast-cancer-wdbc`, or the name in --schema).
    #[arg(long)]
    data_type: String,
    /// The smallest cohort a job may train on (default 50 when never set).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(2..))]
    min_cohort: u32,
    /// The largest ε a job may ask for (default: no cap below ∞).
    #[arg(long, value_parser = parse_budget)]
    max_epsilon: Option<u32>,
    /// Allow models without differential privacy (ε = ∞). Such a model can reveal records.
    #[arg(long)]
    allow_non_private: bool,
    /// The schema (JSON: features with their public ranges, the label) of a data type that is
    /// not built in; published in the store for TEEs, its hash registered on chain.
    #[arg(long)]
    schema: Option<PathBuf>,
}

#[derive(Args)]
pub(crate) struct KeyArgs {
    #[command(flatten)]
    party: Party,
    /// The 64-byte uncompressed public key (0x…), as `medshare key show` prints it.
    #[arg(long)]
    public_key: alloy_primitives::B512,
}

#[derive(Args)]
pub(crate) struct AddressArgs {
    #[command(flatten)]
    party: Party,
    /// The account.
    #[arg(long)]
    address: alloy_primitives::Address,
}

pub(crate) async fn governance(command: GovernanceCommand) -> Result<()> {
    match command {
        GovernanceCommand::Measurement(args) => {
            let (_, chain) = args.party.open().await?;
            let m = match (args.measurement, &args.enclave_binary) {
                (Some(m), None) => m,
                (None, Some(path)) => crate::spawn::program_measurement(path)?,
                _ => bail!("give either --measurement or --enclave-binary"),
            };
            chain.set_measurement_allowed(m, !args.remove).await?;
            out!(
                "measurement {m} {}",
                if args.remove {
                    "delisted"
                } else {
                    "allowlisted"
                }
            );
        }
        GovernanceCommand::AcceptSimulated(args) => {
            let (_, chain) = args.party.open().await?;
            chain.set_accept_simulated(args.accept).await?;
            out!(
                "simulated evidence {}",
                if args.accept { "accepted" } else { "refused" }
            );
        }
        GovernanceCommand::AcceptUnverifiedHeaders(args) => {
            let (_, chain) = args.party.open().await?;
            chain.set_accept_unverified_headers(args.accept).await?;
            out!(
                "TEEs on unsigned headers {}",
                if args.accept { "accepted" } else { "refused" }
            );
        }
        GovernanceCommand::AdmitTee(args) => {
            let (_, chain) = args.party.open().await?;
            let sealers = if args.sealers.is_empty() {
                medshare_parties::tee::sealers_of(chain.ledger().as_ref())
                    .await
                    .unwrap_or_default()
            } else {
                args.sealers.clone()
            };
            let collateral = match &args.collateral {
                Some(path) => Some(medshare_attestation::Collateral::from_json(
                    &std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
                )?),
                None => None,
            };
            let mut policy = medshare_attestation::Policy::strict().allow_smt(args.allow_smt);
            for status in &args.accept_tcb {
                let status: medshare_attestation::TcbStatus = status
                    .parse()
                    .map_err(|e| anyhow::anyhow!("--accept-tcb {status}: {e}"))?;
                policy = policy.accept(status);
            }
            let now = args.now.unwrap_or_else(medshare_parties::now);
            let admission = medshare_parties::governance::Governance::new(chain)
                .admit(args.tee, &sealers, collateral.as_ref(), now, &policy)
                .await?;
            if args.party.json {
                print_json(&admission)?;
            } else {
                out!(
                    "admitted TEE {} ({:?} evidence, measurement {}{})",
                    admission.tee,
                    admission.kind,
                    admission.measurement,
                    admission
                        .tcb_status
                        .as_ref()
                        .map_or(String::new(), |s| format!(", TCB {s}"))
                );
            }
        }
        GovernanceCommand::DataType(args) => {
            let (_, chain) = args.party.open().await?;
            let data_type = DataType::new(args.data_type.clone())?;
            let schema_hash = match &args.schema {
                Some(path) => {
                    let bytes = std::fs::read(path)
                        .with_context(|| format!("reading {}", path.display()))?;
                    let schema = Schema::from_json(&bytes)
                        .with_context(|| format!("{} is not a valid schema", path.display()))?;
                    if schema.name != args.data_type {
                        bail!(
                            "the schema in {} is of data type {:?}, not {:?}",
                            path.display(),
                            schema.name,
                            args.data_type
                        );
                    }
                    args.party
                        .connect
                        .store()?
                        .put(
                            &medshare_storage::Key::schema(&data_type.id().0),
                            bytes.clone(),
                        )
                        .await?;
                    alloy_primitives::keccak256(&bytes)
                }
                None => {
                    if Schema::builtin(&args.data_type).is_none() {
                        bail!(
                            "{} is not a built-in data type: give its schema with --schema",
                            args.data_type
                        );
                    }
                    alloy_primitives::B256::ZERO
                }
            };
            let rules = medshare_chain::DataTypeRules {
                min_cohort: args.min_cohort,
                max_epsilon_milli: args.max_epsilon.unwrap_or(0),
                allow_non_private: args.allow_non_private,
                schema_hash,
            };
            chain.set_data_type_rules(data_type.id(), &rules).await?;
            if args.party.json {
                print_json(&rules)?;
            } else {
                out!(
                    "data type {}: minimum cohort {}, ε at most {}, {}",
                    args.data_type,
                    rules.min_cohort,
                    args.max_epsilon
                        .map_or("∞ (no cap)".to_owned(), epsilon_text),
                    if rules.allow_non_private {
                        "models without differential privacy allowed"
                    } else {
                        "differential privacy required"
                    }
                );
            }
        }
        GovernanceCommand::AppointReviewer(args) => {
            let (_, chain) = args.party.open().await?;
            chain.appoint_reviewer(args.public_key).await?;
            out!(
                "appointed reviewer {}",
                medshare_crypto::address_of(&medshare_crypto::public_key_from_bytes(
                    args.public_key.as_slice()
                )?)
            );
        }
        GovernanceCommand::RemoveReviewer(args) => {
            let (_, chain) = args.party.open().await?;
            chain.remove_reviewer(args.address).await?;
            out!("removed reviewer {}", args.address);
        }
        GovernanceCommand::AddAdmin(args) => {
            let (_, chain) = args.party.open().await?;
            chain.add_admin(args.address).await?;
            out!("added admin {}", args.address);
        }
        GovernanceCommand::RevokeTee(args) => {
            let (_, chain) = args.party.open().await?;
            chain.revoke_tee(args.address).await?;
            out!("revoked TEE {}", args.address);
        }
    }
    Ok(())
}
