//! A party's long-term secp256k1 key, which is also its Ethereum account.

use std::fmt;

use alloy_primitives::{Address, B512, FixedBytes};
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::SolStruct;
use k256::elliptic_curve::sec1::ToEncodedPoint;
use k256::{NonZeroScalar, PublicKey};

use crate::eip712::{Domain, Signature};
use crate::{Error, Result};

/// A party's secret key: its Ethereum account (users, demanders, reviewers) or the TEE's `SK_T`.
///
/// Wraps alloy's [`PrivateKeySigner`], which zeroizes the key on drop. `Debug` prints the address
/// only. Not `Clone`: use [`Identity::signer`] when an alloy wallet needs its own copy.
pub struct Identity {
    signer: PrivateKeySigner,
}

impl Identity {
    /// A fresh key from the OS RNG.
    pub fn random() -> Self {
        Self {
            signer: PrivateKeySigner::random_with(&mut rand::rngs::OsRng),
        }
    }

    /// The identity for a known 32-byte secret (for example a development account of a local
    /// chain). Fails for zero or a value not below the group order.
    pub fn from_secret_bytes(secret: &[u8; 32]) -> Result<Self> {
        PrivateKeySigner::from_slice(secret)
            .map(|signer| Self { signer })
            .map_err(|_| Error::BadSecretKey)
    }

    /// The Ethereum address: the last 20 bytes of `keccak256` of the 64-byte public key.
    pub fn address(&self) -> Address {
        self.signer.address()
    }

    /// The public key (`PK_i`, `PK_T`, `PK_j` in the paper).
    pub fn public_key(&self) -> PublicKey {
        PublicKey::from(self.signer.credential().verifying_key())
    }

    /// The public key as 64 bytes `x || y` (uncompressed, without the `0x04` prefix): the form
    /// the Registration contract hashes to check `keccak256(pubkey)` against the sender address.
    pub fn public_key_uncompressed(&self) -> B512 {
        self.signer.public_key()
    }

    /// The public key as a 33-byte SEC1 compressed point.
    pub fn public_key_compressed(&self) -> FixedBytes<33> {
        compress(&self.public_key())
    }

    /// Signs an EIP-712 struct under a medshare domain. See [`crate::eip712`].
    pub fn sign_typed<T: SolStruct>(&self, domain: &Domain, value: &T) -> Result<Signature> {
        crate::eip712::sign(self, domain, value)
    }

    /// The underlying alloy signer, for sending transactions from this account (for example
    /// `EthereumWallet::from(identity.signer().clone())`). Holds the secret key.
    pub fn signer(&self) -> &PrivateKeySigner {
        &self.signer
    }

    /// The secret scalar, for ECDH and key recovery inside this crate.
    pub(crate) fn secret_scalar(&self) -> &NonZeroScalar {
        self.signer.as_nonzero_scalar()
    }
}

impl From<PrivateKeySigner> for Identity {
    fn from(signer: PrivateKeySigner) -> Self {
        Self { signer }
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("address", &self.address())
            .finish_non_exhaustive()
    }
}

/// The Ethereum address of a public key.
pub fn address_of(public_key: &PublicKey) -> Address {
    Address::from_public_key(&k256::ecdsa::VerifyingKey::from(public_key))
}

/// Parses a public key from 33 (compressed), 65 (`0x04 || x || y`) or 64 (`x || y`, as stored by
/// the Registration contract) bytes. Rejects points not on the curve and the identity.
pub fn public_key_from_bytes(bytes: &[u8]) -> Result<PublicKey> {
    let parsed = match bytes.len() {
        64 => {
            let mut sec1 = [0u8; 65];
            sec1[0] = 0x04;
            sec1[1..].copy_from_slice(bytes);
            PublicKey::from_sec1_bytes(&sec1)
        }
        33 | 65 => PublicKey::from_sec1_bytes(bytes),
        _ => return Err(Error::BadPublicKey),
    };
    parsed.map_err(|_| Error::BadPublicKey)
}

/// SEC1 compressed encoding of a public key.
pub(crate) fn compress(public_key: &PublicKey) -> FixedBytes<33> {
    FixedBytes::from_slice(public_key.to_encoded_point(true).as_bytes())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use alloy_primitives::keccak256;

    #[test]
    fn address_is_keccak_of_uncompressed_key() {
        let id = Identity::random();
        let hash = keccak256(id.public_key_uncompressed());
        assert_eq!(Address::from_slice(&hash[12..]), id.address());
        assert_eq!(address_of(&id.public_key()), id.address());
    }

    #[test]
    fn key_encodings_parse_back() {
        let id = Identity::random();
        let pk = id.public_key();
        assert_eq!(
            public_key_from_bytes(id.public_key_compressed().as_slice()).unwrap(),
            pk
        );
        assert_eq!(
            public_key_from_bytes(id.public_key_uncompressed().as_slice()).unwrap(),
            pk
        );
        assert!(public_key_from_bytes(&[0u8; 64]).is_err());
        assert!(public_key_from_bytes(&[2u8; 32]).is_err());
    }

    #[test]
    fn known_secret_gives_known_address() {
        // Secret key 1: its address is well known (the generator point's address).
        let mut one = [0u8; 32];
        one[31] = 1;
        let id = Identity::from_secret_bytes(&one).unwrap();
        assert_eq!(
            id.address(),
            "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"
                .parse::<Address>()
                .unwrap()
        );
        assert!(Identity::from_secret_bytes(&[0u8; 32]).is_err());
        assert!(Identity::from_secret_bytes(&[0xff; 32]).is_err());
    }

    #[test]
    fn debug_hides_secret() {
        let id = Identity::random();
        let secret = alloy_primitives::hex::encode(id.signer().to_bytes());
        let dbg = format!("{id:?}");
        assert!(!dbg.contains(&secret));
        assert!(dbg.contains(&format!("{:?}", id.address())));
    }
}
