// medshare's EIP-712 typed data (domain "medshare", version "1", the chain id and the verifying
// contract), the same five structs as crates/crypto/src/eip712.rs and contracts/src/MedshareTypes.sol.
// Hashing and signing are viem's.

import { type Address, type Hex, hashStruct, hashTypedData, domainSeparator, recoverTypedDataAddress } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';

export const TYPES = {
  Record: [
    { name: 'owner', type: 'address' },
    { name: 'recordId', type: 'bytes32' },
    { name: 'dataType', type: 'bytes32' },
    { name: 'storageIndex', type: 'bytes32' },
    { name: 'ciphertextHash', type: 'bytes32' },
    { name: 'timestamp', type: 'uint64' },
    { name: 'cm', type: 'bytes' },
    { name: 'rUg', type: 'bytes' },
    { name: 'padCommitment', type: 'bytes32' },
    { name: 'tee', type: 'address' },
  ],
  Consent: [
    { name: 'ciphertextHash', type: 'bytes32' },
    { name: 'jobId', type: 'bytes32' },
    { name: 'rCPkC', type: 'bytes' },
    { name: 'budgetMilli', type: 'uint32' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
  ModelSubmission: [
    { name: 'demander', type: 'address' },
    { name: 'modelHash', type: 'bytes32' },
    { name: 'requirementHash', type: 'bytes32' },
    { name: 'dataType', type: 'bytes32' },
    { name: 'timestamp', type: 'uint64' },
    { name: 'minCohort', type: 'uint32' },
    { name: 'epsilonMilli', type: 'uint32' },
  ],
  Verification: [
    { name: 'jobId', type: 'bytes32' },
    { name: 'subject', type: 'bytes32' },
    { name: 'hashOk', type: 'bool' },
    { name: 'signatureOk', type: 'bool' },
    { name: 'viewBlock', type: 'uint64' },
    { name: 'viewHash', type: 'bytes32' },
    { name: 'headersVerified', type: 'bool' },
  ],
  TrainingResult: [
    { name: 'jobId', type: 'bytes32' },
    { name: 'resultHash', type: 'bytes32' },
    { name: 'viewBlock', type: 'uint64' },
    { name: 'viewHash', type: 'bytes32' },
    { name: 'headersVerified', type: 'bool' },
  ],
} as const;

export type PrimaryType = keyof typeof TYPES;

/** The domain of the contract at `verifyingContract` on chain `chainId`. */
export const domain = (chainId: bigint, verifyingContract: Address) =>
  ({ name: 'medshare', version: '1', chainId, verifyingContract }) as const;

export const domainSeparatorOf = (chainId: bigint, verifyingContract: Address): Hex =>
  domainSeparator({ domain: domain(chainId, verifyingContract) });

/** hashStruct of a message. */
export const structHash = (primaryType: PrimaryType, message: Record<string, unknown>): Hex =>
  hashStruct({ data: message, primaryType, types: TYPES } as never);

/** The digest the signer signs. */
export const signingHash = (
  chainId: bigint,
  verifyingContract: Address,
  primaryType: PrimaryType,
  message: Record<string, unknown>,
): Hex =>
  hashTypedData({ domain: domain(chainId, verifyingContract), types: TYPES as never, primaryType, message } as never);

/** A 65-byte signature (r || s || v, v = 27 or 28) by the key `sk`. */
export async function sign(
  sk: Hex,
  chainId: bigint,
  verifyingContract: Address,
  primaryType: PrimaryType,
  message: Record<string, unknown>,
): Promise<Hex> {
  return privateKeyToAccount(sk).signTypedData({
    domain: domain(chainId, verifyingContract),
    types: TYPES as never,
    primaryType,
    message,
  } as never);
}

/** Who signed `signature` over the message. */
export async function signer(
  chainId: bigint,
  verifyingContract: Address,
  primaryType: PrimaryType,
  message: Record<string, unknown>,
  signature: Hex,
): Promise<Address> {
  return recoverTypedDataAddress({
    domain: domain(chainId, verifyingContract),
    types: TYPES as never,
    primaryType,
    message,
    signature,
  } as never);
}
