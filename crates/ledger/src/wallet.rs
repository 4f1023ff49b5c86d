//! [`Wallet`]: one party's account on a [`Ledger`]: builds, signs and sends its transactions.
//!
//! The wallet fills what a transaction needs the way alloy's recommended fillers do (chain id,
//! nonce, gas limit from `eth_estimateGas` with a margin, EIP-1559 fees from the latest base fee
//! and `eth_gasPrice`), signs it locally with the party's key, sends the EIP-2718 encoding, and
//! waits for the receipt. A call that would revert is refused at estimation with
//! [`Error::Reverted`] and its revert data, so callers can decode the contract's custom error
//! before spending gas.
//!
//! Why not alloy's fillers and `PendingTransactionBuilder` themselves: they are built on a
//! `Provider` (a JSON-RPC transport), while a wallet here runs over any [`Ledger`], including the
//! embedded chain called in process (no transport, no serialization), which is what `demo`,
//! `bench` and the tests use; and the enclave signs the TEE's transactions through
//! [`TxSigner`], which alloy's `NetworkWallet` cannot reach across the enclave boundary. The
//! receipt wait is each backend's own ([`Ledger::wait_for_receipt`]: woken by the sealer in
//! process, a `newHeads` subscription over WebSocket), not a poll loop here. The one retry on a
//! refused nonce matches the node's message because nodes report it only in words (geth "nonce
//! too low", anvil and `medshare node` alike), with no error code of its own.

use crate::{Error, Ledger, Result, TransactionReceipt, TransactionRequest};
use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, Bytes, Signature, TxKind, U256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use std::{sync::Arc, time::Duration};
use tokio::sync::Mutex;

/// Gas limit = estimate × (100 + this) / 100: room for state that changed since the estimate.
const GAS_MARGIN_PERCENT: u64 = 20;

/// One call a wallet sends: `to` (or a contract creation) with calldata and value.
#[derive(Clone, Debug)]
pub struct Call {
    /// Recipient, or [`TxKind::Create`] for a deployment.
    pub to: TxKind,
    /// Calldata (or creation code).
    pub input: Bytes,
    /// Wei sent along.
    pub value: U256,
}

impl Call {
    /// A call of `to` with `input` and no value.
    pub fn new(to: Address, input: impl Into<Bytes>) -> Self {
        Self {
            to: TxKind::Call(to),
            input: input.into(),
            value: U256::ZERO,
        }
    }

    /// A contract creation with `code` (creation code followed by ABI-encoded constructor
    /// arguments).
    pub fn create(code: impl Into<Bytes>) -> Self {
        Self {
            to: TxKind::Create,
            input: code.into(),
            value: U256::ZERO,
        }
    }

    /// A plain value transfer.
    pub fn transfer(to: Address, value: U256) -> Self {
        Self {
            to: TxKind::Call(to),
            input: Bytes::new(),
            value,
        }
    }
}

/// Who signs a wallet's transactions: a local key, or a signer that keeps its key elsewhere
/// (the enclave, which signs only transactions it wrote itself).
pub trait TxSigner: Send + Sync {
    /// The account the signatures recover to.
    fn address(&self) -> Address;
    /// Signs `tx` (its EIP-1559 signing hash), or refuses with a reason.
    fn sign_transaction(&self, tx: &TxEip1559) -> Result<Signature>;
}

impl TxSigner for PrivateKeySigner {
    fn address(&self) -> Address {
        alloy_signer::Signer::address(self)
    }

    fn sign_transaction(&self, tx: &TxEip1559) -> Result<Signature> {
        self.sign_hash_sync(&tx.signature_hash())
            .map_err(|e| Error::Rejected(format!("signing failed: {e}")))
    }
}

/// A party's account on a ledger. Cheap to clone; clones share the nonce counter, so
/// transactions sent through any clone are numbered in order.
#[derive(Clone)]
pub struct Wallet {
    ledger: Arc<dyn Ledger>,
    signer: Arc<dyn TxSigner>,
    chain_id: u64,
    /// The next nonce to use, once read from the ledger. `None` after a failed send, so the
    /// next send re-reads it.
    nonce: Arc<Mutex<Option<u64>>>,
    receipt_timeout: Duration,
}

impl std::fmt::Debug for Wallet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key.
        f.debug_struct("Wallet")
            .field("address", &self.signer.address())
            .field("chain_id", &self.chain_id)
            .finish_non_exhaustive()
    }
}

impl Wallet {
    /// Opens `signer`'s account on `ledger` (reads the chain id once).
    pub async fn new(ledger: Arc<dyn Ledger>, signer: PrivateKeySigner) -> Result<Self> {
        Self::with_signer(ledger, Arc::new(signer)).await
    }

    /// Opens the account of a signer that keeps its key elsewhere.
    pub async fn with_signer(ledger: Arc<dyn Ledger>, signer: Arc<dyn TxSigner>) -> Result<Self> {
        let chain_id = ledger.chain_id().await?;
        Ok(Self {
            ledger,
            signer,
            chain_id,
            nonce: Arc::new(Mutex::new(None)),
            receipt_timeout: Duration::from_secs(120),
        })
    }

    /// How long [`Wallet::send`] waits for a receipt (default 120 s).
    pub fn with_receipt_timeout(mut self, timeout: Duration) -> Self {
        self.receipt_timeout = timeout;
        self
    }

    /// The account's address.
    pub fn address(&self) -> Address {
        self.signer.address()
    }

