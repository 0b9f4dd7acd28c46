/**
 * Oracle faults, driven through the fault-injecting mocks (MockAggregator, MockSequencerFeed) so that the
 * real OracleRouter reads them: nothing bypasses it. The demo uses these today; the simulator's scenario
 * faults (SCENARIOS.md) will map onto the same functions.
 */
import type { DeployedAsset, DeployedFeed, System } from "../deploy/deploySystem";
import { FeedMode } from "../deploy/enums";
import { toUnits } from "../deploy/units";
import type { MockAggregator } from "../typechain-types";

export type OracleFault =
  | { kind: "stale"; age: number }
  | { kind: "freeze" }
  | { kind: "zero" }
  | { kind: "negative" }
  | { kind: "revert" }
  | { kind: "burnGas" }
  | { kind: "shortReturn" }
  | { kind: "clamp"; floorUsd: number | string }
  | { kind: "spike"; usd: number | string }
  | { kind: "lag"; rounds: number }
  | { kind: "sequencerDown" }
  | { kind: "sequencerGrace"; secondsSinceUp: number };

/** Which feeds of an asset a fault hits. */
export type FeedTarget = "primary" | "fallback" | "both";

function mocksOf(asset: DeployedAsset, target: FeedTarget): { feed: DeployedFeed; mock: MockAggregator }[] {
  const feeds = [
    target !== "fallback" ? asset.primaryFeed : undefined,
    target !== "primary" ? asset.fallbackFeed : undefined,
  ].filter((f): f is DeployedFeed => f !== undefined);
  return feeds.map((feed) => {
    if (!feed.mock) throw new Error(`${asset.symbol}: feed ${feed.address} is not a mock; faults need mocks`);
    return { feed, mock: feed.mock };
  });
}

/** Moves the market: a fresh round at `usd` on the asset's feeds. */
export async function setMarketPrice(
  asset: DeployedAsset,
  usd: number | string,
  target: FeedTarget = "both",
) {
  for (const { feed, mock } of mocksOf(asset, target)) {
    await (await mock.setPrice(toUnits(usd, feed.decimals))).wait();
  }
}

/** Applies a fault to an asset's feeds (or, for the sequencer faults, to the sequencer feed). */
export async function applyFault(
  system: System,
  asset: DeployedAsset,
  fault: OracleFault,
  target: FeedTarget = "primary",
  now?: number,
) {
  if (fault.kind === "sequencerDown" || fault.kind === "sequencerGrace") {
    const sequencer = system.sequencer?.mock;
    if (!sequencer) throw new Error("this deployment has no mock sequencer feed");
    if (fault.kind === "sequencerDown") await (await sequencer.setDown()).wait();
    else {
      if (now === undefined) throw new Error("sequencerGrace needs the current chain time");
      await (await sequencer.setStatus(0, now - fault.secondsSinceUp)).wait();
    }
    return;
  }
  for (const { feed, mock } of mocksOf(asset, target)) {
    const tx = await (async () => {
      switch (fault.kind) {
        case "stale":
          return mock.goStale(fault.age);
        case "freeze":
          return mock.setMode(FeedMode.FREEZE);
        case "zero":
          return mock.setPrice(0);
        case "negative":
          return mock.setPrice(-1n * 10n ** BigInt(feed.decimals));
        case "revert":
          return mock.setMode(FeedMode.REVERT);
        case "burnGas":
          return mock.setMode(FeedMode.BURN_GAS);
        case "shortReturn":
          return mock.setMode(FeedMode.SHORT_RETURN);
        case "clamp":
          return mock.setFloor(toUnits(fault.floorUsd, feed.decimals));
        case "spike":
          return mock.spikeOnce(toUnits(fault.usd, feed.decimals));
        case "lag":
          return mock.setLag(fault.rounds);
      }
    })();
    await tx.wait();
  }
}

/** Clears every fault on the asset's feeds. */
export async function healFeeds(asset: DeployedAsset, target: FeedTarget = "both") {
  for (const { mock } of mocksOf(asset, target)) await (await mock.heal()).wait();
}
