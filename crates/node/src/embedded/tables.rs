//! The redb tables of the embedded chain and the encoding of their rows.
//!
//! Keys are fixed-width big-endian byte strings so that redb's byte order is the order we scan in
//! (block number, then log index). Structured rows are RLP ([`alloy_rlp`]), the encoding the rest
//! of Ethereum uses; fixed-size rows (accounts, storage) are plain byte arrays. Every decoder
//! returns an error rather than panicking: the file is untrusted input once it is on disk.

use alloy_consensus::Header;
use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_rlp::{Decodable, Encodable, RlpDecodable, RlpEncodable};
use redb::TableDefinition;
use revm::state::AccountInfo;

/// Chain metadata: [`META_FORMAT`], [`META_CHAIN_ID`], [`META_SEALER`], [`META_GENESIS`].
pub(crate) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
/// Block number → block hash (32) ‖ RLP(header). The header carries its seal in `extra_data`
/// (see `medshare_light::header`).
pub(crate) const BLOCKS: TableDefinition<u64, &[u8]> = TableDefinition::new("blocks");
/// Block hash → block number.
pub(crate) const BLOCK_NUMBERS: TableDefinition<&[u8; 32], u64> =
    TableDefinition::new("block_numbers");
/// Block number → the block's transaction hashes, concatenated (32 bytes each, in order).
pub(crate) const BLOCK_TXS: TableDefinition<u64, &[u8]> = TableDefinition::new("block_txs");
/// Transaction hash → [`StoredTx`].
pub(crate) const TXS: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("txs");
/// Transaction hash → [`StoredReceipt`].
pub(crate) const RECEIPTS: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("receipts");
/// (block number, log index in block) → [`StoredLog`]. See [`log_key`].
pub(crate) const LOGS: TableDefinition<&[u8; 12], &[u8]> = TableDefinition::new("logs");
/// (field, value, block number, log index) → (). See [`index_key`].
pub(crate) const LOG_INDEX: TableDefinition<&[u8; 45], ()> = TableDefinition::new("log_index");
/// Address → nonce (8) ‖ balance (32) ‖ code hash (32).
pub(crate) const ACCOUNTS: TableDefinition<&[u8; 20], &[u8; 72]> = TableDefinition::new("accounts");
/// Code hash → bytecode.
pub(crate) const CODE: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("code");
/// Address (20) ‖ slot (32) → value (32). Zero values are deleted, never stored. This flat copy of
/// the state is what revm reads; the Merkle-Patricia tries over the same data (`trie`) are what
/// headers and proofs commit to.
pub(crate) const STORAGE: TableDefinition<&[u8; 52], &[u8; 32]> = TableDefinition::new("storage");

/// [`META`] key: the store's format tag, [`FORMAT`].
pub(crate) const META_FORMAT: &str = "format";
/// [`META`] key: the chain id, 8 bytes big-endian.
pub(crate) const META_CHAIN_ID: &str = "chain_id";
/// [`META`] key: the sealer's address, 20 bytes.
pub(crate) const META_SEALER: &str = "sealer";
/// [`META`] key: the genesis block hash, 32 bytes.
pub(crate) const META_GENESIS: &str = "genesis";
/// The format tag stored under [`META_FORMAT`]. Format 1 (before headers carried their seal and
/// a Merkle-Patricia state root) is refused.
pub(crate) const FORMAT: &[u8] = b"medshare-embedded-chain/2";

/// Index field tag for a log's emitting address (value = address left-padded to 32 bytes).
pub(crate) const FIELD_ADDRESS: u8 = 0;
/// Index field tag for topic `i` is `FIELD_TOPIC0 + i`.
pub(crate) const FIELD_TOPIC0: u8 = 1;

/// A row that could not be decoded. Carries what it was, for [`crate::Error::Corrupt`].
#[derive(Debug)]
pub(crate) struct BadRow(pub(crate) String);

impl BadRow {
    fn new(what: &str, err: impl core::fmt::Display) -> Self {
        Self(format!("undecodable {what} row: {err}"))
    }
}

/// Key of [`LOGS`]: block number ‖ log index, big-endian.
pub(crate) fn log_key(block: u64, log_index: u32) -> [u8; 12] {
    let mut k = [0u8; 12];
    k[..8].copy_from_slice(&block.to_be_bytes());
    k[8..].copy_from_slice(&log_index.to_be_bytes());
    k
}

