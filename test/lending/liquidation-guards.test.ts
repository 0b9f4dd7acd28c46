/**
 * The liquidation guards from the audit, one behaviour per test, every number exact (the rate curve is
 * set to zero, so a debt stays exactly what was borrowed):
 * A. a collateral that is not being seized and whose price the policy refuses for LIQUIDATE no longer
 *    blocks the liquidation (1 wei of it posted by a stranger would do): it counts at a high estimate,
 *    max(price, last good price) x (1 + maxDeviation), rounded up. The seized collateral still needs an
 *    allowed price, and borrow / withdrawCollateral still need OK prices on every collateral.
 * B. an insolvent account (collateral value < debt at the liquidation's prices) must lose the whole balance
 *    of the chosen collateral (InsolventMustSeizeAll(repayNeeded) otherwise).
 * C. the bonus of a solvent account is capped at value / debt: a liquidation never creates a deficit, and
 *    self-liquidation gains nothing beyond the account's equity.
 * D. checkMarginCall values with peek and warns only when every price is OK.
 * (E, the 0.95 rule on collateral parameters, is in admin.test.ts.)
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";

import type { DeployedAsset } from "../../deploy/deploySystem";
import { Action, FeedMode, PriceStatus } from "../../deploy/enums";
import { toUnits, wad, WAD } from "../../deploy/units";
import { expectConservation } from "../helpers/conservation";
import { setPrice, usd } from "../helpers/feeds";
import { type Fixture, systemFixture } from "../helpers/fixture";
import { mulDivDown, mulDivUp } from "../helpers/math";

const u = (v: number | string) => toUnits(v, 6);
const MAX = ethers.MaxUint256;
/** 10^(collateral decimals + 18 - 6): units x WAD price / scale = USDC units. */
const scale = (a: DeployedAsset) => 10n ** BigInt(a.decimals + 12);
const valueAt = (a: DeployedAsset, amount: bigint, price: bigint) => mulDivDown(amount, price, scale(a));

type G = Fixture & { bob: HardhatEthersSigner; aliceToo: HardhatEthersSigner };

/**
 * No interest; bob has supplied 1,000,000 USDC; alice holds WETH, WBTC and EURC, the keeper, the stranger
 * and alice's second address hold USDC (and the stranger a little of each collateral), all approved.
 */
async function guardFixture(): Promise<G> {
  const system = await systemFixture();
  const signers = await ethers.getSigners();
  const f: G = { ...system, bob: signers[4], aliceToo: signers[5] };
  const { market, rateModel } = f.lending!;
  const m = await market.getAddress();
  const usdc = f.base.token!;
  const { alice, keeper, stranger } = f.actors;
  await rateModel.setCurve(0, 0, 0, wad(0.8));
  for (const [who, amount] of [
    [f.bob, u(2_000_000)],
    [keeper, u(1_000_000)],
    [stranger, u(100_000)],
    [alice, u(100_000)],
    [f.aliceToo, u(100_000)],
  ] as const) {
    await usdc.mint(who.address, amount);
    await usdc.connect(who).approve(m, MAX);
  }
  await usdc.connect(keeper).approve(await f.insuranceFund.getAddress(), MAX);
  for (const [sym, whole] of [
    ["WETH", 100],
    ["WBTC", 10],
    ["EURC", 100_000],
  ] as const) {
    const asset = f.assets[sym];
    for (const who of [alice, stranger]) {
      await asset.token!.mint(who.address, toUnits(whole, asset.decimals));
      await asset.token!.connect(who).approve(m, MAX);
    }
  }
  await market.connect(f.bob).supply(u(1_000_000), f.bob.address);
  return f;
}

const load = () => loadFixture(guardFixture);

/** Posts alice's collateral (whole tokens) and borrows `borrow` USDC. */
async function open(f: G, collateral: Partial<Record<"WETH" | "WBTC" | "EURC", string>>, borrow: bigint) {
  const { market } = f.lending!;
  const alice = f.actors.alice;
  for (const [sym, amount] of Object.entries(collateral)) {
    const asset = f.assets[sym];
    await market
      .connect(alice)
      .supplyCollateral(asset.address, toUnits(amount, asset.decimals), alice.address);
  }
  await market.connect(alice).borrow(borrow, alice.address);
  expect(
    (await market.accountView(alice.address)).debt,
    "no interest: the debt is what was borrowed",
  ).to.equal(borrow);
}

