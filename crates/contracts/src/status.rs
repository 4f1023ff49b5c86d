//! The contracts' enums (`Role`, `JobStatus` in contracts/src/MedshareTypes.sol) as Rust enums.
//! The ABI carries enums as `uint8`; these give the numbers names.

use crate::{Error, Model, Registration, Result};

/// A job's status in the Model contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum JobStatus {
    /// No such job.
    Unknown = 0,
    /// Submitted, waiting for a reviewer.
    Pending = 1,
    /// Approved by a reviewer; records may be authorized for it.
    Approved = 2,
    /// Rejected by a reviewer.
    Rejected = 3,
    /// A TEE verified the model (hash and signature); records may be authorized for it.
    Deployed = 4,
    /// A TEE found the model's hash or signature wrong.
    ModelInvalid = 5,
    /// The encrypted training result is posted.
    Completed = 6,
    /// The demander reported that the result failed its checks.
    ResultDisputed = 7,
}

impl JobStatus {
    const ALL: [Self; 8] = [
        Self::Unknown,
        Self::Pending,
        Self::Approved,
        Self::Rejected,
        Self::Deployed,
        Self::ModelInvalid,
        Self::Completed,
        Self::ResultDisputed,
    ];

    /// True for the statuses in which records may be authorized for the job
    /// (`Model.isApproved`).
    pub const fn is_approved(self) -> bool {
        matches!(self, Self::Approved | Self::Deployed)
    }
}

impl TryFrom<u8> for JobStatus {
    type Error = Error;
    fn try_from(v: u8) -> Result<Self> {
        Self::ALL
            .get(usize::from(v))
            .copied()
            .ok_or(Error::UnknownJobStatus(v))
    }
}

impl TryFrom<Model::JobStatus> for JobStatus {
    type Error = Error;
    fn try_from(v: Model::JobStatus) -> Result<Self> {
        Self::try_from(v.into_underlying())
    }
}

impl From<JobStatus> for Model::JobStatus {
    fn from(s: JobStatus) -> Self {
        Self::from(s as u8)
    }
}

/// A party's role in the Registration contract (0 = not registered).
pub type Role = Registration::Role;

/// What produced a TEE's attestation evidence (`EvidenceKind` in MedshareTypes.sol).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum EvidenceKind {
    /// No TEE hardware: the simulation backend (accepted only where governance enabled it).
    Simulated = 0,
    /// An Intel SGX DCAP quote.
    SgxDcap = 1,
    /// An Intel TDX quote.
    Tdx = 2,
}

impl EvidenceKind {
    const ALL: [Self; 3] = [Self::Simulated, Self::SgxDcap, Self::Tdx];
}

impl TryFrom<u8> for EvidenceKind {
    type Error = Error;
    fn try_from(v: u8) -> Result<Self> {
        Self::ALL
            .get(usize::from(v))
            .copied()
            .ok_or(Error::UnknownEnum("EvidenceKind", v))
    }
}

/// What the enclave did with one record of a job (`UseOutcome` in MedshareTypes.sol), as its
/// audit entry says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum UseOutcome {
    /// Decrypted and trained on; the result was posted.
    Used = 0,
    /// Decrypted, but training failed: no result was released.
    TrainingFailed = 1,
    /// Not decrypted: the ciphertext or TD_i failed verification.
    RefusedIntegrity = 2,
    /// The key share, the pad or the decryption failed.
    RefusedKey = 3,
    /// The plaintext is not a usable record of the job's data type.
    RefusedContent = 4,
    /// The record's privacy budget cannot pay the job's ε.
    RefusedBudget = 5,
}

impl UseOutcome {
    const ALL: [Self; 6] = [
        Self::Used,
        Self::TrainingFailed,
        Self::RefusedIntegrity,
        Self::RefusedKey,
        Self::RefusedContent,
        Self::RefusedBudget,
    ];

    /// Whether the enclave decrypted the record (used, or used for a training that failed).
    pub const fn decrypted(self) -> bool {
        matches!(self, Self::Used | Self::TrainingFailed)
    }

    /// A short phrase for people: "used", "excluded (…)".
    pub const fn describe(self) -> &'static str {
        match self {
            Self::Used => "used",
            Self::TrainingFailed => "decrypted, but training failed (no result released)",
            Self::RefusedIntegrity => "excluded (ciphertext or TD_i failed verification)",
            Self::RefusedKey => "excluded (key share, pad or decryption failed)",
            Self::RefusedContent => "excluded (not a usable record of the data type)",
            Self::RefusedBudget => "excluded (its privacy budget cannot pay the job's ε)",
        }
    }
}

impl TryFrom<u8> for UseOutcome {
    type Error = Error;
    fn try_from(v: u8) -> Result<Self> {
        Self::ALL
            .get(usize::from(v))
            .copied()
            .ok_or(Error::UnknownEnum("UseOutcome", v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Variant names of `enum <name> { ... }` in the Solidity source, in order.
    fn solidity_enum(name: &str) -> Vec<String> {
        let src = include_str!("../../../contracts/src/MedshareTypes.sol");
        let start = src
            .find(&format!("enum {name} {{"))
            .map(|i| i + name.len() + 7);
        let body = start.and_then(|s| src[s..].find('}').map(|e| &src[s..s + e]));
        body.map(|b| {
            let code: String = b
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            code.split(',')
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .collect()
        })
        .unwrap_or_default()
    }

    #[test]
    fn job_status_numbers_match_solidity() {
        let names = solidity_enum("JobStatus");
        assert_eq!(names.len(), JobStatus::ALL.len());
        for (i, (sol, rust)) in names.iter().zip(JobStatus::ALL).enumerate() {
            assert_eq!(rust as usize, i);
            let rust_name = format!("{rust:?}");
            let expect = if rust == JobStatus::Unknown {
                "None"
            } else {
                rust_name.as_str()
            };
            assert_eq!(sol, expect);
        }
        assert!(JobStatus::try_from(8u8).is_err());
        assert_eq!(
            JobStatus::try_from(Model::JobStatus::from(4u8)).ok(),
            Some(JobStatus::Deployed)
        );
        assert!(JobStatus::Deployed.is_approved() && !JobStatus::Completed.is_approved());
    }

    #[test]
    fn evidence_kind_and_use_outcome_numbers_match_solidity() {
        let kinds = solidity_enum("EvidenceKind");
        assert_eq!(kinds.len(), EvidenceKind::ALL.len());
        for (i, (sol, rust)) in kinds.iter().zip(EvidenceKind::ALL).enumerate() {
            assert_eq!((rust as usize, format!("{rust:?}")), (i, sol.clone()));
        }
        let outcomes = solidity_enum("UseOutcome");
        assert_eq!(outcomes.len(), UseOutcome::ALL.len());
        for (i, (sol, rust)) in outcomes.iter().zip(UseOutcome::ALL).enumerate() {
            assert_eq!((rust as usize, format!("{rust:?}")), (i, sol.clone()));
        }
        assert!(UseOutcome::try_from(6u8).is_err() && EvidenceKind::try_from(3u8).is_err());
    }

    #[test]
    fn role_numbers_match_solidity_and_protocol() {
        // common protocol numbering: 1 user, 2 demander, 3 tee, 4 reviewer.
        assert_eq!(
            solidity_enum("Role"),
            ["None", "User", "Demander", "Tee", "Reviewer"]
        );
    }
}
