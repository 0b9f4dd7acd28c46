/**
 * Edges of the perps engine and vault that the scenario suites do not reach: recourse repaid first from a
 * margin withdrawal, a liquidation without a keeper share, the engine's own withdrawal limit behind any
 * vault, fills that the price impact would take below zero, the views on delisted markets and degraded
 * prices, the ADL score of an account whose cross-margin equity is gone, and the vault's constructor checks.
 */
import { expect } from "chai";
import { ethers } from "hardhat";

import { localPerpsConfig } from "../../deploy/config";
import { perpMarketParams } from "../../deploy/deploySystem";
import { wad } from "../../deploy/units";
import { setPrice } from "../helpers/feeds";
import { expectPerpBooks, loadPerps, loadRecoursePerps, setEth, size, u } from "../helpers/perps";

const MAX = ethers.MaxUint256;

describe("perps: edges", function () {
  describe("withdrawMargin under RECOURSE", function () {
    it("withdrawMargin: an address that owes Ballast repays its debt first; only the rest reaches the receiver", async function () {
      const f = await loadRecoursePerps();
      const { admin, alice, stranger } = f.actors;
      await f.perp.connect(alice).depositMargin(u(1_000), alice.address);
      // A debt recorded elsewhere in Ballast (an EOA registered as a market stands in for another market).
      await f.insuranceFund.connect(admin).setMarket(stranger.address, true);
      await f.insuranceFund.connect(stranger).recordRecourse(alice.address, u(300));

      // 200 withdrawn, all of it owed: nothing reaches the receiver.
      const before = await f.base.erc20.balanceOf(alice.address);
      await expect(f.perp.connect(alice).withdrawMargin(u(200), alice.address))
        .to.emit(f.insuranceFund, "RecourseRepaid")
        .withArgs(alice.address, await f.perp.getAddress(), u(200), u(100));
      expect(await f.base.erc20.balanceOf(alice.address)).to.equal(before);
      // 500 more: 100 to the debt, 400 to alice.
      await f.perp.connect(alice).withdrawMargin(u(500), alice.address);
      expect(await f.base.erc20.balanceOf(alice.address)).to.equal(before + u(400));
      expect(await f.insuranceFund.recourseDebt(alice.address)).to.equal(0n);
      expect((await f.perp.marginOf(alice.address)).margin).to.equal(u(300));
      await expectPerpBooks(f, [alice.address]);
    });
  });

  describe("liquidate without a keeper share", function () {
    it("liquidate: with keeperLiquidationShare 0 the whole fee stays for insurance and no token moves to the keeper", async function () {
      const f = await loadPerps();
      const { lp, alice, keeper } = f.actors;
      await f.perp.setGlobalParams({
        insuranceFeeShare: wad(0.2),
        keeperLiquidationShare: 0n,
        lpReserveFactor: wad(0.1),
        orderKeeperFee: u(1),
      });
      await f.vault.connect(lp).deposit(u(1_000_000), lp.address);
      await f.perp.connect(alice).depositMargin(u(1_600), alice.address);
      await f.perp.connect(alice).modifyPosition(f.ETH, size(10), MAX);
      await setEth(f, 2_900);
      const keeperBefore = await f.base.erc20.balanceOf(keeper.address);
      const tx = f.perp.connect(keeper).liquidate(alice.address);
      await expect(tx).to.emit(f.perp, "AccountLiquidated");
      const receipt = await (await tx).wait();
      const event = receipt!.logs
        .map((l) => f.perp.interface.parseLog(l))
        .find((e) => e?.name === "AccountLiquidated")!;
      expect(event.args.keeperFee).to.equal(0n);
      expect(event.args.insuranceFee).to.be.gt(0n);
      expect(await f.base.erc20.balanceOf(keeper.address)).to.equal(keeperBefore);
      await expectPerpBooks(f, [alice.address]);
    });
  });

  describe("the engine's own withdrawal limit", function () {
    it("lpWithdraw: reverts with LpWithdrawalTooLarge beyond what the pool may pay, whatever vault asks", async function () {
      const f = await loadPerps();
      const { admin, stranger } = f.actors;
      const library = await (await ethers.getContractFactory("PerpParams")).deploy();
      const factory = await ethers.getContractFactory("PerpMarket", {
        libraries: { PerpParams: await library.getAddress() },
      });
      const engine = await factory.deploy(
        admin.address,
        f.base.address,
        await f.router.getAddress(),
        await f.insuranceFund.getAddress(),
        0,
        { insuranceFeeShare: 0n, keeperLiquidationShare: 0n, lpReserveFactor: 0n, orderKeeperFee: 0n },
      );
      // An EOA as the vault: the engine's check is the last line, not the vault's maxWithdraw.
      await engine.setVault(stranger.address);
      await f.base.erc20.connect(stranger).approve(await engine.getAddress(), MAX);
      await engine.connect(stranger).lpDeposit(u(1_000));
      await expect(engine.connect(stranger).lpWithdraw(u(1_000) + 1n, stranger.address))
        .to.be.revertedWithCustomError(engine, "LpWithdrawalTooLarge")
        .withArgs(u(1_000) + 1n, u(1_000));
      await expect(engine.connect(stranger).lpWithdraw(u(1_000), stranger.address))
        .to.emit(engine, "LpWithdrawn")
        .withArgs(stranger.address, u(1_000));
    });
  });

  describe("price impact beyond the price", function () {
    it("modifyPosition: reverts with InvalidFillPrice when the impact would take the fill to zero or below", async function () {
      const f = await loadPerps();
      const { lp, alice } = f.actors;
      const params = { ...perpMarketParams(localPerpsConfig().markets[0]), skewScale: wad(1) };
      await f.perp.setMarketParams(f.ETH, params);
      await f.vault.connect(lp).deposit(u(1_000_000), lp.address);
      await f.perp.connect(alice).depositMargin(u(100_000), alice.address);
      // A sell of 3 ETH against a skew scale of 1 ETH: premium -1.5 x price.
      await expect(f.perp.connect(alice).modifyPosition(f.ETH, -size(3), 0)).to.be.revertedWithCustomError(
        f.perp,
        "InvalidFillPrice",
      );
      expect((await f.perp.fillPrice(f.ETH, -size(1))) > 0n).to.equal(true);
    });
  });

  describe("views", function () {
    it("accountView: values a delisted market at its final price, and says so when a price is not OK", async function () {
      const f = await loadPerps();
      const { lp, alice } = f.actors;
      await f.vault.connect(lp).deposit(u(1_000_000), lp.address);
      await f.perp.connect(alice).depositMargin(u(50_000), alice.address);
      await f.perp.connect(alice).modifyPosition(f.ETH, size(10), MAX);
      await f.perp.connect(alice).modifyPosition(f.BTC, size(1), MAX);
      expect((await f.perp.accountView(alice.address)).pricesTrusted).to.equal(true);

      await f.perp.delistMarket(f.ETH);
      const before = await f.perp.accountView(alice.address);
      await setEth(f, 1_000); // the delisted market no longer follows the feed
      const after = await f.perp.accountView(alice.address);
      expect(after.equity).to.equal(before.equity);
      expect(after.pricesTrusted).to.equal(true);

      await f.assets.WBTC.primaryFeed.mock!.goStale(4_000);
      const degraded = await f.perp.accountView(alice.address);
      expect(degraded.pricesTrusted, "WBTC is STALE").to.equal(false);
      await setPrice(f.assets.WBTC, 60_000);
    });

    it("adlScore: zero without a position, and the maximum when the account's margin has gone below minus the profit", async function () {
      const f = await loadPerps();
      const { lp, alice } = f.actors;
      expect(await f.perp.adlScore(alice.address, f.ETH)).to.equal(0n);

      await f.vault.connect(lp).deposit(u(10_000_000), lp.address);
      await f.perp.connect(alice).depositMargin(u(30_000), alice.address);
      await f.perp.connect(alice).modifyPosition(f.ETH, size(10), MAX); // a long that will be in profit
      await f.perp.connect(alice).modifyPosition(f.BTC, -size(2), 0); // a short that will lose
      await setEth(f, 3_600); // ETH +20% (two feeds agree): the long gains about 6,000
      // WBTC +18% (within its deviation limit, so OK at once): the short loses about 22,000.
      await setPrice(f.assets.WBTC, 71_000);
      await f.perp.connect(alice).closePosition(f.BTC, MAX); // realised: margin about 30,000 - 22,000
      // Another loss in a new BTC position takes margin below minus the ETH profit.
      await f.perp.connect(alice).modifyPosition(f.BTC, -size(1.5), 0);
      await setPrice(f.assets.WBTC, 84_000);
      await f.perp.connect(alice).closePosition(f.BTC, MAX);
      const { margin } = await f.perp.marginOf(alice.address);
      const pnl = (await f.perp.positionView(alice.address, f.ETH)).pnl;
      expect(margin + pnl <= 0n, "margin + this position's profit is not positive").to.equal(true);
      expect(pnl > 0n).to.equal(true);
      expect(await f.perp.adlScore(alice.address, f.ETH)).to.equal(MAX);
    });
  });

  describe("LiquidityVault constructor", function () {
    it("constructor: reverts with ZeroAddress for a zero engine or a zero insurance fund", async function () {
      const f = await loadPerps();
      const factory = await ethers.getContractFactory("LiquidityVault");
      const engine = await f.perp.getAddress();
      const fund = await f.insuranceFund.getAddress();
      await expect(
        factory.deploy(f.base.address, ethers.ZeroAddress, fund, "x", "x"),
      ).to.be.revertedWithCustomError(factory, "ZeroAddress");
      await expect(
        factory.deploy(f.base.address, engine, ethers.ZeroAddress, "x", "x"),
      ).to.be.revertedWithCustomError(factory, "ZeroAddress");
    });
  });
});
