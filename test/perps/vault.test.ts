/**
 * LiquidityVault, the LPs' ERC-4626 over the perps engine's pool: deposit and mint feed the pool, the share
 * price follows the pool's value (capital minus traders' net unrealised PnL, floored at zero), withdrawals
 * are limited to lpWithdrawable and need trusted prices, allowances, recourse debt repaid first under
 * RECOURSE, and the first-depositor inflation attack.
 *
 * Exactness: `lpValue` mirrors PerpMarket._lpValue from the stored positions (read from storage), the
 * pool's capital and the funding index at a given timestamp; the ERC-4626 conversions are mirrored with
 * OpenZeppelin's formulas and the 1e6 virtual shares. Views run at the latest block's timestamp; measured
 * transactions run at a pinned one, and the views they depend on are read at the pending block.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";

import { localPerpsConfig } from "../../deploy/config";
import { Action, PriceStatus } from "../../deploy/enums";
import { wad } from "../../deploy/units";
import {
  abs,
  accrue,
  expectPerpBooks,
  loadPerps,
  loadRecoursePerps,
  mulDivDown,
  mulDivUp,
  setEth,
  size,
  u,
  USD_PER_UNIT,
  WAD,
  wMulUp,
  type PerpFixture,
} from "../helpers/perps";

const LP_RESERVE_FACTOR = wad(localPerpsConfig().global.lpReserveFactor);
const VIRTUAL_SHARES = 10n ** 6n;
const MAX = ethers.MaxUint256;
/** Storage slot of PerpMarket._positions (AccessControl._roles, _markets, marketCount, _idPlusOne first). */
const POSITIONS_SLOT = 4n;

/* HELPERS */

const coder = ethers.AbiCoder.defaultAbiCoder();
const low128 = (x: bigint) => BigInt.asIntN(128, x & ((1n << 128n) - 1n));
const pos = (x: bigint) => (x > 0n ? x : 0n);

interface Raw {
  size: bigint;
  entry: bigint;
  index: bigint;
}

async function rawPosition(f: PerpFixture, account: string, marketId: number): Promise<Raw> {
  const inner = ethers.keccak256(coder.encode(["address", "uint256"], [account, POSITIONS_SLOT]));
  const base = BigInt(ethers.keccak256(coder.encode(["uint256", "bytes32"], [marketId, inner])));
  const addr = await f.perp.getAddress();
  const s0 = BigInt(await ethers.provider.getStorage(addr, base));
  const s1 = BigInt(await ethers.provider.getStorage(addr, base + 1n));
  return { size: low128(s0), entry: s0 >> 128n, index: low128(s1) };
}

/** Fixes the next block's timestamp (one second after the last block) and returns it. */
async function pin(): Promise<bigint> {
  const ts = (await time.latest()) + 1;
  await time.setNextBlockTimestamp(ts);
  return BigInt(ts);
}

const everyone = (f: PerpFixture) => Object.values(f.actors).map((a) => a.address);

/**
 * PerpMarket._lpValue at timestamp `ts` (default: the latest block's, as views see it), from the
 * positions of every actor: the pool's value and what may be withdrawn, base units.
 */
