//! [`ContractClient`]: one party's wallet joined to one deployment, and the plumbing every
//! contract's methods share: sending a call, reading a view, decoding a revert, reading logs.

use crate::{Error, Result};
use alloy_primitives::{Address, B256};
use alloy_sol_types::{SolCall, SolEvent};
use medshare_contracts::{Contract, Deployment};
use medshare_ledger::{Filter, Ledger, TransactionReceipt, wallet::Call, wallet::Wallet};

/// The name of a contract, for messages.
pub(crate) const fn name(contract: Contract) -> &'static str {
    match contract {
        Contract::Registration => "Registration",
        Contract::Data => "Data",
        Contract::Model => "Model",
        Contract::Authorization => "Authorization",
        Contract::Audit => "Audit",
    }
}

/// The function name of a call type (`registerRecords` of `registerRecords((…)[],bytes[])`).
fn function<C: SolCall>() -> &'static str {
    C::SIGNATURE.split('(').next().unwrap_or(C::SIGNATURE)
}

/// An event read from the chain, with where it was logged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Logged<E> {
    /// The decoded event.
    pub event: E,
    /// The block it is in.
    pub block_number: Option<u64>,
    /// The transaction that emitted it.
    pub transaction_hash: Option<B256>,
}

/// One party's client of one medshare deployment: its wallet and the five contracts'
/// addresses. The methods of each contract are in the module named after it
/// (`registration`, `data`, `model`, `authorization`, `audit`).
#[derive(Clone, Debug)]
pub struct ContractClient {
    wallet: Wallet,
    deployment: Deployment,
}

impl ContractClient {
    /// Deploys the five contracts from `wallet` (which becomes Registration's first admin) in
    /// the order Registration → Data → Model → Authorization → Audit, all in one batch.
    pub async fn deploy(wallet: Wallet) -> Result<Self> {
        let nonce = wallet.ledger().pending_nonce(wallet.address()).await?;
        let deployment = Deployment::predict(wallet.address(), nonce);
        let calls = Contract::DEPLOY_ORDER
            .iter()
            .map(|&c| Call::create(deployment.creation_code(c)))
            .collect();
        let receipts = wallet.send_many(calls).await?;
        for (&contract, receipt) in Contract::DEPLOY_ORDER.iter().zip(&receipts) {
            let expected = deployment.address(contract);
            let actual = receipt.contract_address.unwrap_or_default();
            if actual != expected {
                return Err(Error::DeployedElsewhere {
                    contract: name(contract),
                    expected,
                    actual,
                });
            }
        }
        Ok(Self { wallet, deployment })
    }

    /// Attaches to an existing deployment, checking that each address holds exactly the code
    /// the checked-in contract sources compile to for this deployment on this chain (immutables
    /// included), so a wrong deployment file or a look-alike contract is refused before it is
    /// asked anything.
    pub async fn attach(wallet: Wallet, deployment: Deployment) -> Result<Self> {
        let chain_id = wallet.chain_id();
        for contract in Contract::DEPLOY_ORDER {
            let address = deployment.address(contract);
            let code = wallet.ledger().code(address).await?;
            if code.is_empty() {
                return Err(Error::NotDeployed {
                    contract: name(contract),
                    address,
                });
            }
            let expected = medshare_contracts::expected_runtime(contract, &deployment, chain_id)
                .map_err(|e| Error::Invalid(e.to_string()))?;
            if code != expected {
                return Err(Error::UnexpectedCode {
                    contract: name(contract),
                    address,
                });
            }
        }
        Ok(Self { wallet, deployment })
    }

    /// The same deployment, used by another party.
    pub fn as_party(&self, wallet: Wallet) -> Self {
        Self {
            wallet,
            deployment: self.deployment,
        }
    }

    /// The contracts' addresses.
    pub fn deployment(&self) -> &Deployment {
        &self.deployment
    }

    /// This party's wallet.
    pub fn wallet(&self) -> &Wallet {
        &self.wallet
    }

    /// This party's address.
    pub fn address(&self) -> Address {
        self.wallet.address()
    }

