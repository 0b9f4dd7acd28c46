/**
 * PerpMarket's administration and views: listMarket, setMarketParams and setGlobalParams at and beyond
 * every bound, the roles (admin, pause guardian, stranger), halting, delisting, the vault wiring, fee
 * sweeping, the vault-only pool entry points, the constructor's checks, and the read-only views.
 *
 * Funding is checked against the mirror in test/helpers/perps.ts (fundingRate, accrue) at the timestamp
 * of the block each transaction was mined in.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { ContractTransactionResponse } from "ethers";

import { localPerpsConfig } from "../../deploy/config";
import { Action, NegativeBalancePolicy, PriceStatus } from "../../deploy/enums";
import { toUnits, wad } from "../../deploy/units";
import { PerpParams__factory } from "../../typechain-types";
import {
  accrue,
  expectPerpBooks,
  fillPrice,
  fundingRate,
  loadPerps,
  paramsOf,
  px,
  setEth,
  size,
  tradeFee,
  u,
  WAD,
  type MarketParams,
  type PerpFixture,
} from "../helpers/perps";

const MAX = ethers.MaxUint256;
const ADMIN_ROLE = ethers.ZeroHash;
const GUARDIAN_ROLE = ethers.id("PAUSE_GUARDIAN_ROLE");
const ETH_PARAMS = paramsOf("WETH");
const BTC_PARAMS = paramsOf("WBTC");
const MAX_FUNDING_RATE = wad("0.1") / 86_400n;
const ACTIVE = 0;
const HALTED = 1;
const DELISTED = 2;

const G = localPerpsConfig().global;
const GLOBAL = {
  insuranceFeeShare: wad(G.insuranceFeeShare),
  keeperLiquidationShare: wad(G.keeperLiquidationShare),
  lpReserveFactor: wad(G.lpReserveFactor),
  orderKeeperFee: u(G.orderKeeperFee),
};
type GlobalParams = typeof GLOBAL;

/* HELPERS */

/** A decoded struct or tuple as plain (nested) arrays, for deep equality. */
const plain = (x: unknown): unknown => (Array.isArray(x) ? [...x].map(plain) : x);

const paramsArray = (p: MarketParams) => [
  p.initialMargin,
  p.maintenanceMargin,
  p.tradingFee,
  p.liquidationFee,
  p.marginScale,
  p.skewScale,
  p.maxLongOI,
  p.maxShortOI,
  p.maxFundingRate,
  p.adlPnlFactor,
];
const globalArray = (g: GlobalParams) => [
  g.insuranceFeeShare,
  g.keeperLiquidationShare,
  g.lpReserveFactor,
  g.orderKeeperFee,
];

async function paramsLib() {
  return ethers.getContractFactory("PerpParams");
}

/** PerpParams' interface: its errors (OutOfBounds, InvalidMarginParams) are not in PerpMarket's ABI. */
const LIB = { interface: PerpParams__factory.createInterface() };

async function tsOf(tx: ContractTransactionResponse): Promise<bigint> {
  const receipt = await tx.wait();
  return BigInt((await ethers.provider.getBlock(receipt!.blockNumber))!.timestamp);
}

async function fixture() {
  const f = await loadPerps();
  const all = Object.values(f.actors).map((a) => a.address);
  return { f, all };
}

/** The LP funds the pool; the named traders post margin. */
async function funded(f: PerpFixture) {
  await f.vault.connect(f.actors.lp).deposit(u(5_000_000), f.actors.lp.address);
  for (const who of [f.actors.alice, f.actors.bob, f.actors.carol]) {
    await f.perp.connect(who).depositMargin(u(500_000), who.address);
  }
}

/** Lists one more oracle asset (a fresh address on a shared 8-decimal mock feed) in the router. */
async function listOracleAsset(f: PerpFixture, feed: string, n: number): Promise<string> {
  const asset = ethers.getAddress("0x" + (0xba11a57n * 1000n + BigInt(n)).toString(16).padStart(40, "0"));
  await f.router.setAssetConfig(asset, {
    primaryFeed: feed,
    primaryHeartbeat: 3600,
    fallbackFeed: ethers.ZeroAddress,
    fallbackHeartbeat: 0,
    confirmWindow: 600,
    minPrice: wad(1),
    maxPrice: wad(1000),
    maxDeviation: wad("0.2"),
    maxDivergence: wad("0.02"),
  });
  return asset;
}

/* TESTS */