async function lpValue(f: PerpFixture, ts?: bigint) {
  const now = ts ?? BigInt(await time.latest());
  const capital = (await f.perp.pool())[0] * USD_PER_UNIT;
  let netPnl = 0n,
    claims = 0n,
    notional = 0n;
  for (const [id, asset] of [
    [f.ETH, f.assets.WETH.address],
    [f.BTC, f.assets.WBTC.address],
  ] as const) {
    const mv = await f.perp.marketView(id);
    if (mv.longOI === 0n && mv.shortOI === 0n) continue;
    const price = (await f.router.peek(asset))[0];
    const index = accrue(mv.fundingIndex, mv.fundingRate, now - mv.lastFundingTime, price);
    let longOI = 0n,
      shortOI = 0n,
      longEntry = 0n,
      shortEntry = 0n,
      longFunding = 0n,
      shortFunding = 0n;
    for (const a of everyone(f)) {
      const p = await rawPosition(f, a, id);
      if (p.size === 0n) continue;
      const s = abs(p.size);
      if (p.size > 0n) {
        longOI += s;
        longEntry += mulDivDown(s, p.entry, WAD);
        longFunding += (s * p.index) / WAD;
      } else {
        shortOI += s;
        shortEntry += mulDivDown(s, p.entry, WAD);
        shortFunding += (s * p.index) / WAD;
      }
    }
    expect([longOI, shortOI], "every position is an actor's").to.deep.equal([mv.longOI, mv.shortOI]);
    const longPnl = (price * longOI) / WAD - longEntry - ((index * longOI) / WAD - longFunding);
    const shortPnl = shortEntry - (price * shortOI) / WAD + ((index * shortOI) / WAD - shortFunding);
    // The skew's exit impact (PerpMarket._exitImpact): what closing the skew would hand back to traders.
    const skew = abs(longOI - shortOI);
    const impact =
      mv.status === 2n ? 0n : mulDivUp(mulDivUp(skew, skew, 2n * mv.params.skewScale), price, WAD);
    netPnl += longPnl + shortPnl + impact;
    claims += pos(longPnl) + pos(shortPnl) + impact;
    notional += mulDivUp(longOI + shortOI, price, WAD);
  }
  const reserved = claims + wMulUp(notional, LP_RESERVE_FACTOR);
  return {
    assets: pos(capital - netPnl) / USD_PER_UNIT,
    withdrawable: pos(capital - reserved) / USD_PER_UNIT,
    netPnl,
    claims,
  };
}

/* ERC-4626 (OpenZeppelin, _decimalsOffset 6) */
const toShares = (assets: bigint, ta: bigint, ts: bigint) => (assets * (ts + VIRTUAL_SHARES)) / (ta + 1n);
const toSharesUp = (assets: bigint, ta: bigint, ts: bigint) => mulDivUp(assets, ts + VIRTUAL_SHARES, ta + 1n);
const toAssets = (shares: bigint, ta: bigint, ts: bigint) => (shares * (ta + 1n)) / (ts + VIRTUAL_SHARES);
const toAssetsUp = (shares: bigint, ta: bigint, ts: bigint) => mulDivUp(shares, ta + 1n, ts + VIRTUAL_SHARES);
/** LiquidityVault.maxWithdraw: min(previewRedeem(maxRedeem(owner)), lpWithdrawable). */
function maxWithdrawOf(shares: bigint, v: { assets: bigint; withdrawable: bigint }, supply: bigint) {
  const limit = toShares(v.withdrawable, v.assets, supply);
  const redeemable = toAssets(shares < limit ? shares : limit, v.assets, supply);
  return redeemable < v.withdrawable ? redeemable : v.withdrawable;
}

const usdcOf = (f: PerpFixture, a: string) => f.base.erc20.balanceOf(a);

async function trade(f: PerpFixture, who: HardhatEthersSigner, margin: bigint, delta: bigint) {
  await f.perp.connect(who).depositMargin(margin, who.address);
  await f.perp.connect(who).modifyPosition(f.ETH, delta, delta > 0n ? MAX : 0n);
}

/** 1M USDC in the pool from the LP, alice long 500 ETH (100,000 margin), bob short 100 ETH (30,000). */
async function openBook() {
  const f = await loadPerps();
  const { lp, alice, bob } = f.actors;
  await f.vault.connect(lp).deposit(u(1_000_000), lp.address);
  await trade(f, alice, u(100_000), size(500));
  await trade(f, bob, u(30_000), -size(100));
  return f;
}

