import { expect } from "chai";
import { ethers, network } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";

import { toUnits } from "../../deploy/units";
import { expectConservation } from "../helpers/conservation";
import { setPrice } from "../helpers/feeds";
import { loadSystem, type Fixture } from "../helpers/fixture";

const u = (v: number | string) => toUnits(v, 6);
const e = (v: number | string) => toUnits(v, 18);

async function fund(f: Fixture) {
  const market = f.lending!.market;
  const marketAddress = await market.getAddress();
  const { alice, keeper, stranger: bob } = f.actors;
  for (const who of [alice, keeper, bob]) {
    await f.base.token!.mint(who.address, u(1_000_000));
    await f.base.token!.connect(who).approve(marketAddress, u(1_000_000));
  }
  await f.assets.WETH.token!.mint(alice.address, e(10));
  await f.assets.WETH.token!.connect(alice).approve(marketAddress, e(10));
  return { market, alice, keeper, bob };
}

describe("lending: keeper entry points and views", () => {
  it("utilisation: zero without borrows, borrowed / supplied after one", async () => {
    const f = await loadSystem();
    const { market, alice, bob } = await fund(f);
    expect(await market.utilisation()).to.equal(0n);
    await market.connect(bob).supply(u(100_000), bob.address);
    expect(await market.utilisation()).to.equal(0n);
    await market.connect(alice).supplyCollateral(f.assets.WETH.address, e(10), alice.address);
    await market.connect(alice).borrow(u(20_000), alice.address);
    const [supplyAssets, , borrowAssets] = await market.totals();
    expect(await market.utilisation()).to.equal((borrowAssets * 10n ** 18n) / supplyAssets);
  });

  it("sweepReserves: with no reserves it returns 0, emits nothing and moves nothing", async () => {
    const f = await loadSystem();
    const { market } = await fund(f);
    expect(await market.sweepReserves.staticCall()).to.equal(0n);
    await expect(market.sweepReserves()).to.not.emit(market, "ReservesSwept");
    expect(await f.insuranceFund.totalAssets()).to.equal(0n);
  });

  it("sweepReserves: sends the reserves held in cash to the insurance fund, evented on both sides", async () => {
    const f = await loadSystem();
    const { market, alice, bob } = await fund(f);
    await market.connect(bob).supply(u(100_000), bob.address);
    await market.connect(alice).supplyCollateral(f.assets.WETH.address, e(10), alice.address);
    await market.connect(alice).borrow(u(20_000), alice.address);
    await setPrice(f.assets.WETH, 3000); // keep the feeds fresh across the accrual below
    await market.accrueInterest();
    const [, , , , reservesBefore] = await market.totals();
    expect(reservesBefore).to.be.greaterThan(0n);
    const swept = await market.sweepReserves.staticCall();
    await expect(market.sweepReserves())
      .to.emit(market, "ReservesSwept")
      .and.to.emit(f.insuranceFund, "InsuranceToppedUp");
    const [, , , , reservesAfter] = await market.totals();
    // The sweep's own accrual adds one second of reserves before sweeping them all.
    expect(reservesAfter).to.equal(0n);
    expect(await f.insuranceFund.totalAssets()).to.be.gte(swept);
    await expectConservation(f);
  });

  it("waterfall: reserves larger than the deficit cover it all; the fund is not called and nothing is socialised", async () => {
    const f = await loadSystem();
    const { market, alice, keeper, bob } = await fund(f);
    await market.connect(bob).supply(u(100_000), bob.address);
    await market.connect(alice).supplyCollateral(f.assets.WETH.address, e(1), alice.address);
    await market.connect(alice).borrow(u(2_000), alice.address);
    // Reserves of 1,000 from a generous protocol share of an earlier liquidation are simulated by a
    // year of interest at a high reserve factor on a large borrow by bob against EURC.
    const eurc = f.assets.EURC;
    await eurc.token!.mint(bob.address, u(500_000));
    await eurc.token!.connect(bob).approve(await market.getAddress(), u(500_000));
    await market.connect(bob).supplyCollateral(eurc.address, u(500_000), bob.address);
    await market.connect(bob).borrow(u(90_000), bob.address);
    const params = await market.params();
    await market.setMarketParams({
      borrowCap: params.borrowCap,
      minBorrow: params.minBorrow,
      reserveFactor: toUnits("0.5", 18),
      smallPosition: params.smallPosition,
      protocolShare: params.protocolShare,
      marginCallHealth: params.marginCallHealth,
    });
    await f.lending!.rateModel.setCurve(toUnits("0.5", 18), 0, 0, toUnits("0.8", 18));
    await network.provider.send("evm_increaseTime", [365 * 86400]);
    await setPrice(f.assets.WETH, 1000); // a -66% gap on both feeds: alice is insolvent
    await setPrice(eurc, "1.08");
    await market.accrueInterest();
    const [, , , , reserves] = await market.totals();
    expect(reserves).to.be.greaterThan(u(2_000));

    const fundBefore = await f.insuranceFund.totalAssets();
    const tx = market.connect(keeper).liquidate(alice.address, f.assets.WETH.address, u(1_000_000));
    await expect(tx).to.emit(market, "DeficitRealised");
    await expect(tx).to.not.emit(f.insuranceFund, "InsurancePaid");
    const bad = await market.badDebt();
    expect(bad.socialised).to.equal(0n);
    expect(bad.coveredByInsurance).to.equal(bad.deficit);
    expect(await f.insuranceFund.totalAssets()).to.equal(fundBefore);
    await expectConservation(f);
  });

  it("rate model: a rate above MAX_BORROW_RATE is capped; a model that reverts charges nothing and repay still works", async () => {
    const f = await loadSystem();
    const { market, alice, bob } = await fund(f);
    await market.connect(bob).supply(u(100_000), bob.address);
    await market.connect(alice).supplyCollateral(f.assets.WETH.address, e(10), alice.address);
    await market.connect(alice).borrow(u(10_000), alice.address);
    const model = await (await ethers.getContractFactory("MockRateModel")).deploy();
    await market.setRateModel(await model.getAddress());
    const cap = await market.MAX_BORROW_RATE();

    // A model asking for 1000x the cap is held to the cap.
    await model.set(cap * 1000n, false);
    await market.accrueInterest();
    const [, , borrowBefore] = await market.totals();
    await time.setNextBlockTimestamp((await time.latest()) + 100);
    await expect(market.accrueInterest())
      .to.emit(market, "AccrueInterest")
      .withArgs(cap, (borrowBefore * cap * 100n + 10n ** 18n - 1n) / 10n ** 18n, (v: bigint) => v >= 0n);

    // A reverting model: no interest accrues, and repay, borrow and liquidation paths still run.
    await model.set(0, true);
    await market.accrueInterest();
    const [, , borrowMid] = await market.totals();
    await network.provider.send("evm_increaseTime", [3600]);
    await setPrice(f.assets.WETH, 3000);
    await expect(market.accrueInterest()).to.emit(market, "AccrueInterest").withArgs(0n, 0n, 0n);
    const [, , borrowAfter] = await market.totals();
    expect(borrowAfter).to.equal(borrowMid);
    await expect(market.connect(alice).repay(ethers.MaxUint256, alice.address)).to.emit(market, "Repay");
    expect((await market.accountView(alice.address)).debt).to.equal(0n);
    await expectConservation(f);
  });
});
