//! Model training inside the enclave: declarative model specs, the records they train on, the
//! differentially private trainers, and the result (MRT_j) the demander receives.
//!
//! ```text
//!  ModelSpec::from_json ──► ModelSpec (kind, columns, privacy: ε, δ) ─┐
//!  Schema (public ranges) ─────────────────────────────────────────────┤
//!  DatasetBuilder::push (per record) ──────────────────────────────────┤
//!  TrainingRules (min cohort, ε = ∞ allowed?, ε cap) ──────────────────┴─► train_with_rules
//!     check · split (OpenDP coins) · clip + scale by ranges · fit (OpenDP noise) · evaluate
//!                                                                    ──► TrainingOutput
//! ```
//!
//! **What it owns.** The spec format (logistic regression, ridge regression and a decision tree,
//! with validated hyperparameters and a required privacy section), the dataset that decrypted
//! records are streamed into, the train/test split, the fitting itself, held-out metrics, and
//! the serializable parameters that make the result usable outside the enclave.
//!
//! **What leaves, and what does not.** Features are clipped into, and scaled by, the data
//! type's public ranges (`medshare_records::Schema`), never by statistics of the records. With
//! a finite ε every model is `(ε, δ)`-differentially private with respect to adding or removing
//! one record:
//!
//! | model | mechanism (noise and accounting from OpenDP) |
//! |---|---|
//! | logistic regression | noisy full-batch gradient descent on records clipped to a public norm, after a noisy centre (`private_logistic.rs`) |
//! | ridge regression | Gaussian noise on the sufficient statistics `XᵀX`, `Xᵀy`, then the normal equations (`ridge.rs`) |
//! | decision tree | thresholds on a public grid, splits by the exponential mechanism, node sizes and leaf labels from noisy counts (`tree.rs`) |
//! | held-out metrics | on the disjoint held-out records: a noisy count of correct predictions and a noisy per-class histogram of the scores in 20 public bins (the ROC curve, post-processed), half of the budget each; or noisy sums of squares |
//!
//! Every mechanism is accounted in zero-concentrated DP, composed with OpenDP's composition and
//! converted to `(ε, δ)` by OpenDP; the [`PrivacyReport`] in the output states what was spent.
//! No output carries a mean, a deviation, a per-leaf count or a threshold between two patients'
//! values. The counts of records used, trained on and held out are exact (the audit trail on
//! chain publishes which records a job used anyway). ε = ∞ (no privacy) is refused unless the
//! caller's [`TrainingRules`] allow it.
//!
//! **What it does not do.** No I/O of any kind — no files, network, clock or environment; no
//! cryptography; no logging. Randomness comes only from OpenDP's samplers (and, without
//! privacy, the spec's seed). It is linked into the enclave process, which decrypts records,
//! pushes them into a [`DatasetBuilder`], calls [`train_with_rules`] and seals the
//! [`TrainingOutput`]. Deciding *which* records may be used (consent, verification) is the
//! enclave's job, as is fixing the [`TrainingRules`] from governance.
//!
//! **Invariants.**
//! - A spec is data: [`ModelSpec::from_json`] refuses unknown fields, oversized input, any
//!   hyperparameter outside its documented range and an unusable privacy section (ε ≤ 0, a
//!   missing δ or one outside (0, 1)), with an error naming the field.
//! - Training is refused below the rules' minimum cohort ([`Error::CohortTooSmall`]), for
//!   δ ≥ 1/n ([`Error::DeltaTooLarge`]) and for ε = ∞ unless allowed
//!   ([`Error::NonPrivateRefused`]).
//! - With a finite ε the output is random: the same spec on the same records gives a different
//!   model and metrics on every run (fresh noise and a fresh split). What stays deterministic:
//!   the checks and errors, the public grid of tree thresholds, the scaling, and with ε = ∞ the
//!   whole output (seeded split, no noise).
//! - Patient values never appear in a `Debug` output or an error message: [`Dataset`] shows its
//!   shape only, and errors name columns and counts, not values.
//! - The reported metrics are computed by applying the returned [`Parameters`] to the held-out
//!   records, so they describe exactly the model the demander receives (plus their noise).
//! - Memory: one `f64` per feature value and label, held once; the split, clipping and scaling
//!   reorder and rewrite it in place.
//!
//! **Applying a released model.** For each feature `j` with public range `[min_j, max_j]`
//! (carried in [`LinearParameters::ranges`]): `s_j(x) = 2·(clamp(x, min_j, max_j) − min_j) /
//! (max_j − min_j) − 1`; logistic regression predicts `P(class 1) = σ(intercept + Σ w_j·s_j)`,
//! ridge regression `intercept + Σ w_j·s_j` in the label's unit; a tree compares the raw value
//! with its thresholds. [`Parameters::score`] and [`Parameters::classify`] do exactly this.
//!
//! **OpenDP.** Built with `default-features = false, features = ["contrib"]`: no vendored
//! OpenSSL, no Polars, no Python bindings. Its random bits then come from `rand` 0.7's
//! `thread_rng` (ChaCha20, seeded and reseeded from the operating system) rather than OpenSSL's
//! `RAND_priv_bytes`; OpenDP labels that path "non-secure" because it has not audited it.
#![forbid(unsafe_code)]

mod columns;
mod dataset;
mod error;
mod logistic;
pub mod metrics;
mod output;
pub mod privacy;
mod private_logistic;
mod ridge;
mod rules;
mod spec;
mod train;
mod tree;

pub use columns::FeatureRange;
pub use dataset::{Dataset, DatasetBuilder};
pub use error::{Column, Error, Result};
pub use metrics::Metrics;
pub use output::{
    LinearParameters, Parameters, PrivacyReport, TrainingOutput, TreeNode, TreeParameters,
};
pub use rules::TrainingRules;
pub use spec::{
    MAX_FEATURES, MAX_ITERATIONS, MAX_NAME_BYTES, MAX_SPEC_BYTES, MAX_TREE_BINS, MAX_TREE_DEPTH,
    ModelKind, ModelSpec, Privacy, SplitCriterion,
};
#[allow(deprecated)]
pub use train::train;
pub use train::{Fitted, fit, train_with_rules};
