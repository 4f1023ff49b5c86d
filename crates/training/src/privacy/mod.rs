//! Differential privacy: the budget arithmetic, OpenDP's mechanisms as this crate uses them,
//! and an empirical check of what a released model leaks ([`membership_auc`]).

mod membership;
pub(crate) mod noise;

pub use membership::membership_auc;
pub use noise::{epsilon_for, rho_for};
