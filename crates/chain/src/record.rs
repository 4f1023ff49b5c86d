//! Conversions between the protocol's [`Record`] (as signed, from `medshare-crypto`) and the
//! ABI structs of the contracts that take it. The field lists are identical by construction
//! (both come from the same Solidity struct); the conversion only changes the Rust type.

use crate::{Authorization, Data};
use medshare_crypto::eip712::Record;

macro_rules! record_conversion {
    ($(#[$doc:meta])* $name:ident -> $target:ty) => {
        $(#[$doc])*
        pub fn $name(r: &Record) -> $target {
            <$target>::from((
                r.owner,
                r.recordId,
                r.dataType,
                r.storageIndex,
                r.ciphertextHash,
                r.timestamp,
                r.cm.clone(),
                r.rUg.clone(),
                r.padCommitment,
                r.tee,
            ))
        }
    };
}

record_conversion!(
    /// The record as `Data` takes it.
    to_data_record -> Data::Record
);
record_conversion!(
    /// The record as `Authorization` takes it.
    to_authorization_record -> Authorization::Record
);

/// The record a `RecordRegistered` event publishes (every field of TD_i is in the event).
pub fn record_from_event(e: &Data::RecordRegistered) -> Record {
    Record {
        owner: e.owner,
        recordId: e.recordId,
        dataType: e.dataType,
        storageIndex: e.storageIndex,
        ciphertextHash: e.ciphertextHash,
        timestamp: e.timestamp,
        cm: e.cm.clone(),
        rUg: e.rUg.clone(),
        padCommitment: e.padCommitment,
        tee: e.tee,
    }
}
