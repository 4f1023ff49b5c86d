//! TCB statuses and the policy that decides which ones are good enough for admission.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Intel's verdict on a platform's trusted computing base (TCB), from the TCB info and QE
/// identity collateral, converged over the platform (CPU microcode and SGX/TDX firmware), the
/// quoting enclave and, for TDX, the TDX module.
///
/// The names and their serde/`Display`/`FromStr` spellings are Intel's (`"UpToDate"`, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TcbStatus {
    /// Patched against every known issue Intel has published for this platform.
    UpToDate,
    /// The platform is patched, but some published issues need mitigations in the enclave
    /// software (see the advisory IDs); whether the enclave has them depends on how it was
    /// built.
    SWHardeningNeeded,
    /// The platform is patched, but its configuration (e.g. BIOS settings such as
    /// hyper-threading or memory integrity) leaves it exposed to published issues.
    ConfigurationNeeded,
    /// Both [`ConfigurationNeeded`](Self::ConfigurationNeeded) and
    /// [`SWHardeningNeeded`](Self::SWHardeningNeeded).
    ConfigurationAndSWHardeningNeeded,
    /// The platform lacks microcode or firmware updates that fix published vulnerabilities;
    /// its enclaves' secrets may be extractable.
    OutOfDate,
    /// [`OutOfDate`](Self::OutOfDate) and [`ConfigurationNeeded`](Self::ConfigurationNeeded).
    OutOfDateConfigurationNeeded,
    /// TDX 1.5: the TD was launched on an out-of-date TCB that has since been updated in
    /// place; the TD should be relaunched.
    TDRelaunchAdvised,
    /// [`TDRelaunchAdvised`](Self::TDRelaunchAdvised) and
    /// [`ConfigurationNeeded`](Self::ConfigurationNeeded).
    TDRelaunchAdvisedConfigurationNeeded,
    /// The platform's attestation keys are revoked: its quotes prove nothing.
    Revoked,
}

impl TcbStatus {
    /// Every status, best first.
    pub const ALL: [TcbStatus; 9] = [
        TcbStatus::UpToDate,
        TcbStatus::SWHardeningNeeded,
        TcbStatus::ConfigurationNeeded,
        TcbStatus::ConfigurationAndSWHardeningNeeded,
        TcbStatus::OutOfDate,
        TcbStatus::OutOfDateConfigurationNeeded,
        TcbStatus::TDRelaunchAdvised,
        TcbStatus::TDRelaunchAdvisedConfigurationNeeded,
        TcbStatus::Revoked,
    ];

    /// Intel's name for the status, e.g. `"SWHardeningNeeded"`.
    pub fn as_str(self) -> &'static str {
        match self {
            TcbStatus::UpToDate => "UpToDate",
            TcbStatus::SWHardeningNeeded => "SWHardeningNeeded",
            TcbStatus::ConfigurationNeeded => "ConfigurationNeeded",
            TcbStatus::ConfigurationAndSWHardeningNeeded => "ConfigurationAndSWHardeningNeeded",
            TcbStatus::OutOfDate => "OutOfDate",
            TcbStatus::OutOfDateConfigurationNeeded => "OutOfDateConfigurationNeeded",
            TcbStatus::TDRelaunchAdvised => "TDRelaunchAdvised",
            TcbStatus::TDRelaunchAdvisedConfigurationNeeded => {
                "TDRelaunchAdvisedConfigurationNeeded"
            }
            TcbStatus::Revoked => "Revoked",
        }
    }
}

impl fmt::Display for TcbStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing a [`TcbStatus`] from a string that is not one of Intel's names.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown TCB status {0:?} (expected one of Intel's names, e.g. \"UpToDate\")")]
pub struct UnknownTcbStatus(pub String);

impl FromStr for TcbStatus {
    type Err = UnknownTcbStatus;

    fn from_str(s: &str) -> core::result::Result<Self, Self::Err> {
        TcbStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| UnknownTcbStatus(s.to_owned()))
    }
}

impl From<dcap_qvl::TcbStatus> for TcbStatus {
    fn from(status: dcap_qvl::TcbStatus) -> Self {
        use dcap_qvl::TcbStatus as D;
        match status {
            D::UpToDate => TcbStatus::UpToDate,
            D::SWHardeningNeeded => TcbStatus::SWHardeningNeeded,
            D::ConfigurationNeeded => TcbStatus::ConfigurationNeeded,
            D::ConfigurationAndSWHardeningNeeded => TcbStatus::ConfigurationAndSWHardeningNeeded,
            D::OutOfDate => TcbStatus::OutOfDate,
            D::OutOfDateConfigurationNeeded => TcbStatus::OutOfDateConfigurationNeeded,
            D::TDRelaunchAdvised => TcbStatus::TDRelaunchAdvised,
            D::TDRelaunchAdvisedConfigurationNeeded => {
                TcbStatus::TDRelaunchAdvisedConfigurationNeeded
            }
            D::Revoked => TcbStatus::Revoked,
        }
    }
}

