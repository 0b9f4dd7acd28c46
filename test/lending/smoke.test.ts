import { expect } from "chai";

import { toUnits } from "../../deploy/units";
import { setPrice } from "../helpers/feeds";
import { expectConservation } from "../helpers/conservation";
import { loadSystem } from "../helpers/fixture";

describe("lending: a gap through a borrower, end to end", () => {
  it("supply, borrow, -50% gap, liquidation seizes everything, deficit down the waterfall", async () => {
    const f = await loadSystem();
    const { market } = f.lending!;
    const usdc = f.base.token!;
    const weth = f.assets.WETH;
    const { alice, keeper, stranger: bob } = f.actors;
    const marketAddress = await market.getAddress();
    const u = (v: number | string) => toUnits(v, 6);

    await usdc.mint(bob.address, u(100_000));
    await usdc.connect(bob).approve(marketAddress, u(100_000));
    await market.connect(bob).supply(u(100_000), bob.address);

    await weth.token!.mint(alice.address, toUnits(10, 18));
    await weth.token!.connect(alice).approve(marketAddress, toUnits(10, 18));
    await market.connect(alice).supplyCollateral(weth.address, toUnits(10, 18), alice.address);
    await market.connect(alice).borrow(u(24_000), alice.address);
    await expectConservation(f);

    // Insurance fund holds 1,000 USDC.
    await usdc.mint(keeper.address, u(1_000_000));
    await usdc.connect(keeper).approve(await f.insuranceFund.getAddress(), u(1_000));
    await f.insuranceFund.connect(keeper).topUp(u(1_000));

    await setPrice(weth, 1500); // -50% on both feeds: confirmed by the fallback at once
    const view = await market.accountView(alice.address);
    expect(view.health).to.be.lessThan(10n ** 18n);

    await usdc.connect(keeper).approve(marketAddress, u(1_000_000));
    const tx = market.connect(keeper).liquidate(alice.address, weth.address, u(1_000_000));
    await expect(tx).to.emit(market, "DeficitRealised");
    expect(await market.collateralOf(alice.address, weth.address)).to.equal(0n);
    expect((await market.accountView(alice.address)).debt).to.equal(0n);
    const bad = await market.badDebt();
    expect(bad.deficit).to.be.greaterThan(0n);
    // The fund's 1,000 plus the reserves (here the liquidation's protocol fee) pay first.
    const [, , , , reservesLeft] = await market.totals();
    expect(reservesLeft).to.equal(0n);
    expect(bad.coveredByInsurance).to.be.greaterThan(u(1_000));
    expect(await f.insuranceFund.totalAssets()).to.equal(0n);
    expect(bad.socialised).to.equal(bad.deficit - bad.coveredByInsurance);
    await expectConservation(f);
  });
});
