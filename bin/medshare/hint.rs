//! What a failed command says next: a contract's refusal in plain words with the command that
//! moves things on, and the usual setup mistakes (no node at `--rpc`, a wrong deployment or
//! store), so that nobody has to read the Rust source to carry on.

use medshare_chain::Error as ChainError;

/// The job statuses of `MedshareTypes.sol`, by their number.
const JOB_STATUS: [&str; 8] = [
    "never submitted",
    "waiting for a reviewer",
    "approved",
    "rejected by a reviewer",
    "verified by a TEE",
    "refused by the TEE as invalid",
    "completed",
    "its result disputed",
];

/// The arguments of a decoded custom error `Name(a, b, …)`.
fn args_of(reason: &str) -> Vec<&str> {
    reason
        .split_once('(')
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .map(|inner| inner.split(", ").filter(|a| !a.is_empty()).collect())
        .unwrap_or_default()
}

fn status(word: Option<&&str>) -> &'static str {
    word.and_then(|w| w.parse::<usize>().ok())
        .and_then(|i| JOB_STATUS.get(i).copied())
        .unwrap_or("unknown")
}

/// A contract's custom error `name` (arguments from `reason`), said plainly, with what to run.
fn revert_hint(name: &str, reason: &str) -> Option<String> {
    let a = args_of(reason);
    let arg = |i: usize| a.get(i).copied().unwrap_or("…");
    Some(match name {
        "JobNotApproved" => format!(
            "the reviewer has not approved job {} (it is {}): a reviewer runs `medshare reviewer \
             approve --job {}`, then consent again",
            arg(0),
            status(a.get(1)),
            arg(0)
        ),
        "WrongJobStatus" => format!(
            "job {} is {}, so this step does not apply to it now (`medshare reviewer list` shows \
             the jobs waiting for review)",
            arg(0),
            status(a.get(1))
        ),
        "NotUser" => format!(
            "{} is not registered as a user (patient): run `medshare user register --keystore …` \
             first",
            arg(0)
        ),
        "NotDemander" => format!(
            "{} is not registered as a demander: run `medshare demander register --keystore …` \
             first",
            arg(0)
        ),
        "NotReviewer" => format!(
            "{} is not an appointed reviewer: an admin runs `medshare governance \
             appoint-reviewer`",
            arg(0)
        ),
        "NotAdmin" => format!(
            "{} is not an admin of this deployment: use the keystore that deployed it, or ask an \
             admin to run `medshare governance add-admin`",
            arg(0)
        ),
        "NotRecordOwner" => format!(
            "the record belongs to {}, not to {}: use its owner's keystore",
            arg(1),
            arg(0)
        ),
        "UnknownRecord" => format!(
            "record {} is not registered on this chain: upload it first (`medshare user \
             upload`), or check --deployment",
            arg(0)
        ),
        "AlreadyGranted" => format!(
            "record {} is already granted to job {}: nothing to do",
            arg(0),
            arg(1)
        ),
        "BatchAlreadyGranted" => format!(
            "this bulk consent (root {}) to job {} is already live: nothing to do",
            arg(1),
            arg(0)
        ),
        "NoBatchGrant" => format!(
            "you have no live bulk consent with root {} to job {}: nothing to revoke",
            arg(1),
            arg(0)
        ),
        "NotInBatch" => format!(
            "record {} is not in bulk consent {}: its Merkle path does not lead to that root",
            arg(0),
            arg(1)
        ),
        "NotGranted" => format!(
            "record {} is not granted to job {}: nothing to revoke",
            arg(0),
            arg(1)
        ),
        "DataTypeMismatch" => format!(
            "job {} trains on another data type than this record's: grant it records of the \
             job's data type",
            arg(0)
        ),
        "TeeNotActive" => format!(
            "TEE {} is not active (never admitted, or revoked): governance runs `medshare \
             governance admit-tee`, or upload to an active TEE",
            arg(0)
        ),
        "BudgetExhausted" | "BudgetBelowSpent" => format!(
            "record {}'s privacy budget does not allow it: grant with a larger \
             --epsilon-budget (the total ε it may spend)",
            arg(0)
        ),
        "AlreadyRegistered" => "already registered: nothing to do".to_owned(),
        "RoleNotSelfRegistrable" => {
            "reviewers and TEEs cannot register themselves: governance appoints reviewers \
             (`medshare governance appoint-reviewer`) and admits TEEs (`medshare governance \
             admit-tee`)"
                .to_owned()
        }
        "MeasurementNotAllowed" => format!(
            "the enclave's measurement {} is not allowlisted: governance runs `medshare \
             governance measurement` for it",
            arg(0)
        ),
        "SimulationNotAccepted" => {
            "this deployment does not accept simulated enclaves: governance runs `medshare \
             governance accept-simulated` (tests and demos only)"
                .to_owned()
        }
        "CohortBelowFloor" => format!(
            "the requirement's min_cohort {} is below the data type's floor {}: raise it",
            arg(1),
            arg(2)
        ),
        "EpsilonAboveCap" => format!(
            "ε {} (thousandths) is above the data type's cap {}: lower the spec's epsilon",
            arg(1),
            arg(2)
        ),
        "NonPrivateNotAllowed" => {
            "this data type allows only differentially private models: set an epsilon in the \
             model spec"
                .to_owned()
        }
        _ => return None,
    })
}

/// A hint for `error`, if it is one medshare knows how to explain.
pub(crate) fn hint(error: &anyhow::Error) -> Option<String> {
    for cause in error.chain() {
        // The parties' errors wrap the chain's transparently (their `source` skips it).
        let chain = cause.downcast_ref::<ChainError>().or_else(|| {
            match cause.downcast_ref::<medshare_parties::Error>() {
                Some(medshare_parties::Error::Chain(e)) => Some(e),
                _ => None,
            }
        });
        if let Some(ChainError::Reverted {
            name: Some(name),
            reason,
            ..
        }) = chain
            && let Some(h) = revert_hint(name, reason)
        {
            return Some(h);
        }
        if let Some(ChainError::NotDeployed { .. }) = chain {
            return Some(
                "the deployment file names contracts this chain does not have: pass the \
                 --deployment that `medshare deploy` wrote for this --rpc"
                    .to_owned(),
            );
        }
    }
    let text = format!("{error:#}");
    if text.contains("Connection refused") || text.contains("error sending request") {
        return Some(
            "nothing answers at the JSON-RPC endpoint: start a node (`medshare node`) or pass \
             --rpc URL (or MEDSHARE_RPC)"
                .to_owned(),
        );
    }
    if text.contains("deployment.json") && text.contains("No such file") {
        return Some(
            "no deployment file here: `medshare deploy` writes one, or pass --deployment FILE"
                .to_owned(),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_revert_is_said_plainly_with_the_next_command() {
        let job = "0x90122b07fdfea7693731b7b575cb1c84a83a78f30913e760953117d0565119e8";
        let h = revert_hint("JobNotApproved", &format!("JobNotApproved({job}, 1)")).unwrap();
        assert!(h.contains("has not approved"), "{h}");
        assert!(h.contains("waiting for a reviewer"), "{h}");
        assert!(
            h.contains(&format!("medshare reviewer approve --job {job}")),
            "{h}"
        );
        assert!(revert_hint("SomethingElse", "SomethingElse()").is_none());
    }
}
