import hre, { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";

import { localConfig, type SystemConfig } from "../../deploy/config";
import { deploySystem, type System } from "../../deploy/deploySystem";
import { Action, enumNames, FeedMode, PriceStatus } from "../../deploy/enums";

export { Action, FeedMode, PriceStatus };

export const STATUS_NAMES = enumNames(PriceStatus);
export const ACTION_NAMES = enumNames(Action);

export interface Actors {
  admin: HardhatEthersSigner;
  alice: HardhatEthersSigner;
  keeper: HardhatEthersSigner;
  stranger: HardhatEthersSigner;
}

export type Fixture = System & { actors: Actors };

async function actors(): Promise<Actors> {
  const [admin, alice, keeper, stranger] = await ethers.getSigners();
  return { admin, alice, keeper, stranger };
}

/** The local system (WETH with a fallback feed, WBTC without), no sequencer. */
export async function systemFixture(): Promise<Fixture> {
  return { ...(await deploySystem(hre, localConfig())), actors: await actors() };
}

/** The local system on an "L2": a mock sequencer feed with a one-hour grace period, long since up. */
export async function l2Fixture(): Promise<Fixture> {
  const config: SystemConfig = localConfig({ sequencer: { mock: true, gracePeriod: 3600 } });
  const system = await deploySystem(hre, config);
  await hre.network.provider.send("evm_increaseTime", [3601]);
  await hre.network.provider.send("evm_mine", []);
  // Keep the feeds fresh after the jump in time.
  for (const asset of Object.values(system.assets)) {
    const p = await asset.primaryFeed.mock!.marketAnswer();
    await asset.primaryFeed.mock!.setPrice(p);
    if (asset.fallbackFeed)
      await asset.fallbackFeed.mock!.setPrice(await asset.fallbackFeed.mock!.marketAnswer());
  }
  return { ...system, actors: await actors() };
}

export const loadSystem = () => loadFixture(systemFixture);
export const loadL2System = () => loadFixture(l2Fixture);