/// Splits a [`LOGS`] key.
pub(crate) fn split_log_key(k: &[u8; 12]) -> (u64, u32) {
    let mut b = [0u8; 8];
    b.copy_from_slice(&k[..8]);
    let mut i = [0u8; 4];
    i.copy_from_slice(&k[8..]);
    (u64::from_be_bytes(b), u32::from_be_bytes(i))
}

/// Key of [`LOG_INDEX`]: field tag ‖ value ‖ block number ‖ log index.
pub(crate) fn index_key(field: u8, value: &B256, block: u64, log_index: u32) -> [u8; 45] {
    let mut k = [0u8; 45];
    k[0] = field;
    k[1..33].copy_from_slice(value.as_slice());
    k[33..].copy_from_slice(&log_key(block, log_index));
    k
}

/// The (block, log index) at the end of a [`LOG_INDEX`] key.
pub(crate) fn index_key_position(k: &[u8; 45]) -> (u64, u32) {
    let mut tail = [0u8; 12];
    tail.copy_from_slice(&k[33..]);
    split_log_key(&tail)
}

/// Key of [`STORAGE`].
pub(crate) fn storage_key(address: &Address, slot: &U256) -> [u8; 52] {
    let mut k = [0u8; 52];
    k[..20].copy_from_slice(address.as_slice());
    k[20..].copy_from_slice(&slot.to_be_bytes::<32>());
    k
}

/// Encodes an account row.
pub(crate) fn encode_account(info: &AccountInfo) -> [u8; 72] {
    let mut row = [0u8; 72];
    row[..8].copy_from_slice(&info.nonce.to_be_bytes());
    row[8..40].copy_from_slice(&info.balance.to_be_bytes::<32>());
    row[40..].copy_from_slice(info.code_hash.as_slice());
    row
}

/// Decodes an account row. The code itself is left for `code_by_hash` unless the account has none.
pub(crate) fn decode_account(row: &[u8; 72]) -> AccountInfo {
    let mut nonce = [0u8; 8];
    nonce.copy_from_slice(&row[..8]);
    let mut info = AccountInfo {
        nonce: u64::from_be_bytes(nonce),
        balance: U256::from_be_slice(&row[8..40]),
        ..Default::default()
    };
    let code_hash = B256::from_slice(&row[40..]);
    if code_hash != revm::primitives::KECCAK_EMPTY {
        info.code_hash = code_hash;
        info.code = None;
    }
    info
}

/// A decoded [`BLOCKS`] row.
#[derive(Debug, Clone)]
pub(crate) struct BlockRow {
    /// The header hash as stored (checked against the header by `verify`).
    pub(crate) hash: B256,
    /// The header, sealed (its `extra_data` ends with the sealer's signature).
    pub(crate) header: Header,
}

impl BlockRow {
    /// Encodes the row.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32 + self.header.length());
        out.extend_from_slice(self.hash.as_slice());
        self.header.encode(&mut out);
        out
    }

    /// Decodes a row.
    pub(crate) fn decode(row: &[u8]) -> Result<Self, BadRow> {
        let Some((hash, mut rest)) = row.split_first_chunk::<32>() else {
            return Err(BadRow(format!(
                "block row of {} bytes is too short",
                row.len()
            )));
        };
        let header = Header::decode(&mut rest).map_err(|e| BadRow::new("header", e))?;
        if !rest.is_empty() {
            return Err(BadRow("trailing bytes after block header".into()));
        }
        Ok(Self {
            hash: B256::from(*hash),
            header,
        })
    }

    /// The stored hash without decoding the rest.
    pub(crate) fn hash_of(row: &[u8]) -> Result<B256, BadRow> {
        row.get(..32)
            .map(B256::from_slice)
            .ok_or_else(|| BadRow("block row too short".into()))
    }
}

/// An optional address, RLP-encoded as a 0- or 20-byte string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct OptAddress(pub(crate) Option<Address>);

impl Encodable for OptAddress {
    fn encode(&self, out: &mut dyn alloy_rlp::BufMut) {
        match &self.0 {
            Some(a) => a.encode(out),
            None => Bytes::new().encode(out),
        }
    }
    fn length(&self) -> usize {
        match &self.0 {
            Some(a) => a.length(),
            None => 1,
        }
    }
}