/// Which verified platforms are good enough: applied after every signature, chain and date
/// check has passed, to the platform's TCB status, its advisories and its PCK certificate
/// flags.
///
/// [`Policy::default`] (= [`Policy::strict`]) accepts only [`TcbStatus::UpToDate`], rejects
/// no advisory by ID, and rejects platforms whose PCK certificate says SMT is enabled, the
/// platform is dynamic (can gain packages), or its keys are cached. Everything else must be
/// enabled explicitly, because a TEE admitted here receives patients' data keys:
///
/// - `SWHardeningNeeded` is safe only if the admitted enclave build carries the mitigations
///   the advisories name (e.g. LVI hardening for INTEL-SA-00334). Governance knows the build
///   behind a measurement; enable it with [`accept`](Self::accept) when it has checked.
/// - `ConfigurationNeeded` (and its combinations) means a BIOS setting leaves the platform
///   exposed; enable it only for a platform whose operator cannot change the setting and
///   whose advisories governance has read.
/// - `OutOfDate` (and its combinations) means known, published attacks may extract the
///   enclave's key SK_T; `TDRelaunchAdvised` means the TD was launched before a fix.
///   Admitting such a TEE trades the patients' confidentiality for availability; do it, if
///   ever, for a bounded time while the operator updates.
/// - `Revoked` can never be accepted: [`accept`](Self::accept) ignores it and
///   [`accepts`](Self::accepts) is always false for it (dcap-qvl refuses it too).
///
/// The PCK flags follow dcap-qvl's strict policy and Intel's appraisal policy options. SMT
/// lets a sibling hyper-thread, which the host schedules, share the core's caches and buffers
/// with the enclave or TD; dynamic platforms can have processor packages added; cached keys
/// mean Intel's registration service keeps the platform's root keys. Multi-socket servers,
/// where TDX runs, usually report dynamic platform and cached keys, and SMT unless it is off
/// in the BIOS (dcap-qvl's TDX sample sets all three): governance decides on them explicitly
/// with [`allow_smt`](Self::allow_smt), [`allow_dynamic_platform`](Self::allow_dynamic_platform)
/// and [`allow_cached_keys`](Self::allow_cached_keys).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    accepted_statuses: BTreeSet<TcbStatus>,
    #[serde(default)]
    rejected_advisory_ids: BTreeSet<String>,
    #[serde(default)]
    allow_smt: bool,
    #[serde(default)]
    allow_dynamic_platform: bool,
    #[serde(default)]
    allow_cached_keys: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Self::strict()
    }
}

impl Policy {
    /// Accepts only [`TcbStatus::UpToDate`]; no advisory rejected by ID; PCK flags SMT,
    /// dynamic platform and cached keys must not be set.
    pub fn strict() -> Self {
        Self {
            accepted_statuses: BTreeSet::from([TcbStatus::UpToDate]),
            rejected_advisory_ids: BTreeSet::new(),
            allow_smt: false,
            allow_dynamic_platform: false,
            allow_cached_keys: false,
        }
    }

    /// Accepts every TCB status except `Revoked` and every PCK flag: the quote must still be
    /// genuine, signed, chained to Intel's root, fresh and not debug, but an out-of-date
    /// platform passes.
    ///
    /// For tests on archived sample quotes and for inspecting evidence; never for admitting
    /// a TEE.
    pub fn danger_accept_any_tcb() -> Self {
        Self {
            accepted_statuses: TcbStatus::ALL
                .into_iter()
                .filter(|s| *s != TcbStatus::Revoked)
                .collect(),
            rejected_advisory_ids: BTreeSet::new(),
            allow_smt: true,
            allow_dynamic_platform: true,
            allow_cached_keys: true,
        }
    }

    /// Also accept `status` (ignored for [`TcbStatus::Revoked`]).
    #[must_use]
    pub fn accept(mut self, status: TcbStatus) -> Self {
        if status != TcbStatus::Revoked {
            self.accepted_statuses.insert(status);
        }
        self
    }

    /// Refuse platforms affected by the advisory `id` (e.g. `"INTEL-SA-00615"`, compared
    /// case-insensitively), whatever their status.
    #[must_use]
    pub fn reject_advisory(mut self, id: &str) -> Self {
        self.rejected_advisory_ids.insert(id.to_ascii_uppercase());
        self
    }

    /// Whether to accept a platform whose PCK certificate says SMT (hyper-threading) is on.
    #[must_use]
    pub fn allow_smt(mut self, allow: bool) -> Self {
        self.allow_smt = allow;
        self
    }

    /// Whether to accept a dynamic platform (one that can add processor packages).
    #[must_use]
    pub fn allow_dynamic_platform(mut self, allow: bool) -> Self {
        self.allow_dynamic_platform = allow;
        self
    }

    /// Whether to accept a platform whose platform keys are cached by Intel's registration
    /// service.
    #[must_use]
    pub fn allow_cached_keys(mut self, allow: bool) -> Self {
        self.allow_cached_keys = allow;
        self
    }