describe("perps: LiquidityVault", function () {
  describe("vault: metadata", function () {
    it("vault: is an ERC-4626 over the base asset with 1e6 virtual shares: decimals 12 for a 6-decimal asset", async function () {
      const f = await loadPerps();
      expect(await f.vault.asset()).to.equal(f.base.address);
      expect(await f.vault.market()).to.equal(await f.perp.getAddress());
      expect(await f.perp.vault()).to.equal(await f.vault.getAddress());
      expect(await f.vault.decimals()).to.equal(12n);
      expect(await f.vault.name()).to.equal(localPerpsConfig().vault.name);
      expect(await f.vault.symbol()).to.equal(localPerpsConfig().vault.symbol);
      // Empty: one base unit is worth 1e6 shares.
      expect(await f.vault.totalAssets()).to.equal(0n);
      expect(await f.vault.convertToShares(1n)).to.equal(VIRTUAL_SHARES);
    });
  });

  describe("vault: deposit and mint", function () {
    it("deposit: moves the assets into the engine's pool (capital, LpDeposited) and mints assets x 1e6 shares first", async function () {
      const f = await loadPerps();
      const { lp, bob } = f.actors;
      const engine = await f.perp.getAddress();
      const vault = await f.vault.getAddress();
      const amount = u(250_000);
      const engine0 = await usdcOf(f, engine);
      const lp0 = await usdcOf(f, lp.address);
      await expect(f.vault.connect(lp).deposit(amount, bob.address))
        .to.emit(f.perp, "LpDeposited")
        .withArgs(amount)
        .and.to.emit(f.vault, "Deposit")
        .withArgs(lp.address, bob.address, amount, amount * VIRTUAL_SHARES);
      expect(await f.vault.balanceOf(bob.address)).to.equal(amount * VIRTUAL_SHARES);
      expect(await f.perp.pool()).to.deep.equal([amount, 0n]);
      expect((await usdcOf(f, engine)) - engine0).to.equal(amount);
      expect(lp0 - (await usdcOf(f, lp.address))).to.equal(amount);
      expect(await usdcOf(f, vault), "the vault keeps nothing").to.equal(0n);
      expect(await f.vault.totalAssets()).to.equal(amount);
      await expectPerpBooks(f, everyone(f));
    });

    it("deposit and mint: a later deposit is priced at the pool's value with traders' PnL (shares down, mint's assets up)", async function () {
      const f = await openBook();
      const { carol, dave } = f.actors;
      await setEth(f, 2950); // alice's long loses more than bob's short wins: the pool is worth more
      const amount = u(123_456);
      let ts = await pin();
      let v = await lpValue(f, ts);
      let supply = await f.vault.totalSupply();
      const shares = toShares(amount, v.assets, supply);
      expect(await f.vault.previewDeposit(amount, { blockTag: "pending" })).to.equal(shares);
      const capital0 = (await f.perp.pool())[0];
      await expect(f.vault.connect(carol).deposit(amount, carol.address))
        .to.emit(f.vault, "Deposit")
        .withArgs(carol.address, carol.address, amount, shares);
      expect((await f.perp.pool())[0]).to.equal(capital0 + amount);
      expect(shares, "fewer shares than at par").to.be.lt(amount * VIRTUAL_SHARES);

      const want = 77_777n * 10n ** 12n;
      ts = await pin();
      v = await lpValue(f, ts);
      supply = await f.vault.totalSupply();
      const assets = toAssetsUp(want, v.assets, supply);
      expect(await f.vault.previewMint(want, { blockTag: "pending" })).to.equal(assets);
      const dave0 = await usdcOf(f, dave.address);
      await expect(f.vault.connect(dave).mint(want, dave.address))
        .to.emit(f.perp, "LpDeposited")
        .withArgs(assets)
        .and.to.emit(f.vault, "Deposit")
        .withArgs(dave.address, dave.address, assets, want);
      expect(dave0 - (await usdcOf(f, dave.address))).to.equal(assets);
      expect((await f.perp.pool())[0]).to.equal(capital0 + amount + assets);
      await expectPerpBooks(f, everyone(f));
    });
  });

  describe("vault: share price", function () {
    it("vault: totalAssets is capital minus traders' net unrealised PnL, and moves with the price exactly as lpAssets says", async function () {
      const f = await openBook();
      const { lp } = f.actors;
      const shares = await f.vault.balanceOf(lp.address);
      const supply = await f.vault.totalSupply();
      const [capital] = await f.perp.pool();

      const check = async (label: string) => {
        const v = await lpValue(f);
        expect(await f.perp.lpAssets(), `${label}: lpAssets`).to.equal(v.assets);
        expect(await f.vault.totalAssets(), `${label}: totalAssets`).to.equal(v.assets);
        expect(await f.vault.convertToAssets(shares), `${label}: convertToAssets`).to.equal(
          toAssets(shares, v.assets, supply),
        );
        expect(await f.vault.convertToShares(u(1000)), `${label}: convertToShares`).to.equal(
          toShares(u(1000), v.assets, supply),
        );
        return v;
      };

      const flat = await check("at 3,000");
      // Against the traders: the net long book (400 ETH) loses ~40,000, the pool is worth that much more.
      await setEth(f, 2900);
      const down = await check("at 2,900");
      expect(down.assets - flat.assets).to.be.closeTo(u(40_000), u(100));
      expect(down.assets).to.be.gt(capital);
      // For the traders: the pool is worth less than its capital.
      await setEth(f, 3100);
      const up = await check("at 3,100");
      expect(up.assets).to.be.lt(capital);
      expect(flat.assets - up.assets).to.be.closeTo(u(40_000), u(100));
      // Time alone moves it too (funding on the skew, paid by the longs to the pool).
      await time.increase(1800);
      await setEth(f, 3100);
      const later = await check("30 minutes later");
      expect(later.assets).to.be.gt(up.assets);
    });

    it("vault: totalAssets is floored at zero when traders' profit exceeds the capital", async function () {
      const f = await loadPerps();
      const { lp, alice } = f.actors;
      await f.vault.connect(lp).deposit(u(10_000), lp.address);
      await trade(f, alice, u(50_000), size(100));
      await setEth(f, 3600); // alice is up ~60,000 against a 10,000 pool
      const v = await lpValue(f);
      expect(v.netPnl).to.be.gt(u(50_000) * USD_PER_UNIT);
      expect(await f.vault.totalAssets()).to.equal(0n);
      const shares = await f.vault.balanceOf(lp.address);
      expect(await f.vault.convertToAssets(shares)).to.equal(toAssets(shares, 0n, shares));
      expect(await f.vault.convertToAssets(shares)).to.equal(0n);
      expect(await f.vault.maxWithdraw(lp.address)).to.equal(0n);
      expect(await f.vault.maxRedeem(lp.address)).to.equal(0n);
    });
  });

  describe("vault: withdraw and redeem", function () {
    it("vault: maxWithdraw and maxRedeem are lpWithdrawable: capital minus every side's profit minus the reserve on open notional", async function () {
      const f = await openBook();
      const { lp, carol } = f.actors;
      await f.vault.connect(carol).deposit(u(1000), carol.address); // a small LP: limited by its shares
      await setEth(f, 3150);
      const v = await lpValue(f);
      expect(v.claims, "the longs' profit is claimed").to.be.gt(0n);
      expect(await f.perp.lpWithdrawable()).to.equal(v.withdrawable);
      const supply = await f.vault.totalSupply();
      const lpShares = await f.vault.balanceOf(lp.address);
      expect(toAssets(lpShares, v.assets, supply), "the LP's shares are worth more than may leave").to.be.gt(
        v.withdrawable,
      );
      // maxRedeem: the shares lpWithdrawable buys (down); maxWithdraw: OpenZeppelin's previewRedeem of
      // maxRedeem (the override), within lpWithdrawable: one unit under it here, from the round trip.
      const maxRedeem = toShares(v.withdrawable, v.assets, supply);
      expect(await f.vault.maxRedeem(lp.address)).to.equal(maxRedeem);
      const maxWithdraw = maxWithdrawOf(lpShares, v, supply);
      expect(await f.vault.maxWithdraw(lp.address)).to.equal(maxWithdraw);
      expect(maxWithdraw).to.be.lte(v.withdrawable);
      expect(maxWithdraw).to.be.gte(v.withdrawable - 1n);
      const carolShares = await f.vault.balanceOf(carol.address);
      expect(await f.vault.maxWithdraw(carol.address)).to.equal(toAssets(carolShares, v.assets, supply));
      expect(await f.vault.maxRedeem(carol.address)).to.equal(carolShares);
    });

    it("withdraw: up to maxWithdraw pays the receiver from the pool (LpWithdrawn, Withdraw); one unit more reverts with ERC4626ExceededMaxWithdraw", async function () {
      const f = await openBook();
      const { lp, dave } = f.actors;
      await setEth(f, 3150);
      let ts = await pin();
      let v = await lpValue(f, ts);
      const max = await f.vault.maxWithdraw(lp.address, { blockTag: "pending" });
      expect(max).to.equal(
        maxWithdrawOf(await f.vault.balanceOf(lp.address), v, await f.vault.totalSupply()),
      );
      await expect(f.vault.connect(lp).withdraw(max + 1n, dave.address, lp.address))
        .to.be.revertedWithCustomError(f.vault, "ERC4626ExceededMaxWithdraw")
        .withArgs(lp.address, max + 1n, max);

      ts = await pin();
      v = await lpValue(f, ts);
      const supply = await f.vault.totalSupply();
      const amount = maxWithdrawOf(await f.vault.balanceOf(lp.address), v, supply);
      const shares = toSharesUp(amount, v.assets, supply);
      const [capital0] = await f.perp.pool();
      const lpShares0 = await f.vault.balanceOf(lp.address);
      const dave0 = await usdcOf(f, dave.address);
      await expect(f.vault.connect(lp).withdraw(amount, dave.address, lp.address))
        .to.emit(f.perp, "LpWithdrawn")
        .withArgs(dave.address, amount)
        .and.to.emit(f.vault, "Withdraw")
        .withArgs(lp.address, dave.address, lp.address, amount, shares);
      expect((await usdcOf(f, dave.address)) - dave0).to.equal(amount);
      expect((await f.perp.pool())[0]).to.equal(capital0 - amount);
      expect(lpShares0 - (await f.vault.balanceOf(lp.address))).to.equal(shares);
      expect(await f.perp.lpWithdrawable(), "nothing more may leave (to funding dust)").to.be.lt(u(1));
      await expectPerpBooks(f, everyone(f));
    });

    it("redeem: up to maxRedeem burns the shares and pays previewRedeem; one share more reverts with ERC4626ExceededMaxRedeem", async function () {
      const f = await openBook();
      const { lp } = f.actors;
      await setEth(f, 3150);
      let ts = await pin();
      let v = await lpValue(f, ts);
      let supply = await f.vault.totalSupply();
      const max = toShares(v.withdrawable, v.assets, supply);
      expect(await f.vault.maxRedeem(lp.address, { blockTag: "pending" })).to.equal(max);
      await expect(f.vault.connect(lp).redeem(max + 1n, lp.address, lp.address))
        .to.be.revertedWithCustomError(f.vault, "ERC4626ExceededMaxRedeem")
        .withArgs(lp.address, max + 1n, max);

      ts = await pin();
      v = await lpValue(f, ts);
      supply = await f.vault.totalSupply();
      const shares = toShares(v.withdrawable, v.assets, supply);
      const assets = toAssets(shares, v.assets, supply);
      expect(assets).to.be.lte(v.withdrawable);
      const lp0 = await usdcOf(f, lp.address);
      await expect(f.vault.connect(lp).redeem(shares, lp.address, lp.address))
        .to.emit(f.vault, "Withdraw")
        .withArgs(lp.address, lp.address, lp.address, assets, shares);
      expect((await usdcOf(f, lp.address)) - lp0).to.equal(assets);
      await expectPerpBooks(f, everyone(f));
    });

    it("withdraw: with no open interest, the LP takes everything back", async function () {
      const f = await loadPerps();
      const { lp } = f.actors;
      await f.vault.connect(lp).deposit(u(500_000), lp.address);
      expect(await f.vault.maxWithdraw(lp.address)).to.equal(u(500_000));
      await f.vault.connect(lp).redeem(await f.vault.balanceOf(lp.address), lp.address, lp.address);
      expect(await f.perp.pool()).to.deep.equal([0n, 0n]);
      expect(await f.vault.totalSupply()).to.equal(0n);
    });

    it("withdraw: reverts with PriceNotUsable while a market with open interest has a price that is not OK (fallback, stale)", async function () {
      const f = await openBook();
      const { lp } = f.actors;
      const weth = f.assets.WETH.address;
      // The primary feed stops: the fallback's price is trusted for closing, not for an LP leaving.
      await f.assets.WETH.primaryFeed.mock!.goStale(3601);
      await expect(f.vault.connect(lp).withdraw(u(1000), lp.address, lp.address))
        .to.be.revertedWithCustomError(f.router, "PriceNotUsable")
        .withArgs(weth, Action.WITHDRAW_MARGIN, PriceStatus.FALLBACK);
      await f.assets.WETH.fallbackFeed!.mock!.goStale(86_401);
      await expect(f.vault.connect(lp).redeem(10n ** 12n, lp.address, lp.address))
        .to.be.revertedWithCustomError(f.router, "PriceNotUsable")
        .withArgs(weth, Action.WITHDRAW_MARGIN, PriceStatus.STALE);
      // Fresh prices: it goes through.
      await setEth(f, 3000);
      await expect(f.vault.connect(lp).withdraw(u(1000), lp.address, lp.address))
        .to.emit(f.perp, "LpWithdrawn")
        .withArgs(lp.address, u(1000));
    });

    it("withdraw: a stale price in a market without open interest does not block it", async function () {
      const f = await openBook(); // positions in ETH only
      const { lp } = f.actors;
      await f.assets.WBTC.primaryFeed.mock!.goStale(3601);
      await expect(f.vault.connect(lp).withdraw(u(1000), lp.address, lp.address))
        .to.emit(f.perp, "LpWithdrawn")
        .withArgs(lp.address, u(1000));
    });

    it("withdraw: another caller may withdraw with the owner's share allowance, spending it; without it, ERC20InsufficientAllowance", async function () {
      const f = await openBook();
      const { lp, bob, carol } = f.actors;
      const amount = u(10_000);
      let ts = await pin();
      let v = await lpValue(f, ts);
      let shares = toSharesUp(amount, v.assets, await f.vault.totalSupply());
      await expect(f.vault.connect(bob).withdraw(amount, carol.address, lp.address))
        .to.be.revertedWithCustomError(f.vault, "ERC20InsufficientAllowance")
        .withArgs(bob.address, 0n, shares);

      await f.vault.connect(lp).approve(bob.address, shares * 3n);
      ts = await pin();
      v = await lpValue(f, ts);
      shares = toSharesUp(amount, v.assets, await f.vault.totalSupply());
      const allowance0 = await f.vault.allowance(lp.address, bob.address);
      const carol0 = await usdcOf(f, carol.address);
      const bob0 = await usdcOf(f, bob.address);
      await expect(f.vault.connect(bob).withdraw(amount, carol.address, lp.address))
        .to.emit(f.vault, "Withdraw")
        .withArgs(bob.address, carol.address, lp.address, amount, shares);
      expect((await usdcOf(f, carol.address)) - carol0).to.equal(amount);
      expect(await usdcOf(f, bob.address)).to.equal(bob0);
      expect(await f.vault.allowance(lp.address, bob.address)).to.equal(allowance0 - shares);
      await expectPerpBooks(f, everyone(f));
    });
  });

  describe("vault: recourse (RECOURSE policy)", function () {
    it("withdraw: an LP that owes recourse debt repays it first from the withdrawal; the receiver gets the rest", async function () {
      const f = await loadRecoursePerps();
      const { lp, keeper, carol } = f.actors;
      await f.vault.connect(lp).deposit(u(500_000), lp.address);
      // The LP also trades: a ~18x long, and ETH gaps -10%.
      await trade(f, lp, u(10_000), size(60));
      await setEth(f, 2700);
      const liq = await (await f.perp.connect(keeper).liquidate(lp.address)).wait();
      const deficitLog = liq!.logs
        .map((l) => f.perp.interface.parseLog(l))
        .find((l) => l?.name === "DeficitRealised")!;
      const debt = deficitLog.args.recourse as bigint;
      expect(debt, "the whole deficit is recorded").to.equal(deficitLog.args.deficit);
      expect(debt).to.be.gt(u(5_000));
      expect(await f.insuranceFund.recourseDebt(lp.address)).to.equal(debt);

      const amount = debt + u(20_000);
      const ts = await pin();
      const v = await lpValue(f, ts);
      const shares = toSharesUp(amount, v.assets, await f.vault.totalSupply());
      const [capital0] = await f.perp.pool();
      const fund0 = await f.insuranceFund.totalAssets();
      const carol0 = await usdcOf(f, carol.address);
      await expect(f.vault.connect(lp).withdraw(amount, carol.address, lp.address))
        .to.emit(f.vault, "Withdraw")
        .withArgs(lp.address, carol.address, lp.address, amount, shares)
        .and.to.emit(f.insuranceFund, "RecourseRepaid")
        .withArgs(lp.address, await f.vault.getAddress(), debt, 0n)
        .and.to.emit(f.perp, "LpWithdrawn")
        .withArgs(carol.address, amount - debt);
      expect((await usdcOf(f, carol.address)) - carol0, "the receiver gets the rest").to.equal(amount - debt);
      expect(await f.insuranceFund.recourseDebt(lp.address)).to.equal(0n);
      expect((await f.insuranceFund.totalAssets()) - fund0, "the fund is refunded").to.equal(debt);
      expect((await f.perp.pool())[0], "the pool paid the whole amount").to.equal(capital0 - amount);
      expect(await usdcOf(f, await f.vault.getAddress()), "the vault keeps nothing").to.equal(0n);
      await expectPerpBooks(f, everyone(f));
    });

    it("withdraw: a withdrawal smaller than the debt all goes to the debt; the receiver gets nothing", async function () {
      const f = await loadRecoursePerps();
      const { lp, keeper, carol } = f.actors;
      await f.vault.connect(lp).deposit(u(500_000), lp.address);
      await trade(f, lp, u(10_000), size(60));
      await setEth(f, 2700);
      await f.perp.connect(keeper).liquidate(lp.address);
      const debt = await f.insuranceFund.recourseDebt(lp.address);
      const amount = debt / 2n;
      const carol0 = await usdcOf(f, carol.address);
      await expect(f.vault.connect(lp).withdraw(amount, carol.address, lp.address))
        .to.emit(f.insuranceFund, "RecourseRepaid")
        .withArgs(lp.address, await f.vault.getAddress(), amount, debt - amount)
        .and.to.emit(f.perp, "LpWithdrawn")
        .withArgs(await f.vault.getAddress(), amount);
      expect(await usdcOf(f, carol.address)).to.equal(carol0);
      expect(await f.insuranceFund.recourseDebt(lp.address)).to.equal(debt - amount);
    });
  });

  describe("vault: inflation attack", function () {
    it("vault: a first depositor's donation to the engine (or the vault) is not capital and does not move the share price", async function () {
      const f = await loadPerps();
      const { stranger: attacker, carol: victim } = f.actors;
      const engine = await f.perp.getAddress();
      const vault = await f.vault.getAddress();
      // The attacker deposits one base unit, then donates a million to the engine and to the vault.
      await f.vault.connect(attacker).deposit(1n, attacker.address);
      expect(await f.vault.balanceOf(attacker.address)).to.equal(VIRTUAL_SHARES);
      await f.base.erc20.connect(attacker).transfer(engine, u(1_000_000));
      await f.base.erc20.connect(attacker).transfer(vault, u(1_000_000));
      expect(await f.perp.pool(), "a donation is not capital").to.deep.equal([1n, 0n]);
      expect(await f.vault.totalAssets()).to.equal(1n);
      expect(await f.vault.convertToAssets(VIRTUAL_SHARES)).to.equal(1n);

      // The victim's deposit is priced at par: 1e6 shares per unit, and worth what it paid.
      const amount = u(50_000);
      const shares = toShares(amount, 1n, VIRTUAL_SHARES);
      expect(shares).to.equal(amount * VIRTUAL_SHARES);
      await expect(f.vault.connect(victim).deposit(amount, victim.address))
        .to.emit(f.vault, "Deposit")
        .withArgs(victim.address, victim.address, amount, shares);
      expect(await f.vault.convertToAssets(shares)).to.equal(amount);
      expect(await f.vault.maxWithdraw(victim.address)).to.equal(amount);
      // The attacker's share is still worth one unit, and the victim takes all of its deposit back.
      expect(await f.vault.convertToAssets(await f.vault.balanceOf(attacker.address))).to.equal(1n);
      const victim0 = await usdcOf(f, victim.address);
      await f.vault.connect(victim).withdraw(amount, victim.address, victim.address);
      expect((await usdcOf(f, victim.address)) - victim0).to.equal(amount);
      // The donation stays in the engine outside every book.
      const held = await usdcOf(f, engine);
      const [capital, pending] = await f.perp.pool();
      expect(held).to.equal(capital + pending + u(1_000_000));
    });
  });
});
