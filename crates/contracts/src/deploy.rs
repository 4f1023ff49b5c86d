//! Creation code and addresses for deploying the five contracts.

use crate::{Audit, Authorization, Data, Model, Registration};
use alloy_primitives::{Address, Bytes};
use alloy_sol_types::SolConstructor;

/// Addresses of one medshare deployment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    /// Registration (roles, public keys, TEE allowlist).
    pub registration: Address,
    /// Data (record commitments).
    pub data: Address,
    /// Model (jobs and results).
    pub model: Address,
    /// Authorization (grants, policies, pads).
    pub authorization: Address,
    /// Audit (use log).
    pub audit: Address,
}

/// One of the five contracts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Contract {
    /// Registration.
    Registration,
    /// Data.
    Data,
    /// Model.
    Model,
    /// Authorization.
    Authorization,
    /// Audit.
    Audit,
}

impl Contract {
    /// The contracts in deployment order (each constructor takes earlier addresses).
    pub const DEPLOY_ORDER: [Self; 5] = [
        Self::Registration,
        Self::Data,
        Self::Model,
        Self::Authorization,
        Self::Audit,
    ];

    /// The contract's name, as in `contracts/out/<name>.json`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Registration => "Registration",
            Self::Data => "Data",
            Self::Model => "Model",
            Self::Authorization => "Authorization",
            Self::Audit => "Audit",
        }
    }

    /// The runtime bytecode `eth_getCode` returns for a deployed instance (the contracts have
    /// immutables, so only instances deployed with the same constructor arguments match).
    pub fn deployed_bytecode(self) -> &'static Bytes {
        match self {
            Self::Registration => &Registration::DEPLOYED_BYTECODE,
            Self::Data => &Data::DEPLOYED_BYTECODE,
            Self::Model => &Model::DEPLOYED_BYTECODE,
            Self::Authorization => &Authorization::DEPLOYED_BYTECODE,
            Self::Audit => &Audit::DEPLOYED_BYTECODE,
        }
    }
}

impl Deployment {
    /// The addresses that five consecutive contract-creation transactions from `deployer`,
    /// starting at account nonce `nonce`, produce in [`Contract::DEPLOY_ORDER`].
    pub fn predict(deployer: Address, nonce: u64) -> Self {
        Self {
            registration: deployer.create(nonce),
            data: deployer.create(nonce + 1),
            model: deployer.create(nonce + 2),
            authorization: deployer.create(nonce + 3),
            audit: deployer.create(nonce + 4),
        }
    }

    /// The address of one contract.
    pub const fn address(&self, contract: Contract) -> Address {
        match contract {
            Contract::Registration => self.registration,
            Contract::Data => self.data,
            Contract::Model => self.model,
            Contract::Authorization => self.authorization,
            Contract::Audit => self.audit,
        }
    }

    /// The input of the contract-creation transaction for `contract`: its creation bytecode
    /// followed by the ABI-encoded constructor arguments (the addresses of the contracts it
    /// uses, taken from `self`).
    pub fn creation_code(&self, contract: Contract) -> Bytes {
        let (code, args): (&Bytes, Vec<u8>) = match contract {
            Contract::Registration => (
                &Registration::BYTECODE,
                Registration::constructorCall {}.abi_encode(),
            ),
            Contract::Data => (
                &Data::BYTECODE,
                Data::constructorCall {
                    registration_: self.registration,
                }
                .abi_encode(),
            ),
            Contract::Model => (
                &Model::BYTECODE,
                // Authorization is created right after Model: its address is predicted.
                Model::constructorCall {
                    registration_: self.registration,
                    authorization_: self.authorization,
                }
                .abi_encode(),
            ),
            Contract::Authorization => (
                &Authorization::BYTECODE,
                Authorization::constructorCall {
                    registration_: self.registration,
                    data_: self.data,
                    model_: self.model,
                }
                .abi_encode(),
            ),
            Contract::Audit => (
                &Audit::BYTECODE,
                Audit::constructorCall {
                    registration_: self.registration,
                }
                .abi_encode(),
            ),
        };
        [code.as_ref(), args.as_slice()].concat().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::address;

    #[test]
    fn predicts_create_addresses() {
        // Well-known: the first contract anvil's default account deploys.
        let deployer = address!("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
        let d = Deployment::predict(deployer, 0);
        assert_eq!(
            d.registration,
            address!("0x5FbDB2315678afecb367f032d93F642f64180aa3")
        );
        assert_eq!(
            d.data,
            address!("0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512")
        );
        assert_eq!(Deployment::predict(deployer, 1).registration, d.data);
        let all: std::collections::HashSet<_> = Contract::DEPLOY_ORDER
            .iter()
            .map(|c| d.address(*c))
            .collect();
        assert_eq!(all.len(), 5);
    }

    #[test]
    fn creation_code_appends_constructor_arguments() {
        let d = Deployment::predict(Address::repeat_byte(0x11), 3);
        assert_eq!(
            d.creation_code(Contract::Registration),
            Registration::BYTECODE
        );
        let code = d.creation_code(Contract::Authorization);
        let (body, args) = code.split_at(Authorization::BYTECODE.len());
        assert_eq!(body, Authorization::BYTECODE.as_ref());
        assert_eq!(args.len(), 96);
        assert_eq!(&args[12..32], d.registration.as_slice());
        assert_eq!(&args[44..64], d.data.as_slice());
        assert_eq!(&args[76..96], d.model.as_slice());
        let code = d.creation_code(Contract::Audit);
        assert_eq!(&code[code.len() - 20..], d.registration.as_slice());
    }
}
