import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { loadPerps, px, size, u, setEth } from "../helpers/perps";

describe("scratch", function () {
  it("view timestamp", async function () {
    const f = await loadPerps();
    const { lp, alice } = f.actors;
    await f.vault.connect(lp).deposit(u(1_000_000), lp.address);
    await f.perp.connect(alice).depositMargin(u(30_000), alice.address);
    await f.perp.connect(alice).modifyPosition(f.ETH, size(10), px(3100));
    const t0 = await time.latest();
    const v0 = await f.perp.positionView(alice.address, f.ETH);
    await time.increase(1000);
    const t1 = await time.latest();
    const v1 = await f.perp.positionView(alice.address, f.ETH);
    await new Promise((r) => setTimeout(r, 2500));
    const v2 = await f.perp.positionView(alice.address, f.ETH);
    await time.setNextBlockTimestamp(t1 + 5000);
    const v3 = await f.perp.positionView(alice.address, f.ETH);
    const m = await f.perp.marketView(f.ETH);
    console.log(t0, t1, m.lastFundingTime, m.fundingRate, v0.fundingOwed, v1.fundingOwed, v2.fundingOwed, v3.fundingOwed);
  });
});
