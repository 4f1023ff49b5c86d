//! Sealed headers, Clique style (EIP-225).
//!
//! A header of the embedded chain carries its own seal:
//!
//! ```text
//!  extra_data = VANITY (32 bytes: b"medshare/v1", zero-padded) ‖ r (32) ‖ s (32) ‖ y-parity (1)
//!  seal hash  = keccak256(rlp(header with extra_data = VANITY))
//!  block hash = keccak256(rlp(header))          (as for any Ethereum header)
//! ```
//!
//! so `eth_getBlockByNumber` returns everything a client needs to check who sealed a block.
//! The node seals with [`seal_hash`] and [`sealed_extra_data`]; a verifier recovers the sealer
//! with [`sealer_of`] (or checks it with [`verify_seal`]). Only canonical seals are accepted
//! (y-parity 0 or 1, low `s`), so a sealed header has exactly one valid encoding and one hash.

use alloy_consensus::Header;
use alloy_primitives::{Address, B256, Bytes, Signature, U256, uint};

use crate::{Error, Result};

/// The first 32 bytes of every sealed header's `extra_data`: `b"medshare/v1"`, zero-padded.
pub const VANITY: [u8; 32] = pad(b"medshare/v1");

/// Length of the seal at the end of `extra_data`: r ‖ s ‖ y-parity.
pub const SEAL_LEN: usize = 65;

/// Length of a sealed header's `extra_data`.
pub const SEALED_EXTRA_DATA_LEN: usize = VANITY.len() + SEAL_LEN;

/// The order of secp256k1's group.
const SECP256K1N: U256 =
    uint!(0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141_U256);

// Only evaluated at compile time (for `VANITY`), where an index out of bounds would be a build
// error; the loop bounds keep both indices in range anyway.
#[allow(clippy::indexing_slicing)]
const fn pad(tag: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < tag.len() && i < 32 {
        out[i] = tag[i];
        i += 1;
    }
    out
}

/// The hash the sealer signs: the header's hash with `extra_data` set to [`VANITY`] alone. Every
/// other field (parent hash, state root, number, ...) is covered.
pub fn seal_hash(header: &Header) -> B256 {
    let mut unsealed = header.clone();
    unsealed.extra_data = Bytes::from_static(&VANITY);
    unsealed.hash_slow()
}

/// The `extra_data` of a header sealed with `seal` (a signature of its [`seal_hash`]):
/// [`VANITY`] ‖ r ‖ s ‖ y-parity.
pub fn sealed_extra_data(seal: &Signature) -> Bytes {
    let mut out = Vec::with_capacity(SEALED_EXTRA_DATA_LEN);
    out.extend_from_slice(&VANITY);
    out.extend_from_slice(&seal.as_rsy());
    out.into()
}

/// The address that sealed `header`. Refuses extra data that is not [`VANITY`] followed by a
/// canonical 65-byte seal. A header changed after sealing recovers to some other address (or to
/// none), never to the sealer's.
pub fn sealer_of(header: &Header) -> Result<Address> {
    let extra = header.extra_data.as_ref();
    let len = extra.len();
    if len != SEALED_EXTRA_DATA_LEN {
        return Err(Error::SealLength { len });
    }
    let (vanity, seal) = extra
        .split_first_chunk::<32>()
        .ok_or(Error::SealLength { len })?;
    if *vanity != VANITY {
        return Err(Error::WrongVanity);
    }
    let (r, rest) = seal
        .split_first_chunk::<32>()
        .ok_or(Error::SealLength { len })?;
    let (s, parity) = rest
        .split_first_chunk::<32>()
        .ok_or(Error::SealLength { len })?;
    let parity = match parity {
        [0] => false,
        [1] => true,
        [other] => return Err(Error::SealParity(*other)),
        _ => return Err(Error::SealLength { len }),
    };
    let (r, s) = (U256::from_be_bytes(*r), U256::from_be_bytes(*s));
    if r.is_zero() || r >= SECP256K1N || s.is_zero() || s > SECP256K1N >> 1 {
        return Err(Error::NonCanonicalSeal);
    }
    Signature::new(r, s, parity)
        .recover_address_from_prehash(&seal_hash(header))
        .map_err(|_| Error::BadSeal)
}

