/**
 * Helpers of the SDK tests: deployments whose feeds report prices to the wei (18-decimal mock feeds, wide
 * deviation bounds), setting a WAD price on every feed of an asset, and sending a transaction at a timestamp
 * fixed in advance (interest and funding accrue every second, so exact predictions need the exact time).
 */
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";

import { localConfig, type AssetConfig } from "../../deploy/config";
import type { DeployedAsset } from "../../deploy/deploySystem";

/** The local assets with 18-decimal feeds (price grid: 1 wei) and a 1000% deviation bound (no SUSPECT). */
export function exactAssets(): AssetConfig[] {
  return localConfig().assets.map((a) => ({
    ...a,
    primaryFeed: { ...a.primaryFeed, decimals: 18 },
    ...(a.fallbackFeed ? { fallbackFeed: { ...a.fallbackFeed, decimals: 18 } } : {}),
    maxDeviation: 10,
  }));
}

/** Pushes a fresh round at `price` (WAD) on every feed of `asset`; the price must fit each feed's grid. */
export async function setPriceWad(asset: DeployedAsset, price: bigint) {
  for (const feed of [asset.primaryFeed, asset.fallbackFeed]) {
    if (!feed) continue;
    const step = 10n ** BigInt(18 - feed.decimals);
    if (price % step !== 0n)
      throw new Error(`price ${price} is off the grid of a ${feed.decimals}-decimal feed`);
    await feed.mock!.setPrice(price / step);
  }
}

/** The latest block's timestamp. */
export async function now(): Promise<bigint> {
  return BigInt((await ethers.provider.getBlock("latest"))!.timestamp);
}

/** Runs `send` (one transaction) in a block with timestamp `at`. */
export async function sendAt<T>(at: bigint, send: () => Promise<T>): Promise<T> {
  await time.setNextBlockTimestamp(at);
  return send();
}

/** Mines an empty block at `at`, so that views read at "latest" see that time. */
export async function mineAt(at: bigint) {
  await time.setNextBlockTimestamp(at);
  await ethers.provider.send("evm_mine", []);
}

/** Signers no fixture funds or approves anything for (index 10 onwards). */
export async function freshSigners(count: number) {
  return (await ethers.getSigners()).slice(10, 10 + count);
}
