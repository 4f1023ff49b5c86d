//! Identifiers and plain value types shared by every medshare crate.
//!
//! This crate owns the vocabulary of the protocol in the paper's notation — record ids, data types
//! (UDT), job ids (MID/model ids), party roles — as small newtypes. It does no I/O and no
//! cryptography; it only names things so the layers above cannot confuse a record id with a job id.
//!
//! Invariant: every type here is cheap to copy or clone and carries no secret material, so all of
//! them may implement `Debug` and `Display` freely.

#![forbid(unsafe_code)]

pub use alloy_primitives::{Address, B256, Bytes, U256, keccak256};

use serde::{Deserialize, Serialize};
use std::fmt;

mod error;
pub use error::Error;

/// Result alias for this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;

macro_rules! id32 {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default)]
        #[serde(transparent)]
        pub struct $name(pub B256);

        impl $name {
            /// The raw 32 bytes.
            pub const fn as_b256(&self) -> &B256 {
                &self.0
            }
            /// A fresh random id (256 bits from the OS RNG).
            pub fn random() -> Self {
                Self(B256::random())
            }
        }
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }
        impl From<B256> for $name {
            fn from(b: B256) -> Self {
                Self(b)
            }
        }
        impl From<$name> for B256 {
            fn from(id: $name) -> B256 {
                id.0
            }
        }
        impl std::str::FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                s.parse::<B256>().map(Self).map_err(|_| Error::BadId { kind: stringify!($name), input: s.chars().take(80).collect() })
            }
        }
    };
}

id32!(
    /// Identifies one medical record of one owner. Chosen at random by the owner before
    /// encryption and bound into the ciphertext as associated data, so a ciphertext moved to another
    /// record fails to decrypt.
    RecordId
);
id32!(
    /// Identifies one model submission (the paper's IM_j) and the training job run for it.
    JobId
);
id32!(
    /// SHA-256 of a record ciphertext: the paper's HDS_i. Also the record's key on chain.
    CiphertextHash
);
id32!(
    /// Off-chain storage index DA_i of a record ciphertext.
    StorageIndex
);

/// A data type (the paper's UDT): a named schema such as `breast-cancer-wdbc/v1`.
///
/// On chain a data type is its 32-byte id, `keccak256("medshare.datatype:" || name)`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Debug)]
pub struct DataType(String);

impl DataType {
    /// Longest accepted name, in bytes.
    pub const MAX_LEN: usize = 64;

    /// A data type from its name: 1 to 64 bytes of `[a-z0-9._/-]`.
    pub fn new(name: impl Into<String>) -> Result<Self> {
        let name = name.into();
        let ok = !name.is_empty()
            && name.len() <= Self::MAX_LEN
            && name
                .bytes()
                .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'/' | b'-'));
        if ok {
            Ok(Self(name))
        } else {
            Err(Error::BadDataType {
                input: name.chars().take(80).collect(),
            })
        }
    }
    /// The name.
    pub fn name(&self) -> &str {
        &self.0
    }
    /// The on-chain id of this data type.
    pub fn id(&self) -> B256 {
        let mut buf = Vec::with_capacity(18 + self.0.len());
        buf.extend_from_slice(b"medshare.datatype:");
        buf.extend_from_slice(self.0.as_bytes());
        keccak256(buf)
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The role a party registers with (§5.1(3)(a)).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[repr(u8)]
pub enum Role {
    /// A patient who owns records.
    User = 1,
    /// A research institute that asks for models to be trained (the data demander).
    Demander = 2,
    /// A trusted execution environment that trains reviewed models.
    Tee = 3,
    /// A reviewer who approves or rejects models before any TEE may run them.
    Reviewer = 4,
}

impl Role {
    /// The role for its on-chain number.
    pub fn from_u8(v: u8) -> Result<Self> {
        Ok(match v {
            1 => Self::User,
            2 => Self::Demander,
            3 => Self::Tee,
            4 => Self::Reviewer,
            other => return Err(Error::BadRole(other)),
        })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::User => "user",
            Self::Demander => "demander",
            Self::Tee => "tee",
            Self::Reviewer => "reviewer",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_type_rejects_bad_names() {
        assert!(DataType::new("wdbc/v1").is_ok());
        assert!(DataType::new("").is_err());
        assert!(DataType::new("Upper").is_err());
        assert!(DataType::new("x".repeat(65)).is_err());
    }

    #[test]
    fn data_type_ids_differ() {
        let a = DataType::new("a").unwrap().id();
        let b = DataType::new("b").unwrap().id();
        assert_ne!(a, b);
    }

    #[test]
    fn role_round_trip() {
        for r in [Role::User, Role::Demander, Role::Tee, Role::Reviewer] {
            assert_eq!(Role::from_u8(r as u8).unwrap(), r);
        }
        assert!(Role::from_u8(0).is_err());
    }

    #[test]
    fn ids_parse() {
        let id = RecordId::random();
        assert_eq!(id.to_string().parse::<RecordId>().unwrap(), id);
        assert!("nope".parse::<RecordId>().is_err());
    }
}