    /// The chain id every transaction is signed for.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The ledger this wallet sends to.
    pub fn ledger(&self) -> &Arc<dyn Ledger> {
        &self.ledger
    }

    /// `eth_call` from this account against the latest state.
    pub async fn call(&self, to: Address, input: impl Into<Bytes>) -> Result<Bytes> {
        let req = TransactionRequest::default()
            .from(self.address())
            .to(to)
            .input(input.into().into());
        self.ledger.call(&req).await
    }

    /// Sends one call and waits for its receipt. Fails with [`Error::Reverted`] (and sends
    /// nothing) when the call would revert, and with [`Error::Failed`] if it failed on chain.
    pub async fn send(&self, call: Call) -> Result<TransactionReceipt> {
        let mut receipts = self.send_many(vec![call]).await?;
        receipts
            .pop()
            .ok_or_else(|| Error::Rpc("no receipt returned".into()))
    }

    /// Deploys a contract and returns its address with the receipt.
    pub async fn deploy(&self, code: impl Into<Bytes>) -> Result<(Address, TransactionReceipt)> {
        let receipt = self.send(Call::create(code)).await?;
        let address = receipt.contract_address.ok_or_else(|| {
            Error::Rpc(format!(
                "receipt of deployment {} has no contract address",
                receipt.transaction_hash
            ))
        })?;
        Ok((address, receipt))
    }

    /// Sends value to `to`.
    pub async fn transfer(&self, to: Address, value: U256) -> Result<TransactionReceipt> {
        self.send(Call::transfer(to, value)).await
    }

    /// Sends several calls with consecutive nonces, submitted together (the embedded chain seals
    /// them in one block with one durable commit), and waits for every receipt. Each call's gas is
    /// estimated against the latest state before any is sent, so calls that depend on an earlier
    /// call of the same batch must be sent separately.
    ///
    /// If the node refuses the nonce (another process sent from the same account meanwhile),
    /// the nonce is read afresh and the batch signed and sent once more.
    pub async fn send_many(&self, calls: Vec<Call>) -> Result<Vec<TransactionReceipt>> {
        match self.send_many_once(calls.clone()).await {
            Err(Error::Rejected(reason)) if reason.contains("nonce") => {
                self.send_many_once(calls).await
            }
            other => other,
        }
    }

    async fn send_many_once(&self, calls: Vec<Call>) -> Result<Vec<TransactionReceipt>> {
        if calls.is_empty() {
            return Ok(Vec::new());
        }
        let mut gas_limits = Vec::with_capacity(calls.len());
        for call in &calls {
            gas_limits.push(self.estimate(call).await?);
        }
        let (max_fee, max_priority) = self.fees().await?;

        let hashes = {
            let mut guard = self.nonce.lock().await;
            let mut nonce = match *guard {
                Some(n) => n,
                None => self.ledger.pending_nonce(self.address()).await?,
            };
            let mut raws = Vec::with_capacity(calls.len());
            for (call, gas_limit) in calls.into_iter().zip(gas_limits) {
                let tx = TxEip1559 {
                    chain_id: self.chain_id,
                    nonce,
                    gas_limit,
                    max_fee_per_gas: max_fee,
                    max_priority_fee_per_gas: max_priority,
                    to: call.to,
                    value: call.value,
                    access_list: Default::default(),
                    input: call.input,
                };
                let signature = self.signer.sign_transaction(&tx)?;
                let envelope: TxEnvelope = tx.into_signed(signature).into();
                raws.push(Bytes::from(envelope.encoded_2718()));
                nonce += 1;
            }
            match self.ledger.send_raw_transactions(raws).await {
                Ok(hashes) => {
                    *guard = Some(nonce);
                    hashes
                }
                Err(e) => {
                    // Some of the batch may have been accepted by a node that takes them one by
                    // one: read the nonce afresh next time.
                    *guard = None;
                    return Err(e);
                }
            }
        };

        let mut receipts = Vec::with_capacity(hashes.len());
        for hash in hashes {
            let receipt = self
                .ledger
                .wait_for_receipt(hash, Duration::from_millis(20), self.receipt_timeout)
                .await?;
            if !receipt.status() {
                return Err(Error::Failed {
                    hash,
                    gas_used: receipt.gas_used,
                });
            }
            receipts.push(receipt);
        }
        Ok(receipts)
    }

    /// Gas limit for `call`: the node's estimate plus a margin.
    async fn estimate(&self, call: &Call) -> Result<u64> {
        let mut req = TransactionRequest::default()
            .from(self.address())
            .value(call.value)
            .input(call.input.clone().into());
        req.to = Some(call.to);
        let estimate = self.ledger.estimate_gas(&req).await?;
        Ok(estimate.saturating_mul(100 + GAS_MARGIN_PERCENT) / 100)
    }

    /// EIP-1559 fees `(max_fee_per_gas, max_priority_fee_per_gas)`: a tip of what
    /// `eth_gasPrice` suggests above the base fee, and room for the base fee to double.
    /// On a zero-fee chain (the embedded default) both are zero.
    async fn fees(&self) -> Result<(u128, u128)> {
        let gas_price = self.ledger.gas_price().await?;
        let number = self.ledger.block_number().await?;
        let base_fee = self
            .ledger
            .block(number)
            .await?
            .and_then(|b| b.header.base_fee_per_gas)
            .map_or(0, u128::from);
        let tip = gas_price.saturating_sub(base_fee);
        Ok((base_fee.saturating_mul(2).saturating_add(tip), tip))
    }
}
