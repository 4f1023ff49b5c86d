// Transactions the browser signs itself (viem) and `medshare serve` relays: each call is first
// tried through /api/calls (the contract's refusal comes back in words, nothing is signed), then
// signed with the user's key (EIP-1559, this chain, the account's next nonce, the node's gas
// estimate plus a margin, the fees /api/info gives: on the embedded chain 0) and relayed; its
// receipt is awaited. The key never leaves this module's caller.

import { type Abi, type Address, type Hex, decodeFunctionResult, encodeFunctionData } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { abi as registrationAbi } from '../../../contracts/out/Registration.json';
import { abi as dataAbi } from '../../../contracts/out/Data.json';
import { abi as modelAbi } from '../../../contracts/out/Model.json';
import { abi as authorizationAbi } from '../../../contracts/out/Authorization.json';
import { ApiError, getJson, postJson } from './api.ts';

export const ABI = {
  registration: registrationAbi as Abi,
  data: dataAbi as Abi,
  model: modelAbi as Abi,
  authorization: authorizationAbi as Abi,
} as const;

export type ContractName = keyof typeof ABI;

export interface Info {
  chain_id: number;
  block: number;
  gas_price: string;
  contracts: { registration: Address; data: Address; model: Address; authorization: Address; audit: Address };
  max_record_bytes: number;
}

export interface Account {
  address: Address;
  nonce: number;
  balance: string;
  role?: string | null;
  public_key?: Hex | null;
  reviewer: boolean;
  admin: boolean;
}

/** The gas margin over the node's estimate, as medshare's wallet adds (percent). */
export const GAS_MARGIN_PERCENT = 20n;

/** EIP-1559 fees from the node's gas price: room for the base fee to double, the price as tip
 * (the wallet's rule; both 0 on the embedded chain). */
export function fees(gasPrice: bigint): { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint } {
  return { maxFeePerGas: gasPrice * 2n, maxPriorityFeePerGas: gasPrice };
}

/** The unsigned transaction of one call. Pure: tested against calldata from the Rust side. */
export function transactionOf(
  info: Pick<Info, 'chain_id' | 'gas_price'>,
  to: Address,
  data: Hex,
  nonce: number,
  gasEstimate: bigint,
) {
  return {
    type: 'eip1559' as const,
    chainId: info.chain_id,
    nonce,
    to,
    data,
    value: 0n,
    gas: (gasEstimate * (100n + GAS_MARGIN_PERCENT)) / 100n,
    ...fees(BigInt(info.gas_price)),
  };
}

let infoCache: Info | undefined;

/** /api/info, read once per page load (the chain id and contracts do not change). */
export async function info(): Promise<Info> {
  infoCache ??= await getJson<Info>('/api/info');
  return infoCache;
}

/** Reads a view of a contract through /api/calls. */
export async function view(contract: ContractName, functionName: string, args: unknown[]): Promise<unknown> {
  const i = await info();
  const data = encodeFunctionData({ abi: ABI[contract], functionName, args } as never);
  const r = await postJson<{ output: Hex }>('/api/calls', { to: i.contracts[contract], data });
  return decodeFunctionResult({ abi: ABI[contract], functionName, data: r.output } as never);
}

export interface Sent {
  hash: Hex;
  block: number | null;
  gasUsed: number;
}

/** Tries, signs, relays one call of `contract` with the key `sk`, and waits for its receipt. */
export async function send(
  sk: Hex,
  contract: ContractName,
  functionName: string,
  args: unknown[],
  progress: (what: string) => void = () => {},
): Promise<Sent> {
  const account = privateKeyToAccount(sk);
  const i = await info();
  const to = i.contracts[contract];
  const data = encodeFunctionData({ abi: ABI[contract], functionName, args } as never);
  progress(`Checking ${functionName} with the contract…`);
  const tried = await postJson<{ gas: number | null }>('/api/calls', { from: account.address, to, data });
  const acct = await getJson<Account>(`/api/accounts/${account.address}`);
  const tx = transactionOf(i, to, data, acct.nonce, BigInt(tried.gas ?? 1_000_000));
  const raw = await account.signTransaction(tx);
  progress(`Sending ${functionName}…`);
  const accepted = await postJson<{ hash: Hex }>('/api/transactions', { raw });
  return waitForReceipt(accepted.hash, functionName, progress);
}

/** Polls the receipt of `hash` until it is mined (a minute at most). */
export async function waitForReceipt(hash: Hex, what: string, progress: (what: string) => void): Promise<Sent> {
  for (let i = 0; i < 120; i++) {
    try {
      const r = await getJson<{ success: boolean; block: number | null; gas_used: number }>(`/api/transactions/${hash}/receipt`);
      if (!r.success) throw new ApiError(0, `${what} was mined in block ${r.block ?? '?'} but reverted`, `transaction ${hash}`);
      progress(`${what} done in block ${r.block ?? '?'}.`);
      return { hash, block: r.block, gasUsed: r.gas_used };
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 404) throw e;
    }
    await new Promise((res) => setTimeout(res, 500));
  }
  throw new ApiError(0, `${what} (transaction ${hash}) was not mined within a minute`, 'is the node still sealing blocks?');
}
