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