async function expectPeek(f: G, asset: DeployedAsset, status: PriceStatus, price: bigint) {
  const [p, s] = await f.router.peek(asset.address);
  expect(PriceStatus[Number(s)], `${asset.symbol} status`).to.equal(PriceStatus[status]);
  expect(p, `${asset.symbol} price`).to.equal(price);
}

/** max(price, last good price) x (1 + maxDeviation), rounded up: LendingMarket._highEstimate. */
async function highEstimate(f: G, asset: DeployedAsset, price: bigint): Promise<bigint> {
  const [lastGood] = await f.router.lastGoodPrice(asset.address);
  const { maxDeviation } = await f.router.assetConfig(asset.address);
  return mulDivUp(price > lastGood ? price : lastGood, WAD + maxDeviation, WAD);
}

/** Risk-adding actions need an OK price on every collateral: both refused on `asset`'s `status`. */
async function expectRiskAddingRefused(f: G, asset: DeployedAsset, status: PriceStatus) {
  const { market } = f.lending!;
  const alice = f.actors.alice;
  await expect(market.connect(alice).borrow(u(100), alice.address))
    .to.be.revertedWithCustomError(market, "PriceNotUsable")
    .withArgs(asset.address, Action.BORROW, status);
  await expect(market.connect(alice).withdrawCollateral(f.assets.WBTC.address, 1n, alice.address))
    .to.be.revertedWithCustomError(market, "PriceNotUsable")
    .withArgs(asset.address, Action.WITHDRAW_COLLATERAL, status);
}

/**
 * 1 WBTC, 44,000 borrowed; WBTC -10% to 54,000 and a stranger's 1 wei of `dust` on alice's account.
 * Health (54,000 x 0.8 + the dust's share) / 44,000 = 0.9818: half the debt may be repaid.
 */
async function wbtcVictimWithDust(f: G, dust: DeployedAsset) {
  const { market } = f.lending!;
  const { alice, stranger } = f.actors;
  await open(f, { WBTC: "1" }, u(44_000));
  await expect(market.connect(stranger).supplyCollateral(dust.address, 1n, alice.address))
    .to.emit(market, "SupplyCollateral")
    .withArgs(stranger.address, alice.address, dust.address, 1n);
  expect(await market.collateralOf(alice.address, dust.address)).to.equal(1n);
  await setPrice(f.assets.WBTC, 54000);
  await expectConservation(f);
}

/**
 * The WBTC liquidation of `wbtcVictimWithDust` at the given dust value (at its high estimate): half the
 * debt repaid, floor(22,000 x 1.06 = 23,320 x 1e20 / 54,000e18) = 0.43185185 WBTC seized, fee
 * ceil(ceil(22,000 x 0.06) x 0.1) = 132.
 */
async function expectWbtcLiquidation(f: G, dust: DeployedAsset, dustValue: bigint) {
  const { market } = f.lending!;
  const { alice, keeper } = f.actors;
  const { liquidationThreshold: lt } = await market.collateralConfig(dust.address);
  const capacity = u(54_000 * 0.8) + mulDivDown(dustValue, lt, WAD);
  const health = mulDivDown(capacity, WAD, u(44_000));
  expect(health).to.equal(981_818_181_818_181_818n);
  expect(health).to.be.gte(wad(0.95)).and.lt(WAD);
  // Solvent (54,000 + dust > 44,000): the bonus is capped at value / debt = 1.227, above 1.06.
  const value = u(54_000) + dustValue;
  expect(mulDivDown(value, WAD, u(44_000))).to.be.gt(wad(1.06));
  const repaid = u(22_000);
  const seized = mulDivDown(mulDivDown(repaid, wad(1.06), WAD), scale(f.assets.WBTC), usd(54000));
  expect(seized).to.equal(43_185_185n);
  const fee = mulDivUp(mulDivUp(repaid, wad(0.06), WAD), wad(0.1), WAD);
  expect(fee).to.equal(u(132));

  const keeperBefore = await f.base.erc20.balanceOf(keeper.address);
  await expect(market.connect(keeper).liquidate(alice.address, f.assets.WBTC.address, MAX))
    .to.emit(market, "Liquidate")
    .withArgs(keeper.address, alice.address, f.assets.WBTC.address, repaid, seized, fee);
  expect(await f.base.erc20.balanceOf(keeper.address)).to.equal(keeperBefore - repaid - fee);
  expect(await f.assets.WBTC.token!.balanceOf(keeper.address)).to.equal(seized);
  expect(await market.collateralOf(alice.address, f.assets.WBTC.address)).to.equal(10n ** 8n - seized);
  expect(await market.collateralOf(alice.address, dust.address), "the dust stays").to.equal(1n);
  expect((await market.accountView(alice.address)).debt).to.equal(u(22_000));
  expect((await market.badDebt()).deficit).to.equal(0n);
  await expectConservation(f, [alice.address]);
}

