/**
 * The SDK's risk reads: the insurance fund's balance, both bad-debt ledgers and their sum, and the recourse
 * ledger, after a lending deficit and a perps deficit under RECOURSE (perps) and PROTECTED (lending); read
 * at the latest block and at a past one (blockTag). Also what the SDK does for an address that owes.
 */
import { expect } from "chai";
import { ethers } from "hardhat";

import { setPriceWad } from "./helpers";
import { loadRecoursePerps, size, u } from "../helpers/perps";
import { connect, WAD } from "../../sdk";

describe("sdk: risk", () => {
  it("insurance fund, bad-debt ledgers and recourse debt equal the contracts', now and at a past block", async () => {
    const f = await loadRecoursePerps();
    const { lp, alice, bob, keeper } = f.actors;
    const lending = f.lending!.market;
    const usdc = f.base.token!;
    const weth = f.assets.WETH;
    await usdc.connect(lp).approve(await lending.getAddress(), ethers.MaxUint256);
    await usdc.connect(keeper).approve(await lending.getAddress(), ethers.MaxUint256);
    await lending.connect(lp).supply(u(100_000), lp.address);
    await f.insuranceFund.connect(lp).topUp(u(1_000));
    await f.vault.connect(lp).deposit(u(1_000_000), lp.address);

    // A lending borrower at 80% LTV on 1 WETH, a 15x perps long of 10 WETH.
    await weth.token!.mint(alice.address, WAD);
    await weth.token!.connect(alice).approve(await lending.getAddress(), WAD);
    await lending.connect(alice).supplyCollateral(weth.address, WAD, alice.address);
    await lending.connect(alice).borrow(u(2_400), alice.address);
    await f.perp.connect(bob).depositMargin(u(2_000), bob.address);
    await f.perp.connect(bob).modifyPosition(f.ETH, size(10), ethers.MaxUint256);

    const sdk = await connect(f, keeper);
    const before = await ethers.provider.getBlockNumber();
    expect((await sdk.risk.badDebt()).total.deficit).to.equal(0n);

    // WETH gaps to 2,000: both accounts are under water; liquidating them realises two deficits.
    await setPriceWad(weth, 2_000n * WAD);
    await lending.connect(keeper).liquidate(alice.address, weth.address, ethers.MaxUint256);
    await f.perp.connect(keeper).liquidate(bob.address);

    const report = await sdk.risk.badDebt();
    const onChain = { lending: await lending.badDebt(), perps: await f.perp.badDebt() };
    for (const key of ["deficit", "coveredByInsurance", "socialised", "recourseRecorded"] as const) {
      expect(report.lending![key]).to.equal(onChain.lending[key]);
      expect(report.perps![key]).to.equal(onChain.perps[key]);
      expect(report.total[key]).to.equal(onChain.lending[key] + onChain.perps[key]);
    }
    expect(report.lending!.deficit, "a lending deficit").to.be.greaterThan(0n);
    expect(report.perps!.deficit, "a perps deficit").to.be.greaterThan(u(5_000));
    expect(report.lending!.recourseRecorded, "lending is PROTECTED").to.equal(0n);
    expect(report.perps!.recourseRecorded, "perps is RECOURSE").to.equal(report.perps!.deficit);
    expect(report.total.coveredByInsurance, "the fund paid what it had").to.be.greaterThan(0n);
    expect(await sdk.lending.badDebt()).to.deep.equal(report.lending);
    expect(await sdk.perps.badDebt()).to.deep.equal(report.perps);

    const fund = await sdk.risk.insuranceFundBalance();
    expect(fund).to.equal(await f.insuranceFund.totalAssets());
    expect(fund).to.equal(await usdc.balanceOf(await f.insuranceFund.getAddress()));
    expect(await sdk.risk.recourseDebt(bob.address)).to.equal(
      await f.insuranceFund.recourseDebt(bob.address),
    );
    expect(await sdk.risk.recourseDebt(bob.address)).to.equal(report.perps!.deficit);
    expect(await sdk.risk.recourseDebt(alice.address)).to.equal(0n);
    expect(await sdk.risk.totalRecourseDebt()).to.equal(await f.insuranceFund.totalRecourseDebt());

    // At the block before the gap: nothing yet.
    const past = await sdk.risk.badDebt({ blockTag: before });
    expect(past.total).to.deep.equal({
      deficit: 0n,
      coveredByInsurance: 0n,
      socialised: 0n,
      recourseRecorded: 0n,
    });
    expect(await sdk.risk.recourseDebt(bob.address, { blockTag: before })).to.equal(0n);
    expect(await sdk.risk.insuranceFundBalance({ blockTag: before })).to.equal(u(1_000));

    // While bob owes, the SDK says he can open nothing, and his state carries the debt.
    await f.perp.connect(bob).depositMargin(u(1), bob.address); // repays 1 of the debt first
    expect((await sdk.perps.state(bob.address)).recourseDebt).to.equal(report.perps!.deficit - u(1));
    expect(await sdk.perps.maxPositionSize(bob.address, f.ETH, "long")).to.deep.include({
      size: 0n,
      limitedBy: "RecourseDebtOutstanding",
    });
    await expect(
      f.perp.connect(bob).modifyPosition(f.ETH, 1n, ethers.MaxUint256),
    ).to.be.revertedWithCustomError(f.perp, "RecourseDebtOutstanding");
  });
});
