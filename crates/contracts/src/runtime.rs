//! The exact runtime code a deployment must have.
//!
//! The contracts have immutables (the addresses of the contracts they call, and OpenZeppelin
//! EIP712's cached chain id, address, domain separator and hashed name and version), which the
//! constructor writes into the runtime code, so the code `eth_getCode` returns differs from the
//! artifact's `deployedBytecode` in those places. `contracts/build.js` records where each
//! immutable is written (`immutables` in `contracts/out/*.json`, by name); [`expected_runtime`]
//! fills in the values a genuine deployment at these addresses on this chain has, so a client can
//! compare the deployed code with what the checked-in sources compile to, byte for byte, before it
//! trusts a single answer of the contract.

use crate::{Contract, Deployment, EIP712_NAME, EIP712_VERSION, Error, Result, eip712_domain};
use alloy_primitives::{B256, Bytes, U256, keccak256};

const ARTIFACTS: [(&str, &str); 5] = [
    (
        "Registration",
        include_str!("../../../contracts/out/Registration.json"),
    ),
    ("Data", include_str!("../../../contracts/out/Data.json")),
    ("Model", include_str!("../../../contracts/out/Model.json")),
    (
        "Authorization",
        include_str!("../../../contracts/out/Authorization.json"),
    ),
    ("Audit", include_str!("../../../contracts/out/Audit.json")),
];

/// OpenZeppelin's `ShortString` of a string shorter than 32 bytes: its bytes left-aligned, its
/// length in the last byte.
fn short_string(s: &str) -> B256 {
    let mut w = [0u8; 32];
    let b = s.as_bytes();
    let n = b.len().min(31);
    w[..n].copy_from_slice(&b[..n]);
    w[31] = n as u8;
    B256::from(w)
}

/// The value a genuine deployment writes for immutable `name` of `contract`.
fn immutable_value(
    contract: Contract,
    name: &str,
    deployment: &Deployment,
    chain_id: u64,
) -> Result<B256> {
    let this = deployment.address(contract);
    Ok(match name {
        "registration" => deployment.registration.into_word(),
        "data" => deployment.data.into_word(),
        "model" => deployment.model.into_word(),
        "authorization" => deployment.authorization.into_word(),
        "_cachedThis" => this.into_word(),
        "_cachedChainId" => B256::from(U256::from(chain_id)),
        "_cachedDomainSeparator" => eip712_domain(chain_id, this).separator(),
        "_hashedName" => keccak256(EIP712_NAME),
        "_hashedVersion" => keccak256(EIP712_VERSION),
        "_name" => short_string(EIP712_NAME),
        "_version" => short_string(EIP712_VERSION),
        other => {
            return Err(Error::Artifact(format!(
                "{}: no known value for immutable {other}",
                contract.name()
            )));
        }
    })
}

/// The runtime code `contract` has when deployed as part of `deployment` on chain `chain_id`
/// from the checked-in artifacts.
pub fn expected_runtime(
    contract: Contract,
    deployment: &Deployment,
    chain_id: u64,
) -> Result<Bytes> {
    let (_, text) = ARTIFACTS
        .iter()
        .find(|(n, _)| *n == contract.name())
        .ok_or_else(|| Error::Artifact(format!("no artifact for {}", contract.name())))?;
    let json: serde_json::Value =
        serde_json::from_str(text).map_err(|e| Error::Artifact(e.to_string()))?;
    let mut code = contract.deployed_bytecode().to_vec();
    let immutables = json["immutables"]
        .as_object()
        .ok_or_else(|| Error::Artifact(format!("{}: no immutables", contract.name())))?;
    for (name, ranges) in immutables {
        let value = immutable_value(contract, name, deployment, chain_id)?;
        for range in ranges.as_array().into_iter().flatten() {
            let start = range[0].as_u64().unwrap_or(u64::MAX) as usize;
            let len = range[1].as_u64().unwrap_or(0) as usize;
            let slot = code
                .get_mut(start..start.saturating_add(len))
                .filter(|s| s.len() == 32)
                .ok_or_else(|| {
                    Error::Artifact(format!(
                        "{}: immutable {name} at {start}+{len} is outside the code",
                        contract.name()
                    ))
                })?;
            slot.copy_from_slice(value.as_slice());
        }
    }
    Ok(code.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::Address;

    #[test]
    fn every_immutable_gets_a_value_and_differs_by_deployment() {
        let a = Deployment::predict(Address::repeat_byte(1), 0);
        let b = Deployment::predict(Address::repeat_byte(2), 0);
        for c in Contract::DEPLOY_ORDER {
            let x = expected_runtime(c, &a, 1337).unwrap();
            assert_eq!(x.len(), c.deployed_bytecode().len());
            if c != Contract::Registration {
                assert_ne!(x, expected_runtime(c, &b, 1337).unwrap(), "{}", c.name());
            }
        }
        assert_ne!(
            expected_runtime(Contract::Data, &a, 1337).unwrap(),
            expected_runtime(Contract::Data, &a, 1338).unwrap()
        );
    }

    #[test]
    fn short_strings_are_openzeppelins() {
        let w = short_string("medshare");
        assert_eq!(&w[..8], b"medshare");
        assert_eq!(w[31], 8);
    }
}
