//! Turning revert data into the contracts' named custom errors.

use crate::{Audit, Authorization, Data, Error, Model, Registration};
use alloy_primitives::{Address, B256, U256, hex};
use alloy_sol_types::SolInterface;

/// Signature (`Name(type,...)`) of the medshare custom error `data` encodes, if any. The data is
/// ABI-decoded and validated against the generated error types, so a matching selector with
/// malformed arguments is not reported.
fn medshare_error_signature(data: &[u8]) -> Option<&'static str> {
    let selector: [u8; 4] = data.get(..4)?.try_into().ok()?;
    macro_rules! try_contract {
        ($errors:ty) => {
            if let Some(sig) = <$errors>::signature_by_selector(selector) {
                return <$errors as SolInterface>::abi_decode_validate(data)
                    .ok()
                    .map(|_| sig);
            }
        };
    }
    try_contract!(Registration::RegistrationErrors);
    try_contract!(Data::DataErrors);
    try_contract!(Model::ModelErrors);
    try_contract!(Authorization::AuthorizationErrors);
    try_contract!(Audit::AuditErrors);
    None
}

/// Decodes revert data into a readable reason: one of medshare's named custom errors with its
/// arguments, e.g. `NotRecordOwner(0x70997970C51812dc3A010C7d01b50e0d17dc79C8, 0x…)`, or a
/// standard `Error(string)` / `Panic(uint256)` as `revert: …` / `panic: …`. Returns `None` for
/// empty or unrecognised data.
///
/// Arguments print as: addresses checksummed, `bytes32` in hex, integers and enums in decimal,
/// booleans as `true`/`false`.
pub fn decode_revert(data: &[u8]) -> Option<String> {
    if let Some(signature) = medshare_error_signature(data) {
        return Some(format_error(signature, &data[4..]));
    }
    // Not `alloy_sol_types::decode_revert_reason`: it also reports any valid UTF-8 bytes as a
    // reason, which would turn arbitrary data into misleading text.
    alloy_sol_types::GenericContractError::abi_decode_validate(data)
        .ok()
        .map(|e| e.to_string())
}

/// The name of the medshare custom error `data` encodes (e.g. `"NotRecordOwner"`), if any.
pub fn revert_name(data: &[u8]) -> Option<&'static str> {
    medshare_error_signature(data).and_then(|sig| sig.split('(').next())
}

/// An [`Error::Reverted`] for revert data, with the reason decoded by [`decode_revert`] or the
/// data in hex when it is not recognised.
pub fn revert_error(data: &[u8]) -> Error {
    let reason = decode_revert(data).unwrap_or_else(|| format!("0x{}", hex::encode(data)));
    Error::Reverted { reason }
}

/// Formats `Name(arg, ...)` from a validated error. Every medshare error has only static
/// arguments (one 32-byte word each); anything else falls back to hex.
fn format_error(signature: &str, args: &[u8]) -> String {
    let (name, params) = signature.split_once('(').unwrap_or((signature, ")"));
    let params = params.strip_suffix(')').unwrap_or(params);
    let types: Vec<&str> = if params.is_empty() {
        Vec::new()
    } else {
        params.split(',').collect()
    };
    let words: Vec<&[u8]> = args.chunks(32).collect();
    let all_static = types.iter().all(|t| is_static_word(t)) && words.len() == types.len();
    if !all_static {
        return format!("{name}(0x{})", hex::encode(args));
    }
    let rendered: Vec<String> = types
        .iter()
        .zip(words)
        .map(|(ty, word)| format_word(ty, word))
        .collect();
    format!("{name}({})", rendered.join(", "))
}

fn is_static_word(ty: &str) -> bool {
    matches!(ty, "address" | "bool" | "bytes32") || ty.starts_with("uint") || ty.starts_with("int")
}

fn format_word(ty: &str, word: &[u8]) -> String {
    let word = B256::from_slice(word);
    match ty {
        "address" => Address::from_word(word).to_checksum(None),
        "bool" => (!word.is_zero()).to_string(),
        "bytes32" => word.to_string(),
        t if t.starts_with("uint") => U256::from_be_bytes(word.0).to_string(),
        _ => word.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::address;
    use alloy_sol_types::{Revert, SolError};

    const OWNER: Address = address!("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
    const CALLER: Address = address!("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC");

    #[test]
    fn named_error_with_addresses() {
        let data = Data::NotRecordOwner {
            caller: CALLER,
            owner: OWNER,
        }
        .abi_encode();
        assert_eq!(
            decode_revert(&data).as_deref(),
            Some(
                "NotRecordOwner(0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC, \
                 0x70997970C51812dc3A010C7d01b50e0d17dc79C8)"
            )
        );
        assert_eq!(revert_name(&data), Some("NotRecordOwner"));
    }

    #[test]
    fn named_error_with_hash_and_enum() {
        let job = B256::repeat_byte(0xab);
        let data = Model::WrongJobStatus {
            jobId: job,
            status: 2,
        }
        .abi_encode();
        assert_eq!(
            decode_revert(&data),
            Some(format!("WrongJobStatus({job}, 2)"))
        );
    }

    #[test]
    fn errors_of_every_contract_decode() {
        let cases: [(Vec<u8>, &str); 5] = [
            (
                Registration::LastAdmin { admin: OWNER }.abi_encode(),
                "LastAdmin",
            ),
            (
                Data::AlreadyRegistered {
                    ciphertextHash: B256::ZERO,
                }
                .abi_encode(),
                "AlreadyRegistered",
            ),
            (
                Model::NotReviewer { caller: CALLER }.abi_encode(),
                "NotReviewer",
            ),
            (
                Authorization::ConsentExpired {
                    deadline: U256::from(7),
                }
                .abi_encode(),
                "ConsentExpired",
            ),
            (Audit::EmptyBatch {}.abi_encode(), "EmptyBatch"),
        ];
        for (data, name) in cases {
            assert_eq!(revert_name(&data), Some(name));
            assert!(decode_revert(&data).is_some_and(|s| s.starts_with(&format!("{name}("))));
        }
        assert_eq!(
            decode_revert(&Audit::EmptyBatch {}.abi_encode()).as_deref(),
            Some("EmptyBatch()")
        );
        assert_eq!(
            decode_revert(
                &Authorization::ConsentExpired {
                    deadline: U256::from(7)
                }
                .abi_encode()
            )
            .as_deref(),
            Some("ConsentExpired(7)")
        );
    }

    #[test]
    fn malformed_or_unknown_data_is_not_a_named_error() {
        let mut data = Data::NotRecordOwner {
            caller: CALLER,
            owner: OWNER,
        }
        .abi_encode();
        data.truncate(40);
        assert_eq!(revert_name(&data), None);
        // A dirty high byte in an address word fails validation.
        let mut dirty = Data::NotUser { caller: CALLER }.abi_encode();
        dirty[4] = 1;
        assert_eq!(revert_name(&dirty), None);
        assert_eq!(decode_revert(&[0xde, 0xad, 0xbe, 0xef]), None);
        assert_eq!(decode_revert(&[]), None);
    }

    #[test]
    fn standard_revert_string_and_error_value() {
        let data = Revert::from("boom").abi_encode();
        assert_eq!(decode_revert(&data).as_deref(), Some("revert: boom"));
        let err = revert_error(&Registration::NotAdmin { caller: CALLER }.abi_encode());
        assert_eq!(
            err.to_string(),
            "contract reverted: NotAdmin(0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC)"
        );
        assert_eq!(
            revert_error(&[1, 2]).to_string(),
            "contract reverted: 0x0102"
        );
    }
}
