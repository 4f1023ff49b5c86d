//! From signed transactions and call requests to revm executions.
//!
//! [`decode`] performs every check that does not need state (envelope, type, chain id, signature,
//! gas bounds, fees); [`check_against_state`] the ones that do (nonce, funds, EIP-3607). A
//! transaction that passes both is queued for the sealer, which executes it with revm. `eth_call`
//! and `eth_estimateGas` run here against a read snapshot and never commit.

use alloy_consensus::{
    Transaction as _, TxEnvelope, Typed2718 as _, transaction::SignerRecoverable,
};
use alloy_eips::eip2718::Decodable2718;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256};
use alloy_rpc_types_eth::TransactionRequest;
use revm::{
    Context, Database, ExecuteEvm, MainBuilder, MainnetEvm,
    context::{
        BlockEnv, CfgEnv, TxEnv,
        result::{EVMError, ExecutionResult, HaltReason},
    },
    context_interface::{block::BlobExcessGasAndPrice, cfg::gas::calculate_initial_tx_gas_for_tx},
    handler::MainnetContext,
    primitives::{KECCAK_EMPTY, eip4844::BLOB_BASE_FEE_UPDATE_FRACTION_CANCUN, hardfork::SpecId},
    state::AccountInfo,
};

use super::state::StateError;
use crate::{Error, Result};

/// The EVM rules the embedded chain runs (contracts are compiled for Cancun).
pub(crate) const SPEC: SpecId = SpecId::CANCUN;

/// EIP-3860 initcode limit (2 × EIP-170's 24,576 bytes).
const MAX_INITCODE_SIZE: usize = 2 * 24_576;

/// The chain's admission rules, fixed when it is opened.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rules {
    pub(crate) chain_id: u64,
    pub(crate) block_gas_limit: u64,
    pub(crate) min_gas_price: u128,
}

/// A transaction that passed [`decode`]: ready for the state checks and the queue.
#[derive(Debug, Clone)]
pub(crate) struct PendingTx {
    pub(crate) hash: B256,
    pub(crate) sender: Address,
    pub(crate) envelope: TxEnvelope,
    /// The EIP-2718 bytes as submitted (stored verbatim in the block).
    pub(crate) raw: Bytes,
    /// The revm view of the transaction.
    pub(crate) env: TxEnv,
}

fn rejected(msg: impl Into<String>) -> Error {
    Error::Rejected(msg.into())
}

/// Decodes an EIP-2718 transaction and performs every check that needs no state.
pub(crate) fn decode(raw: Bytes, rules: &Rules) -> Result<PendingTx> {
    let envelope = TxEnvelope::decode_2718_exact(&raw)
        .map_err(|e| rejected(format!("undecodable transaction: {e}")))?;
    match &envelope {
        TxEnvelope::Legacy(_) | TxEnvelope::Eip2930(_) | TxEnvelope::Eip1559(_) => {}
        TxEnvelope::Eip4844(_) => {
            return Err(rejected("blob (EIP-4844) transactions are not supported"));
        }
        TxEnvelope::Eip7702(_) => return Err(rejected("EIP-7702 transactions are not supported")),
    }
    match envelope.chain_id() {
        None => {
            return Err(rejected(
                "legacy transaction without a chain id (EIP-155 replay protection is required)",
            ));
        }
        Some(id) if id != rules.chain_id => {
            return Err(rejected(format!(
                "wrong chain id: expected {}, got {id}",
                rules.chain_id
            )));
        }
        Some(_) => {}
    }
    let gas_limit = envelope.gas_limit();
    if gas_limit > rules.block_gas_limit {
        return Err(rejected(format!(
            "gas limit {gas_limit} exceeds the block gas limit {}",
            rules.block_gas_limit
        )));
    }
    let max_fee = envelope.max_fee_per_gas();
    if max_fee < rules.min_gas_price {
        return Err(rejected(format!(
            "max fee per gas {max_fee} is below the minimum gas price {}",
            rules.min_gas_price
        )));
    }
    if let Some(tip) = envelope.max_priority_fee_per_gas()
        && tip > max_fee
    {
        return Err(rejected(format!(
            "max priority fee per gas {tip} exceeds max fee per gas {max_fee}"
        )));
    }
    if envelope.is_create() && envelope.input().len() > MAX_INITCODE_SIZE {
        return Err(rejected(format!(
            "initcode of {} bytes exceeds the limit of {MAX_INITCODE_SIZE}",
            envelope.input().len()
        )));
    }
    // Checked recovery: refuses r or s out of range and high-s (EIP-2) malleated signatures.
    let sender = envelope
        .recover_signer()
        .map_err(|e| rejected(format!("invalid signature: {e}")))?;
    let env = tx_env(&envelope, sender);
    let gas = calculate_initial_tx_gas_for_tx(&env, SPEC, None);
    let intrinsic = (gas.initial_regular_gas + gas.initial_state_gas).max(gas.floor_gas);
    if gas_limit < intrinsic {
        return Err(rejected(format!(
            "intrinsic gas too low: need {intrinsic}, gas limit is {gas_limit}"
        )));
    }
    Ok(PendingTx {
        hash: *envelope.tx_hash(),
        sender,
        envelope,
        raw,
        env,
    })
}

