/**
 * LendingMarket.borrow / repay: exact shares (borrow shares minted rounded up, burnt rounded down), the
 * LTV boundary to the unit (capacity computed in TypeScript), multi-collateral capacity, every custom-error
 * revert, pause roles, the oracle policy (risk-adding borrow refused under every untrusted status, repay
 * allowed under every fault), MarginCall, events.
 *
 * Exact numbers on a market with accrued interest: the market is "warmed" (a year of interest), then the
 * rate curve is set to zero so that later transactions accrue nothing.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";

import { toUnits, wad, WAD } from "../../deploy/units";
import { expectConservation } from "../helpers/conservation";
import { setPrice } from "../helpers/feeds";
import { Action, type Fixture, FeedMode, loadL2System, loadSystem, PriceStatus } from "../helpers/fixture";
import {
  VIRTUAL_ASSETS,
  VIRTUAL_SHARES,
  mulDivUp,
  toAssetsUp,
  toSharesDown,
  toSharesUp,
  readTotals,
} from "../helpers/math";

/* SharesMath, reimplemented */

const usdc = (v: number | string) => toUnits(v, 6);
const YEAR = 365 * 86400;
const ADMIN_ROLE = ethers.ZeroHash;

/* Valuation, reimplemented: value = amount x price / 10^(decimals + 12) down; capacity = value x ltv down. */

const COLLATERAL = {
  WETH: { price: wad(3000), decimals: 18, ltv: wad(0.8), lt: wad(0.85) },
  WBTC: { price: wad(60000), decimals: 8, ltv: wad(0.75), lt: wad(0.8) },
  EURC: { price: wad("1.08"), decimals: 6, ltv: wad(0.85), lt: wad(0.9) },
};
type Symbol = keyof typeof COLLATERAL;
const valueOf = (s: Symbol, amount: bigint) =>
  (amount * COLLATERAL[s].price) / 10n ** BigInt(COLLATERAL[s].decimals + 12);
const capacityOf = (s: Symbol, amount: bigint) => (valueOf(s, amount) * COLLATERAL[s].ltv) / WAD;
const liquidationCapacityOf = (s: Symbol, amount: bigint) => (valueOf(s, amount) * COLLATERAL[s].lt) / WAD;

const totalsOf = (f: Fixture) => readTotals(f.lending!.market);

async function setupWith(f: Fixture) {
  const market = f.lending!.market;
  const marketAddress = await market.getAddress();
  const signers = await ethers.getSigners();
  const bob = signers[4];
  const carol = signers[5];

  const fund = async (who: HardhatEthersSigner, amount: bigint) => {
    await f.base.token!.mint(who.address, amount);
    await f.base.token!.connect(who).approve(marketAddress, ethers.MaxUint256);
  };
  const post = async (s: Symbol, who: HardhatEthersSigner, amount: bigint) => {
    const a = f.assets[s];
    await a.token!.mint(who.address, amount);
    await a.token!.connect(who).approve(marketAddress, amount);
    await market.connect(who).supplyCollateral(a.address, amount, who.address);
  };
  const balanceOf = (who: string) => f.base.erc20.balanceOf(who);
  /** The keeper supplies `amount` USDC (1,000,000 by default). */
  const liquidity = async (amount = usdc(1_000_000)) => {
    await fund(f.actors.keeper, amount);
    await market.connect(f.actors.keeper).supply(amount, f.actors.keeper.address);
  };
  const freezeRates = () => f.lending!.rateModel.setCurve(0, 0, 0, wad(0.8));
  const refreshPrices = async () => {
    await setPrice(f.assets.WETH, 3000);
    await setPrice(f.assets.WBTC, 60000);
    await setPrice(f.assets.EURC, "1.08");
  };
  /** A year of interest on bob's 60,000 USDC loan, then a zero curve: the borrow share price is not round. */
  const warmAndFreeze = async () => {
    await liquidity();
    await post("WETH", bob, toUnits(100, 18));
    await market.connect(bob).borrow(usdc(60_000), bob.address);
    await time.increase(YEAR);
    await market.accrueInterest();
    await freezeRates();
    await refreshPrices();
    const t = await totalsOf(f);
    expect(t.borrowAssets, "warm: the loan grew").to.be.greaterThan(usdc(60_000));
    return t;
  };
  const setMinBorrow = async (minBorrow: bigint) => {
    const p = await market.params();
    await market.connect(f.actors.admin).setMarketParams({
      borrowCap: p.borrowCap,
      minBorrow,
      reserveFactor: p.reserveFactor,
      protocolShare: p.protocolShare,
      smallPosition: p.smallPosition,
      marginCallHealth: p.marginCallHealth,
    });
  };
  return {
    f,
    market,
    marketAddress,
    bob,
    carol,
    fund,
    post,
    balanceOf,
    liquidity,
    freezeRates,
    refreshPrices,
    warmAndFreeze,
    setMinBorrow,
  };
}

const setup = async () => setupWith(await loadSystem());

