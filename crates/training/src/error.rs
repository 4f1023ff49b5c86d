//! The crate's error type.

/// `Result` with this crate's [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while validating a model spec, collecting records or training.
///
/// No variant carries a feature or label value: messages name fields, columns and counts only,
/// so an error can leave the enclave without revealing patient data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A hyperparameter or split setting is outside its allowed range.
    #[error("invalid model spec: `{field}` is {value}, but must be {allowed}")]
    InvalidHyperparameter {
        /// The offending field, as it is spelled in the JSON spec.
        field: &'static str,
        /// The value that was given.
        value: String,
        /// The allowed range, in words.
        allowed: &'static str,
    },
    /// The feature list or label of a spec is unusable.
    #[error("invalid model spec: `{field}`: {reason}")]
    InvalidSpec {
        /// The offending field, as it is spelled in the JSON spec.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A JSON spec is larger than [`MAX_SPEC_BYTES`](crate::MAX_SPEC_BYTES).
    #[error("model spec is {size} bytes; at most {max} bytes are accepted")]
    SpecTooLarge {
        /// The size of the input.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// A JSON spec does not parse, or has unknown or missing fields.
    #[error("model spec is not valid JSON for a model: {0}")]
    SpecJson(#[from] serde_json::Error),
    /// The privacy section of a spec is unusable (ε ≤ 0 or NaN, a missing or out-of-range δ, a
    /// bad clipping norm).
    #[error("invalid privacy parameters: `{field}` {reason}")]
    InvalidPrivacy {
        /// The offending field (`epsilon`, `delta`, `clip_norm`).
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The spec asks for ε = ∞ (no differential privacy) and the training rules do not allow it.
    #[error(
        "training without differential privacy (epsilon = inf) is not allowed by the training rules"
    )]
    NonPrivateRefused,
    /// The spec asks for a larger ε than the training rules allow.
    #[error("epsilon {epsilon} is above the largest the training rules allow, {max}")]
    EpsilonTooLarge {
        /// The spec's ε.
        epsilon: f64,
        /// The rules' cap.
        max: f64,
    },
    /// δ is not below 1/n: a mechanism could then publish a whole record and still claim it.
    #[error("delta {delta} must be below 1/n = 1/{records} for a cohort of {records} records")]
    DeltaTooLarge {
        /// The spec's δ.
        delta: f64,
        /// The number of records.
        records: usize,
    },
    /// The spec does not fit the data type's schema (unknown feature, another label, a classifier
    /// on a numeric label, a regression on classes).
    #[error("the spec does not fit the data type `{data_type}`: {reason}")]
    SchemaMismatch {
        /// The schema's name.
        data_type: String,
        /// What does not fit.
        reason: String,
    },
    /// OpenDP refused to build or run a mechanism (its message names parameters, not data).
    #[error("differential privacy mechanism failed: {0}")]
    Privacy(String),
    /// A record has a different number of features than the dataset.
    #[error("record has {found} features, expected {expected}")]
    DimensionMismatch {
        /// The dataset's number of features.
        expected: usize,
        /// The record's number of features.
        found: usize,
    },
    /// A record holds NaN or an infinity.
    #[error("record has a non-finite value in {0}")]
    NonFiniteValue(Column),
    /// The dataset's columns do not match the spec's feature list.
    #[error("the spec selects {spec} features but the dataset has {data}")]
    FeatureCountMismatch {
        /// Number of features in the spec.
        spec: usize,
        /// Number of features in the dataset.
        data: usize,
    },
    /// Fewer records than the data requirement's minimum cohort.
    #[error("training refused: {records} records available, the minimum cohort is {required}")]
    CohortTooSmall {
        /// Records in the dataset.
        records: usize,
        /// The minimum cohort.
        required: usize,
    },
    /// Too few records to hold out a test split and still train.
    #[error("{records} records are too few to split into a training and a test set")]
    TooFewRecords {
        /// Records in the dataset.
        records: usize,
    },
    /// A classifier was given labels other than 0 and 1.
    #[error("classifier labels must be 0 or 1; {count} records have another label")]
    NonBinaryLabels {
        /// How many records have a label that is neither 0 nor 1.
        count: usize,
    },
    /// The training split of a classifier holds only one class.
    #[error("the training split holds only records of class {class}; a classifier needs both")]
    SingleClass {
        /// The one class present.
        class: u8,
    },
    /// Parameters were used with a feature vector of the wrong length.
    #[error("the model takes {expected} features, got {found}")]
    WrongFeatureCount {
        /// Number of features the model takes.
        expected: usize,
        /// Number of features given.
        found: usize,
    },
    /// [`Parameters::classify`](crate::Parameters::classify) was called on a regression model.
    #[error("a regression model does not classify")]
    NotAClassifier,
    /// Deserialized parameters are inconsistent (vectors of different lengths, a bad tree node
    /// index or a cycle).
    #[error("malformed model parameters: {0}")]
    MalformedParameters(&'static str),
    /// The learning library reported an error.
    #[error("training the {model} failed: {reason}")]
    Fit {
        /// The model being trained.
        model: &'static str,
        /// The library's message (it names no data values).
        reason: String,
    },
}

/// Which value of a record was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// The feature at this zero-based column.
    Feature(usize),
    /// The label.
    Label,
}

impl std::fmt::Display for Column {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Feature(i) => write!(f, "feature column {i}"),
            Self::Label => f.write_str("the label"),
        }
    }
}
