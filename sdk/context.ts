/**
 * What the SDK's clients share: the runner, the provider, the system contracts, consistent block snapshots,
 * the price grid of each feed, and the approve-then-call helper behind every write.
 *
 * @packageDocumentation
 */
import type {
  BlockTag,
  ContractRunner,
  ContractTransactionReceipt,
  ContractTransactionResponse,
  Provider,
  Signer,
} from "ethers";

import {
  AggregatorV3Interface__factory,
  type IERC20,
  type IERC20Metadata,
  type InsuranceFund,
  type OracleRouter,
} from "../typechain-types";
import { priceTickOf } from "./math";
import { PriceStatus, type ReadOptions, type WriteResult } from "./types";

/** The handles every client holds. */
export interface SdkContext {
  /** What contracts are connected with: a Signer for writes, or a Provider for reads only. */
  runner: ContractRunner;
  /** The runner's provider (for blocks and storage reads). */
  provider: Provider;
  router: OracleRouter;
  insuranceFund: InsuranceFund;
  baseToken: IERC20Metadata;
  baseDecimals: number;
  /** Price grid per feed address (feed decimals do not change). */
  feedTicks: Map<string, bigint>;
}

/** A block pinned for one read: every view of the read is taken at `blockTag`, funding/interest at `at`. */
export interface Snapshot {
  /** The block every view is read at. */
  blockNumber: number;
  /** Its timestamp. */
  blockTimestamp: bigint;
  /** The time interest and funding are projected to. */
  at: bigint;
  /** Overrides for view calls: `{ blockTag: blockNumber }`. */
  call: { blockTag: number };
  /** The price grid asked for (see ReadOptions.priceTick). */
  priceTick: "feed" | "wei";
}

/** Resolves the options of a read to one block (its number and timestamp) and the time to project to. */
export async function snapshot(ctx: SdkContext, opts: ReadOptions = {}): Promise<Snapshot> {
  const block = await ctx.provider.getBlock((opts.blockTag ?? "latest") as BlockTag);
  if (!block) throw new Error(`block ${String(opts.blockTag)} not found`);
  const blockTimestamp = BigInt(block.timestamp);
  return {
    blockNumber: block.number,
    blockTimestamp,
    at: opts.at ?? blockTimestamp,
    call: { blockTag: block.number },
    priceTick: opts.priceTick ?? "feed",
  };
}

/**
 * The price grid of `asset` under `status`: the resolution of the feed the router is using (the fallback's
 * under FALLBACK, else the primary's), or 1 wei when the snapshot asks for `"wei"`.
 */
export async function priceTick(
  ctx: SdkContext,
  snap: Snapshot,
  asset: string,
  status: PriceStatus,
): Promise<bigint> {
  if (snap.priceTick === "wei") return 1n;
  const config = await ctx.router.assetConfig(asset, snap.call);
  const feed = status === PriceStatus.FALLBACK ? config.fallbackFeed : config.primaryFeed;
  const key = feed.toLowerCase();
  let tick = ctx.feedTicks.get(key);
  if (tick === undefined) {
    const decimals = await AggregatorV3Interface__factory.connect(feed, ctx.runner).decimals(snap.call);
    tick = priceTickOf(Number(decimals));
    ctx.feedTicks.set(key, tick);
  }
  return tick;
}

/** The address of the runner, which must be a Signer (writes need one). */
export async function signerAddress(runner: ContractRunner): Promise<string> {
  const signer = runner as Partial<Signer>;
  if (typeof signer.getAddress !== "function" || typeof signer.sendTransaction !== "function") {
    throw new Error("this Ballast handle was connected with a Provider: writes need a Signer");
  }
  return signer.getAddress();
}

/** Waits for a transaction and returns its receipt (throws if it was dropped). */
export async function mined(tx: Promise<ContractTransactionResponse>): Promise<ContractTransactionReceipt> {
  const receipt = await (await tx).wait();
  if (!receipt) throw new Error("transaction dropped");
  return receipt;
}

/**
 * Makes sure `spender` may pull `amount` of `token` from `owner`: reads the allowance and, only when it is
 * short, approves exactly `amount` (not an unlimited allowance, and not the difference: `approve` sets the
 * allowance). Returns the approval's receipt, or null when none was needed.
 * A token that refuses to change a non-zero allowance (USDT on mainnet) needs an approval to zero first;
 * the tokens Ballast lists do not.
 */
export async function ensureAllowance(
  token: IERC20,
  owner: string,
  spender: string,
  amount: bigint,
): Promise<ContractTransactionReceipt | null> {
  if ((await token.allowance(owner, spender)) >= amount) return null;
  return mined(token.approve(spender, amount));
}

/** The approve-then-call dance: ensures the allowance (if any is needed), then sends the call. */
export async function approveThenCall(
  approval: { token: IERC20; owner: string; spender: string; amount: bigint } | null,
  call: () => Promise<ContractTransactionResponse>,
): Promise<WriteResult> {
  const approved = approval
    ? await ensureAllowance(approval.token, approval.owner, approval.spender, approval.amount)
    : null;
  return { approval: approved, receipt: await mined(call()) };
}
