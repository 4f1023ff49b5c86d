//! [`RpcLedger`]: any Ethereum node (anvil, geth, Besu, reth, `medshare node`) over JSON-RPC,
//! through alloy's provider.

use crate::{
    Block, Error, Filter, Ledger, Log, Result, Transaction, TransactionReceipt, TransactionRequest,
};
use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_provider::{Provider, RootProvider, transport::TransportError};
use alloy_rpc_types_eth::EIP1186AccountProofResponse;

/// A ledger reached over HTTP JSON-RPC.
#[derive(Clone, Debug)]
pub struct RpcLedger {
    provider: RootProvider,
    endpoint: String,
}

impl RpcLedger {
    /// Connects to the node at `endpoint` (an `http://` or `https://` URL). No request is made
    /// until the first call; use [`Ledger::chain_id`] to check the node answers.
    pub fn connect(endpoint: &str) -> Result<Self> {
        let url = endpoint
            .parse()
            .map_err(|e| Error::InvalidRequest(format!("invalid node URL {endpoint:?}: {e}")))?;
        Ok(Self {
            provider: RootProvider::new_http(url),
            endpoint: endpoint.to_owned(),
        })
    }

    /// The URL this ledger talks to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

/// Maps a transport error to the ledger's error: a JSON-RPC error whose message says "revert"
/// (code 3 on geth, anvil, reth and `medshare node`) becomes [`Error::Reverted`] with its data;
/// other node-side errors become [`Error::Rejected`] for sends and [`Error::Rpc`] otherwise.
fn map_err(endpoint: &str, sending: bool) -> impl Fn(TransportError) -> Error + '_ {
    move |e| match &e {
        TransportError::ErrorResp(payload) => {
            if let Some(data) = payload.as_revert_data() {
                Error::Reverted { data }
            } else if payload.message.contains("revert") {
                Error::Reverted { data: Bytes::new() }
            } else if sending {
                Error::Rejected(payload.message.to_string())
            } else {
                Error::Rpc(format!(
                    "{endpoint}: {} (code {})",
                    payload.message, payload.code
                ))
            }
        }
        _ => Error::Rpc(format!("{endpoint}: {e}")),
    }
}

#[async_trait::async_trait]
impl Ledger for RpcLedger {
    async fn chain_id(&self) -> Result<u64> {
        self.provider
            .get_chain_id()
            .await
            .map_err(map_err(&self.endpoint, false))
    }

    async fn block_number(&self) -> Result<u64> {
        self.provider
            .get_block_number()
            .await
            .map_err(map_err(&self.endpoint, false))
    }

    async fn nonce(&self, address: Address) -> Result<u64> {
        self.provider
            .get_transaction_count(address)
            .latest()
            .await
            .map_err(map_err(&self.endpoint, false))
    }

    async fn pending_nonce(&self, address: Address) -> Result<u64> {
        self.provider
            .get_transaction_count(address)
            .pending()
            .await
            .map_err(map_err(&self.endpoint, false))
    }

    async fn balance(&self, address: Address) -> Result<U256> {
        self.provider
            .get_balance(address)
            .latest()
            .await
            .map_err(map_err(&self.endpoint, false))
    }

    async fn code(&self, address: Address) -> Result<Bytes> {
        self.provider
            .get_code_at(address)
            .latest()
            .await
            .map_err(map_err(&self.endpoint, false))
    }

    async fn gas_price(&self) -> Result<u128> {
        self.provider
            .get_gas_price()
            .await
            .map_err(map_err(&self.endpoint, false))
    }

    async fn estimate_gas(&self, tx: &TransactionRequest) -> Result<u64> {
        self.provider
            .estimate_gas(tx.clone())
            .await
            .map_err(map_err(&self.endpoint, false))
    }

    async fn call(&self, tx: &TransactionRequest) -> Result<Bytes> {
        self.provider
            .call(tx.clone())
            .await
            .map_err(map_err(&self.endpoint, false))
    }

    async fn send_raw_transaction(&self, raw: Bytes) -> Result<B256> {
        let pending = self
            .provider
            .send_raw_transaction(&raw)
            .await
            .map_err(map_err(&self.endpoint, true))?;
        Ok(*pending.tx_hash())
    }

    async fn receipt(&self, hash: B256) -> Result<Option<TransactionReceipt>> {
        self.provider
            .get_transaction_receipt(hash)
            .await
            .map_err(map_err(&self.endpoint, false))
    }

    async fn logs(&self, filter: &Filter) -> Result<Vec<Log>> {
        self.provider
            .get_logs(filter)
            .await
            .map_err(map_err(&self.endpoint, false))
    }

    async fn block(&self, number: u64) -> Result<Option<Block>> {
        self.provider
            .get_block_by_number(number.into())
            .await
            .map_err(map_err(&self.endpoint, false))
    }

    async fn block_by_hash(&self, hash: B256) -> Result<Option<Block>> {
        self.provider
            .get_block_by_hash(hash)
            .await
            .map_err(map_err(&self.endpoint, false))
    }

    async fn transaction(&self, hash: B256) -> Result<Option<Transaction>> {
        self.provider
            .get_transaction_by_hash(hash)
            .await
            .map_err(map_err(&self.endpoint, false))
    }

    async fn proof(
        &self,
        address: Address,
        slots: Vec<B256>,
        block: u64,
    ) -> Result<EIP1186AccountProofResponse> {
        if slots.len() > crate::MAX_PROOF_SLOTS {
            return Err(Error::InvalidRequest(format!(
                "{} storage slots asked, at most {} per proof",
                slots.len(),
                crate::MAX_PROOF_SLOTS
            )));
        }
        self.provider
            .get_proof(address, slots)
            .number(block)
            .await
            .map_err(map_err(&self.endpoint, false))
    }
}