/// Checks a decoded transaction against its sender's account and the nonce the chain expects
/// next from that sender (the account nonce plus its queued transactions).
pub(crate) fn check_against_state(
    tx: &PendingTx,
    account: Option<&AccountInfo>,
    expected_nonce: u64,
) -> Result<()> {
    let nonce = tx.envelope.nonce();
    if nonce < expected_nonce {
        return Err(rejected(format!(
            "nonce too low: expected {expected_nonce}, got {nonce}"
        )));
    }
    if nonce > expected_nonce {
        return Err(rejected(format!(
            "nonce too high: expected {expected_nonce}, got {nonce}"
        )));
    }
    let balance = account.map(|a| a.balance).unwrap_or_default();
    let cost = U256::from(tx.envelope.gas_limit())
        .checked_mul(U256::from(tx.envelope.max_fee_per_gas()))
        .and_then(|c| c.checked_add(tx.envelope.value()))
        .ok_or_else(|| rejected("gas * price + value overflows"))?;
    if balance < cost {
        return Err(rejected(format!(
            "insufficient funds for gas * price + value: balance {balance}, cost {cost}"
        )));
    }
    if account.is_some_and(|a| a.code_hash != KECCAK_EMPTY) {
        return Err(rejected(format!(
            "sender {} is a contract (EIP-3607)",
            tx.sender
        )));
    }
    Ok(())
}

/// The revm transaction for a signed envelope from `sender`.
fn tx_env(envelope: &TxEnvelope, sender: Address) -> TxEnv {
    TxEnv {
        tx_type: envelope.ty(),
        caller: sender,
        gas_limit: envelope.gas_limit(),
        gas_price: envelope.max_fee_per_gas(),
        gas_priority_fee: envelope.max_priority_fee_per_gas(),
        kind: envelope.kind(),
        value: envelope.value(),
        data: envelope.input().clone(),
        nonce: envelope.nonce(),
        chain_id: envelope.chain_id(),
        access_list: envelope.access_list().cloned().unwrap_or_default(),
        ..Default::default()
    }
}

/// The block environment of block `number`. Base fee is zero (gas is metered, not paid for);
/// `prevrandao` is the parent hash, which is deterministic and public, as on any PoA chain.
pub(crate) fn block_env(
    number: u64,
    timestamp: u64,
    beneficiary: Address,
    gas_limit: u64,
    parent_hash: B256,
) -> BlockEnv {
    BlockEnv {
        number: U256::from(number),
        timestamp: U256::from(timestamp),
        beneficiary,
        gas_limit,
        basefee: 0,
        difficulty: U256::ZERO,
        prevrandao: Some(parent_hash),
        blob_excess_gas_and_price: Some(BlobExcessGasAndPrice::new(
            0,
            BLOB_BASE_FEE_UPDATE_FRACTION_CANCUN,
        )),
        ..Default::default()
    }
}

/// A mainnet EVM over `db` with this chain's rules. `simulation` disables the nonce check, as
/// `eth_call` does.
pub(crate) fn evm<DB: Database>(
    db: DB,
    chain_id: u64,
    block: BlockEnv,
    simulation: bool,
) -> MainnetEvm<MainnetContext<DB>> {
    let mut cfg = CfgEnv::new_with_spec(SPEC);
    cfg.chain_id = chain_id;
    cfg.disable_nonce_check = simulation;
    let ctx: MainnetContext<DB> = Context::new(db, SPEC);
    ctx.with_cfg(cfg).with_block(block).build_mainnet()
}

/// Maps an EVM error: invalid transactions are the caller's fault, database errors are ours.
pub(crate) fn evm_error(e: EVMError<StateError>) -> Error {
    match e {
        EVMError::Transaction(e) => Error::Rejected(e.to_string()),
        EVMError::Database(StateError(e)) => e,
        other => Error::Store(format!("EVM failure: {other}")),
    }
}

