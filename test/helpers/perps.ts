/**
 * Shared helpers for the perps tests: the fixture (the local system through deploySystem), named actors,
 * funding and approvals, and a TypeScript mirror of PerpMarket's arithmetic (fill price, fee, funding,
 * position value, margins) that predicts every number to the base unit.
 */
import hre, { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";

import { localConfig, localPerpsConfig, type PerpsConfig, type SystemConfig } from "../../deploy/config";
import { deploySystem, perpMarketParams, type System } from "../../deploy/deploySystem";
import { NegativeBalancePolicy } from "../../deploy/enums";
import { toUnits, wad, WAD } from "../../deploy/units";
import type { LiquidityVault, PerpMarket } from "../../typechain-types";
import { setPrice } from "./feeds";

export { WAD };

export interface PerpActors {
  admin: HardhatEthersSigner;
  lp: HardhatEthersSigner;
  alice: HardhatEthersSigner;
  bob: HardhatEthersSigner;
  carol: HardhatEthersSigner;
  dave: HardhatEthersSigner;
  keeper: HardhatEthersSigner;
  stranger: HardhatEthersSigner;
}

export type PerpFixture = System & {
  actors: PerpActors;
  perp: PerpMarket;
  vault: LiquidityVault;
  ETH: number;
  BTC: number;
};

export const BASE_DECIMALS = 6;
/** Whole base tokens (USDC) to base units. */
export const u = (v: number | string) => toUnits(v, BASE_DECIMALS);
/** Whole underlying units to size (WAD). */
export const size = (v: number | string) => wad(v);
/** USD to WAD price. */
export const px = (v: number | string) => wad(v);
/** USD WAD per base unit. */
export const USD_PER_UNIT = 10n ** BigInt(18 - BASE_DECIMALS);

async function perpActors(): Promise<PerpActors> {
  const [admin, lp, alice, bob, carol, dave, keeper, stranger] = await ethers.getSigners();
  return { admin, lp, alice, bob, carol, dave, keeper, stranger };
}

/** Deploys the local system with `perps` (default localPerpsConfig) and funds every actor. */
export async function deployPerps(
  perps: PerpsConfig = localPerpsConfig(),
  overrides: Partial<SystemConfig> = {},
): Promise<PerpFixture> {
  const system = await deploySystem(hre, localConfig({ perps, ...overrides }));
  const a = await perpActors();
  const f: PerpFixture = {
    ...system,
    actors: a,
    perp: system.perps!.market,
    vault: system.perps!.vault,
    ETH: system.perps!.marketIds.WETH,
    BTC: system.perps!.marketIds.WBTC,
  };
  for (const who of Object.values(a)) await fund(f, who, u(100_000_000));
  return f;
}

/** Mints base tokens to `who` and approves the engine, the vault and the insurance fund. */
export async function fund(f: System, who: HardhatEthersSigner, amount: bigint) {
  const usdc = f.base.token!;
  await usdc.mint(who.address, amount);
  for (const spender of [f.perps!.market, f.perps!.vault, f.insuranceFund]) {
    await usdc.connect(who).approve(await spender.getAddress(), ethers.MaxUint256);
  }
}

async function protectedFixture() {
  return deployPerps();
}
async function recourseFixture() {
  return deployPerps(localPerpsConfig({ negativeBalancePolicy: NegativeBalancePolicy.RECOURSE }));
}
/** The local system, perps under PROTECTED, every actor funded with 100M USDC and approvals. */
export const loadPerps = () => loadFixture(protectedFixture);
/** The same under RECOURSE. */
export const loadRecoursePerps = () => loadFixture(recourseFixture);

/** Moves WETH (two feeds: a gap is confirmed by the fallback at once) or another asset. */
export async function setEth(f: System, usd: number | string) {
  await setPrice(f.assets.WETH, usd);
}

/* MIRROR OF THE CONTRACT'S MATH (contracts/perps/PerpMarket.sol, libraries/PerpMath.sol) */

export const abs = (x: bigint) => (x < 0n ? -x : x);
export const floorDiv = (x: bigint, d: bigint) => {
  const q = x / d;
  return x % d !== 0n && x < 0n ? q - 1n : q;
};
export const ceilDiv = (x: bigint, d: bigint) => {
  const q = x / d;
  return x % d !== 0n && x > 0n ? q + 1n : q;
};
const mulDivUp = (x: bigint, y: bigint, d: bigint) => (x * y + d - 1n) / d;
const mulDivDown = (x: bigint, y: bigint, d: bigint) => (x * y) / d;
const wMulUp = (x: bigint, y: bigint) => mulDivUp(x, y, WAD);
const wMulDown = (x: bigint, y: bigint) => mulDivDown(x, y, WAD);
const min = (a: bigint, b: bigint) => (a < b ? a : b);

/** The contract's MarketParams from the local config of `symbol`. */
export function paramsOf(symbol: string, perps: PerpsConfig = localPerpsConfig()) {
  return perpMarketParams(perps.markets.find((m) => m.symbol === symbol)!);
}
export type MarketParams = ReturnType<typeof paramsOf>;

/** price x (1 + (2 skew + delta) / (2 skewScale)): up for buys, down for sells. */
export function fillPrice(price: bigint, skew: bigint, delta: bigint, skewScale: bigint): bigint {
  const numerator = price * (2n * skew + delta);
  const denominator = 2n * skewScale;
  const premium = delta > 0n ? ceilDiv(numerator, denominator) : floorDiv(numerator, denominator);
  return price + premium;
}

/** |delta| x fill x fee, base units, rounded up at each step. */
export function tradeFee(delta: bigint, fill: bigint, tradingFee: bigint): bigint {
  return mulDivUp(wMulUp(mulDivUp(abs(delta), fill, WAD), tradingFee), 1n, USD_PER_UNIT);
}

/** maxFundingRate x clamp(skew / skewScale), truncated toward zero (WAD per second). */
export function fundingRate(skew: bigint, skewScale: bigint, maxFundingRate: bigint): bigint {
  const s = skew > skewScale ? skewScale : skew < -skewScale ? -skewScale : skew;
  return (maxFundingRate * s) / skewScale;
}

/** The index after `elapsed` seconds at `rate` and `price` (truncated toward zero). */
export function accrue(index: bigint, rate: bigint, elapsed: bigint, price: bigint): bigint {
  return index + (rate * elapsed * price) / WAD;
}

/** PnL minus funding owed, base units, rounded toward minus infinity. */
export function positionValue(
  sz: bigint,
  entry: bigint,
  entryIndex: bigint,
  price: bigint,
  index: bigint,
): bigint {
  return floorDiv(sz * (price - entry) - sz * (index - entryIndex), WAD * USD_PER_UNIT);
}

/** Notional (down), initial and maintenance margin and liquidation fee (up), base units. */
export function margins(p: MarketParams, sz: bigint, price: bigint) {
  const a = abs(sz);
  const notional = mulDivDown(a, price, WAD) / USD_PER_UNIT;
  const growth = WAD + mulDivUp(a, WAD, p.marginScale);
  const usd = mulDivUp(a, price, WAD);
  const up = (x: bigint) => mulDivUp(x, 1n, USD_PER_UNIT);
  return {
    notional,
    im: up(wMulUp(usd, min(wMulUp(p.initialMargin, growth), WAD))),
    mm: up(wMulUp(usd, min(wMulUp(p.maintenanceMargin, growth), WAD))),
    liqFee: up(wMulUp(usd, p.liquidationFee)),
  };
}

export { wMulDown, mulDivDown, mulDivUp, wMulUp };

/** Reads a position's stored fields. */
export async function positionOf(perp: PerpMarket, account: string, marketId: number) {
  const v = await perp.positionView(account, marketId);
  return { size: v.size, entryPrice: v.entryPrice };
}

/** The books of the engine: every base unit it holds is margin, pool or pending insurance. */
export async function expectPerpBooks(f: PerpFixture, accounts: string[]) {
  const { expect } = await import("chai");
  const held = await f.base.erc20.balanceOf(await f.perp.getAddress());
  let margins = 0n;
  for (const a of accounts) margins += (await f.perp.marginOf(a)).margin;
  const [capital, pending] = await f.perp.pool();
  expect(held, "tokens held == sum of margins + pool capital + pending insurance").to.equal(
    margins + capital + pending,
  );
  const bad = await f.perp.badDebt();
  expect(bad.deficit, "deficit == covered + socialised").to.equal(bad.coveredByInsurance + bad.socialised);
}
