//! Model training inside the enclave: declarative model specs, the records they train on, the
//! trainers, and the result (MRT_j) the demander receives.
//!
//! ```text
//!  ModelSpec::from_json ──► ModelSpec ─┐
//!  DatasetBuilder::push (per record) ──┴─► train(spec, dataset, min_cohort) ──► TrainingOutput
//!                                           shuffle(seed) · split · standardize · fit · evaluate
//! ```
//!
//! **What it owns.** The spec format (logistic regression, ridge regression and a decision tree,
//! with validated hyperparameters), the dataset that decrypted records are streamed into, the
//! deterministic train/test split, the fitting itself (ridge regression and trees through the
//! linfa crates; logistic regression through argmin's L-BFGS, the optimizer linfa-logistic
//! uses, on linfa-logistic's objective evaluated in one fused pass, see `logistic.rs`; no
//! hand-written optimizers), held-out metrics (accuracy and ROC AUC, or RMSE and R²), and the
//! serializable parameters that make the result usable outside the enclave.
//!
//! **What it does not do.** No I/O of any kind — no files, network, clock or environment; no
//! cryptography; no logging. It is pure computation, linked into the enclave process, which
//! decrypts records, pushes them into a [`DatasetBuilder`], calls [`train`] and seals the
//! [`TrainingOutput`]. Deciding *which* records may be used (consent, verification) is the
//! enclave's job, as is fixing `min_cohort` from the data requirement.
//!
//! **Invariants.**
//! - A spec is data: [`ModelSpec::from_json`] refuses unknown fields, oversized input and any
//!   hyperparameter outside its documented range, with an error naming the field and the range.
//! - Training is refused below the minimum cohort ([`Error::CohortTooSmall`]).
//! - The same spec on the same records in the same order gives the same [`TrainingOutput`].
//! - Patient values never appear in a `Debug` output or an error message: [`Dataset`] shows its
//!   shape only, and errors name columns and counts, not values.
//! - The reported metrics are computed by applying the returned [`Parameters`] to the held-out
//!   records, so they describe exactly the model the demander receives.
//! - Memory: one `f64` per feature value and label, held once; the split and standardization
//!   reorder and rescale it in place; logistic regression reads the training rows where they
//!   are, with no copy.
#![forbid(unsafe_code)]

mod dataset;
mod error;
mod logistic;
pub mod metrics;
mod output;
mod spec;
mod train;

pub use dataset::{Dataset, DatasetBuilder};
pub use error::{Column, Error, Result};
pub use metrics::Metrics;
pub use output::{LinearParameters, Parameters, TrainingOutput, TreeNode, TreeParameters};
pub use spec::{
    MAX_FEATURES, MAX_ITERATIONS, MAX_NAME_BYTES, MAX_SPEC_BYTES, MAX_TREE_DEPTH, ModelKind,
    ModelSpec, SplitCriterion,
};
pub use train::train;