/// The revm transaction for an `eth_call` / `eth_estimateGas` request. Missing fields default as
/// in geth: sender zero, gas the block gas limit, gas price zero.
pub(crate) fn call_env(req: &TransactionRequest, rules: &Rules) -> TxEnv {
    let mut env = TxEnv {
        caller: req.from.unwrap_or_default(),
        kind: req.to.unwrap_or(TxKind::Create),
        value: req.value.unwrap_or_default(),
        data: req.input.input().cloned().unwrap_or_default(),
        gas_limit: req
            .gas
            .unwrap_or(rules.block_gas_limit)
            .min(rules.block_gas_limit),
        nonce: req.nonce.unwrap_or_default(),
        chain_id: Some(req.chain_id.unwrap_or(rules.chain_id)),
        access_list: req.access_list.clone().unwrap_or_default(),
        ..Default::default()
    };
    if let Some(max_fee) = req.max_fee_per_gas {
        env.tx_type = 2;
        env.gas_price = max_fee;
        env.gas_priority_fee = Some(req.max_priority_fee_per_gas.unwrap_or_default());
    } else {
        env.tx_type = if req.access_list.is_some() { 1 } else { 0 };
        env.gas_price = req.gas_price.unwrap_or_default();
    }
    env
}

/// Executes `env` against `db` without committing.
pub(crate) fn simulate<DB: Database<Error = StateError>>(
    db: DB,
    rules: &Rules,
    block: &BlockEnv,
    env: TxEnv,
) -> Result<ExecutionResult> {
    let mut evm = evm(db, rules.chain_id, block.clone(), true);
    evm.transact(env).map(|r| r.result).map_err(evm_error)
}

/// `eth_call`: the output, or [`Error::Reverted`] with the revert data.
pub(crate) fn call<DB: Database<Error = StateError>>(
    db: DB,
    rules: &Rules,
    block: &BlockEnv,
    req: &TransactionRequest,
) -> Result<Bytes> {
    match simulate(db, rules, block, call_env(req, rules))? {
        ExecutionResult::Success { output, .. } => Ok(output.into_data()),
        ExecutionResult::Revert { output, .. } => Err(Error::Reverted { data: output }),
        ExecutionResult::Halt { .. } => Err(Error::Reverted { data: Bytes::new() }),
    }
}

/// `eth_estimateGas`: the smallest gas limit (within 1.5%, as geth) at which the request
/// succeeds. Binary search as in geth, because refunds and the 63/64 rule make the gas used by a
/// successful run smaller than the gas limit it needs.
pub(crate) fn estimate_gas<DB: Database<Error = StateError>>(
    mut db: DB,
    rules: &Rules,
    block: &BlockEnv,
    req: &TransactionRequest,
) -> Result<u64> {
    let env = call_env(req, rules);
    let mut hi = env.gas_limit;
    let run = |gas: u64, db: &mut DB| -> Result<ExecutionResult> {
        let mut e = env.clone();
        e.gas_limit = gas;
        simulate(&mut *db, rules, block, e)
    };
    let (used, spent) = match run(hi, &mut db)? {
        ExecutionResult::Success { gas, .. } => (gas.tx_gas_used(), gas.total_gas_spent()),
        ExecutionResult::Revert { output, .. } => return Err(Error::Reverted { data: output }),
        ExecutionResult::Halt {
            reason: HaltReason::OutOfGas(_),
            ..
        } => {
            return Err(Error::Rejected(format!(
                "gas required exceeds allowance ({hi})"
            )));
        }
        ExecutionResult::Halt { .. } => return Err(Error::Reverted { data: Bytes::new() }),
    };
    let mut lo = used.saturating_sub(1);
    let optimistic = ((spent + 2_300) * 64 / 63).min(hi);
    if optimistic > lo && optimistic < hi {
        if run(optimistic, &mut db)?.is_success() {
            hi = optimistic;
        } else {
            lo = optimistic;
        }
    }
    while lo + 1 < hi {
        if (hi - lo) * 1000 / hi < 15 {
            break;
        }
        let mut mid = lo + (hi - lo) / 2;
        if mid > lo.saturating_mul(2) {
            mid = lo.saturating_mul(2);
        }
        match run(mid, &mut db) {
            Ok(r) if r.is_success() => hi = mid,
            Ok(_) => lo = mid,
            // Too little gas even for the intrinsic cost.
            Err(Error::Rejected(_)) => lo = mid,
            Err(e) => return Err(e),
        }
    }
    Ok(hi)
}
