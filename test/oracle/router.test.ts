import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";

import type { AssetOracleConfigStruct } from "../../typechain-types/contracts/oracle/OracleRouter";
import { Action, FeedMode, loadSystem, PriceStatus, type Fixture } from "../helpers/fixture";
import { expectStatus, setPrice, usd } from "../helpers/feeds";

const DAY = 86400;

/** The WETH config as deployed, ready to be varied. */
async function wethConfig(f: Fixture): Promise<AssetOracleConfigStruct> {
  const c = await f.router.assetConfig(f.assets.WETH.address);
  return {
    primaryFeed: c.primaryFeed,
    primaryHeartbeat: c.primaryHeartbeat,
    fallbackFeed: c.fallbackFeed,
    fallbackHeartbeat: c.fallbackHeartbeat,
    confirmWindow: c.confirmWindow,
    minPrice: c.minPrice,
    maxPrice: c.maxPrice,
    maxDeviation: c.maxDeviation,
    maxDivergence: c.maxDivergence,
  };
}

describe("OracleRouter", () => {
  describe("constructor", () => {
    it("reverts on a zero admin", async () => {
      const factory = await ethers.getContractFactory("OracleRouter");
      await expect(factory.deploy(ethers.ZeroAddress, 0)).to.be.revertedWithCustomError(
        factory,
        "ZeroAddress",
      );
    });

    it("grants the admin role and emits the suspect policy", async () => {
      const [admin] = await ethers.getSigners();
      const router = await (await ethers.getContractFactory("OracleRouter")).deploy(admin.address, 1);
      await expect(router.deploymentTransaction()).to.emit(router, "SuspectPolicySet").withArgs(1);
      expect(await router.hasRole(await router.DEFAULT_ADMIN_ROLE(), admin.address)).to.equal(true);
      expect(await router.suspectPolicy()).to.equal(1);
    });
  });

  describe("setAssetConfig", () => {
    it("lists an asset: config readable, last good price set, event with the price", async () => {
      const f = await loadSystem();
      const token = await (await ethers.getContractFactory("MockERC20")).deploy("Link", "LINK", 18);
      const feed = await (await ethers.getContractFactory("MockAggregator")).deploy(8, 15_0000_0000n, "LINK");
      const config = {
        ...(await wethConfig(f)),
        primaryFeed: await feed.getAddress(),
        fallbackFeed: ethers.ZeroAddress,
      };
      const tokenAddress = await token.getAddress();
      expect(await f.router.isListed(tokenAddress)).to.equal(false);
      await expect(f.router.setAssetConfig(tokenAddress, config))
        .to.emit(f.router, "AssetOracleSet")
        .withArgs(tokenAddress, Object.values(config), usd(15));
      expect(await f.router.isListed(tokenAddress)).to.equal(true);
      const stored = await f.router.assetConfig(tokenAddress);
      expect(stored.primaryFeed).to.equal(config.primaryFeed);
      expect(stored.fallbackFeed).to.equal(ethers.ZeroAddress);
      expect(stored.maxDeviation).to.equal(config.maxDeviation);
      const [last, at] = await f.router.lastGoodPrice(tokenAddress);
      expect(last).to.equal(usd(15));
      expect(at).to.equal(await time.latest());
    });

    it("re-listing takes the current price as last good and drops a pending jump", async () => {
      const f = await loadSystem();
      const btc = f.assets.WBTC;
      await setPrice(btc, 30000);
      await expectStatus(f.router, btc, PriceStatus.SUSPECT);
      expect((await f.router.pendingPrice(btc.address))[0]).to.equal(usd(30000));
      const c = await f.router.assetConfig(btc.address);
      await f.router.setAssetConfig(btc.address, {
        primaryFeed: c.primaryFeed,
        primaryHeartbeat: c.primaryHeartbeat,
        fallbackFeed: c.fallbackFeed,
        fallbackHeartbeat: c.fallbackHeartbeat,
        confirmWindow: c.confirmWindow,
        minPrice: c.minPrice,
        maxPrice: c.maxPrice,
        maxDeviation: c.maxDeviation,
        maxDivergence: c.maxDivergence,
      });
      expect(await f.router.pendingPrice(btc.address)).to.deep.equal([0n, 0n, 0n]);
      expect((await f.router.lastGoodPrice(btc.address))[0]).to.equal(usd(30000));
      await expectStatus(f.router, btc, PriceStatus.OK, usd(30000));
    });

    it("reverts for a stranger, leaving the config unchanged", async () => {
      const f = await loadSystem();
      const config = { ...(await wethConfig(f)), confirmWindow: 1 };
      await expect(f.router.connect(f.actors.stranger).setAssetConfig(f.assets.WETH.address, config))
        .to.be.revertedWithCustomError(f.router, "AccessControlUnauthorizedAccount")
        .withArgs(f.actors.stranger.address, await f.router.DEFAULT_ADMIN_ROLE());
      expect((await f.router.assetConfig(f.assets.WETH.address)).confirmWindow).to.equal(600);
    });

    it("reverts on a zero asset or a zero primary feed", async () => {
      const f = await loadSystem();
      const config = await wethConfig(f);
      await expect(f.router.setAssetConfig(ethers.ZeroAddress, config)).to.be.revertedWithCustomError(
        f.router,
        "ZeroAddress",
      );
      await expect(
        f.router.setAssetConfig(f.assets.WETH.address, { ...config, primaryFeed: ethers.ZeroAddress }),
      ).to.be.revertedWithCustomError(f.router, "ZeroAddress");
    });

    // [field, min, max]: at each bound the call passes; one beyond it reverts with OutOfBounds.
    const bounds: [keyof AssetOracleConfigStruct, bigint, bigint][] = [
      ["primaryHeartbeat", 60n, 2n * BigInt(DAY)],
      ["fallbackHeartbeat", 60n, 2n * BigInt(DAY)],
      ["confirmWindow", 0n, BigInt(DAY)],
      ["maxDeviation", usd("0.005"), usd(10)],
      ["maxDivergence", usd("0.001"), usd("0.5")],
    ];
    for (const [field, min, max] of bounds) {
      it(`${field}: accepted at ${min} and ${max}, rejected beyond`, async () => {
        const f = await loadSystem();
        const weth = f.assets.WETH.address;
        const base = await wethConfig(f);
        // A one-minute heartbeat needs rounds younger than a minute: refresh both feeds.
        await setPrice(f.assets.WETH, 3000);
        await expect(f.router.setAssetConfig(weth, { ...base, [field]: min })).to.emit(
          f.router,
          "AssetOracleSet",
        );
        expect((await f.router.assetConfig(weth))[field]).to.equal(min);
        await expect(f.router.setAssetConfig(weth, { ...base, [field]: max })).to.emit(
          f.router,
          "AssetOracleSet",
        );
        expect((await f.router.assetConfig(weth))[field]).to.equal(max);
        if (min > 0n) {
          await expect(f.router.setAssetConfig(weth, { ...base, [field]: min - 1n }))
            .to.be.revertedWithCustomError(f.router, "OutOfBounds")
            .withArgs(field, min - 1n, min, max);
        }
        await expect(f.router.setAssetConfig(weth, { ...base, [field]: max + 1n }))
          .to.be.revertedWithCustomError(f.router, "OutOfBounds")
          .withArgs(field, max + 1n, min, max);
        expect((await f.router.assetConfig(weth))[field]).to.equal(max);
      });
    }

    it("fallbackHeartbeat is not checked without a fallback feed", async () => {
      const f = await loadSystem();
      const base = { ...(await wethConfig(f)), fallbackFeed: ethers.ZeroAddress, fallbackHeartbeat: 0 };
      await expect(f.router.setAssetConfig(f.assets.WETH.address, base)).to.emit(f.router, "AssetOracleSet");
      expect((await f.router.assetConfig(f.assets.WETH.address)).fallbackFeed).to.equal(ethers.ZeroAddress);
    });

    it("price bounds: maxPrice in [1, 1e28], minPrice below maxPrice", async () => {
      const f = await loadSystem();
      const weth = f.assets.WETH.address;
      const base = await wethConfig(f);
      const MAX = 10n ** 28n;
      await expect(f.router.setAssetConfig(weth, { ...base, maxPrice: 0 }))
        .to.be.revertedWithCustomError(f.router, "OutOfBounds")
        .withArgs("maxPrice", 0, 1, MAX);
      await expect(f.router.setAssetConfig(weth, { ...base, maxPrice: MAX + 1n }))
        .to.be.revertedWithCustomError(f.router, "OutOfBounds")
        .withArgs("maxPrice", MAX + 1n, 1, MAX);
      await expect(f.router.setAssetConfig(weth, { ...base, minPrice: usd(5), maxPrice: usd(5) }))
        .to.be.revertedWithCustomError(f.router, "OutOfBounds")
        .withArgs("minPrice", usd(5), 0, usd(5) - 1n);
      await expect(f.router.setAssetConfig(weth, { ...base, minPrice: 0, maxPrice: MAX })).to.emit(
        f.router,
        "AssetOracleSet",
      );
    });

    it("rejects a feed whose price is outside the bounds it is listed with", async () => {
      const f = await loadSystem();
      const weth = f.assets.WETH.address;
      const base = await wethConfig(f);
      await expect(f.router.setAssetConfig(weth, { ...base, minPrice: usd(3000) }))
        .to.be.revertedWithCustomError(f.router, "FeedUnhealthy")
        .withArgs(base.primaryFeed, PriceStatus.INVALID);
      await expect(f.router.setAssetConfig(weth, { ...base, maxPrice: usd(3000) }))
        .to.be.revertedWithCustomError(f.router, "FeedUnhealthy")
        .withArgs(base.primaryFeed, PriceStatus.INVALID);
    });

    it("rejects a stale or broken primary, and a stale fallback", async () => {
      const f = await loadSystem();
      const weth = f.assets.WETH;
      const base = await wethConfig(f);
      await weth.primaryFeed.mock!.goStale(3601);
      await expect(f.router.setAssetConfig(weth.address, base))
        .to.be.revertedWithCustomError(f.router, "FeedUnhealthy")
        .withArgs(base.primaryFeed, PriceStatus.STALE);
      await weth.primaryFeed.mock!.setPrice(3000_0000_0000n);
      await weth.fallbackFeed!.mock!.goStale(DAY + 1);
      await expect(f.router.setAssetConfig(weth.address, base))
        .to.be.revertedWithCustomError(f.router, "FeedUnhealthy")
        .withArgs(base.fallbackFeed, PriceStatus.STALE);
      await weth.primaryFeed.mock!.setMode(1); // REVERT
      await expect(f.router.setAssetConfig(weth.address, base))
        .to.be.revertedWithCustomError(f.router, "FeedUnhealthy")
        .withArgs(base.primaryFeed, PriceStatus.INVALID);
    });

    it("rejects feeds that disagree beyond maxDivergence", async () => {
      const f = await loadSystem();
      const weth = f.assets.WETH;
      await setPrice(weth, 3100, "fallback");
      await expect(f.router.setAssetConfig(weth.address, await wethConfig(f)))
        .to.be.revertedWithCustomError(f.router, "FeedsDisagree")
        .withArgs(usd(3000), usd(3100));
    });

    it("rejects a feed without decimals() and one with more than 18 decimals", async () => {
      const f = await loadSystem();
      const weth = f.assets.WETH.address;
      const base = await wethConfig(f);
      // An ERC20 has no decimals() that an aggregator would; use an address with no code at all.
      const noCode = ethers.Wallet.createRandom().address;
      await expect(f.router.setAssetConfig(weth, { ...base, primaryFeed: noCode }))
        .to.be.revertedWithCustomError(f.router, "FeedUnreadable")
        .withArgs(noCode);
      // A contract that has no decimals() at all.
      const routerAddress = await f.router.getAddress();
      await expect(f.router.setAssetConfig(weth, { ...base, primaryFeed: routerAddress }))
        .to.be.revertedWithCustomError(f.router, "FeedUnreadable")
        .withArgs(routerAddress);
      const wide = await (
        await ethers.getContractFactory("MockAggregator")
      ).deploy(19, 3000n * 10n ** 19n, "wide");
      await expect(f.router.setAssetConfig(weth, { ...base, primaryFeed: await wide.getAddress() }))
        .to.be.revertedWithCustomError(f.router, "FeedDecimalsUnsupported")
        .withArgs(await wide.getAddress(), 19);
    });
  });

  describe("setSequencer", () => {
    it("sets and clears the sequencer feed with its grace period, evented", async () => {
      const f = await loadSystem();
      const feed = await (await ethers.getContractFactory("MockSequencerFeed")).deploy();
      const address = await feed.getAddress();
      await expect(f.router.setSequencer(address, 3600))
        .to.emit(f.router, "SequencerFeedSet")
        .withArgs(address, 3600);
      expect(await f.router.sequencer()).to.deep.equal([address, 3600n]);
      await expect(f.router.setSequencer(ethers.ZeroAddress, 0))
        .to.emit(f.router, "SequencerFeedSet")
        .withArgs(ethers.ZeroAddress, 0);
      expect(await f.router.sequencer()).to.deep.equal([ethers.ZeroAddress, 0n]);
    });

    it("bounds the grace period at one day", async () => {
      const f = await loadSystem();
      const feed = await (await ethers.getContractFactory("MockSequencerFeed")).deploy();
      await expect(f.router.setSequencer(await feed.getAddress(), DAY)).to.emit(f.router, "SequencerFeedSet");
      await expect(f.router.setSequencer(await feed.getAddress(), DAY + 1))
        .to.be.revertedWithCustomError(f.router, "OutOfBounds")
        .withArgs("gracePeriod", DAY + 1, 0, DAY);
    });

    it("rejects a sequencer feed that does not answer", async () => {
      const f = await loadSystem();
      const feed = await (await ethers.getContractFactory("MockSequencerFeed")).deploy();
      await feed.setReverting(true);
      await expect(f.router.setSequencer(await feed.getAddress(), 3600))
        .to.be.revertedWithCustomError(f.router, "FeedUnreadable")
        .withArgs(await feed.getAddress());
    });

    it("reverts for a stranger", async () => {
      const f = await loadSystem();
      await expect(
        f.router.connect(f.actors.stranger).setSequencer(ethers.ZeroAddress, 0),
      ).to.be.revertedWithCustomError(f.router, "AccessControlUnauthorizedAccount");
    });
  });

  describe("setSuspectPolicy", () => {
    it("switches between waiting and trusting the gap, evented", async () => {
      const f = await loadSystem();
      expect(await f.router.isAllowed(PriceStatus.SUSPECT, Action.LIQUIDATE)).to.equal(false);
      await expect(f.router.setSuspectPolicy(1)).to.emit(f.router, "SuspectPolicySet").withArgs(1);
      expect(await f.router.suspectPolicy()).to.equal(1);
      expect(await f.router.isAllowed(PriceStatus.SUSPECT, Action.LIQUIDATE)).to.equal(true);
      await expect(f.router.setSuspectPolicy(0)).to.emit(f.router, "SuspectPolicySet").withArgs(0);
      expect(await f.router.isAllowed(PriceStatus.SUSPECT, Action.LIQUIDATE)).to.equal(false);
    });

    it("reverts for a stranger, and on a value that is not a policy", async () => {
      const f = await loadSystem();
      await expect(f.router.connect(f.actors.stranger).setSuspectPolicy(1)).to.be.revertedWithCustomError(
        f.router,
        "AccessControlUnauthorizedAccount",
      );
      await expect(f.router.setSuspectPolicy(2)).to.be.reverted;
      expect(await f.router.suspectPolicy()).to.equal(0);
    });
  });

  describe("price, priceFor and peek", () => {
    it("revert with AssetNotListed for an unknown asset", async () => {
      const f = await loadSystem();
      const unknown = f.actors.stranger.address;
      await expect(f.router.price(unknown))
        .to.be.revertedWithCustomError(f.router, "AssetNotListed")
        .withArgs(unknown);
      await expect(f.router.priceFor(unknown, Action.SUPPLY))
        .to.be.revertedWithCustomError(f.router, "AssetNotListed")
        .withArgs(unknown);
      await expect(f.router.peek(unknown))
        .to.be.revertedWithCustomError(f.router, "AssetNotListed")
        .withArgs(unknown);
      await expect(f.router.assetConfig(unknown)).to.be.revertedWithCustomError(f.router, "AssetNotListed");
    });

    it("return the WAD price for feeds of 8 and 18 decimals; priceFor allows every action on OK", async () => {
      const f = await loadSystem();
      await expectStatus(f.router, f.assets.WETH, PriceStatus.OK, usd(3000));
      await expectStatus(f.router, f.assets.WBTC, PriceStatus.OK, usd(60000));
      for (let action = 0; action <= Action.ADD_MARGIN; action++) {
        const [p, s] = await f.router.priceFor.staticCall(f.assets.WETH.address, action);
        expect(p).to.equal(usd(3000));
        expect(s).to.equal(PriceStatus.OK);
      }
    });

    it("follow a market move within maxDeviation and record it as the last good price", async () => {
      const f = await loadSystem();
      await setPrice(f.assets.WBTC, "65432.12345678");
      await expectStatus(f.router, f.assets.WBTC, PriceStatus.OK, usd("65432.12345678"));
      const [last, at] = await f.router.lastGoodPrice(f.assets.WBTC.address);
      expect(last).to.equal(usd("65432.12345678"));
      expect(at).to.equal(await time.latest());
    });

    it("emit PriceStatusChanged only when the status changes", async () => {
      const f = await loadSystem();
      const btc = f.assets.WBTC;
      await expect(f.router.price(btc.address)).to.not.emit(f.router, "PriceStatusChanged");
      await btc.primaryFeed.mock!.goStale(3601);
      await expect(f.router.price(btc.address))
        .to.emit(f.router, "PriceStatusChanged")
        .withArgs(btc.address, PriceStatus.OK, PriceStatus.STALE, usd(60000));
      await expect(f.router.price(btc.address)).to.not.emit(f.router, "PriceStatusChanged");
      await setPrice(btc, 61000);
      await expect(f.router.price(btc.address))
        .to.emit(f.router, "PriceStatusChanged")
        .withArgs(btc.address, PriceStatus.STALE, PriceStatus.OK, usd(61000));
    });

    it("priceFor refuses a risk-adding action with the status in the error, and records the read", async () => {
      const f = await loadSystem();
      const btc = f.assets.WBTC;
      await btc.primaryFeed.mock!.goStale(4000);
      await expect(f.router.priceFor(btc.address, Action.BORROW))
        .to.be.revertedWithCustomError(f.router, "PriceNotUsable")
        .withArgs(btc.address, Action.BORROW, PriceStatus.STALE);
      await expect(f.router.priceFor(btc.address, Action.REPAY))
        .to.emit(f.router, "PriceStatusChanged")
        .withArgs(btc.address, PriceStatus.OK, PriceStatus.STALE, usd(60000));
    });

    it("a jump is SUSPECT from the round's time; a later round at the same level keeps the clock", async () => {
      const f = await loadSystem();
      const btc = f.assets.WBTC;
      await setPrice(btc, 36000); // -40%
      const start = await time.latest();
      await time.increase(300);
      await expect(f.router.price(btc.address))
        .to.emit(f.router, "SuspectPriceSeen")
        .withArgs(btc.address, usd(36000), usd(60000), start, await btc.primaryFeed.mock!.latestRound());
      expect(await f.router.pendingPrice(btc.address)).to.deep.equal([
        usd(36000),
        BigInt(start),
        await btc.primaryFeed.mock!.latestRound(),
      ]);
      await setPrice(btc, 36100); // same level, new round stamped now
      await time.increase(200);
      await expectStatus(f.router, btc, PriceStatus.SUSPECT, usd(36100));
      await time.increase(100); // 600 s since the first round at this level
      await expectStatus(f.router, btc, PriceStatus.OK, usd(36100));
      expect(await f.router.pendingPrice(btc.address)).to.deep.equal([0n, 0n, 0n]);
      expect((await f.router.lastGoodPrice(btc.address))[0]).to.equal(usd(36100));
    });

    it("a new level restarts the confirmation clock", async () => {
      const f = await loadSystem();
      const btc = f.assets.WBTC;
      await setPrice(btc, 36000);
      await f.router.price(btc.address);
      await time.increase(500);
      await setPrice(btc, 30000); // a further fall: a different level
      const restart = await time.latest();
      await time.increase(200);
      await expectStatus(f.router, btc, PriceStatus.SUSPECT, usd(30000));
      expect(await f.router.pendingPrice(btc.address)).to.deep.equal([
        usd(30000),
        BigInt(restart),
        await btc.primaryFeed.mock!.latestRound(),
      ]);
    });

    it("garbage words: an answer above 2^128 or a round id above 2^80 is INVALID", async () => {
      const f = await loadSystem();
      const btc = f.assets.WBTC;
      const feed = btc.primaryFeed.mock!;
      const now = BigInt(await time.latest());
      await feed.setRound(2n ** 128n, now, now);
      await expectStatus(f.router, btc, PriceStatus.INVALID, usd(60000));
      await setPrice(btc, 60000);
      await expectStatus(f.router, btc, PriceStatus.OK, usd(60000));
      await feed.setMode(FeedMode.WIDE_ROUND);
      await expectStatus(f.router, btc, PriceStatus.INVALID, usd(60000));
    });

    it("peek records nothing", async () => {
      const f = await loadSystem();
      const btc = f.assets.WBTC;
      await setPrice(btc, 36000);
      const [p, s] = await f.router.peek(btc.address);
      expect([p, s]).to.deep.equal([usd(36000), BigInt(PriceStatus.SUSPECT)]);
      expect(await f.router.pendingPrice(btc.address)).to.deep.equal([0n, 0n, 0n]);
    });
  });
});