    /// The chain id.
    pub fn chain_id(&self) -> u64 {
        self.wallet.chain_id()
    }

    /// The ledger.
    pub fn ledger(&self) -> &std::sync::Arc<dyn Ledger> {
        self.wallet.ledger()
    }

    /// Encodes a call of `contract` for [`ContractClient::send_many`].
    pub fn call<C: SolCall>(&self, contract: Contract, call: &C) -> Call {
        Call::new(self.deployment.address(contract), call.abi_encode())
    }

    /// Sends several encoded calls in one batch (one block on the embedded chain). A revert of
    /// any refuses the whole batch before anything is sent.
    pub async fn send_many(&self, calls: Vec<Call>) -> Result<Vec<TransactionReceipt>> {
        let to: Vec<Address> = calls.iter().filter_map(|c| c.to.to().copied()).collect();
        self.wallet
            .send_many(calls)
            .await
            .map_err(|e| self.revert_of_batch(&to, e))
    }

    fn revert_of_batch(&self, to: &[Address], e: medshare_ledger::Error) -> Error {
        let contract = Contract::DEPLOY_ORDER
            .into_iter()
            .find(|&c| to.first() == Some(&self.deployment.address(c)))
            .map_or("(batch)", name);
        revert(contract, "(batch)", e)
    }

    /// Sends one call of `contract` and waits for its receipt.
    pub(crate) async fn send<C: SolCall>(
        &self,
        contract: Contract,
        call: C,
    ) -> Result<TransactionReceipt> {
        self.wallet
            .send(self.call(contract, &call))
            .await
            .map_err(|e| revert(name(contract), function::<C>(), e))
    }

    /// `eth_call`s a view of `contract` and decodes its answer.
    pub(crate) async fn view<C: SolCall>(&self, contract: Contract, call: C) -> Result<C::Return> {
        let out = self
            .wallet
            .call(self.deployment.address(contract), call.abi_encode())
            .await
            .map_err(|e| revert(name(contract), function::<C>(), e))?;
        C::abi_decode_returns(&out).map_err(|e| Error::Decode {
            contract: name(contract),
            function: function::<C>(),
            reason: e.to_string(),
        })
    }

    /// A log filter for event `E` of `contract`, from the first block.
    pub(crate) fn filter<E: SolEvent>(&self, contract: Contract) -> Filter {
        Filter::new()
            .address(self.deployment.address(contract))
            .event_signature(E::SIGNATURE_HASH)
            .from_block(0)
    }

    /// The first (oldest) event `filter` selects, decoded as `E`.
    pub(crate) async fn first_event<E: SolEvent>(
        &self,
        contract: Contract,
        filter: Filter,
    ) -> Result<Option<Logged<E>>> {
        Ok(self.events(contract, filter).await?.into_iter().next())
    }

    /// The events `filter` selects, decoded as `E`.
    pub(crate) async fn events<E: SolEvent>(
        &self,
        contract: Contract,
        filter: Filter,
    ) -> Result<Vec<Logged<E>>> {
        let logs = medshare_ledger::logs_paged(self.ledger().as_ref(), &filter).await?;
        logs.into_iter()
            .map(|log| {
                let decoded = log.log_decode::<E>().map_err(|e| Error::Decode {
                    contract: name(contract),
                    function: E::SIGNATURE,
                    reason: e.to_string(),
                })?;
                Ok(Logged {
                    event: decoded.inner.data,
                    block_number: log.block_number,
                    transaction_hash: log.transaction_hash,
                })
            })
            .collect()
    }
}

/// Turns a ledger error into a named contract error when it is a revert.
fn revert(contract: &'static str, function: &'static str, e: medshare_ledger::Error) -> Error {
    match e {
        medshare_ledger::Error::Reverted { data } => Error::Reverted {
            contract,
            function,
            name: medshare_contracts::revert_name(&data),
            reason: medshare_contracts::decode_revert(&data).unwrap_or_else(|| {
                if data.is_empty() {
                    "reverted without data".to_owned()
                } else {
                    format!("unknown revert data {data}")
                }
            }),
            data,
        },
        other => Error::Ledger(other),
    }
}
