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
            b.split(',')
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
    fn role_numbers_match_solidity_and_protocol() {
        // common protocol numbering: 1 user, 2 demander, 3 tee, 4 reviewer.
        assert_eq!(
            solidity_enum("Role"),
            ["None", "User", "Demander", "Tee", "Reviewer"]
        );
    }
}
