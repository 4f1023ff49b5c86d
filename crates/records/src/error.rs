//! Errors of the record format. None of them carries a patient's value.

/// Result alias for this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// What is wrong with a schema, a record, an import file or a requirement.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A schema is invalid.
    #[error("invalid data type schema: {0}")]
    Schema(String),
    /// A record plaintext does not follow the canonical format or its schema.
    #[error("invalid record: {0}")]
    Record(String),
    /// A CSV file cannot be imported.
    #[error("CSV {where_}: {reason}")]
    Csv {
        /// Where (line, column).
        where_: String,
        /// What is wrong.
        reason: String,
    },
    /// A FHIR bundle cannot be imported.
    #[error("FHIR bundle {where_}: {reason}")]
    Fhir {
        /// Where (entry, resource).
        where_: String,
        /// What is wrong.
        reason: String,
    },
    /// A data requirement is invalid.
    #[error("invalid data requirement: {0}")]
    Requirement(String),
    /// Input larger than accepted.
    #[error("{what} is {len} bytes, more than the {max} accepted")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// Its size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// An import file holds more records than one import reads
    /// ([`crate::MAX_IMPORT_RECORDS`]).
    #[error("{what} has more than {max} {items}, the most one import reads (split it)")]
    TooManyRecords {
        /// The file (`CSV file`, `FHIR bundle`).
        what: &'static str,
        /// What it holds too many of (`rows`, `Patients`).
        items: &'static str,
        /// The limit.
        max: usize,
    },
}