/// Checks that `sealer` sealed `header`; returns the header's (block) hash.
pub fn verify_seal(header: &Header, sealer: Address) -> Result<B256> {
    let found = sealer_of(header)?;
    if found != sealer {
        return Err(Error::WrongSealer {
            expected: sealer,
            found,
        });
    }
    Ok(header.hash_slow())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use alloy_consensus::constants::EMPTY_ROOT_HASH;
    use alloy_primitives::{Bloom, keccak256};
    use alloy_signer::SignerSync;
    use alloy_signer_local::PrivateKeySigner;

    fn sealed(signer: &PrivateKeySigner) -> Header {
        let mut header = Header {
            parent_hash: keccak256(b"parent"),
            beneficiary: signer.address(),
            state_root: keccak256(b"state"),
            transactions_root: EMPTY_ROOT_HASH,
            receipts_root: EMPTY_ROOT_HASH,
            number: 42,
            gas_limit: 30_000_000,
            gas_used: 21_000,
            timestamp: 1_700_000_000,
            base_fee_per_gas: Some(0),
            withdrawals_root: Some(EMPTY_ROOT_HASH),
            blob_gas_used: Some(0),
            excess_blob_gas: Some(0),
            parent_beacon_block_root: Some(B256::ZERO),
            ..Default::default()
        };
        let seal = signer.sign_hash_sync(&seal_hash(&header)).unwrap();
        header.extra_data = sealed_extra_data(&seal);
        header
    }

    #[test]
    fn vanity_is_the_padded_tag() {
        assert_eq!(&VANITY[..11], b"medshare/v1");
        assert!(VANITY[11..].iter().all(|b| *b == 0));
    }

    #[test]
    fn a_sealed_header_recovers_its_sealer() {
        let signer = PrivateKeySigner::random();
        let header = sealed(&signer);
        assert_eq!(header.extra_data.len(), SEALED_EXTRA_DATA_LEN);
        assert_eq!(sealer_of(&header).unwrap(), signer.address());
        assert_eq!(
            verify_seal(&header, signer.address()).unwrap(),
            header.hash_slow()
        );
        // The seal hash does not depend on the seal.
        let mut resealed = header.clone();
        resealed.extra_data = Bytes::new();
        assert_eq!(seal_hash(&resealed), seal_hash(&header));
    }

    #[test]
    fn a_forged_header_no_longer_recovers_the_sealer() {
        let signer = PrivateKeySigner::random();
        let header = sealed(&signer);
        type Forge = Box<dyn Fn(&mut Header)>;
        let forgeries: Vec<(&str, Forge)> = vec![
            ("parent_hash", Box::new(|h| h.parent_hash.0[0] ^= 1)),
            ("ommers_hash", Box::new(|h| h.ommers_hash.0[0] ^= 1)),
            (
                "beneficiary",
                Box::new(|h| h.beneficiary = Address::repeat_byte(9)),
            ),
            ("state_root", Box::new(|h| h.state_root.0[31] ^= 1)),
            (
                "transactions_root",
                Box::new(|h| h.transactions_root.0[5] ^= 1),
            ),
            ("receipts_root", Box::new(|h| h.receipts_root.0[5] ^= 1)),
            (
                "logs_bloom",
                Box::new(|h| h.logs_bloom = Bloom::repeat_byte(1)),
            ),
            ("difficulty", Box::new(|h| h.difficulty = U256::from(1))),
            ("number", Box::new(|h| h.number += 1)),
            ("gas_limit", Box::new(|h| h.gas_limit -= 1)),
            ("gas_used", Box::new(|h| h.gas_used += 1)),
            ("timestamp", Box::new(|h| h.timestamp += 1)),
            ("mix_hash", Box::new(|h| h.mix_hash.0[0] ^= 1)),
            ("nonce", Box::new(|h| h.nonce.0[0] ^= 1)),
            (
                "base_fee_per_gas",
                Box::new(|h| h.base_fee_per_gas = Some(1)),
            ),
            ("withdrawals_root", Box::new(|h| h.withdrawals_root = None)),
            ("blob_gas_used", Box::new(|h| h.blob_gas_used = Some(1))),
            ("excess_blob_gas", Box::new(|h| h.excess_blob_gas = Some(1))),
            (
                "parent_beacon_block_root",
                Box::new(|h| h.parent_beacon_block_root = Some(B256::repeat_byte(1))),
            ),
            (
                "requests_hash",
                Box::new(|h| h.requests_hash = Some(B256::repeat_byte(1))),
            ),
        ];
        for (field, forge) in forgeries {
            let mut h = header.clone();
            forge(&mut h);
            assert_ne!(
                sealer_of(&h).ok(),
                Some(signer.address()),
                "changing {field} kept the seal valid"
            );
            assert!(verify_seal(&h, signer.address()).is_err(), "{field}");
        }
        // Resealed by another key: validly sealed, by the wrong sealer.
        let mallory = PrivateKeySigner::random();
        let mut h = header.clone();
        let seal = mallory.sign_hash_sync(&seal_hash(&h)).unwrap();
        h.extra_data = sealed_extra_data(&seal);
        assert_eq!(
            verify_seal(&h, signer.address()),
            Err(Error::WrongSealer {
                expected: signer.address(),
                found: mallory.address()
            })
        );
    }

    #[test]
    fn malformed_seals_are_refused_without_panicking() {
        let signer = PrivateKeySigner::random();
        let header = sealed(&signer);
        let with_extra = |extra: Vec<u8>| {
            let mut h = header.clone();
            h.extra_data = extra.into();
            sealer_of(&h)
        };
        let good = header.extra_data.to_vec();
        for len in [0, 1, 32, 64, 96, 98, 200] {
            let mut e = good.clone();
            e.resize(len, 0);
            assert_eq!(with_extra(e), Err(Error::SealLength { len }));
        }
        let mut e = good.clone();
        e[0] ^= 1;
        assert_eq!(with_extra(e), Err(Error::WrongVanity));
        for v in [2u8, 27, 28, 255] {
            let mut e = good.clone();
            e[96] = v;
            assert_eq!(with_extra(e), Err(Error::SealParity(v)));
        }
        // The high-s twin of a valid seal recovers the same key: refused as non-canonical.
        let sig = Signature::new(
            U256::from_be_slice(&good[32..64]),
            U256::from_be_slice(&good[64..96]),
            good[96] == 1,
        );
        let twin = Signature::new(sig.r(), SECP256K1N - sig.s(), !sig.v());
        let mut e = good.clone();
        e[32..].copy_from_slice(&twin.as_rsy());
        assert_eq!(with_extra(e), Err(Error::NonCanonicalSeal));
        // r = 0, s = 0, r >= n.
        for (from, to, byte) in [(32, 64, 0u8), (64, 96, 0), (32, 64, 0xff)] {
            let mut e = good.clone();
            e[from..to].fill(byte);
            assert_eq!(with_extra(e), Err(Error::NonCanonicalSeal));
        }
        // Random bytes of the right shape: an error or some other address, never a panic.
        for i in 0..64u8 {
            let mut e = VANITY.to_vec();
            e.extend((0..65).map(|j| keccak256([i, j]).0[0]));
            e[96] = i % 2;
            assert_ne!(with_extra(e).ok(), Some(signer.address()));
        }
    }
}
