import { expect } from "chai";
import { ethers } from "hardhat";

import { Action, enumNames, FeedMode, PriceStatus } from "../../deploy/enums";
import { loadSystem } from "../helpers/fixture";

describe("TypeScript enum mirrors", () => {
  it("PriceStatus and Action match the contract: every value round-trips, one past the end reverts", async () => {
    const { router } = await loadSystem();
    for (const name of enumNames(PriceStatus)) {
      const status = PriceStatus[name as keyof typeof PriceStatus];
      // allowedActions(OK) is all actions; each status decodes.
      await router.allowedActions(status);
    }
    await expect(router.allowedActions(enumNames(PriceStatus).length)).to.be.reverted;
    const all = await router.allowedActions(PriceStatus.OK);
    expect(all).to.equal((1n << BigInt(enumNames(Action).length)) - 1n);
    await expect(router.isAllowed(PriceStatus.OK, enumNames(Action).length)).to.be.reverted;
  });

  it("FeedMode matches MockAggregator.Mode", async () => {
    const feed = await (await ethers.getContractFactory("MockAggregator")).deploy(8, 1, "x");
    for (const name of enumNames(FeedMode)) {
      const mode = FeedMode[name as keyof typeof FeedMode];
      await feed.setMode(mode);
      expect(await feed.mode()).to.equal(mode);
    }
    await expect(feed.setMode(enumNames(FeedMode).length)).to.be.reverted;
  });
});
