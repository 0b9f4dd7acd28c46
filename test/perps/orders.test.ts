import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { loadPerps, px, size, u, setEth } from "../helpers/perps";

describe("scratch", function () {
  it("layout", async function () {
    const f = await loadPerps();
    const { lp, alice } = f.actors;
    await f.vault.connect(lp).deposit(u(1_000_000), lp.address);
    await f.perp.connect(alice).depositMargin(u(3_000), alice.address);
    await f.perp.connect(alice).modifyPosition(f.ETH, size(10), px(3100));
    const mv = await f.perp.marketView(f.ETH);
    await time.increase(28);
    console.log(await time.latest() - Number(mv.lastFundingTime));
    console.log("owed latest", (await f.perp.positionView(alice.address, f.ETH)).fundingOwed);
    console.log("owed pending", (await f.perp.positionView(alice.address, f.ETH, { blockTag: "pending" })).fundingOwed);
    await time.setNextBlockTimestamp((await time.latest()) + 1000);
    console.log("owed pending after set +1000", (await f.perp.positionView(alice.address, f.ETH, { blockTag: "pending" })).fundingOwed);
  });
});