describe("lending: liquidation guards", () => {
  describe("A. a refused price on another collateral counts at a high estimate", () => {
    it("A: 1 wei of STALE EURC posted by a stranger does not block the WBTC liquidation (valued at 1.08 x 1.1 = 1.188); liquidating the EURC itself and alice's borrow or withdrawal still revert PriceNotUsable", async () => {
      const f = await load();
      const { market } = f.lending!;
      const { alice, keeper } = f.actors;
      const EURC = f.assets.EURC;
      await wbtcVictimWithDust(f, EURC);
      await EURC.primaryFeed.mock!.goStale(90000); // heartbeat 86,400
      // A stale feed: the oracle reports the last good price.
      await expectPeek(f, EURC, PriceStatus.STALE, usd("1.08"));
      expect((await f.router.lastGoodPrice(EURC.address))[0]).to.equal(usd("1.08"));
      const estimate = await highEstimate(f, EURC, usd("1.08"));
      expect(estimate).to.equal(usd("1.188"));

      await expectRiskAddingRefused(f, EURC, PriceStatus.STALE);
      await expect(market.connect(keeper).liquidate(alice.address, EURC.address, MAX))
        .to.be.revertedWithCustomError(market, "PriceNotUsable")
        .withArgs(EURC.address, Action.LIQUIDATE, PriceStatus.STALE);
      await expectConservation(f);

      // 1 wei at 1.188: floor(1.188e18 / 1e18) = 1 unit of value, 0 of liquidation capacity.
      await expectWbtcLiquidation(f, EURC, valueAt(EURC, 1n, estimate));
      expect(valueAt(EURC, 1n, estimate)).to.equal(1n);
      // Still refused afterwards.
      await expectRiskAddingRefused(f, EURC, PriceStatus.STALE);
    });

    it("A: 1 wei of WETH posted by a stranger with its feeds in DISAGREE (primary 2,901, 3.3% from the fallback's 3,000) does not block the WBTC liquidation (valued at max(2,901, 3,000) x 1.2 = 3,600); liquidating the WETH and alice's borrow still revert PriceNotUsable", async () => {
      const f = await load();
      const { market } = f.lending!;
      const { alice, keeper } = f.actors;
      const WETH = f.assets.WETH;
      await wbtcVictimWithDust(f, WETH);
      await setPrice(WETH, 2901, "primary"); // 99 / 3,000 = 3.3% apart, limit 2%
      await expectPeek(f, WETH, PriceStatus.DISAGREE, usd(2901));
      expect((await f.router.lastGoodPrice(WETH.address))[0]).to.equal(usd(3000));
      const estimate = await highEstimate(f, WETH, usd(2901));
      expect(estimate).to.equal(usd(3600));

      await expectRiskAddingRefused(f, WETH, PriceStatus.DISAGREE);
      await expect(market.connect(keeper).liquidate(alice.address, WETH.address, MAX))
        .to.be.revertedWithCustomError(market, "PriceNotUsable")
        .withArgs(WETH.address, Action.LIQUIDATE, PriceStatus.DISAGREE);
      await expectConservation(f);

      // 1 wei at 3,600: floor(3600e18 / 1e30) = 0.
      expect(valueAt(WETH, 1n, estimate)).to.equal(0n);
      await expectWbtcLiquidation(f, WETH, 0n);
    });

    for (const [name, status] of [
      ["INVALID (the feed reverts; the oracle reports the last good price, 1.08)", PriceStatus.INVALID],
      ["SUSPECT (an unconfirmed +20% jump to 1.296; estimate 1.296 x 1.1 = 1.4256)", PriceStatus.SUSPECT],
    ] as const) {
      it(`A: 1 wei of EURC whose price is ${name} does not block the WBTC liquidation either; liquidating the EURC reverts PriceNotUsable`, async () => {
        const f = await load();
        const { market } = f.lending!;
        const { alice, keeper } = f.actors;
        const EURC = f.assets.EURC;
        await wbtcVictimWithDust(f, EURC);
        let reported: bigint;
        if (status === PriceStatus.INVALID) {
          await EURC.primaryFeed.mock!.setMode(FeedMode.REVERT);
          reported = usd("1.08");
        } else {
          await setPrice(EURC, "1.296"); // +20%, maxDeviation 10%, confirm window 600 s
          reported = usd("1.296");
        }
        await expectPeek(f, EURC, status, reported);
        const estimate = await highEstimate(f, EURC, reported);
        expect(estimate).to.equal(status === PriceStatus.INVALID ? usd("1.188") : usd("1.4256"));
        await expect(market.connect(keeper).liquidate(alice.address, EURC.address, MAX))
          .to.be.revertedWithCustomError(market, "PriceNotUsable")
          .withArgs(EURC.address, Action.LIQUIDATE, status);
        await expectRiskAddingRefused(f, EURC, status);
        await expectWbtcLiquidation(f, EURC, valueAt(EURC, 1n, estimate));
      });
    }

    it("A: a real holding with a refused price counts at its high estimate, which can only overstate health: 10,000 STALE EURC count as 11,880 (not 10,800): NotLiquidatable(1.005615...) at WBTC 52,000, and at 49,000 health 0.959461... (half close) where the last good price would give 0.9407 (full close)", async () => {
      const f = await load();
      const { market } = f.lending!;
      const { alice, keeper } = f.actors;
      const EURC = f.assets.EURC;
      const WBTC = f.assets.WBTC;
      // Borrow capacity 45,000 + 9,180; liquidation capacity 48,000 + 9,720.
      await open(f, { WBTC: "1", EURC: "10000" }, u(52_000));
      await EURC.primaryFeed.mock!.goStale(90000);
      await expectPeek(f, EURC, PriceStatus.STALE, usd("1.08"));
      const estimate = await highEstimate(f, EURC, usd("1.08"));
      const eurcValue = valueAt(EURC, toUnits(10_000, 6), estimate);
      expect(eurcValue).to.equal(u(11_880));
      const eurcCapacity = mulDivDown(eurcValue, wad(0.9), WAD);
      expect(eurcCapacity).to.equal(u(10_692));

      // WBTC 52,000: 41,600 + 10,692 = 52,292 >= 52,000. At 1.08 it would be 51,320: liquidatable.
      await setPrice(WBTC, 52000);
      const healthy = mulDivDown(u(41_600) + eurcCapacity, WAD, u(52_000));
      expect(healthy).to.equal(1_005_615_384_615_384_615n);
      await expect(market.connect(keeper).liquidate(alice.address, WBTC.address, MAX))
        .to.be.revertedWithCustomError(market, "NotLiquidatable")
        .withArgs(healthy);
      // The view, at the oracle's price (the last good one), says otherwise.
      const view = await market.accountView(alice.address);
      expect(view.health).to.equal(mulDivDown(u(41_600 + 9_720), WAD, u(52_000)));
      expect(view.health).to.be.lt(WAD);
      expect(view.pricesTrusted).to.equal(false);

      // WBTC 49,000: 39,200 + 10,692 = 49,892: health 0.959461538461538461, above 0.95: half the debt.
      await setPrice(WBTC, 49000);
      const health = mulDivDown(u(39_200) + eurcCapacity, WAD, u(52_000));
      expect(health).to.equal(959_461_538_461_538_461n);
      expect(mulDivDown(u(39_200 + 9_720), WAD, u(52_000)), "at 1.08: below 0.95").to.equal(
        940_769_230_769_230_769n,
      );
      // Value 49,000 + 11,880 > 52,000: solvent, bonus min(1.06, 1.1707) = 1.06.
      const repaid = u(26_000);
      const seized = mulDivDown(mulDivDown(repaid, wad(1.06), WAD), scale(WBTC), usd(49000));
      expect(seized).to.equal(56_244_897n); // floor(27,560e6 x 1e20 / 49,000e18)
      await expect(market.connect(keeper).liquidate(alice.address, WBTC.address, MAX))
        .to.emit(market, "Liquidate")
        .withArgs(keeper.address, alice.address, WBTC.address, repaid, seized, u(156));
      expect(await market.collateralOf(alice.address, WBTC.address)).to.equal(10n ** 8n - seized);
      expect((await market.accountView(alice.address)).debt).to.equal(u(26_000));
      await expect(market.connect(keeper).liquidate(alice.address, EURC.address, MAX))
        .to.be.revertedWithCustomError(market, "PriceNotUsable")
        .withArgs(EURC.address, Action.LIQUIDATE, PriceStatus.STALE);
      await expectConservation(f, [alice.address]);
    });
  });

  describe("B. an insolvent account loses the whole balance of the chosen collateral", () => {
    it("B: 10 WETH at 2,000 against 24,000 (value 20,000 < debt): a small maxRepay and repayNeeded - 1 revert InsolventMustSeizeAll(19,047.619048); max uint seizes all 10 WETH, repays exactly that and realises the 4,952.380952 deficit; no dust is left", async () => {
      const f = await load();
      const { market } = f.lending!;
      const { alice, keeper } = f.actors;
      const WETH = f.assets.WETH;
      await open(f, { WETH: "10" }, u(24_000));
      await f.insuranceFund.connect(keeper).topUp(u(1_000));
      await setPrice(WETH, 2000); // both feeds, -33%: OK
      await expectPeek(f, WETH, PriceStatus.OK, usd(2000));
      // Health 17,000 / 24,000 = 0.7083: the whole debt may be repaid, but not just any part of it.
      expect((await market.accountView(alice.address)).health).to.equal(708_333_333_333_333_333n);
      await expectConservation(f);

      // ceil(ceil(10 x 2,000 = 20,000) / 1.05) = ceil(19,047.619047619...) = 19,047.619048
      const needed = mulDivUp(mulDivUp(toUnits(10, 18), usd(2000), scale(WETH)), WAD, wad(1.05));
      expect(needed).to.equal(u("19047.619048"));
      // repayNeeded - 1: floor(19,047.619047 x 1.05) = 19,999.999999 buys 9.9999999995 WETH: not all.
      for (const maxRepay of [u(1000), u(12_000), needed - 1n]) {
        await expect(market.connect(keeper).liquidate(alice.address, WETH.address, maxRepay))
          .to.be.revertedWithCustomError(market, "InsolventMustSeizeAll")
          .withArgs(needed);
      }
      // Exactly repayNeeded would take it all.
      const [repaidAtNeeded, seizedAtNeeded] = await market
        .connect(keeper)
        .liquidate.staticCall(alice.address, WETH.address, needed);
      expect([repaidAtNeeded, seizedAtNeeded]).to.deep.equal([needed, toUnits(10, 18)]);
      await expectConservation(f);

      // fee: ceil(ceil(19,047.619048 x 0.05 = 952.3809524) = 952.380953 x 0.1) = 95.238096
      const fee = u("95.238096");
      const deficit = u(24_000) - needed;
      expect(deficit).to.equal(u("4952.380952"));
      // The waterfall: the reserves (just the fee), then the fund's 1,000, then the suppliers.
      const socialised = deficit - fee - u(1_000);
      const keeperBefore = await f.base.erc20.balanceOf(keeper.address);
      const tx = market.connect(keeper).liquidate(alice.address, WETH.address, MAX);
      await expect(tx)
        .to.emit(market, "Liquidate")
        .withArgs(keeper.address, alice.address, WETH.address, needed, toUnits(10, 18), fee);
      await expect(tx)
        .to.emit(market, "DeficitRealised")
        .withArgs(alice.address, deficit, fee, u(1_000), socialised, 0n);
      expect(await f.base.erc20.balanceOf(keeper.address)).to.equal(keeperBefore - needed - fee);
      expect(await WETH.token!.balanceOf(keeper.address)).to.equal(toUnits(10, 18));

      // Nothing left behind: no collateral, no debt, nothing borrowed on the books.
      expect(await market.collateralOf(alice.address, WETH.address)).to.equal(0n);
      const view = await market.accountView(alice.address);
      expect([view.borrowShares, view.debt, view.collateralValue]).to.deep.equal([0n, 0n, 0n]);
      const [supplyAssets, , borrowAssets, borrowShares, reserves] = await market.totals();
      expect([borrowAssets, borrowShares, reserves]).to.deep.equal([0n, 0n, 0n]);
      expect(supplyAssets).to.equal(u(1_000_000) - socialised);
      const bad = await market.badDebt();
      expect([bad.deficit, bad.coveredByInsurance, bad.socialised]).to.deep.equal([
        deficit,
        fee + u(1_000),
        socialised,
      ]);
      await expectConservation(f, [alice.address]);
    });
    it("B with A: a stranger's 1 wei of STALE EURC keeps an insolvent account's deficit off the books until the EURC price is usable again: the WBTC goes whole, the EURC cannot be seized (PriceNotUsable), and once fresh its seizure realises the deficit", async () => {
      const f = await load();
      const { market } = f.lending!;
      const { alice, keeper } = f.actors;
      const { WBTC, EURC } = f.assets;
      await wbtcVictimWithDust(f, EURC);
      await setPrice(WBTC, 40000); // -33% on the only feed: SUSPECT until it has held for the window
      await time.increase(600);
      await expectPeek(f, WBTC, PriceStatus.OK, usd(40000));
      await EURC.primaryFeed.mock!.goStale(90000);
      await expectPeek(f, EURC, PriceStatus.STALE, usd("1.08"));

      // Value 40,000 + 1 (the EURC at 1.188) < 44,000: insolvent, health 0.7272, the WBTC must go whole.
      const needed = mulDivUp(u(40_000), WAD, wad(1.06)); // ceil(37,735.8490566...)
      expect(needed).to.equal(u("37735.849057"));
      await expect(market.connect(keeper).liquidate(alice.address, WBTC.address, u(10_000)))
        .to.be.revertedWithCustomError(market, "InsolventMustSeizeAll")
        .withArgs(needed);
      const wbtcFee = u("226.415095"); // ceil(ceil(37,735.849057 x 0.06 = 2,264.15094342) x 0.1)
      const tx = market.connect(keeper).liquidate(alice.address, WBTC.address, MAX);
      await expect(tx)
        .to.emit(market, "Liquidate")
        .withArgs(keeper.address, alice.address, WBTC.address, needed, 10n ** 8n, wbtcFee);
      await expect(tx).not.to.emit(market, "DeficitRealised");
      const owed = u(44_000) - needed;
      expect(owed).to.equal(u("6264.150943"));
      expect((await market.accountView(alice.address)).debt).to.equal(owed);
      expect(await market.collateralOf(alice.address, EURC.address)).to.equal(1n);

      // The last collateral's price is refused: nobody can take it, the deficit is not realised.
      await expect(market.connect(keeper).liquidate(alice.address, EURC.address, MAX))
        .to.be.revertedWithCustomError(market, "PriceNotUsable")
        .withArgs(EURC.address, Action.LIQUIDATE, PriceStatus.STALE);
      expect((await market.badDebt()).deficit).to.equal(0n);
      await expectConservation(f, [alice.address]);

      // Fresh again: 1 wei at 1.08 pays for ceil(ceil(1.08) = 2 / 1.04) = 2 units (fee ceil(ceil(0.08) x
      // 0.1) = 1), and the rest of the debt goes down the waterfall: the reserves (the two fees), then
      // the empty fund, then the suppliers.
      await setPrice(EURC, "1.08");
      const deficit = owed - 2n;
      const reserves = wbtcFee + 1n;
      const last = market.connect(keeper).liquidate(alice.address, EURC.address, MAX);
      await expect(last)
        .to.emit(market, "Liquidate")
        .withArgs(keeper.address, alice.address, EURC.address, 2n, 1n, 1n);
      await expect(last)
        .to.emit(market, "DeficitRealised")
        .withArgs(alice.address, deficit, reserves, 0n, deficit - reserves, 0n);
      const view = await market.accountView(alice.address);
      expect([view.borrowShares, view.debt, view.collateralValue]).to.deep.equal([0n, 0n, 0n]);
      expect((await market.badDebt()).deficit).to.equal(deficit);
      await expectConservation(f, [alice.address]);
    });
  });

  describe("C. the bonus of a solvent account is capped at value / debt", () => {
    it("C: alice liquidates herself from a second address (10 WETH at 2,500 against 24,000: health 0.885, value 25,000): bonus factor 1.041666666666666666, 9.9999999996 WETH seized for the whole debt, 400,000,000 wei left to alice, fee 100, no deficit; the pair ends with its equity less the fee", async () => {
      const f = await load();
      const { market } = f.lending!;
      const { alice } = f.actors;
      const aliceToo = f.aliceToo;
      const WETH = f.assets.WETH;
      await open(f, { WETH: "10" }, u(24_000));
      await setPrice(WETH, 2500); // both feeds, -16.7%
      await expectPeek(f, WETH, PriceStatus.OK, usd(2500));
      const view = await market.accountView(alice.address);
      expect(view.health).to.equal(885_416_666_666_666_666n); // 21,250 / 24,000: full close
      expect(view.collateralValue).to.equal(u(25_000));
      const badBefore = await market.badDebt();
      await expectConservation(f);

      // min(1.05, floor(25,000 / 24,000)) = 1.041666666666666666
      const bonusFactor = mulDivDown(u(25_000), WAD, u(24_000));
      expect(bonusFactor).to.equal(1_041_666_666_666_666_666n);
      // floor(floor(24,000 x 1.041666666666666666) = 24,999.999999 x 1e30 / 2,500e18)
      const seized = mulDivDown(mulDivDown(u(24_000), bonusFactor, WAD), scale(WETH), usd(2500));
      expect(seized).to.equal(9_999_999_999_600_000_000n);
      // ceil(ceil(24,000 x 0.041666666666666666 = 999.999999999999984) = 1,000 x 0.1) = 100
      const fee = mulDivUp(mulDivUp(u(24_000), bonusFactor - WAD, WAD), wad(0.1), WAD);
      expect(fee).to.equal(u(100));

      const usdcBefore = await f.base.erc20.balanceOf(aliceToo.address);
      const tx = market.connect(aliceToo).liquidate(alice.address, WETH.address, MAX);
      await expect(tx)
        .to.emit(market, "Liquidate")
        .withArgs(aliceToo.address, alice.address, WETH.address, u(24_000), seized, fee);
      await expect(tx).not.to.emit(market, "DeficitRealised");
      const paid = usdcBefore - (await f.base.erc20.balanceOf(aliceToo.address));
      expect(paid).to.equal(u(24_000) + fee);
      expect(await WETH.token!.balanceOf(aliceToo.address)).to.equal(seized);

      const left = await market.collateralOf(alice.address, WETH.address);
      expect(left).to.equal(toUnits(10, 18) - seized);
      expect(left).to.equal(400_000_000n);
      expect((await market.accountView(alice.address)).debt).to.equal(0n);
      const bad = await market.badDebt();
      expect([...bad], "no deficit: badDebt unchanged").to.deep.equal([...badBefore]);
      expect(bad.deficit).to.equal(0n);
      const [, , borrowAssets, borrowShares, reserves] = await market.totals();
      expect([borrowAssets, borrowShares, reserves]).to.deep.equal([0n, 0n, fee]);

      // What the pair got for it: 24,999.999999 of WETH + 0.000001 still posted, less 24,000 + 100 paid:
      // the equity (25,000 - 24,000) less the fee. Uncapped (1.05), the seizure would have hit the balance
      // for 23,809.52 and left 190.48 of deficit to the waterfall.
      const gain = valueAt(WETH, seized, usd(2500)) + valueAt(WETH, left, usd(2500)) - paid;
      expect(gain).to.equal(u(1_000) - fee);
      await expectConservation(f, [alice.address]);
    });
    it("C: the boundary: at value == debt (10 WETH at 2,400 against 24,000) the account is not solvent: full 1.05 bonus, the whole 10 WETH for 22,857.142858 and a 1,142.857142 deficit; one unit more of value (2,400.0000001) caps the bonus at 1.000000000041666666: the whole debt repaid, no deficit", async () => {
      for (const [price, value] of [
        ["2400", u(24_000)],
        ["2400.0000001", u(24_000) + 1n],
      ] as const) {
        const f = await load();
        const { market } = f.lending!;
        const { alice, keeper } = f.actors;
        const WETH = f.assets.WETH;
        await open(f, { WETH: "10" }, u(24_000));
        await setPrice(WETH, price); // both feeds, -20%
        await expectPeek(f, WETH, PriceStatus.OK, usd(price));
        const view = await market.accountView(alice.address);
        expect(view.collateralValue).to.equal(value);
        expect(view.health).to.be.lt(wad(0.95)); // 0.85: full close
        const tx = market.connect(keeper).liquidate(alice.address, WETH.address, MAX);
        if (value === u(24_000)) {
          // ceil(24,000 / 1.05) = 22,857.142858; fee ceil(ceil(1,142.8571429) x 0.1) = 114.285715
          await expect(tx)
            .to.emit(market, "Liquidate")
            .withArgs(
              keeper.address,
              alice.address,
              WETH.address,
              u("22857.142858"),
              toUnits(10, 18),
              u("114.285715"),
            );
          await expect(tx)
            .to.emit(market, "DeficitRealised")
            .withArgs(alice.address, u("1142.857142"), u("114.285715"), 0n, u("1028.571427"), 0n);
        } else {
          const bonusFactor = mulDivDown(value, WAD, u(24_000));
          expect(bonusFactor).to.equal(1_000_000_000_041_666_666n);
          // floor(floor(24,000 x 1.000000000041666666) = 24,000 x 1e30 / 2,400.0000001e18)
          const seized = 9_999_999_999_583_333_333n;
          await expect(tx)
            .to.emit(market, "Liquidate")
            .withArgs(keeper.address, alice.address, WETH.address, u(24_000), seized, 1n);
          await expect(tx).not.to.emit(market, "DeficitRealised");
          expect(await market.collateralOf(alice.address, WETH.address)).to.equal(416_666_667n);
        }
        expect((await market.accountView(alice.address)).debt).to.equal(0n);
        await expectConservation(f, [alice.address]);
      }
    });
  });

  describe("D. checkMarginCall warns only on OK prices", () => {
    it("D: 1 WBTC against 44,000 (health 1.0909 < 1.1): MarginCall on an OK price; with the feed stale, the same health is returned (peek: the last good price) and no MarginCall; fresh again, it warns again", async () => {
      const f = await load();
      const { market } = f.lending!;
      const { alice, keeper } = f.actors;
      const WBTC = f.assets.WBTC;
      await open(f, { WBTC: "1" }, u(44_000));
      const health = mulDivDown(u(48_000), WAD, u(44_000));
      expect(health).to.equal(1_090_909_090_909_090_909n);
      const warning = wad(1.1);
      expect((await market.params()).marginCallHealth).to.equal(warning);

      await expectPeek(f, WBTC, PriceStatus.OK, usd(60000));
      expect(await market.connect(keeper).checkMarginCall.staticCall(alice.address)).to.equal(health);
      await expect(market.connect(keeper).checkMarginCall(alice.address))
        .to.emit(market, "MarginCall")
        .withArgs(alice.address, health, warning);

      await WBTC.primaryFeed.mock!.goStale(3601); // heartbeat 3,600
      await expectPeek(f, WBTC, PriceStatus.STALE, usd(60000));
      expect(await market.connect(keeper).checkMarginCall.staticCall(alice.address)).to.equal(health);
      await expect(market.connect(keeper).checkMarginCall(alice.address)).not.to.emit(market, "MarginCall");
      // Nothing recorded in the oracle: checkMarginCall only peeks.
      expect((await f.router.lastGoodPrice(WBTC.address))[0]).to.equal(usd(60000));

      await setPrice(WBTC, 60000);
      await expect(market.connect(keeper).checkMarginCall(alice.address))
        .to.emit(market, "MarginCall")
        .withArgs(alice.address, health, warning);
      await expectConservation(f);
    });

    it("D: a FALLBACK price (allowed for liquidation, not OK) gives no MarginCall either: 10 WETH against 24,000 (health 1.0625) warns on OK feeds, not once the primary is stale", async () => {
      const f = await load();
      const { market } = f.lending!;
      const { alice, keeper } = f.actors;
      const WETH = f.assets.WETH;
      await open(f, { WETH: "10" }, u(24_000));
      const health = mulDivDown(u(25_500), WAD, u(24_000));
      expect(health).to.equal(wad(1.0625));
      await expect(market.connect(keeper).checkMarginCall(alice.address))
        .to.emit(market, "MarginCall")
        .withArgs(alice.address, health, wad(1.1));
      await WETH.primaryFeed.mock!.goStale(3601); // the fallback's heartbeat is a day
      await expectPeek(f, WETH, PriceStatus.FALLBACK, usd(3000));
      expect(await market.connect(keeper).checkMarginCall.staticCall(alice.address)).to.equal(health);
      await expect(market.connect(keeper).checkMarginCall(alice.address)).not.to.emit(market, "MarginCall");
    });
  });
});