impl Decodable for OptAddress {
    fn decode(buf: &mut &[u8]) -> alloy_rlp::Result<Self> {
        let b = Bytes::decode(buf)?;
        match b.len() {
            0 => Ok(Self(None)),
            20 => Ok(Self(Some(Address::from_slice(&b)))),
            _ => Err(alloy_rlp::Error::Custom("address must be 0 or 20 bytes")),
        }
    }
}

/// A [`TXS`] row: where the transaction landed, its sender and its EIP-2718 bytes.
#[derive(Debug, Clone, RlpEncodable, RlpDecodable)]
pub(crate) struct StoredTx {
    pub(crate) block_number: u64,
    pub(crate) tx_index: u64,
    pub(crate) sender: Address,
    pub(crate) raw: Bytes,
}

/// A [`RECEIPTS`] row. Its logs are the [`LOGS`] rows `first_log_index .. + log_count` of its
/// block.
#[derive(Debug, Clone, RlpEncodable, RlpDecodable)]
pub(crate) struct StoredReceipt {
    pub(crate) block_number: u64,
    pub(crate) tx_index: u64,
    pub(crate) tx_type: u8,
    pub(crate) from: Address,
    pub(crate) to: OptAddress,
    pub(crate) success: bool,
    pub(crate) cumulative_gas_used: u64,
    pub(crate) gas_used: u64,
    pub(crate) effective_gas_price: u128,
    pub(crate) contract_address: OptAddress,
    pub(crate) first_log_index: u64,
    pub(crate) log_count: u64,
}

/// A [`LOGS`] row.
#[derive(Debug, Clone, RlpEncodable, RlpDecodable)]
pub(crate) struct StoredLog {
    pub(crate) tx_hash: B256,
    pub(crate) tx_index: u64,
    pub(crate) address: Address,
    pub(crate) topics: Vec<B256>,
    pub(crate) data: Bytes,
}

/// Encodes an RLP row.
pub(crate) fn encode_row<T: Encodable>(row: &T) -> Vec<u8> {
    alloy_rlp::encode(row)
}

/// Decodes an RLP row, refusing trailing bytes.
pub(crate) fn decode_row<T: Decodable>(what: &str, bytes: &[u8]) -> Result<T, BadRow> {
    let mut buf = bytes;
    let v = T::decode(&mut buf).map_err(|e| BadRow::new(what, e))?;
    if !buf.is_empty() {
        return Err(BadRow(format!("trailing bytes after {what} row")));
    }
    Ok(v)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn keys_sort_by_block_then_index() {
        let t = B256::repeat_byte(7);
        assert!(index_key(1, &t, 1, 9) < index_key(1, &t, 2, 0));
        assert!(index_key(1, &t, 2, 0) < index_key(1, &t, 2, 1));
        assert_eq!(index_key_position(&index_key(3, &t, 77, 5)), (77, 5));
        assert!(log_key(1, u32::MAX) < log_key(2, 0));
    }

    #[test]
    fn account_row_round_trips() {
        let mut info = AccountInfo {
            nonce: 9,
            balance: U256::from(123_456u64),
            ..Default::default()
        };
        let back = decode_account(&encode_account(&info));
        assert_eq!(
            (back.nonce, back.balance, back.code_hash),
            (9, info.balance, info.code_hash)
        );
        info.code_hash = B256::repeat_byte(1);
        let back = decode_account(&encode_account(&info));
        assert_eq!(back.code_hash, B256::repeat_byte(1));
        assert!(back.code.is_none());
    }

    #[test]
    fn receipt_row_round_trips_and_rejects_garbage() {
        let r = StoredReceipt {
            block_number: 3,
            tx_index: 1,
            tx_type: 2,
            from: Address::repeat_byte(1),
            to: OptAddress(None),
            success: true,
            cumulative_gas_used: 50_000,
            gas_used: 21_000,
            effective_gas_price: 0,
            contract_address: OptAddress(Some(Address::repeat_byte(2))),
            first_log_index: 4,
            log_count: 2,
        };
        let bytes = encode_row(&r);
        let back: StoredReceipt = decode_row("receipt", &bytes).unwrap();
        assert_eq!(back.contract_address, r.contract_address);
        assert_eq!(back.to, OptAddress(None));
        assert_eq!(back.first_log_index, 4);
        assert!(decode_row::<StoredReceipt>("receipt", &bytes[..bytes.len() - 1]).is_err());
        assert!(BlockRow::decode(&[0u8; 50]).is_err());
        assert!(BlockRow::decode(&[0u8; 20]).is_err());
    }
}