describe("perps: administration and views", function () {
  describe("listMarket", function () {
    it("listMarket: lists an oracle-priced asset as the next market (MarketListed, PerpMarketParamsSet) and it trades", async function () {
      const { f } = await fixture();
      const eurc = f.assets.EURC.address;
      const params = { ...ETH_PARAMS, skewScale: size(10_000_000), marginScale: size(1_000_000) };
      expect(await f.perp.listMarket.staticCall(eurc, params)).to.equal(2n);
      const tx = await f.perp.listMarket(eurc, params);
      const ts = await tsOf(tx);
      await expect(tx).to.emit(f.perp, "MarketListed").withArgs(2, eurc);
      await expect(tx).to.emit(f.perp, "PerpMarketParamsSet").withArgs(2, paramsArray(params));
      expect(await f.perp.marketCount()).to.equal(3n);
      expect(await f.perp.marketIdOf(eurc)).to.equal(2n);
      const v = await f.perp.marketView(2);
      expect(v.asset).to.equal(eurc);
      expect(v.status).to.equal(ACTIVE);
      expect(v.finalPrice).to.equal(0n);
      expect(v.longOI).to.equal(0n);
      expect(v.shortOI).to.equal(0n);
      expect(v.fundingIndex).to.equal(0n);
      expect(v.fundingRate).to.equal(0n);
      expect(v.lastFundingTime).to.equal(ts);
      expect(plain(v.params)).to.deep.equal(paramsArray(params));

      const { alice } = f.actors;
      await f.perp.connect(alice).depositMargin(u(1_000), alice.address);
      const want = fillPrice(px("1.08"), 0n, size(1_000), params.skewScale);
      await expect(f.perp.connect(alice).modifyPosition(2, size(1_000), MAX))
        .to.emit(f.perp, "PositionModified")
        .withArgs(
          alice.address,
          2,
          size(1_000),
          want,
          tradeFee(size(1_000), want, params.tradingFee),
          0,
          size(1_000),
        );
    });

    it("listMarket: reverts with AssetNotListed for an asset the oracle does not price", async function () {
      const { f } = await fixture();
      const asset = ethers.Wallet.createRandom().address;
      await expect(f.perp.listMarket(asset, ETH_PARAMS))
        .to.be.revertedWithCustomError(f.perp, "AssetNotListed")
        .withArgs(asset);
    });

    it("listMarket: reverts with MarketAlreadyListed for an asset that has a market", async function () {
      const { f } = await fixture();
      for (const a of [f.assets.WETH.address, f.assets.WBTC.address]) {
        await expect(f.perp.listMarket(a, ETH_PARAMS))
          .to.be.revertedWithCustomError(f.perp, "MarketAlreadyListed")
          .withArgs(a);
      }
      expect(await f.perp.marketCount()).to.equal(2n);
    });

    it("listMarket: reverts with OutOfBounds for parameters out of bounds and lists nothing", async function () {
      const { f } = await fixture();
      await expect(f.perp.listMarket(f.assets.EURC.address, { ...ETH_PARAMS, skewScale: 0n }))
        .to.be.revertedWithCustomError(LIB, "OutOfBounds")
        .withArgs("skewScale", 0, WAD, 10n ** 36n);
      expect(await f.perp.marketCount()).to.equal(2n);
      await expect(f.perp.marketIdOf(f.assets.EURC.address))
        .to.be.revertedWithCustomError(f.perp, "MarketNotListed")
        .withArgs(MAX);
    });

    it("listMarket: reverts with TooManyMarkets beyond MAX_MARKETS (16)", async function () {
      const { f } = await fixture();
      expect(await f.perp.MAX_MARKETS()).to.equal(16n);
      const feed = await (await ethers.getContractFactory("MockAggregator")).deploy(8, 10n ** 9n, "X / USD");
      const feedAddress = await feed.getAddress();
      await f.perp.listMarket(f.assets.EURC.address, ETH_PARAMS);
      for (let n = 0; n < 13; n++) {
        const asset = await listOracleAsset(f, feedAddress, n);
        await expect(f.perp.listMarket(asset, ETH_PARAMS))
          .to.emit(f.perp, "MarketListed")
          .withArgs(3 + n, asset);
      }
      expect(await f.perp.marketCount()).to.equal(16n);
      const extra = await listOracleAsset(f, feedAddress, 99);
      await expect(f.perp.listMarket(extra, ETH_PARAMS))
        .to.be.revertedWithCustomError(f.perp, "TooManyMarkets")
        .withArgs(16);
      // The sixteenth market (id 15, bit 15 of an account's mask) trades.
      const { alice } = f.actors;
      await f.perp.connect(alice).depositMargin(u(1_000), alice.address);
      await f.perp.connect(alice).modifyPosition(15, size(10), MAX);
      expect((await f.perp.marginOf(alice.address)).marketsIn).to.equal(1n << 15n);
    });
  });

  describe("setMarketParams", function () {
    type Case = { value: bigint; ok: boolean; with?: Partial<MarketParams> };
    const E18 = WAD;
    const E36 = 10n ** 36n;
    const bounds: Array<{ name: keyof MarketParams; min: bigint; max: bigint; cases: Case[] }> = [
      {
        name: "initialMargin",
        min: wad("0.005"),
        max: E18,
        cases: [
          {
            value: wad("0.005"),
            ok: true,
            with: { maintenanceMargin: wad("0.001"), liquidationFee: wad("0.001") },
          },
          {
            value: wad("0.005") - 1n,
            ok: false,
            with: { maintenanceMargin: wad("0.001"), liquidationFee: wad("0.001") },
          },
          { value: E18, ok: true },
          { value: E18 + 1n, ok: false },
        ],
      },
      {
        name: "maintenanceMargin",
        min: wad("0.001"),
        max: E18,
        cases: [
          { value: wad("0.001"), ok: true, with: { liquidationFee: wad("0.001") } },
          { value: wad("0.001") - 1n, ok: false, with: { liquidationFee: 0n } },
          { value: E18 - 1n, ok: true, with: { initialMargin: E18 } },
          { value: E18 + 1n, ok: false, with: { initialMargin: E18 } },
        ],
      },
      {
        name: "tradingFee",
        min: 0n,
        max: wad("0.01"),
        cases: [
          { value: 0n, ok: true },
          { value: wad("0.01"), ok: true },
          { value: wad("0.01") + 1n, ok: false },
        ],
      },
      ...(["marginScale", "skewScale"] as const).map((name) => ({
        name,
        min: E18,
        max: E36,
        cases: [
          { value: E18, ok: true },
          { value: E18 - 1n, ok: false },
          { value: E36, ok: true },
          { value: E36 + 1n, ok: false },
        ],
      })),
      ...(["maxLongOI", "maxShortOI"] as const).map((name) => ({
        name,
        min: 0n,
        max: E36,
        cases: [
          { value: 0n, ok: true },
          { value: E36, ok: true },
          { value: E36 + 1n, ok: false },
        ],
      })),
      {
        name: "maxFundingRate",
        min: 0n,
        max: MAX_FUNDING_RATE,
        cases: [
          { value: 0n, ok: true },
          { value: MAX_FUNDING_RATE, ok: true },
          { value: MAX_FUNDING_RATE + 1n, ok: false },
        ],
      },
      {
        name: "adlPnlFactor",
        min: wad("0.01"),
        max: E18,
        cases: [
          { value: wad("0.01"), ok: true },
          { value: wad("0.01") - 1n, ok: false },
          { value: E18, ok: true },
          { value: E18 + 1n, ok: false },
        ],
      },
    ];

    it("setMarketParams: MAX_FUNDING_RATE is 10% a day", async function () {
      const lib = await (await paramsLib()).deploy();
      expect(await lib.MAX_FUNDING_RATE()).to.equal(MAX_FUNDING_RATE);
      expect(MAX_FUNDING_RATE).to.equal(1_157_407_407_407n);
    });

    for (const b of bounds) {
      it(`setMarketParams: ${b.name} is accepted at its bounds and reverts with OutOfBounds beyond them`, async function () {
        const { f } = await fixture();
        const lib = await paramsLib();
        for (const k of b.cases) {
          const p: MarketParams = { ...BTC_PARAMS, ...k.with, [b.name]: k.value };
          if (k.ok) {
            await expect(f.perp.setMarketParams(f.BTC, p))
              .to.emit(f.perp, "PerpMarketParamsSet")
              .withArgs(f.BTC, paramsArray(p));
            expect(plain((await f.perp.marketView(f.BTC)).params)).to.deep.equal(paramsArray(p));
          } else {
            await expect(f.perp.setMarketParams(f.BTC, p))
              .to.be.revertedWithCustomError(lib, "OutOfBounds")
              .withArgs(b.name, k.value, b.min, b.max);
          }
        }
      });
    }

    it("setMarketParams: reverts with InvalidMarginParams unless maintenance < initial and liquidation fee <= maintenance", async function () {
      const { f } = await fixture();
      const lib = await paramsLib();
      const im = ETH_PARAMS.initialMargin;
      const mm = ETH_PARAMS.maintenanceMargin;
      for (const p of [
        { ...ETH_PARAMS, maintenanceMargin: im },
        { ...ETH_PARAMS, maintenanceMargin: im + 1n },
        { ...ETH_PARAMS, liquidationFee: mm + 1n },
      ]) {
        await expect(f.perp.setMarketParams(f.ETH, p))
          .to.be.revertedWithCustomError(lib, "InvalidMarginParams")
          .withArgs(p.initialMargin, p.maintenanceMargin, p.liquidationFee);
      }
      for (const p of [
        { ...ETH_PARAMS, maintenanceMargin: im - 1n },
        { ...ETH_PARAMS, liquidationFee: mm },
        { ...ETH_PARAMS, liquidationFee: 0n },
      ]) {
        await expect(f.perp.setMarketParams(f.ETH, p))
          .to.emit(f.perp, "PerpMarketParamsSet")
          .withArgs(f.ETH, paramsArray(p));
      }
    });

    it("setMarketParams: reverts with MarketNotListed for an unknown market", async function () {
      const { f } = await fixture();
      await expect(f.perp.setMarketParams(2, ETH_PARAMS))
        .to.be.revertedWithCustomError(f.perp, "MarketNotListed")
        .withArgs(2);
    });

    it("setMarketParams: accrues funding at the old rate first, then the new rate applies", async function () {
      const { f, all } = await fixture();
      const { alice, bob } = f.actors;
      await funded(f);
      const t0 = await tsOf(await f.perp.connect(alice).modifyPosition(f.ETH, size(1_000), MAX));
      expect((await f.perp.marketView(f.ETH)).fundingIndex).to.equal(0n);
      const oldRate = fundingRate(size(1_000), ETH_PARAMS.skewScale, ETH_PARAMS.maxFundingRate);
      expect((await f.perp.marketView(f.ETH)).fundingRate).to.equal(oldRate);

      await time.increase(3_000);
      await setEth(f, 3_000); // fresh feeds
      const params = { ...ETH_PARAMS, maxFundingRate: ETH_PARAMS.maxFundingRate * 3n };
      const tx = await f.perp.setMarketParams(f.ETH, params);
      const t1 = await tsOf(tx);
      const index1 = accrue(0n, oldRate, t1 - t0, px(3_000));
      expect(index1).to.be.gt(0n);
      await expect(tx).to.emit(f.perp, "FundingAccrued").withArgs(f.ETH, oldRate, index1);
      const v1 = await f.perp.marketView(f.ETH);
      expect(v1.fundingIndex).to.equal(index1);
      expect(v1.lastFundingTime).to.equal(t1);
      const newRate = fundingRate(size(1_000), ETH_PARAMS.skewScale, params.maxFundingRate);
      expect(v1.fundingRate).to.equal(newRate);

      await time.increase(1_000);
      await setEth(f, 3_000);
      const tx2 = await f.perp.connect(bob).modifyPosition(f.ETH, -size(1), 0);
      const t2 = await tsOf(tx2);
      const index2 = accrue(index1, newRate, t2 - t1, px(3_000));
      await expect(tx2).to.emit(f.perp, "FundingAccrued").withArgs(f.ETH, newRate, index2);
      expect((await f.perp.marketView(f.ETH)).fundingIndex).to.equal(index2);
      await expectPerpBooks(f, all);
    });

    it("setMarketParams: at a zero rate the clock restarts, so a new rate is never charged for the past", async function () {
      const { f } = await fixture();
      const { alice, bob } = f.actors;
      await funded(f);
      const noFunding = { ...ETH_PARAMS, maxFundingRate: 0n };
      await f.perp.setMarketParams(f.ETH, noFunding);
      await f.perp.connect(alice).modifyPosition(f.ETH, size(1_000), MAX);
      await time.increase(2_000);
      await setEth(f, 3_000);
      const tx = await f.perp.setMarketParams(f.ETH, ETH_PARAMS);
      const t1 = await tsOf(tx);
      await expect(tx).to.not.emit(f.perp, "FundingAccrued");
      const v = await f.perp.marketView(f.ETH);
      expect(v.fundingIndex).to.equal(0n);
      expect(v.lastFundingTime).to.equal(t1);

      await time.increase(500);
      const tx2 = await f.perp.connect(bob).modifyPosition(f.ETH, -size(1), 0);
      const t2 = await tsOf(tx2);
      const rate = fundingRate(size(1_000), ETH_PARAMS.skewScale, ETH_PARAMS.maxFundingRate);
      await expect(tx2)
        .to.emit(f.perp, "FundingAccrued")
        .withArgs(f.ETH, rate, accrue(0n, rate, t2 - t1, px(3_000)));
    });

    it("setMarketParams: reverts with PriceNotUsable when funding must accrue and the price is stale; without skew it needs no price", async function () {
      const { f } = await fixture();
      await funded(f);
      await f.assets.WBTC.primaryFeed.mock!.goStale(4_000);
      // No position: no funding to accrue, no price needed.
      await expect(f.perp.setMarketParams(f.BTC, BTC_PARAMS)).to.emit(f.perp, "PerpMarketParamsSet");
      await f.assets.WBTC.primaryFeed.mock!.setPrice(toUnits(60_000, 8));
      await f.perp.connect(f.actors.alice).modifyPosition(f.BTC, size(1), MAX);
      await f.assets.WBTC.primaryFeed.mock!.goStale(4_000);
      await expect(f.perp.setMarketParams(f.BTC, BTC_PARAMS))
        .to.be.revertedWithCustomError(f.router, "PriceNotUsable")
        .withArgs(f.assets.WBTC.address, Action.CLOSE, PriceStatus.STALE);
    });
  });

  describe("setGlobalParams", function () {
    const bounds: Array<{ name: keyof GlobalParams; max: bigint }> = [
      { name: "insuranceFeeShare", max: WAD },
      { name: "keeperLiquidationShare", max: WAD },
      { name: "lpReserveFactor", max: wad("0.5") },
      { name: "orderKeeperFee", max: u(100) },
    ];
    for (const b of bounds) {
      it(`setGlobalParams: ${b.name} is accepted from 0 to ${b.max} and reverts with OutOfBounds above`, async function () {
        const { f } = await fixture();
        for (const value of [0n, b.max]) {
          const g = { ...GLOBAL, [b.name]: value };
          await expect(f.perp.setGlobalParams(g))
            .to.emit(f.perp, "PerpGlobalParamsSet")
            .withArgs(globalArray(g));
          expect(plain(await f.perp.globalParams())).to.deep.equal(globalArray(g));
        }
        await expect(f.perp.setGlobalParams({ ...GLOBAL, [b.name]: b.max + 1n }))
          .to.be.revertedWithCustomError(LIB, "OutOfBounds")
          .withArgs(b.name, b.max + 1n, 0, b.max);
      });
    }

    it("setGlobalParams: a new insuranceFeeShare splits the next fee", async function () {
      const { f, all } = await fixture();
      await funded(f);
      await f.perp.setGlobalParams({ ...GLOBAL, insuranceFeeShare: WAD });
      const [capital0] = await f.perp.pool();
      await f.perp.connect(f.actors.alice).modifyPosition(f.ETH, size(10), MAX);
      const [capital1, pending1] = await f.perp.pool();
      expect(capital1).to.equal(capital0);
      const fill = fillPrice(px(3000), 0n, size(10), ETH_PARAMS.skewScale);
      expect(pending1).to.equal(tradeFee(size(10), fill, ETH_PARAMS.tradingFee));
      await expectPerpBooks(f, all);
    });
  });

  describe("roles", function () {
    it("roles: every admin function called by a stranger reverts with AccessControlUnauthorizedAccount", async function () {
      const { f } = await fixture();
      const s = f.perp.connect(f.actors.stranger);
      const calls: Array<[string, () => Promise<unknown>]> = [
        ["listMarket", () => s.listMarket(f.assets.EURC.address, ETH_PARAMS)],
        ["setMarketParams", () => s.setMarketParams(f.ETH, ETH_PARAMS)],
        ["setGlobalParams", () => s.setGlobalParams(GLOBAL)],
        ["setHalted(true)", () => s.setHalted(f.ETH, true)],
        ["setHalted(false)", () => s.setHalted(f.ETH, false)],
        ["delistMarket", () => s.delistMarket(f.ETH)],
        ["setVault", () => s.setVault(f.actors.stranger.address)],
        ["setPaused(true)", () => s.setPaused(true)],
        ["setPaused(false)", () => s.setPaused(false)],
      ];
      for (const [name, call] of calls) {
        await expect(call(), name)
          .to.be.revertedWithCustomError(f.perp, "AccessControlUnauthorizedAccount")
          .withArgs(f.actors.stranger.address, ADMIN_ROLE);
      }
    });

    it("roles: a pause guardian may halt a market but not resume it; the admin resumes (MarketStatusSet)", async function () {
      const { f } = await fixture();
      const guardian = f.actors.carol;
      expect(await f.perp.PAUSE_GUARDIAN_ROLE()).to.equal(GUARDIAN_ROLE);
      await f.perp.grantRole(GUARDIAN_ROLE, guardian.address);
      await expect(f.perp.connect(guardian).setHalted(f.ETH, true))
        .to.emit(f.perp, "MarketStatusSet")
        .withArgs(f.ETH, HALTED, 0);
      expect((await f.perp.marketView(f.ETH)).status).to.equal(HALTED);
      expect((await f.perp.marketView(f.BTC)).status).to.equal(ACTIVE);
      await expect(f.perp.connect(guardian).setHalted(f.ETH, false))
        .to.be.revertedWithCustomError(f.perp, "AccessControlUnauthorizedAccount")
        .withArgs(guardian.address, ADMIN_ROLE);
      await expect(f.perp.setHalted(f.ETH, false))
        .to.emit(f.perp, "MarketStatusSet")
        .withArgs(f.ETH, ACTIVE, 0);
      expect((await f.perp.marketView(f.ETH)).status).to.equal(ACTIVE);
      // The admin halts too; a guardian may do nothing else an admin does.
      await expect(f.perp.setHalted(f.BTC, true))
        .to.emit(f.perp, "MarketStatusSet")
        .withArgs(f.BTC, HALTED, 0);
      for (const call of [
        () => f.perp.connect(guardian).delistMarket(f.ETH),
        () => f.perp.connect(guardian).setMarketParams(f.ETH, ETH_PARAMS),
        () => f.perp.connect(guardian).setGlobalParams(GLOBAL),
        () => f.perp.connect(guardian).listMarket(f.assets.EURC.address, ETH_PARAMS),
      ]) {
        await expect(call())
          .to.be.revertedWithCustomError(f.perp, "AccessControlUnauthorizedAccount")
          .withArgs(guardian.address, ADMIN_ROLE);
      }
    });

    it("roles: a pause guardian may pause but not unpause; the admin does both (PausedSet)", async function () {
      const { f } = await fixture();
      const guardian = f.actors.dave;
      await f.perp.grantRole(GUARDIAN_ROLE, guardian.address);
      await expect(f.perp.connect(guardian).setPaused(true)).to.emit(f.perp, "PausedSet").withArgs(true);
      expect(await f.perp.paused()).to.equal(true);
      await expect(f.perp.connect(guardian).setPaused(false))
        .to.be.revertedWithCustomError(f.perp, "AccessControlUnauthorizedAccount")
        .withArgs(guardian.address, ADMIN_ROLE);
      await expect(f.perp.setPaused(false)).to.emit(f.perp, "PausedSet").withArgs(false);
      expect(await f.perp.paused()).to.equal(false);
      await expect(f.perp.setPaused(true)).to.emit(f.perp, "PausedSet").withArgs(true);
      expect(await f.perp.paused()).to.equal(true);
      // A revoked guardian can no longer pause.
      await f.perp.setPaused(false);
      await f.perp.revokeRole(GUARDIAN_ROLE, guardian.address);
      await expect(f.perp.connect(guardian).setPaused(true))
        .to.be.revertedWithCustomError(f.perp, "AccessControlUnauthorizedAccount")
        .withArgs(guardian.address, ADMIN_ROLE);
    });

    it("roles: setHalted reverts with MarketNotListed for an unknown market", async function () {
      const { f } = await fixture();
      await expect(f.perp.setHalted(2, true))
        .to.be.revertedWithCustomError(f.perp, "MarketNotListed")
        .withArgs(2);
    });
  });

  describe("delistMarket", function () {
    it("delistMarket: records the oracle price as finalPrice, accrues funding to the moment and freezes it", async function () {
      const { f, all } = await fixture();
      const { alice } = f.actors;
      await funded(f);
      const t0 = await tsOf(await f.perp.connect(alice).modifyPosition(f.ETH, size(500), MAX));
      await time.increase(1_800);
      await setEth(f, "3210.5");
      const tx = await f.perp.delistMarket(f.ETH);
      const t1 = await tsOf(tx);
      const rate = fundingRate(size(500), ETH_PARAMS.skewScale, ETH_PARAMS.maxFundingRate);
      const index = accrue(0n, rate, t1 - t0, px("3210.5"));
      await expect(tx).to.emit(f.perp, "FundingAccrued").withArgs(f.ETH, rate, index);
      await expect(tx).to.emit(f.perp, "MarketStatusSet").withArgs(f.ETH, DELISTED, px("3210.5"));
      const v = await f.perp.marketView(f.ETH);
      expect(v.status).to.equal(DELISTED);
      expect(v.finalPrice).to.equal(px("3210.5"));
      expect(v.fundingIndex).to.equal(index);
      expect(v.lastFundingTime).to.equal(t1);
      expect(v.fundingRate, "no funding rate once delisted, whatever the skew").to.equal(0n);

      const owed = (await f.perp.positionView(alice.address, f.ETH)).fundingOwed;
      const eq = (await f.perp.accountView(alice.address)).equity;
      await time.increase(5_000); // the feeds go stale too: a delisted market needs none
      await setEth(f, 2_000);
      expect((await f.perp.positionView(alice.address, f.ETH)).fundingOwed).to.equal(owed);
      expect((await f.perp.accountView(alice.address)).equity).to.equal(eq);
      expect((await f.perp.marketView(f.ETH)).fundingIndex).to.equal(index);
      await expectPerpBooks(f, all);
    });

    it("delistMarket: a second delisting reverts with MarketNotActive, and so does setHalted", async function () {
      const { f } = await fixture();
      await f.perp.delistMarket(f.ETH);
      await expect(f.perp.delistMarket(f.ETH))
        .to.be.revertedWithCustomError(f.perp, "MarketNotActive")
        .withArgs(f.ETH, DELISTED);
      for (const halted of [true, false]) {
        await expect(f.perp.setHalted(f.ETH, halted))
          .to.be.revertedWithCustomError(f.perp, "MarketNotActive")
          .withArgs(f.ETH, DELISTED);
      }
      const guardian = f.actors.carol;
      await f.perp.grantRole(GUARDIAN_ROLE, guardian.address);
      await expect(f.perp.connect(guardian).setHalted(f.ETH, true))
        .to.be.revertedWithCustomError(f.perp, "MarketNotActive")
        .withArgs(f.ETH, DELISTED);
      expect((await f.perp.marketView(f.ETH)).status).to.equal(DELISTED);
    });

    it("delistMarket: a halted market may be delisted", async function () {
      const { f } = await fixture();
      await f.perp.setHalted(f.BTC, true);
      await expect(f.perp.delistMarket(f.BTC))
        .to.emit(f.perp, "MarketStatusSet")
        .withArgs(f.BTC, DELISTED, px(60_000));
    });

    it("delistMarket: reverts with PriceNotUsable unless the price is OK (read as a risk-adding action)", async function () {
      const { f } = await fixture();
      await f.assets.WBTC.primaryFeed.mock!.goStale(4_000);
      await expect(f.perp.delistMarket(f.BTC))
        .to.be.revertedWithCustomError(f.router, "PriceNotUsable")
        .withArgs(f.assets.WBTC.address, Action.OPEN, PriceStatus.STALE);
      await expect(f.perp.delistMarket(5))
        .to.be.revertedWithCustomError(f.perp, "MarketNotListed")
        .withArgs(5);
    });
  });

  describe("setVault", function () {
    it("setVault: reverts with ZeroAddress, and with VaultAlreadySet once set", async function () {
      const { f } = await fixture();
      await expect(f.perp.setVault(ethers.ZeroAddress)).to.be.revertedWithCustomError(f.perp, "ZeroAddress");
      expect(await f.perp.vault()).to.equal(await f.vault.getAddress());
      await expect(f.perp.setVault(f.actors.stranger.address)).to.be.revertedWithCustomError(
        f.perp,
        "VaultAlreadySet",
      );
    });

    it("setVault: sets the vault once on a fresh engine (VaultSet)", async function () {
      const { f } = await fixture();
      const engine = await deployEngine(f, {});
      expect(await engine.vault()).to.equal(ethers.ZeroAddress);
      await expect(engine.setVault(f.actors.carol.address))
        .to.emit(engine, "VaultSet")
        .withArgs(f.actors.carol.address);
      expect(await engine.vault()).to.equal(f.actors.carol.address);
      await expect(engine.setVault(f.actors.dave.address)).to.be.revertedWithCustomError(
        engine,
        "VaultAlreadySet",
      );
    });
  });

  describe("views", function () {
    it("views: marketView reports the market's state and parameters", async function () {
      const { f } = await fixture();
      const { alice, bob } = f.actors;
      await funded(f);
      await f.perp.connect(alice).modifyPosition(f.BTC, size(3), MAX);
      const tx = await f.perp.connect(bob).modifyPosition(f.BTC, -size("1.25"), 0);
      const ts = await tsOf(tx);
      const v = await f.perp.marketView(f.BTC);
      expect(v.asset).to.equal(f.assets.WBTC.address);
      expect(v.status).to.equal(ACTIVE);
      expect(v.finalPrice).to.equal(0n);
      expect(v.longOI).to.equal(size(3));
      expect(v.shortOI).to.equal(size("1.25"));
      expect(v.fundingRate).to.equal(
        fundingRate(size("1.75"), BTC_PARAMS.skewScale, BTC_PARAMS.maxFundingRate),
      );
      expect(v.lastFundingTime).to.equal(ts);
      expect(v.fundingIndex).to.be.gt(0n);
      expect(plain(v.params)).to.deep.equal(paramsArray(BTC_PARAMS));
      await expect(f.perp.marketView(2)).to.be.revertedWithCustomError(f.perp, "MarketNotListed").withArgs(2);
    });

    it("views: marketIdOf maps each asset to its id and reverts with MarketNotListed(max) for others; marketCount", async function () {
      const { f } = await fixture();
      expect(await f.perp.marketIdOf(f.assets.WETH.address)).to.equal(BigInt(f.ETH));
      expect(await f.perp.marketIdOf(f.assets.WBTC.address)).to.equal(BigInt(f.BTC));
      expect([f.ETH, f.BTC]).to.deep.equal([0, 1]);
      for (const asset of [f.assets.EURC.address, ethers.ZeroAddress]) {
        await expect(f.perp.marketIdOf(asset))
          .to.be.revertedWithCustomError(f.perp, "MarketNotListed")
          .withArgs(MAX);
      }
      expect(await f.perp.marketCount()).to.equal(2n);
    });

    it("views: order returns a placed order, and zeros for an unknown or cancelled one", async function () {
      const { f } = await fixture();
      const { alice } = f.actors;
      await funded(f);
      await f.perp.connect(alice).modifyPosition(f.ETH, size(10), MAX);
      const zero = [ethers.ZeroAddress, 0n, false, false, 0n, 0n, 0n, 0n];
      expect(plain(await f.perp.order(1))).to.deep.equal(zero);
      await f.perp.connect(alice).placeOrder(f.ETH, true, size(4), px(2_500), false, 0n);
      expect(plain(await f.perp.order(1))).to.deep.equal([
        alice.address,
        0n,
        true,
        false,
        0n,
        size(4),
        px(2_500),
        0n,
      ]);
      expect(plain(await f.perp.order(2))).to.deep.equal(zero);
      await f.perp.connect(alice).cancelOrder(1);
      expect(plain(await f.perp.order(1))).to.deep.equal(zero);
    });

    it("views: fillPrice follows the skew in an active market and is the final price in a delisted one", async function () {
      const { f } = await fixture();
      const { alice } = f.actors;
      await funded(f);
      await f.perp.connect(alice).modifyPosition(f.ETH, size(200), MAX);
      for (const d of [size(50), -size(50), -size(400), 1n, -1n]) {
        expect(await f.perp.fillPrice(f.ETH, d)).to.equal(
          fillPrice(px(3000), size(200), d, ETH_PARAMS.skewScale),
        );
      }
      await setEth(f, 3_333);
      await f.perp.delistMarket(f.ETH);
      await setEth(f, 1_000);
      for (const d of [size(50), -size(50), size(10_000), -1n]) {
        expect(await f.perp.fillPrice(f.ETH, d)).to.equal(px(3_333));
      }
      await expect(f.perp.fillPrice(2, 1))
        .to.be.revertedWithCustomError(f.perp, "MarketNotListed")
        .withArgs(2);
    });
  });

  describe("sweepFees", function () {
    it("sweepFees: sends the pending insurance fees to the insurance fund (PerpFeesSwept)", async function () {
      const { f, all } = await fixture();
      const { alice, bob, stranger } = f.actors;
      await funded(f);
      await f.perp.connect(alice).modifyPosition(f.ETH, size(77), MAX);
      await f.perp.connect(bob).modifyPosition(f.BTC, -size("2.5"), 0);
      const [capital, pending] = await f.perp.pool();
      expect(pending).to.be.gt(0n);
      const fund = await f.insuranceFund.getAddress();
      const fund0 = await f.base.erc20.balanceOf(fund);
      expect(await f.perp.connect(stranger).sweepFees.staticCall()).to.equal(pending);
      const tx = await f.perp.connect(stranger).sweepFees();
      await expect(tx).to.emit(f.perp, "PerpFeesSwept").withArgs(pending);
      await expect(tx)
        .to.emit(f.insuranceFund, "InsuranceToppedUp")
        .withArgs(await f.perp.getAddress(), pending);
      expect(await f.base.erc20.balanceOf(fund)).to.equal(fund0 + pending);
      const [capital1, pending1] = await f.perp.pool();
      expect(pending1).to.equal(0n);
      expect(capital1).to.equal(capital);
      await expectPerpBooks(f, all);
    });

    it("sweepFees: with nothing pending returns zero, emits nothing and moves nothing", async function () {
      const { f, all } = await fixture();
      const fund = await f.insuranceFund.getAddress();
      const fund0 = await f.base.erc20.balanceOf(fund);
      expect(await f.perp.sweepFees.staticCall()).to.equal(0n);
      await expect(f.perp.sweepFees()).to.not.emit(f.perp, "PerpFeesSwept");
      expect(await f.base.erc20.balanceOf(fund)).to.equal(fund0);
      await expectPerpBooks(f, all);
    });
  });

  describe("vault-only entry points", function () {
    it("lpDeposit and lpWithdraw: revert with NotVault for any caller but the vault, the admin included", async function () {
      const { f } = await fixture();
      await f.vault.connect(f.actors.lp).deposit(u(1_000), f.actors.lp.address);
      for (const who of [f.actors.stranger, f.actors.admin, f.actors.lp]) {
        await expect(f.perp.connect(who).lpDeposit(u(1)))
          .to.be.revertedWithCustomError(f.perp, "NotVault")
          .withArgs(who.address);
        await expect(f.perp.connect(who).lpWithdraw(u(1), who.address))
          .to.be.revertedWithCustomError(f.perp, "NotVault")
          .withArgs(who.address);
      }
      expect((await f.perp.pool())[0]).to.equal(u(1_000));
    });
  });

  describe("constructor", function () {
    it("constructor: reverts with ZeroAddress for a zero admin, base token, oracle or insurance fund", async function () {
      const { f } = await fixture();
      const factory = await engineFactory();
      const args = await engineArgs(f);
      for (const i of [0, 1, 2, 3]) {
        const bad = [...args] as typeof args;
        bad[i] = ethers.ZeroAddress;
        await expect(factory.deploy(...bad), `argument ${i}`).to.be.revertedWithCustomError(
          factory,
          "ZeroAddress",
        );
      }
    });

    it("constructor: reverts with TokenDecimalsUnsupported for a base token of more than 18 decimals", async function () {
      const { f } = await fixture();
      const token = await (await ethers.getContractFactory("MockERC20")).deploy("Wide", "WIDE", 19);
      const factory = await engineFactory();
      const args = await engineArgs(f);
      const wide = await token.getAddress();
      args[1] = wide;
      await expect(factory.deploy(...args))
        .to.be.revertedWithCustomError(factory, "TokenDecimalsUnsupported")
        .withArgs(wide);
    });

    it("constructor: reverts with OutOfBounds for global parameters out of bounds", async function () {
      const { f } = await fixture();
      const factory = await engineFactory();
      const args = await engineArgs(f);
      args[5] = { ...GLOBAL, orderKeeperFee: u(100) + 1n };
      await expect(factory.deploy(...args))
        .to.be.revertedWithCustomError(LIB, "OutOfBounds")
        .withArgs("orderKeeperFee", u(100) + 1n, 0, u(100));
    });

    it("constructor: stores its wiring, grants the admin role, sets the global parameters and approves the fund", async function () {
      const { f } = await fixture();
      const admin = f.actors.carol.address;
      const engine = await deployEngine(f, { admin, policy: NegativeBalancePolicy.RECOURSE });
      await expect(engine.deploymentTransaction())
        .to.emit(engine, "PerpGlobalParamsSet")
        .withArgs(globalArray(GLOBAL));
      expect(await engine.baseToken()).to.equal(f.base.address);
      expect(await engine.oracle()).to.equal(await f.router.getAddress());
      expect(await engine.insuranceFund()).to.equal(await f.insuranceFund.getAddress());
      expect(await engine.negativeBalancePolicy()).to.equal(NegativeBalancePolicy.RECOURSE);
      expect(await engine.hasRole(ADMIN_ROLE, admin)).to.equal(true);
      expect(await engine.hasRole(ADMIN_ROLE, f.actors.admin.address)).to.equal(false);
      expect(plain(await engine.globalParams())).to.deep.equal(globalArray(GLOBAL));
      expect(await engine.marketCount()).to.equal(0n);
      expect(await engine.paused()).to.equal(false);
      expect(
        await f.base.erc20.allowance(await engine.getAddress(), await f.insuranceFund.getAddress()),
      ).to.equal(MAX);
    });
  });
});

/* A FRESH ENGINE */

async function engineFactory() {
  const lib = await (await ethers.getContractFactory("PerpParams")).deploy();
  return ethers.getContractFactory("PerpMarket", { libraries: { PerpParams: await lib.getAddress() } });
}

async function engineArgs(f: PerpFixture) {
  return [
    f.actors.admin.address,
    f.base.address,
    await f.router.getAddress(),
    await f.insuranceFund.getAddress(),
    NegativeBalancePolicy.PROTECTED as number,
    GLOBAL as GlobalParams,
  ] as [string, string, string, string, number, GlobalParams];
}

async function deployEngine(f: PerpFixture, o: { admin?: string; policy?: NegativeBalancePolicy }) {
  const factory = await engineFactory();
  const args = await engineArgs(f);
  if (o.admin) args[0] = o.admin;
  if (o.policy !== undefined) args[4] = o.policy;
  const engine = await factory.deploy(...args);
  await engine.waitForDeployment();
  return engine;
}
