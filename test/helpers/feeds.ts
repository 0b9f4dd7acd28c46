import { expect } from "chai";

import type { DeployedAsset, DeployedFeed } from "../../deploy/deploySystem";
import { toUnits, WAD } from "../../deploy/units";
import type { OracleRouter } from "../../typechain-types";
import { PriceStatus } from "./fixture";

/** The raw answer a feed reports for a USD price, in the feed's own decimals. */
export function answer(feed: DeployedFeed, usd: number | string): bigint {
  return toUnits(usd, feed.decimals);
}

/** Moves the market: pushes a fresh round at `usd` on the asset's feeds (both, unless told otherwise). */
export async function setPrice(
  asset: DeployedAsset,
  usd: number | string,
  which: "both" | "primary" | "fallback" = "both",
) {
  if (which !== "fallback") await asset.primaryFeed.mock!.setPrice(answer(asset.primaryFeed, usd));
  if (which !== "primary" && asset.fallbackFeed)
    await asset.fallbackFeed.mock!.setPrice(answer(asset.fallbackFeed, usd));
}

/** USD price as WAD. */
export function usd(value: number | string): bigint {
  return toUnits(value, 18);
}

/** Asserts what `peek` reports, then that the state-changing `price` agrees with it. */
export async function expectStatus(
  router: OracleRouter,
  asset: DeployedAsset,
  status: PriceStatus,
  priceWad?: bigint,
) {
  const [p, s] = await router.peek(asset.address);
  expect(PriceStatus[Number(s)], "peek status").to.equal(PriceStatus[status]);
  if (priceWad !== undefined) expect(p, "peek price").to.equal(priceWad);
  const [p2, s2] = await router.price.staticCall(asset.address);
  expect(PriceStatus[Number(s2)], "price status").to.equal(PriceStatus[status]);
  expect(p2, "price() equals peek()").to.equal(p);
  await (await router.price(asset.address)).wait();
  return p;
}

export { WAD };