    /// Whether a platform with `status` passes (always false for `Revoked`).
    pub fn accepts(&self, status: TcbStatus) -> bool {
        status != TcbStatus::Revoked && self.accepted_statuses.contains(&status)
    }

    /// The accepted statuses, best first.
    pub fn accepted_statuses(&self) -> impl Iterator<Item = TcbStatus> + '_ {
        self.accepted_statuses
            .iter()
            .copied()
            .filter(|s| *s != TcbStatus::Revoked)
    }

    /// Applies the policy to what verification established about the platform.
    pub(crate) fn check(&self, platform: &PlatformFacts<'_>) -> Result<()> {
        if !self.accepts(platform.status) {
            return Err(Error::TcbStatusNotAccepted {
                status: platform.status,
                advisory_ids: platform.advisory_ids.to_vec(),
            });
        }
        if let Some(id) = platform.advisory_ids.iter().find(|id| {
            self.rejected_advisory_ids
                .contains(&id.to_ascii_uppercase())
        }) {
            return Err(Error::AdvisoryRejected {
                advisory_id: id.clone(),
            });
        }
        let flags = [
            (
                platform.smt_enabled,
                self.allow_smt,
                "SMT (hyper-threading) is enabled",
            ),
            (
                platform.dynamic_platform,
                self.allow_dynamic_platform,
                "the platform is dynamic",
            ),
            (
                platform.cached_keys,
                self.allow_cached_keys,
                "the platform keys are cached",
            ),
        ];
        for (set, allowed, what) in flags {
            if set && !allowed {
                return Err(Error::PlatformRejected(format!(
                    "the PCK certificate says {what}"
                )));
            }
        }
        Ok(())
    }
}

/// What a verified quote says about its platform, as the policy needs it.
pub(crate) struct PlatformFacts<'a> {
    pub(crate) status: TcbStatus,
    pub(crate) advisory_ids: &'a [String],
    pub(crate) smt_enabled: bool,
    pub(crate) dynamic_platform: bool,
    pub(crate) cached_keys: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(status: TcbStatus, advisory_ids: &[String]) -> PlatformFacts<'_> {
        PlatformFacts {
            status,
            advisory_ids,
            smt_enabled: false,
            dynamic_platform: false,
            cached_keys: false,
        }
    }

    #[test]
    fn default_accepts_only_up_to_date() {
        let policy = Policy::default();
        for status in TcbStatus::ALL {
            assert_eq!(
                policy.accepts(status),
                status == TcbStatus::UpToDate,
                "{status}"
            );
        }
        let err = policy.check(&facts(TcbStatus::OutOfDate, &[])).unwrap_err();
        assert!(err.to_string().contains("OutOfDate"), "{err}");
    }

    #[test]
    fn revoked_can_never_be_accepted() {
        let policy = Policy::strict().accept(TcbStatus::Revoked);
        assert!(!policy.accepts(TcbStatus::Revoked));
        assert!(!Policy::danger_accept_any_tcb().accepts(TcbStatus::Revoked));
        let json = r#"{"accepted_statuses":["Revoked"]}"#;
        let policy: Policy = serde_json::from_str(json).unwrap();
        assert!(policy.check(&facts(TcbStatus::Revoked, &[])).is_err());
        assert_eq!(policy.accepted_statuses().count(), 0);
    }

    #[test]
    fn rejected_advisories_win_over_an_accepted_status() {
        let ids = vec!["INTEL-SA-00289".to_owned(), "INTEL-SA-00615".to_owned()];
        let policy = Policy::strict()
            .accept(TcbStatus::SWHardeningNeeded)
            .reject_advisory("intel-sa-00615");
        let err = policy
            .check(&facts(TcbStatus::SWHardeningNeeded, &ids))
            .unwrap_err();
        assert_eq!(
            err,
            Error::AdvisoryRejected {
                advisory_id: "INTEL-SA-00615".into()
            }
        );
    }

    #[test]
    fn pck_flags_are_refused_unless_allowed() {
        let mut f = facts(TcbStatus::UpToDate, &[]);
        f.smt_enabled = true;
        assert!(matches!(
            Policy::strict().check(&f),
            Err(Error::PlatformRejected(_))
        ));
        assert!(Policy::strict().allow_smt(true).check(&f).is_ok());
    }

    #[test]
    fn status_names_round_trip() {
        for status in TcbStatus::ALL {
            assert_eq!(status.as_str().parse::<TcbStatus>(), Ok(status));
            let json = serde_json::to_string(&status).unwrap();
            assert_eq!(json, format!("\"{status}\""));
        }
        assert!("uptodate".parse::<TcbStatus>().is_err());
    }

    #[test]
    fn policy_files_reject_unknown_fields() {
        let json = r#"{"accepted_statuses":["UpToDate"],"allow_debug":true}"#;
        assert!(serde_json::from_str::<Policy>(json).is_err());
    }
}
