//! The record format: what a patient's record *is* before it is encrypted and after the enclave
//! decrypts it.
//!
//! # What this crate owns
//!
//! * [`Schema`]: a data type (UDT of the paper) as a named list of features with units, public
//!   clipping ranges (`min`, `max`) and, for FHIR import, LOINC codes, plus the label (its
//!   classes, or its range for a numeric label). `breast-cancer-wdbc` is built in
//!   ([`Schema::wdbc`], [`Schema::builtin`]); others are JSON files ([`Schema::from_json`]).
//!   The ranges are what training clips to and scales by, so they must be public facts about
//!   the data type, never statistics of a cohort.
//! * [`PatientRecord`]: the canonical plaintext of one record (`UDATA_i`), a small JSON object
//!   `{"data_type", "values", "label"}` that [`PatientRecord::to_bytes`] writes and
//!   [`PatientRecord::from_bytes`] reads back strictly.
//! * Import: [`csv::read`] (one row per patient) and [`fhir::read_bundle`] (an R4 Bundle of
//!   Patient and Observation resources, mapped to the schema by LOINC code): the patient's own
//!   upload step splits its data into records with these. One import reads at most
//!   [`csv::MAX_CSV_BYTES`] or [`fhir::MAX_BUNDLE_BYTES`] of text and [`MAX_IMPORT_RECORDS`]
//!   records.
//! * [`DataRequirement`]: a demander's RM_j (data type, features, label, minimum cohort).
//!
//! # What it does not do
//!
//! No I/O (callers pass text and bytes), no cryptography. It is linked by the patient's upload
//! step and by the enclave, the two places plaintext exists.
//!
//! # Invariants
//!
//! * No `Debug` output and no error message contains a patient's value: errors name the row,
//!   the column or the resource, never what was in it.
//! * Every value in a [`PatientRecord`] is finite; every feature of its schema is present
//!   (missing data is refused at import, not guessed). Values outside a feature's range are
//!   accepted here and clipped by training.
//! * Every feature of a valid [`Schema`] has a finite range with `min < max`; its label is
//!   either categorical (two or more classes) or numeric (a range).

#![forbid(unsafe_code)]

pub mod csv;
mod error;
pub mod fhir;
mod record;
mod requirement;
mod schema;

pub use error::{Error, Result};
pub use record::{MAX_RECORD_BYTES, PatientRecord};
pub use requirement::{DataRequirement, MAX_REQUIREMENT_BYTES};
pub use schema::{Feature, Label, MAX_SCHEMA_FEATURES, Schema};

/// The most records one import reads: rows of a CSV file ([`csv::read`]), Patients of a FHIR
/// bundle ([`fhir::read_bundle`]). A larger file is refused with [`Error::TooManyRecords`]
/// before any record is built; split it into several uploads. (Imported records of 30 features
/// take about 2.5 kB each in memory: about 2.5 GB at the limit.)
pub const MAX_IMPORT_RECORDS: usize = 1_000_000;

/// One patient's record as imported: the patient's pseudonym in the source file, and the record.
#[derive(Clone, PartialEq)]
pub struct Imported {
    /// The patient identifier of the source (CSV `patient` column, FHIR `Patient.id`).
    pub patient: String,
    /// The record.
    pub record: PatientRecord,
}

impl std::fmt::Debug for Imported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Imported")
            .field("patient", &self.patient)
            .finish_non_exhaustive()
    }
}