describe("lending: borrow and repay", () => {
  describe("borrow", () => {
    it("borrow: the first loan mints assets x 1e6 shares; the receiver gets the assets; Borrow evented", async () => {
      const { f, market, post, liquidity, balanceOf, carol } = await setup();
      const { alice } = f.actors;
      await liquidity();
      await post("WETH", alice, toUnits(1, 18));
      const assets = usdc(1_500);
      const shares = toSharesUp(assets, 0n, 0n);
      expect(shares).to.equal(assets * 10n ** 6n);

      expect(await market.connect(alice).borrow.staticCall(assets, carol.address)).to.equal(shares);
      await expect(market.connect(alice).borrow(assets, carol.address))
        .to.emit(market, "Borrow")
        .withArgs(alice.address, carol.address, assets, shares);
      expect(await balanceOf(carol.address)).to.equal(assets);
      expect(await balanceOf(alice.address)).to.equal(0n);
      const t = await totalsOf(f);
      expect(t.borrowAssets).to.equal(assets);
      expect(t.borrowShares).to.equal(shares);
      const view = await market.accountView(alice.address);
      expect(view.borrowShares).to.equal(shares);
      expect(view.debt).to.equal(assets);
      expect(view.health).to.equal((liquidationCapacityOf("WETH", toUnits(1, 18)) * WAD) / assets);
      expect(await market.utilisation()).to.equal((assets * WAD) / usdc(1_000_000));
      await expectConservation(f);
    });

    it("borrow: mints shares rounded up (toSharesUp) once interest has moved the share price", async () => {
      const { f, market, post, warmAndFreeze } = await setup();
      const { alice } = f.actors;
      const before = await warmAndFreeze();
      await post("WETH", alice, toUnits(10, 18));
      const assets = 7_777_777_777n;
      const shares = toSharesUp(assets, before.borrowAssets, before.borrowShares);
      const numerator = assets * (before.borrowShares + VIRTUAL_SHARES);
      expect(numerator % (before.borrowAssets + VIRTUAL_ASSETS), "an inexact division").to.not.equal(0n);
      expect(shares).to.equal(toSharesDown(assets, before.borrowAssets, before.borrowShares) + 1n);

      await expect(market.connect(alice).borrow(assets, alice.address))
        .to.emit(market, "Borrow")
        .withArgs(alice.address, alice.address, assets, shares);
      const after = await totalsOf(f);
      expect(after.borrowAssets).to.equal(before.borrowAssets + assets);
      expect(after.borrowShares).to.equal(before.borrowShares + shares);
      expect(after.supplyAssets).to.equal(before.supplyAssets);
      const debt = (await market.accountView(alice.address)).debt;
      expect(debt).to.equal(toAssetsUp(shares, after.borrowAssets, after.borrowShares));
      // Rounding up: the debt is at least what was borrowed.
      expect(debt).to.be.greaterThanOrEqual(assets);
      await expectConservation(f);
    });

    it("borrow: exactly up to the LTV capacity passes; one unit more reverts with InsufficientBorrowCapacity(debt, capacity)", async () => {
      const { f, market, post, liquidity } = await setup();
      const { alice } = f.actors;
      await liquidity();
      const amount = toUnits("0.123456789012345678", 18);
      await post("WETH", alice, amount);
      const capacity = capacityOf("WETH", amount);
      // 0.123456789012345678 x 3000 = 370.370367037... -> 370.370367; x 0.8 = 296.2962936 -> 296.296293
      expect(valueOf("WETH", amount)).to.equal(370_370_367n);
      expect(capacity).to.equal(296_296_293n);
      expect((await market.accountView(alice.address)).borrowCapacity).to.equal(capacity);

      await expect(market.connect(alice).borrow(capacity + 1n, alice.address))
        .to.be.revertedWithCustomError(market, "InsufficientBorrowCapacity")
        .withArgs(capacity + 1n, capacity);
      await expect(market.connect(alice).borrow(capacity, alice.address))
        .to.emit(market, "Borrow")
        .withArgs(alice.address, alice.address, capacity, capacity * 10n ** 6n);
      expect((await market.accountView(alice.address)).debt).to.equal(capacity);
      await expectConservation(f);
    });

    for (const [s, amount] of [
      ["WBTC", toUnits("0.00777777", 8)],
      ["EURC", toUnits("123.456789", 6)],
    ] as const) {
      it(`borrow: the LTV boundary to the unit against ${s} (${COLLATERAL[s].decimals} decimals)`, async () => {
        const { f, market, post, liquidity } = await setup();
        const { alice } = f.actors;
        await liquidity();
        await post(s, alice, amount);
        const capacity = capacityOf(s, amount);
        expect(capacity).to.be.greaterThan(usdc(100));
        await expect(market.connect(alice).borrow(capacity + 1n, alice.address))
          .to.be.revertedWithCustomError(market, "InsufficientBorrowCapacity")
          .withArgs(capacity + 1n, capacity);
        await market.connect(alice).borrow(capacity, alice.address);
        expect((await market.accountView(alice.address)).debt).to.equal(capacity);
      });
    }

    it("borrow: a second loan on a market with interest: the largest amount computed in TypeScript passes, one unit more does not", async () => {
      const { f, market, post, warmAndFreeze } = await setup();
      const { alice } = f.actors;
      await warmAndFreeze();
      const amount = toUnits("0.987654321", 18);
      await post("WETH", alice, amount);
      await market.connect(alice).borrow(usdc(1_000), alice.address);
      const t = await totalsOf(f);
      const held = (await market.accountView(alice.address)).borrowShares;
      const capacity = capacityOf("WETH", amount);
      // Debt after borrowing y more: the account's shares plus toSharesUp(y), valued up.
      const debtAfter = (y: bigint) => {
        const sh = toSharesUp(y, t.borrowAssets, t.borrowShares);
        return toAssetsUp(held + sh, t.borrowAssets + y, t.borrowShares + sh);
      };
      let lo = 0n;
      let hi = capacity;
      while (lo < hi) {
        const mid = (lo + hi + 1n) / 2n;
        if (debtAfter(mid) <= capacity) lo = mid;
        else hi = mid - 1n;
      }
      const max = lo;
      expect(debtAfter(max + 1n)).to.be.greaterThan(capacity);

      await expect(market.connect(alice).borrow(max + 1n, alice.address))
        .to.be.revertedWithCustomError(market, "InsufficientBorrowCapacity")
        .withArgs(debtAfter(max + 1n), capacity);
      await market.connect(alice).borrow(max, alice.address);
      const view = await market.accountView(alice.address);
      expect(view.debt).to.equal(debtAfter(max));
      expect(view.debt).to.be.lessThanOrEqual(view.borrowCapacity);
      await expectConservation(f);
    });

    it("borrow: against WETH + WBTC + EURC together, capacity is the sum of each value x ltv", async () => {
      const { f, market, post, liquidity } = await setup();
      const { alice } = f.actors;
      await liquidity();
      await post("WETH", alice, toUnits(1, 18)); // 3000 x 0.8 = 2400
      await post("WBTC", alice, toUnits("0.05", 8)); // 3000 x 0.75 = 2250
      await post("EURC", alice, toUnits(1_000, 6)); // 1080 x 0.85 = 918
      const capacity = usdc(2_400 + 2_250 + 918);
      const view = await market.accountView(alice.address);
      expect(view.collateralValue).to.equal(usdc(3_000 + 3_000 + 1_080));
      expect(view.borrowCapacity).to.equal(capacity);
      expect(view.liquidationCapacity).to.equal(usdc(2_550 + 2_400 + 972));

      await expect(market.connect(alice).borrow(capacity + 1n, alice.address))
        .to.be.revertedWithCustomError(market, "InsufficientBorrowCapacity")
        .withArgs(capacity + 1n, capacity);
      await market.connect(alice).borrow(capacity, alice.address);
      expect((await market.accountView(alice.address)).debt).to.equal(capacity);

      // Every collateral's price must be usable: one stale feed (EURC) blocks a further loan.
      await f.assets.EURC.primaryFeed.mock!.goStale(86400 + 1);
      await expect(market.connect(alice).borrow(1n, alice.address))
        .to.be.revertedWithCustomError(f.router, "PriceNotUsable")
        .withArgs(f.assets.EURC.address, Action.BORROW, PriceStatus.STALE);
      await expectConservation(f);
    });

    it("borrow: reverts with BelowMinBorrow(debt, minBorrow) one unit under 100 USDC; 100 USDC passes; later small loans pass", async () => {
      const { f, market, post, liquidity } = await setup();
      const { alice } = f.actors;
      await liquidity();
      await post("WETH", alice, toUnits(1, 18));
      expect((await market.params()).minBorrow).to.equal(usdc(100));
      await expect(market.connect(alice).borrow(usdc(100) - 1n, alice.address))
        .to.be.revertedWithCustomError(market, "BelowMinBorrow")
        .withArgs(usdc(100) - 1n, usdc(100));
      await market.connect(alice).borrow(usdc(100), alice.address);
      // The minimum is on the resulting debt: one more unit is fine now.
      await expect(market.connect(alice).borrow(1n, alice.address)).to.emit(market, "Borrow");
    });

    it("borrow: reverts with BorrowCapExceeded(cap, wouldBe) one unit above a lowered borrow cap", async () => {
      const { f, market, post, liquidity, freezeRates, bob } = await setup();
      const { alice, admin } = f.actors;
      await liquidity();
      await freezeRates();
      const p = await market.params();
      await market.connect(admin).setMarketParams({
        borrowCap: usdc(1_000),
        minBorrow: p.minBorrow,
        reserveFactor: p.reserveFactor,
        protocolShare: p.protocolShare,
        smallPosition: p.smallPosition,
        marginCallHealth: p.marginCallHealth,
      });
      await post("WETH", bob, toUnits(1, 18));
      await post("WETH", alice, toUnits(1, 18));
      await market.connect(bob).borrow(usdc(600), bob.address);
      await expect(market.connect(alice).borrow(usdc(400) + 1n, alice.address))
        .to.be.revertedWithCustomError(market, "BorrowCapExceeded")
        .withArgs(usdc(1_000), usdc(1_000) + 1n);
      await market.connect(alice).borrow(usdc(400), alice.address);
      expect((await totalsOf(f)).borrowAssets).to.equal(usdc(1_000));
      await expect(market.connect(bob).borrow(1n, bob.address))
        .to.be.revertedWithCustomError(market, "BorrowCapExceeded")
        .withArgs(usdc(1_000), usdc(1_000) + 1n);
    });

    it("borrow: reverts with InsufficientLiquidity(requested, cash) above the market's cash", async () => {
      const { f, market, post, liquidity, bob } = await setup();
      const { alice } = f.actors;
      await liquidity(usdc(500));
      await post("WETH", alice, toUnits(10, 18));
      await expect(market.connect(alice).borrow(usdc(500) + 1n, alice.address))
        .to.be.revertedWithCustomError(market, "InsufficientLiquidity")
        .withArgs(usdc(500) + 1n, usdc(500));
      await market.connect(alice).borrow(usdc(300), alice.address);
      // Accrual moves the claims and the debt alike: the cash is 200 USDC exactly.
      await post("WETH", bob, toUnits(10, 18));
      await expect(market.connect(bob).borrow(usdc(201), bob.address))
        .to.be.revertedWithCustomError(market, "InsufficientLiquidity")
        .withArgs(usdc(201), usdc(200));
      await market.connect(bob).borrow(usdc(200), bob.address);
      const t = await totalsOf(f);
      expect(t.supplyAssets + t.reserves - t.borrowAssets).to.equal(0n);
      await expectConservation(f);
    });

    it("borrow: reverts with ZeroAmount for 0 and ZeroAddress for receiver = 0", async () => {
      const { f, market, post, liquidity } = await setup();
      const { alice } = f.actors;
      await liquidity();
      await post("WETH", alice, toUnits(1, 18));
      await expect(market.connect(alice).borrow(0n, alice.address)).to.be.revertedWithCustomError(
        market,
        "ZeroAmount",
      );
      await expect(market.connect(alice).borrow(usdc(100), ethers.ZeroAddress)).to.be.revertedWithCustomError(
        market,
        "ZeroAddress",
      );
      expect((await totalsOf(f)).borrowAssets).to.equal(0n);
    });

    it("borrow: without collateral reverts with InsufficientBorrowCapacity(debt, 0)", async () => {
      const { f, market, liquidity } = await setup();
      const { stranger } = f.actors;
      await liquidity();
      await expect(market.connect(stranger).borrow(usdc(100), stranger.address))
        .to.be.revertedWithCustomError(market, "InsufficientBorrowCapacity")
        .withArgs(usdc(100), 0n);
    });

    it("borrow: emits MarginCall(account, health, 1.1) when health ends below 1.1, and not at or above it", async () => {
      const { f, market, post, liquidity, freezeRates, bob } = await setup();
      const { alice } = f.actors;
      await liquidity();
      await freezeRates();
      await post("WETH", alice, toUnits(1, 18));
      await post("WETH", bob, toUnits(1, 18));
      const lc = liquidationCapacityOf("WETH", toUnits(1, 18));
      expect(lc).to.equal(usdc(2_550));
      // 2550 / 1.1 = 2318.181818...: 2318.181818 leaves health just above 1.1, one unit more just below.
      const above = 2_318_181_818n;
      const below = above + 1n;
      const healthAbove = (lc * WAD) / above;
      const healthBelow = (lc * WAD) / below;
      expect(healthAbove).to.be.greaterThanOrEqual(wad("1.1"));
      expect(healthBelow).to.be.lessThan(wad("1.1"));

      await expect(market.connect(alice).borrow(above, alice.address)).to.not.emit(market, "MarginCall");
      await expect(market.connect(bob).borrow(below, bob.address))
        .to.emit(market, "MarginCall")
        .withArgs(bob.address, healthBelow, wad("1.1"));
      expect((await market.accountView(bob.address)).health).to.equal(healthBelow);
    });

    it("borrow: a healthy loan (health 1.7) emits no MarginCall", async () => {
      const { f, market, post, liquidity } = await setup();
      const { alice } = f.actors;
      await liquidity();
      await post("WETH", alice, toUnits(1, 18));
      await expect(market.connect(alice).borrow(usdc(1_500), alice.address)).to.not.emit(
        market,
        "MarginCall",
      );
      expect((await market.accountView(alice.address)).health).to.equal(wad("1.7"));
    });
  });

  describe("pause", () => {
    it("pause: the admin pauses (borrow reverts MarketPaused, repay still works) and unpauses", async () => {
      const { f, market, post, liquidity, fund } = await setup();
      const { alice, admin } = f.actors;
      await liquidity();
      await post("WETH", alice, toUnits(1, 18));
      await market.connect(alice).borrow(usdc(500), alice.address);
      await expect(market.connect(admin).setPaused(true)).to.emit(market, "PausedSet").withArgs(true);
      expect(await market.paused()).to.equal(true);
      await expect(market.connect(alice).borrow(usdc(100), alice.address)).to.be.revertedWithCustomError(
        market,
        "MarketPaused",
      );
      await fund(alice, usdc(100));
      await expect(market.connect(alice).repay(usdc(100), alice.address)).to.emit(market, "Repay");
      await expect(market.connect(admin).setPaused(false)).to.emit(market, "PausedSet").withArgs(false);
      await expect(market.connect(alice).borrow(usdc(100), alice.address)).to.emit(market, "Borrow");
    });

    it("pause: a PAUSE_GUARDIAN_ROLE holder can pause but not unpause (AccessControlUnauthorizedAccount)", async () => {
      const { f, market, post, liquidity } = await setup();
      const { alice, admin, keeper: guardian } = f.actors;
      await liquidity();
      await post("WETH", alice, toUnits(1, 18));
      await market.connect(admin).grantRole(await market.PAUSE_GUARDIAN_ROLE(), guardian.address);
      await expect(market.connect(guardian).setPaused(true)).to.emit(market, "PausedSet").withArgs(true);
      await expect(market.connect(alice).borrow(usdc(100), alice.address)).to.be.revertedWithCustomError(
        market,
        "MarketPaused",
      );
      await expect(market.connect(guardian).setPaused(false))
        .to.be.revertedWithCustomError(market, "AccessControlUnauthorizedAccount")
        .withArgs(guardian.address, ADMIN_ROLE);
      expect(await market.paused()).to.equal(true);
      await market.connect(admin).setPaused(false);
      await expect(market.connect(alice).borrow(usdc(100), alice.address)).to.emit(market, "Borrow");
    });

    it("pause: a stranger can neither pause nor unpause", async () => {
      const { f, market } = await setup();
      const { stranger, admin } = f.actors;
      await expect(market.connect(stranger).setPaused(true))
        .to.be.revertedWithCustomError(market, "AccessControlUnauthorizedAccount")
        .withArgs(stranger.address, ADMIN_ROLE);
      expect(await market.paused()).to.equal(false);
      await market.connect(admin).setPaused(true);
      await expect(market.connect(stranger).setPaused(false))
        .to.be.revertedWithCustomError(market, "AccessControlUnauthorizedAccount")
        .withArgs(stranger.address, ADMIN_ROLE);
      expect(await market.paused()).to.equal(true);
    });
  });

  describe("borrow and the oracle", () => {
    const cases: {
      name: string;
      status: PriceStatus;
      asset: "WETH" | "WBTC";
      fault: (f: Fixture) => Promise<unknown>;
    }[] = [
      {
        name: "STALE (WBTC goStale(4000))",
        status: PriceStatus.STALE,
        asset: "WBTC",
        fault: (f) => f.assets.WBTC.primaryFeed.mock!.goStale(4000),
      },
      {
        name: "INVALID (WBTC feed reverting)",
        status: PriceStatus.INVALID,
        asset: "WBTC",
        fault: (f) => f.assets.WBTC.primaryFeed.mock!.setMode(FeedMode.REVERT),
      },
      {
        name: "SUSPECT (WBTC -33% just seen)",
        status: PriceStatus.SUSPECT,
        asset: "WBTC",
        fault: (f) => setPrice(f.assets.WBTC, 40000),
      },
      {
        name: "FALLBACK (WETH primary reverting)",
        status: PriceStatus.FALLBACK,
        asset: "WETH",
        fault: (f) => f.assets.WETH.primaryFeed.mock!.setMode(FeedMode.REVERT),
      },
      {
        name: "DISAGREE (WETH fallback 5% off)",
        status: PriceStatus.DISAGREE,
        asset: "WETH",
        fault: (f) => setPrice(f.assets.WETH, 3150, "fallback"),
      },
    ];
    for (const c of cases) {
      it(`borrow: reverts with PriceNotUsable(asset, BORROW, status) under ${c.name}`, async () => {
        const { f, market, post, liquidity } = await setup();
        const { alice } = f.actors;
        await liquidity();
        await post("WETH", alice, toUnits(1, 18));
        await post("WBTC", alice, toUnits("0.1", 8));
        await c.fault(f);
        expect((await f.router.peek(f.assets[c.asset].address))[1]).to.equal(c.status);
        await expect(market.connect(alice).borrow(usdc(100), alice.address))
          .to.be.revertedWithCustomError(f.router, "PriceNotUsable")
          .withArgs(f.assets[c.asset].address, Action.BORROW, c.status);
        expect((await totalsOf(f)).borrowAssets).to.equal(0n);
      });
    }

    it("borrow: works again once the feed recovers (SUSPECT confirmed after the confirm window)", async () => {
      const { f, market, post, liquidity } = await setup();
      const { alice } = f.actors;
      await liquidity();
      await post("WBTC", alice, toUnits("0.1", 8));
      await setPrice(f.assets.WBTC, 40000);
      await expect(market.connect(alice).borrow(usdc(100), alice.address)).to.be.revertedWithCustomError(
        f.router,
        "PriceNotUsable",
      );
      // The round has reported 40,000 since it was pushed: after the 600 s confirm window it is OK.
      await time.increase(601);
      expect((await f.router.peek(f.assets.WBTC.address))[1]).to.equal(PriceStatus.OK);
      // 0.1 WBTC at 40,000 = 4,000 x 0.75 = 3,000 capacity.
      await expect(market.connect(alice).borrow(usdc(3_000) + 1n, alice.address))
        .to.be.revertedWithCustomError(market, "InsufficientBorrowCapacity")
        .withArgs(usdc(3_000) + 1n, usdc(3_000));
      await market.connect(alice).borrow(usdc(3_000), alice.address);
    });
  });

  describe("repay", () => {
    it("repay: partial burns shares rounded down (toSharesDown); Repay evented; the caller pays exactly the assets", async () => {
      const { f, market, post, fund, warmAndFreeze, balanceOf, marketAddress } = await setup();
      const { alice } = f.actors;
      await warmAndFreeze();
      await post("WETH", alice, toUnits(10, 18));
      await market.connect(alice).borrow(usdc(5_000), alice.address);
      const before = await totalsOf(f);
      const held = (await market.accountView(alice.address)).borrowShares;
      const assets = 1_234_567_891n;
      const shares = toSharesDown(assets, before.borrowAssets, before.borrowShares);
      const numerator = assets * (before.borrowShares + VIRTUAL_SHARES);
      expect(numerator % (before.borrowAssets + VIRTUAL_ASSETS), "an inexact division").to.not.equal(0n);
      await fund(alice, 0n); // approval only: she repays from what she borrowed
      const cashBefore = await balanceOf(marketAddress);

      expect(await market.connect(alice).repay.staticCall(assets, alice.address)).to.equal(assets);
      await expect(market.connect(alice).repay(assets, alice.address))
        .to.emit(market, "Repay")
        .withArgs(alice.address, alice.address, assets, shares);
      const after = await totalsOf(f);
      expect(after.borrowAssets).to.equal(before.borrowAssets - assets);
      expect(after.borrowShares).to.equal(before.borrowShares - shares);
      expect((await market.accountView(alice.address)).borrowShares).to.equal(held - shares);
      expect(await balanceOf(alice.address)).to.equal(usdc(5_000) - assets);
      expect(await balanceOf(marketAddress)).to.equal(cashBefore + assets);
      await expectConservation(f);
    });

    it("repay: more than the debt repays exactly the debt (toAssetsUp of the shares), burns every share", async () => {
      const { f, market, post, fund, warmAndFreeze, balanceOf } = await setup();
      const { alice } = f.actors;
      await warmAndFreeze();
      await post("WETH", alice, toUnits(10, 18));
      await market.connect(alice).borrow(usdc(5_000), alice.address);
      await fund(alice, usdc(1_000));
      const before = await totalsOf(f);
      const held = (await market.accountView(alice.address)).borrowShares;
      const debt = toAssetsUp(held, before.borrowAssets, before.borrowShares);
      expect((await market.accountView(alice.address)).debt).to.equal(debt);
      expect(debt).to.be.greaterThanOrEqual(usdc(5_000));

      await expect(market.connect(alice).repay(debt + usdc(1), alice.address))
        .to.emit(market, "Repay")
        .withArgs(alice.address, alice.address, debt, held);
      expect(await balanceOf(alice.address)).to.equal(usdc(6_000) - debt);
      const view = await market.accountView(alice.address);
      expect(view.borrowShares).to.equal(0n);
      expect(view.debt).to.equal(0n);
      const after = await totalsOf(f);
      expect(after.borrowShares).to.equal(before.borrowShares - held);
      expect(after.borrowAssets).to.equal(before.borrowAssets - debt);
      // Nothing left to repay.
      await expect(market.connect(alice).repay(1n, alice.address))
        .to.be.revertedWithCustomError(market, "NothingToRepay")
        .withArgs(alice.address);
      await expectConservation(f);
    });

    it("repay: exactly the debt repays it all", async () => {
      const { f, market, post, fund, warmAndFreeze } = await setup();
      const { alice } = f.actors;
      await warmAndFreeze();
      await post("WETH", alice, toUnits(1, 18));
      await market.connect(alice).borrow(usdc(2_000), alice.address);
      await fund(alice, usdc(10));
      const debt = (await market.accountView(alice.address)).debt;
      const held = (await market.accountView(alice.address)).borrowShares;
      await expect(market.connect(alice).repay(debt, alice.address))
        .to.emit(market, "Repay")
        .withArgs(alice.address, alice.address, debt, held);
      expect((await market.accountView(alice.address)).borrowShares).to.equal(0n);
    });

    it("repay: with type(uint256).max pulls exactly the debt, interest included (live rates)", async () => {
      const { f, market, post, fund, liquidity, balanceOf, bob } = await setup();
      const { alice } = f.actors;
      await liquidity();
      await post("WETH", alice, toUnits(1, 18));
      await post("WETH", bob, toUnits(1, 18));
      await market.connect(alice).borrow(usdc(1_000), alice.address);
      const borrowTx = await market.connect(bob).borrow(usdc(1_000), bob.address);
      const t1 = (await (await borrowTx.wait())!.getBlock()).timestamp;
      await fund(alice, usdc(100));
      const before = await totalsOf(f); // as of bob's borrow, the last accrual
      const held = (await market.accountView(alice.address)).borrowShares;
      expect(held).to.equal(usdc(1_000) * 10n ** 6n);

      // Three months at the utilisation of the last accrual, interest rounded up.
      const dt = BigInt(YEAR / 4);
      const u = (before.borrowAssets * WAD) / before.supplyAssets;
      const rate = await f.lending!.rateModel.borrowRatePerSecond(u);
      const interest = mulDivUp(before.borrowAssets, rate * dt, WAD);
      const borrowAssets = before.borrowAssets + interest;
      const debt = toAssetsUp(held, borrowAssets, before.borrowShares);
      expect(debt).to.be.greaterThan(usdc(1_000));

      await time.setNextBlockTimestamp(t1 + YEAR / 4);
      await expect(market.connect(alice).repay(ethers.MaxUint256, alice.address))
        .to.emit(market, "Repay")
        .withArgs(alice.address, alice.address, debt, held);
      expect(await balanceOf(alice.address)).to.equal(usdc(1_100) - debt);
      expect((await market.accountView(alice.address)).borrowShares).to.equal(0n);
      const after = await totalsOf(f);
      expect(after.borrowAssets).to.equal(borrowAssets - debt);
      expect(after.borrowShares).to.equal(before.borrowShares - held);
      // Bob's debt is the rest of the borrowed total (up to what the virtual shares hold).
      expect((await market.accountView(bob.address)).debt).to.equal(
        toAssetsUp(after.borrowShares, after.borrowAssets, after.borrowShares),
      );
      await expectConservation(f);
    });

    it("repay: on behalf of another account: the caller pays, the borrower's debt falls", async () => {
      const { f, market, post, fund, liquidity, freezeRates, balanceOf } = await setup();
      const { alice, keeper } = f.actors;
      await liquidity();
      await freezeRates();
      await post("WETH", alice, toUnits(1, 18));
      await market.connect(alice).borrow(usdc(1_000), alice.address);
      await fund(keeper, usdc(400));
      const t = await totalsOf(f);
      const shares = toSharesDown(usdc(400), t.borrowAssets, t.borrowShares);
      expect(shares).to.equal(usdc(400) * 10n ** 6n);
      await expect(market.connect(keeper).repay(usdc(400), alice.address))
        .to.emit(market, "Repay")
        .withArgs(keeper.address, alice.address, usdc(400), shares);
      expect(await balanceOf(keeper.address)).to.equal(0n);
      expect(await balanceOf(alice.address)).to.equal(usdc(1_000));
      expect((await market.accountView(alice.address)).debt).to.equal(usdc(600));
      expect((await market.accountView(keeper.address)).debt).to.equal(0n);
      await expectConservation(f);
    });

    it("repay: reverts with NothingToRepay(account) for an account without debt", async () => {
      const { f, market, fund } = await setup();
      const { alice, stranger } = f.actors;
      await fund(alice, usdc(10));
      await expect(market.connect(alice).repay(usdc(10), stranger.address))
        .to.be.revertedWithCustomError(market, "NothingToRepay")
        .withArgs(stranger.address);
      await expect(market.connect(alice).repay(ethers.MaxUint256, alice.address))
        .to.be.revertedWithCustomError(market, "NothingToRepay")
        .withArgs(alice.address);
    });

    it("repay: reverts with ZeroAmount for 0 and ZeroAddress for onBehalf = 0", async () => {
      const { f, market, post, liquidity } = await setup();
      const { alice } = f.actors;
      await liquidity();
      await post("WETH", alice, toUnits(1, 18));
      await market.connect(alice).borrow(usdc(100), alice.address);
      await expect(market.connect(alice).repay(0n, alice.address)).to.be.revertedWithCustomError(
        market,
        "ZeroAmount",
      );
      await expect(market.connect(alice).repay(1n, ethers.ZeroAddress)).to.be.revertedWithCustomError(
        market,
        "ZeroAddress",
      );
      expect((await market.accountView(alice.address)).borrowShares).to.equal(usdc(100) * 10n ** 6n);
    });

    it("repay: reverts with ZeroShares for a dust repayment worth less than one share (reachable after extreme interest)", async () => {
      const { f, market, post, fund, setMinBorrow, freezeRates, refreshPrices, bob, carol } = await setup();
      const { alice } = f.actors;
      await setMinBorrow(0n);
      // The steepest curve the bounds allow: base 100%, slope1 200%, slope2 1000% (MAX_SLOPE2).
      await f.lending!.rateModel.setCurve(wad(1), wad(2), wad(10), wad(0.8));
      await fund(alice, 1n);
      await market.connect(alice).supply(1n, alice.address);
      await post("WETH", bob, toUnits(1, 18));
      await market.connect(bob).borrow(1n, bob.address);
      // One unit lent of one: 100% utilisation, 1300% a year; each yearly accrual multiplies the debt by ~14.
      expect(await f.lending!.rateModel.borrowRatePerYear(await market.utilisation())).to.equal(wad(13));
      // Until one unit is worth less than one borrow share: borrowAssets + 1 > borrowShares + 1e6 (six years).
      let t = await totalsOf(f);
      let years = 0;
      for (; years < 10 && t.borrowAssets + VIRTUAL_ASSETS <= t.borrowShares + VIRTUAL_SHARES; years++) {
        await time.increase(YEAR);
        await market.accrueInterest();
        t = await totalsOf(f);
      }
      expect(years).to.equal(6);
      // Freeze the curve so that the figures below stay exact, and keep the feeds fresh after the jumps.
      await freezeRates();
      await refreshPrices();
      expect(t.borrowShares).to.equal(10n ** 6n);
      expect(toSharesDown(1n, t.borrowAssets, t.borrowShares)).to.equal(0n);

      await fund(carol, usdc(1_000_000));
      await expect(market.connect(carol).repay(1n, bob.address)).to.be.revertedWithCustomError(
        market,
        "ZeroShares",
      );
      // The smallest repayment worth one share burns exactly one.
      const oneShare = mulDivUp(1n, t.borrowAssets + VIRTUAL_ASSETS, t.borrowShares + VIRTUAL_SHARES);
      await expect(market.connect(carol).repay(oneShare - 1n, bob.address)).to.be.revertedWithCustomError(
        market,
        "ZeroShares",
      );
      await expect(market.connect(carol).repay(oneShare, bob.address))
        .to.emit(market, "Repay")
        .withArgs(carol.address, bob.address, oneShare, 1n);
      // And everything still clears with max. Bob's 1e6 - 1 shares owe about half of borrowAssets: the
      // virtual 1e6 shares' part, grown with six years of 1300% interest, is written off as the last share
      // burns (DebtDustWrittenOff), against the reserves, then the suppliers.
      const t2 = await totalsOf(f);
      expect(t2.borrowShares).to.equal(10n ** 6n - 1n);
      const debt = toAssetsUp(t2.borrowShares, t2.borrowAssets, t2.borrowShares);
      const dust = t2.borrowAssets - debt;
      const fromReserves = dust < t2.reserves ? dust : t2.reserves;
      expect(dust, "the dust exceeds the reserves: suppliers take the rest").to.be.greaterThan(t2.reserves);
      const tx = market.connect(carol).repay(ethers.MaxUint256, bob.address);
      await expect(tx).to.emit(market, "DebtDustWrittenOff").withArgs(dust);
      await expect(tx).to.emit(market, "Repay").withArgs(carol.address, bob.address, debt, t2.borrowShares);
      expect((await market.accountView(bob.address)).borrowShares).to.equal(0n);
      expect(await totalsOf(f)).to.deep.equal({
        supplyAssets: t2.supplyAssets - (dust - fromReserves),
        supplyShares: t2.supplyShares,
        borrowAssets: 0n,
        borrowShares: 0n,
        reserves: 0n,
      });
      await expectConservation(f);
    });

    const faults: { name: string; status: PriceStatus; apply: (f: Fixture) => Promise<unknown> }[] = [
      {
        name: "both feeds stale",
        status: PriceStatus.STALE,
        apply: async (f) => {
          await f.assets.WETH.primaryFeed.mock!.goStale(4000);
          await f.assets.WETH.fallbackFeed!.mock!.goStale(90000);
        },
      },
      {
        name: "both feeds reverting",
        status: PriceStatus.INVALID,
        apply: async (f) => {
          await f.assets.WETH.primaryFeed.mock!.setMode(FeedMode.REVERT);
          await f.assets.WETH.fallbackFeed!.mock!.setMode(FeedMode.REVERT);
        },
      },
      {
        name: "both feeds burning their gas",
        status: PriceStatus.INVALID,
        apply: async (f) => {
          await f.assets.WETH.primaryFeed.mock!.setMode(FeedMode.BURN_GAS);
          await f.assets.WETH.fallbackFeed!.mock!.setMode(FeedMode.BURN_GAS);
        },
      },
      {
        name: "short return data and garbage round ids",
        status: PriceStatus.INVALID,
        apply: async (f) => {
          await f.assets.WETH.primaryFeed.mock!.setMode(FeedMode.SHORT_RETURN);
          await f.assets.WETH.fallbackFeed!.mock!.setMode(FeedMode.WIDE_ROUND);
        },
      },
      {
        name: "zero answers",
        status: PriceStatus.INVALID,
        apply: async (f) => {
          await f.assets.WETH.primaryFeed.mock!.setPrice(0);
          await f.assets.WETH.fallbackFeed!.mock!.setPrice(0);
        },
      },
      {
        name: "primary reverting (fallback used)",
        status: PriceStatus.FALLBACK,
        apply: (f) => f.assets.WETH.primaryFeed.mock!.setMode(FeedMode.REVERT),
      },
      {
        name: "a -30% jump on the primary, fallback down",
        status: PriceStatus.SUSPECT,
        apply: async (f) => {
          await f.assets.WETH.fallbackFeed!.mock!.setMode(FeedMode.REVERT);
          await setPrice(f.assets.WETH, 2100, "primary");
        },
      },
      {
        name: "primary frozen while the market moves 5% (feeds disagree)",
        status: PriceStatus.DISAGREE,
        apply: async (f) => {
          await f.assets.WETH.primaryFeed.mock!.setMode(FeedMode.FREEZE);
          await setPrice(f.assets.WETH, 3150);
        },
      },
    ];
    for (const fault of faults) {
      it(`repay: works under an oracle fault: ${fault.name} (${PriceStatus[fault.status]}), while borrow is refused`, async () => {
        const { f, market, post, fund, liquidity, freezeRates } = await setup();
        const { alice } = f.actors;
        await liquidity();
        await freezeRates();
        await post("WETH", alice, toUnits(1, 18));
        await market.connect(alice).borrow(usdc(1_000), alice.address);
        await fault.apply(f);
        expect((await f.router.peek(f.assets.WETH.address))[1]).to.equal(fault.status);
        await expect(market.connect(alice).borrow(usdc(1), alice.address))
          .to.be.revertedWithCustomError(f.router, "PriceNotUsable")
          .withArgs(f.assets.WETH.address, Action.BORROW, fault.status);
        await fund(alice, 0n);
        await expect(market.connect(alice).repay(usdc(400), alice.address))
          .to.emit(market, "Repay")
          .withArgs(alice.address, alice.address, usdc(400), usdc(400) * 10n ** 6n);
        await market.connect(alice).repay(ethers.MaxUint256, alice.address);
        expect((await market.accountView(alice.address)).debt).to.equal(0n);
        await expectConservation(f);
      });
    }

    it("repay: works with the L2 sequencer down (SEQUENCER_DOWN), while borrow is refused", async () => {
      const { f, market, post, fund, liquidity } = await setupWith(await loadL2System());
      const { alice } = f.actors;
      await liquidity();
      await post("WETH", alice, toUnits(1, 18));
      await market.connect(alice).borrow(usdc(1_000), alice.address);
      await f.sequencer!.mock!.setDown();
      await expect(market.connect(alice).borrow(usdc(1), alice.address))
        .to.be.revertedWithCustomError(f.router, "PriceNotUsable")
        .withArgs(f.assets.WETH.address, Action.BORROW, PriceStatus.SEQUENCER_DOWN);
      await fund(alice, usdc(10));
      await market.connect(alice).repay(ethers.MaxUint256, alice.address);
      expect((await market.accountView(alice.address)).borrowShares).to.equal(0n);
      await expectConservation(f);
    });
  });
});
