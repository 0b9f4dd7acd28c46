/**
 * The oracle-failure matrix: every fault the MockAggregator and the sequencer mock can produce, the status
 * and price the router reports for it, and, for each, that a risk-adding action is refused with
 * PriceNotUsable while a risk-reducing one still goes through.
 *
 * Timing notes (Hardhat): `peek` and `staticCall` run at the latest block's timestamp, a transaction runs
 * in the next block. Boundaries are therefore tested with `time.setNextBlockTimestamp` followed by a
 * transaction (whose outcome, revert or event, is what is asserted), never with a view call.
 */
import { expect } from "chai";
import { time, setCode } from "@nomicfoundation/hardhat-network-helpers";

import { SuspectPolicy } from "../../deploy/config";
import type { DeployedAsset, DeployedFeed } from "../../deploy/deploySystem";
import type { MockAggregator, MockSequencerFeed, OracleRouter } from "../../typechain-types";
import { Action, FeedMode, loadL2System, loadSystem, PriceStatus } from "../helpers/fixture";
import { answer, expectStatus, setPrice, usd } from "../helpers/feeds";

const PRIMARY_HEARTBEAT = 3600;
const FALLBACK_HEARTBEAT = 86400;
const CONFIRM_WINDOW = 600;
const GRACE_PERIOD = 3600;

/* HELPERS */

function mockOf(feed: DeployedFeed | undefined): MockAggregator {
  if (!feed?.mock) throw new Error("expected a mock feed");
  return feed.mock;
}

function sequencerMock(sequencer: { mock?: MockSequencerFeed } | undefined): MockSequencerFeed {
  if (!sequencer?.mock) throw new Error("expected a mock sequencer feed");
  return sequencer.mock;
}

/** The `updatedAt` the feed currently reports. */
async function updatedAt(feed: MockAggregator): Promise<bigint> {
  const [, , , u] = await feed.latestRoundData();
  return u;
}

/** `action` is refused with PriceNotUsable(asset, action, status). */
async function expectRefused(
  router: OracleRouter,
  asset: DeployedAsset,
  action: Action,
  status: PriceStatus,
) {
  await expect(router.priceFor(asset.address, action))
    .to.be.revertedWithCustomError(router, "PriceNotUsable")
    .withArgs(asset.address, action, status);
}

/** `action` goes through. */
async function expectAllowed(router: OracleRouter, asset: DeployedAsset, action: Action) {
  await expect(router.priceFor(asset.address, action)).to.not.be.reverted;
}

/** The usual pair for a status with no trustworthy price: borrow and liquidate refused, repay allowed. */
async function expectOnlyRiskReducing(router: OracleRouter, asset: DeployedAsset, status: PriceStatus) {
  await expectRefused(router, asset, Action.BORROW, status);
  await expectRefused(router, asset, Action.LIQUIDATE, status);
  await expectAllowed(router, asset, Action.REPAY);
  await expectAllowed(router, asset, Action.ADD_COLLATERAL);
}

/** FALLBACK (or SUSPECT under TRUST_GAP): settling actions allowed, risk-adding ones refused. */
async function expectSettleOnly(router: OracleRouter, asset: DeployedAsset, status: PriceStatus) {
  await expectRefused(router, asset, Action.BORROW, status);
  await expectRefused(router, asset, Action.WITHDRAW_COLLATERAL, status);
  await expectAllowed(router, asset, Action.LIQUIDATE);
  await expectAllowed(router, asset, Action.CLOSE);
  await expectAllowed(router, asset, Action.REPAY);
}

async function expectLastGood(router: OracleRouter, asset: DeployedAsset, priceWad: bigint) {
  const [p] = await router.lastGoodPrice(asset.address);
  expect(p, "lastGoodPrice").to.equal(priceWad);
}

async function expectNoPending(router: OracleRouter, asset: DeployedAsset) {
  const [p, since] = await router.pendingPrice(asset.address);
  expect(p, "pendingPrice").to.equal(0n);
  expect(since, "pendingSince").to.equal(0n);
}

/**
 * Runtime code of a minimal Chainlink-shaped feed: whatever it is called with, it returns
 * (roundId, answer, block.timestamp, block.timestamp, roundId).
 */
function constantFeedCode(roundId: bigint, answerRaw: bigint): string {
  const word = (v: bigint) => v.toString(16).padStart(64, "0");
  const PUSH32 = "7f";
  const PUSH1 = (b: number) => "60" + b.toString(16).padStart(2, "0");
  const MSTORE = "52";
  const TIMESTAMP = "42";
  const RETURN = "f3";
  return (
    "0x" +
    [
      PUSH32 + word(roundId) + PUSH1(0x00) + MSTORE,
      PUSH32 + word(answerRaw) + PUSH1(0x20) + MSTORE,
      TIMESTAMP + PUSH1(0x40) + MSTORE,
      TIMESTAMP + PUSH1(0x60) + MSTORE,
      PUSH32 + word(roundId) + PUSH1(0x80) + MSTORE,
      PUSH1(0xa0) + PUSH1(0x00) + RETURN,
    ].join("")
  );
}

/* THE MATRIX */

describe("oracle failure matrix", () => {
  describe("stale feeds", () => {
    it("stale primary without fallback (goStale): STALE, last good price, borrow refused, repay allowed", async () => {
      const { router, assets } = await loadSystem();
      const wbtc = assets.WBTC;
      const feed = mockOf(wbtc.primaryFeed);

      await setPrice(wbtc, 61000);
      await expectStatus(router, wbtc, PriceStatus.OK, usd(61000));
      // The feed moves again but no one reads it, then stops updating: the router must not use its answer.
      await setPrice(wbtc, 62000);
      await feed.goStale(PRIMARY_HEARTBEAT + 1);

      await expect(router.price(wbtc.address))
        .to.emit(router, "PriceStatusChanged")
        .withArgs(wbtc.address, PriceStatus.OK, PriceStatus.STALE, usd(61000));
      await expectStatus(router, wbtc, PriceStatus.STALE, usd(61000));
      await expectOnlyRiskReducing(router, wbtc, PriceStatus.STALE);
      await expectLastGood(router, wbtc, usd(61000));
    });

    it("stale by time passing: exactly at the heartbeat OK, heartbeat + 1 STALE", async () => {
      const { router, assets } = await loadSystem();
      const wbtc = assets.WBTC;
      const u = await updatedAt(mockOf(wbtc.primaryFeed));

      await time.setNextBlockTimestamp(u + BigInt(PRIMARY_HEARTBEAT));
      await expect(router.priceFor(wbtc.address, Action.BORROW)).to.not.be.reverted;
      expect(await time.latest()).to.equal(Number(u) + PRIMARY_HEARTBEAT);
      const [p, s] = await router.peek(wbtc.address);
      expect(Number(s)).to.equal(PriceStatus.OK);
      expect(p).to.equal(usd(60000));

      await time.setNextBlockTimestamp(u + BigInt(PRIMARY_HEARTBEAT + 1));
      await expect(router.priceFor(wbtc.address, Action.BORROW))
        .to.be.revertedWithCustomError(router, "PriceNotUsable")
        .withArgs(wbtc.address, Action.BORROW, PriceStatus.STALE);
      expect(await time.latest()).to.equal(Number(u) + PRIMARY_HEARTBEAT + 1);

      await expectStatus(router, wbtc, PriceStatus.STALE, usd(60000));
      await expectOnlyRiskReducing(router, wbtc, PriceStatus.STALE);

      // A fresh round ends it.
      await setPrice(wbtc, 60500);
      await expectStatus(router, wbtc, PriceStatus.OK, usd(60500));
      await expectAllowed(router, wbtc, Action.BORROW);
    });

    it("stale primary with a fresh fallback: FALLBACK at the fallback's price, liquidate allowed, borrow refused", async () => {
      const { router, assets } = await loadSystem();
      const weth = assets.WETH;

      await setPrice(weth, 3010, "fallback"); // within maxDivergence of the primary's 3000
      await expectStatus(router, weth, PriceStatus.OK, usd(3000));
      await mockOf(weth.primaryFeed).goStale(PRIMARY_HEARTBEAT + 1);

      await expect(router.price(weth.address))
        .to.emit(router, "PriceStatusChanged")
        .withArgs(weth.address, PriceStatus.OK, PriceStatus.FALLBACK, usd(3010));
      await expectStatus(router, weth, PriceStatus.FALLBACK, usd(3010));
      await expectSettleOnly(router, weth, PriceStatus.FALLBACK);
      await expectLastGood(router, weth, usd(3010));
    });

    it("both feeds stale: STALE with the last good price, only risk-reducing actions", async () => {
      const { router, assets } = await loadSystem();
      const weth = assets.WETH;

      await setPrice(weth, 3010, "fallback");
      await mockOf(weth.primaryFeed).goStale(PRIMARY_HEARTBEAT + 1);
      await expectStatus(router, weth, PriceStatus.FALLBACK, usd(3010));
      // Now the fallback stops too; its market moves on unseen.
      await mockOf(weth.fallbackFeed).setPrice(answer(weth.fallbackFeed!, 2990));
      await mockOf(weth.fallbackFeed).goStale(FALLBACK_HEARTBEAT + 1);

      await expectStatus(router, weth, PriceStatus.STALE, usd(3010));
      await expectOnlyRiskReducing(router, weth, PriceStatus.STALE);
      await expectLastGood(router, weth, usd(3010));
    });
  });

  describe("frozen feed (fresh timestamps, old answer)", () => {
    it("frozen primary without fallback: stays OK at the frozen price (undetectable, a documented limitation)", async () => {
      const { router, assets } = await loadSystem();
      const wbtc = assets.WBTC;
      const feed = mockOf(wbtc.primaryFeed);

      await feed.setMode(FeedMode.FREEZE);
      await setPrice(wbtc, 50000); // the market falls 16.7%
      expect(await feed.marketAnswer()).to.equal(answer(wbtc.primaryFeed, 50000));

      await expectStatus(router, wbtc, PriceStatus.OK, usd(60000));
      // Hours later the frozen feed still looks fresh, and risk-adding actions still run at the old price.
      await time.increase(3 * PRIMARY_HEARTBEAT);
      await setPrice(wbtc, 40000);
      await expectStatus(router, wbtc, PriceStatus.OK, usd(60000));
      await expectAllowed(router, wbtc, Action.BORROW);
      await expectLastGood(router, wbtc, usd(60000));
    });

    it("frozen primary with fallback: OK while within 2%, DISAGREE once the fallback moves >2% away", async () => {
      const { router, assets } = await loadSystem();
      const weth = assets.WETH;

      await mockOf(weth.primaryFeed).setMode(FeedMode.FREEZE);
      await setPrice(weth, 3050); // fallback 1.6% from the frozen 3000: agreement
      await expectStatus(router, weth, PriceStatus.OK, usd(3000));

      await setPrice(weth, 3100); // fallback 3.2% away
      await expect(router.price(weth.address))
        .to.emit(router, "PriceStatusChanged")
        .withArgs(weth.address, PriceStatus.OK, PriceStatus.DISAGREE, usd(3000));
      await expectStatus(router, weth, PriceStatus.DISAGREE, usd(3000));
      await expectOnlyRiskReducing(router, weth, PriceStatus.DISAGREE);
      await expectNoPending(router, weth); // disagreement is not a pending jump
    });

    it("DISAGREE (feed disagreement) does not become OK with time (feeds kept fresh)", async () => {
      const { router, assets } = await loadSystem();
      const weth = assets.WETH;

      await mockOf(weth.primaryFeed).setMode(FeedMode.FREEZE);
      await setPrice(weth, 3100);
      await expectStatus(router, weth, PriceStatus.DISAGREE, usd(3000));

      for (const step of [CONFIRM_WINDOW + 1, 2 * CONFIRM_WINDOW, PRIMARY_HEARTBEAT]) {
        await time.increase(step);
        await setPrice(weth, 3100); // fresh rounds on both; the frozen primary keeps answering 3000
        await expectStatus(router, weth, PriceStatus.DISAGREE, usd(3000));
        await expectOnlyRiskReducing(router, weth, PriceStatus.DISAGREE);
      }
      await expectLastGood(router, weth, usd(3000));
    });
  });

  describe("garbage answers", () => {
    it("answer zero on a feed without fallback: INVALID, last good price, borrow refused, repay allowed", async () => {
      const { router, assets } = await loadSystem();
      const wbtc = assets.WBTC;
      const now = await time.latest();

      await mockOf(wbtc.primaryFeed).setRound(0, now, now);
      await expectStatus(router, wbtc, PriceStatus.INVALID, usd(60000));
      await expectOnlyRiskReducing(router, wbtc, PriceStatus.INVALID);
    });

    it("answer negative on a feed without fallback: INVALID, last good price", async () => {
      const { router, assets } = await loadSystem();
      const wbtc = assets.WBTC;
      const now = await time.latest();

      await mockOf(wbtc.primaryFeed).setRound(-answer(wbtc.primaryFeed, 60000), now, now);
      await expectStatus(router, wbtc, PriceStatus.INVALID, usd(60000));
      await expectOnlyRiskReducing(router, wbtc, PriceStatus.INVALID);
      await mockOf(wbtc.primaryFeed).setRound(-1, now, now);
      await expectStatus(router, wbtc, PriceStatus.INVALID, usd(60000));
    });

    it("answer zero or negative on the primary with a fallback: FALLBACK, liquidate allowed, borrow refused", async () => {
      const { router, assets } = await loadSystem();
      const weth = assets.WETH;
      const primary = mockOf(weth.primaryFeed);
      await setPrice(weth, 2990, "fallback");

      let now = await time.latest();
      await primary.setRound(0, now, now);
      await expectStatus(router, weth, PriceStatus.FALLBACK, usd(2990));
      await expectSettleOnly(router, weth, PriceStatus.FALLBACK);

      now = await time.latest();
      await primary.setRound(-1, now, now);
      await expectStatus(router, weth, PriceStatus.FALLBACK, usd(2990));
      await expectSettleOnly(router, weth, PriceStatus.FALLBACK);
    });

    it("roundId 0 (a hand-written feed, the mock cannot report it): INVALID; the same answer with roundId 1 is OK", async () => {
      const { router, assets } = await loadSystem();
      const wbtc = assets.WBTC;
      // The router read the feed's decimals at listing; from now on it only calls latestRoundData().
      await setCode(wbtc.primaryFeed.address, constantFeedCode(1n, answer(wbtc.primaryFeed, 60100)));
      await expectStatus(router, wbtc, PriceStatus.OK, usd(60100));

      await setCode(wbtc.primaryFeed.address, constantFeedCode(0n, answer(wbtc.primaryFeed, 60200)));
      await expectStatus(router, wbtc, PriceStatus.INVALID, usd(60100));
      await expectOnlyRiskReducing(router, wbtc, PriceStatus.INVALID);
    });

    it("updatedAt 0: INVALID (FALLBACK with a fallback)", async () => {
      const { router, assets } = await loadSystem();
      const { WBTC: wbtc, WETH: weth } = assets;

      await mockOf(wbtc.primaryFeed).setRound(answer(wbtc.primaryFeed, 60000), 0, 0);
      await expectStatus(router, wbtc, PriceStatus.INVALID, usd(60000));
      await expectOnlyRiskReducing(router, wbtc, PriceStatus.INVALID);

      await mockOf(weth.primaryFeed).setRound(answer(weth.primaryFeed, 3000), 0, 0);
      await expectStatus(router, weth, PriceStatus.FALLBACK, usd(3000));
      await expectSettleOnly(router, weth, PriceStatus.FALLBACK);
    });

    it("updatedAt in the future: INVALID until the clock reaches it", async () => {
      const { router, assets } = await loadSystem();
      const wbtc = assets.WBTC;
      const now = await time.latest();
      const future = now + 1000;

      await mockOf(wbtc.primaryFeed).setRound(answer(wbtc.primaryFeed, 60100), now, future);
      await expectStatus(router, wbtc, PriceStatus.INVALID, usd(60000));
      await expectOnlyRiskReducing(router, wbtc, PriceStatus.INVALID);

      await time.increaseTo(future);
      await expectStatus(router, wbtc, PriceStatus.OK, usd(60100));
    });

    it("short return data: INVALID (FALLBACK with a fallback)", async () => {
      const { router, assets } = await loadSystem();
      const { WBTC: wbtc, WETH: weth } = assets;

      await mockOf(wbtc.primaryFeed).setMode(FeedMode.SHORT_RETURN);
      await expectStatus(router, wbtc, PriceStatus.INVALID, usd(60000));
      await expectOnlyRiskReducing(router, wbtc, PriceStatus.INVALID);

      await mockOf(weth.primaryFeed).setMode(FeedMode.SHORT_RETURN);
      await expectStatus(router, weth, PriceStatus.FALLBACK, usd(3000));
      await expectSettleOnly(router, weth, PriceStatus.FALLBACK);
    });
  });

  describe("failing calls", () => {
    it("reverting feed: INVALID without fallback, FALLBACK with one, INVALID when both revert", async () => {
      const { router, assets } = await loadSystem();
      const { WBTC: wbtc, WETH: weth } = assets;

      await mockOf(wbtc.primaryFeed).setMode(FeedMode.REVERT);
      await expect(mockOf(wbtc.primaryFeed).latestRoundData()).to.be.revertedWithCustomError(
        mockOf(wbtc.primaryFeed),
        "MockFeedReverted",
      );
      await expectStatus(router, wbtc, PriceStatus.INVALID, usd(60000));
      await expectOnlyRiskReducing(router, wbtc, PriceStatus.INVALID);

      await setPrice(weth, 2990, "fallback");
      await mockOf(weth.primaryFeed).setMode(FeedMode.REVERT);
      await expectStatus(router, weth, PriceStatus.FALLBACK, usd(2990));
      await expectSettleOnly(router, weth, PriceStatus.FALLBACK);

      await mockOf(weth.fallbackFeed).setMode(FeedMode.REVERT);
      await expectStatus(router, weth, PriceStatus.INVALID, usd(2990));
      await expectOnlyRiskReducing(router, weth, PriceStatus.INVALID);

      // Healing brings it back.
      await mockOf(weth.primaryFeed).heal();
      await mockOf(weth.fallbackFeed).heal();
      await expectStatus(router, weth, PriceStatus.OK, usd(3000));
    });

    it("feed burning all its gas: INVALID / FALLBACK, and the transaction still succeeds", async () => {
      const { router, assets } = await loadSystem();
      const { WBTC: wbtc, WETH: weth } = assets;

      await mockOf(wbtc.primaryFeed).setMode(FeedMode.BURN_GAS);
      const receipt = await (await router.price(wbtc.address)).wait();
      expect(receipt!.status).to.equal(1);
      expect(receipt!.gasUsed).to.be.greaterThan(await router.FEED_GAS_LIMIT());
      await expectStatus(router, wbtc, PriceStatus.INVALID, usd(60000));
      await expectOnlyRiskReducing(router, wbtc, PriceStatus.INVALID);

      await mockOf(weth.primaryFeed).setMode(FeedMode.BURN_GAS);
      await expect(router.price(weth.address)).to.not.be.reverted;
      await expectStatus(router, weth, PriceStatus.FALLBACK, usd(3000));
      await expectSettleOnly(router, weth, PriceStatus.FALLBACK);

      // Both feeds burning: two full allowances are spent and the read still completes.
      await mockOf(weth.fallbackFeed).setMode(FeedMode.BURN_GAS);
      const both = await (await router.price(weth.address)).wait();
      expect(both!.status).to.equal(1);
      expect(both!.gasUsed).to.be.greaterThan(2n * (await router.FEED_GAS_LIMIT()));
      await expectStatus(router, weth, PriceStatus.INVALID, usd(3000));
      await expectOnlyRiskReducing(router, weth, PriceStatus.INVALID);
    });

    it("gas guard: a caller that leaves too little gas gets OracleGasTooLow, not a faked feed failure", async () => {
      const { router, assets } = await loadSystem();
      const { WBTC: wbtc, WETH: weth } = assets;
      const needed = await router.MIN_GAS_FOR_READ();

      // A healthy feed, starved caller.
      await expect(router.price(wbtc.address, { gasLimit: 100_000 }))
        .to.be.revertedWithCustomError(router, "OracleGasTooLow")
        .withArgs((left: bigint) => left < needed, needed);
      await expect(router.priceFor(wbtc.address, Action.LIQUIDATE, { gasLimit: 100_000 }))
        .to.be.revertedWithCustomError(router, "OracleGasTooLow")
        .withArgs((left: bigint) => left < needed, needed);

      // Enough for the primary's call but not for the fallback's after the primary burnt its allowance:
      // the read reverts rather than reporting a fallback the caller chose to skip.
      await mockOf(weth.primaryFeed).setMode(FeedMode.BURN_GAS);
      await expect(router.price(weth.address, { gasLimit: 200_000 }))
        .to.be.revertedWithCustomError(router, "OracleGasTooLow")
        .withArgs((left: bigint) => left < needed, needed);
      // With ample gas the same read completes as FALLBACK.
      await expect(router.price(weth.address, { gasLimit: 1_000_000 })).to.not.be.reverted;
      await expectStatus(router, weth, PriceStatus.FALLBACK, usd(3000));
    });
  });

  describe("price bounds", () => {
    it("feed clamped at a floor equal to minPrice (LUNA): INVALID; just above minPrice is OK", async () => {
      const { router, assets } = await loadSystem();
      const wbtc = assets.WBTC;
      const feed = mockOf(wbtc.primaryFeed);
      const floor = answer(wbtc.primaryFeed, 10); // the router's minPrice, 10 USD
      await feed.setFloor(floor);

      // Walk the price down to just above minPrice: a jump is SUSPECT, then confirmed by persistence.
      await setPrice(wbtc, "10.5");
      await expectStatus(router, wbtc, PriceStatus.SUSPECT, usd("10.5"));
      await time.increase(CONFIRM_WINDOW);
      await expectStatus(router, wbtc, PriceStatus.OK, usd("10.5"));
      await setPrice(wbtc, "10.01");
      await expectStatus(router, wbtc, PriceStatus.OK, usd("10.01"));
      await expectAllowed(router, wbtc, Action.BORROW);

      // The market crashes through the floor: the feed keeps reporting the floor.
      await setPrice(wbtc, 4);
      expect(await feed.marketAnswer()).to.equal(floor);
      const [, reported] = await feed.latestRoundData();
      expect(reported).to.equal(floor);
      await expect(router.price(wbtc.address))
        .to.emit(router, "PriceStatusChanged")
        .withArgs(wbtc.address, PriceStatus.OK, PriceStatus.INVALID, usd("10.01"));
      await expectStatus(router, wbtc, PriceStatus.INVALID, usd("10.01"));
      await expectOnlyRiskReducing(router, wbtc, PriceStatus.INVALID);
      await expectLastGood(router, wbtc, usd("10.01"));
    });

    it("price at or above maxPrice (and a feed clamped at a ceiling there): INVALID", async () => {
      const { router, assets } = await loadSystem();
      const { WBTC: wbtc, WETH: weth } = assets;

      // Just below maxPrice is in bounds (here a jump, so SUSPECT, not INVALID).
      await setPrice(wbtc, "9999999.99999999");
      await expectStatus(router, wbtc, PriceStatus.SUSPECT, usd("9999999.99999999"));

      await setPrice(wbtc, 10_000_000); // exactly maxPrice
      await expectStatus(router, wbtc, PriceStatus.INVALID, usd(60000));
      await expectOnlyRiskReducing(router, wbtc, PriceStatus.INVALID);

      await setPrice(wbtc, 25_000_000);
      await expectStatus(router, wbtc, PriceStatus.INVALID, usd(60000));

      // A feed with a ceiling at maxPrice: the market goes beyond, the feed reports the ceiling.
      await mockOf(wbtc.primaryFeed).setCeiling(answer(wbtc.primaryFeed, 10_000_000));
      await setPrice(wbtc, 30_000_000);
      expect(await mockOf(wbtc.primaryFeed).marketAnswer()).to.equal(answer(wbtc.primaryFeed, 10_000_000));
      await expectStatus(router, wbtc, PriceStatus.INVALID, usd(60000));

      // WETH: both feeds at maxPrice (1e6 USD).
      await setPrice(weth, 1_000_000);
      await expectStatus(router, weth, PriceStatus.INVALID, usd(3000));
      await expectOnlyRiskReducing(router, weth, PriceStatus.INVALID);
    });
  });

  describe("jumps", () => {
    it("one-round spike: SUSPECT at the spike, liquidate refused (wait) then allowed (trust gap), next round OK", async () => {
      const { router, assets, admin } = await loadSystem();
      const wbtc = assets.WBTC;
      const feed = mockOf(wbtc.primaryFeed);

      await feed.spikeOnce(answer(wbtc.primaryFeed, 90000)); // +50%
      const spikeAt = await updatedAt(feed);
      await expect(router.price(wbtc.address))
        .to.emit(router, "SuspectPriceSeen")
        .withArgs(wbtc.address, usd(90000), usd(60000), spikeAt, await feed.latestRound())
        .and.to.emit(router, "PriceStatusChanged")
        .withArgs(wbtc.address, PriceStatus.OK, PriceStatus.SUSPECT, usd(90000));
      await expectStatus(router, wbtc, PriceStatus.SUSPECT, usd(90000));
      const [pending, since] = await router.pendingPrice(wbtc.address);
      expect(pending).to.equal(usd(90000));
      expect(since).to.equal(spikeAt);
      await expectLastGood(router, wbtc, usd(60000));

      // WAIT_FOR_CONFIRMATION: nothing settles at the spike.
      await expectOnlyRiskReducing(router, wbtc, PriceStatus.SUSPECT);
      await expectRefused(router, wbtc, Action.CLOSE, PriceStatus.SUSPECT);

      // TRUST_GAP: settling actions run; risk-adding ones still wait.
      await expect(router.connect(admin).setSuspectPolicy(SuspectPolicy.TRUST_GAP))
        .to.emit(router, "SuspectPolicySet")
        .withArgs(SuspectPolicy.TRUST_GAP);
      await expectSettleOnly(router, wbtc, PriceStatus.SUSPECT);
      await expectLastGood(router, wbtc, usd(60000));

      // The next normal round: OK, and the spike never became the last good price.
      await setPrice(wbtc, 60000);
      await expect(router.price(wbtc.address))
        .to.emit(router, "PriceStatusChanged")
        .withArgs(wbtc.address, PriceStatus.SUSPECT, PriceStatus.OK, usd(60000));
      await expectStatus(router, wbtc, PriceStatus.OK, usd(60000));
      await expectLastGood(router, wbtc, usd(60000));
      await expectNoPending(router, wbtc);
      await expectAllowed(router, wbtc, Action.BORROW);
    });

    it("real gap confirmed by persistence (same round): SUSPECT until confirmWindow, then OK and last good updated", async () => {
      const { router, assets } = await loadSystem();
      const wbtc = assets.WBTC;

      await setPrice(wbtc, 36000); // -40%
      const t0 = await updatedAt(mockOf(wbtc.primaryFeed));
      await expect(router.price(wbtc.address))
        .to.emit(router, "SuspectPriceSeen")
        .withArgs(wbtc.address, usd(36000), usd(60000), t0, await mockOf(wbtc.primaryFeed).latestRound())
        .and.to.emit(router, "PriceStatusChanged")
        .withArgs(wbtc.address, PriceStatus.OK, PriceStatus.SUSPECT, usd(36000));
      const [pending, since] = await router.pendingPrice(wbtc.address);
      expect(pending).to.equal(usd(36000));
      expect(since).to.equal(t0);
      await expectStatus(router, wbtc, PriceStatus.SUSPECT, usd(36000));
      await expectOnlyRiskReducing(router, wbtc, PriceStatus.SUSPECT);

      // One second short of the window: still refused.
      await time.setNextBlockTimestamp(t0 + BigInt(CONFIRM_WINDOW - 1));
      await expect(router.priceFor(wbtc.address, Action.LIQUIDATE))
        .to.be.revertedWithCustomError(router, "PriceNotUsable")
        .withArgs(wbtc.address, Action.LIQUIDATE, PriceStatus.SUSPECT);

      // Exactly the window: confirmed.
      await time.setNextBlockTimestamp(t0 + BigInt(CONFIRM_WINDOW));
      const confirm = router.price(wbtc.address);
      await expect(confirm)
        .to.emit(router, "PriceStatusChanged")
        .withArgs(wbtc.address, PriceStatus.SUSPECT, PriceStatus.OK, usd(36000));
      await expect(confirm).not.to.emit(router, "SuspectPriceSeen");
      const [good, goodAt] = await router.lastGoodPrice(wbtc.address);
      expect(good).to.equal(usd(36000));
      expect(goodAt).to.equal(t0 + BigInt(CONFIRM_WINDOW));
      await expectNoPending(router, wbtc);
      await expectStatus(router, wbtc, PriceStatus.OK, usd(36000));
      await expectAllowed(router, wbtc, Action.BORROW);
    });

    it("real gap confirmed by persistence (re-pushed at the same level): the clock runs from the first sighting", async () => {
      const { router, assets } = await loadSystem();
      const wbtc = assets.WBTC;
      const feed = mockOf(wbtc.primaryFeed);

      await setPrice(wbtc, 36000);
      const t0 = await updatedAt(feed);
      await expect(router.price(wbtc.address)).to.emit(router, "SuspectPriceSeen");

      // Half-way through, the feed pushes a new round within maxDivergence of the pending price.
      await time.setNextBlockTimestamp(t0 + BigInt(CONFIRM_WINDOW / 2));
      await setPrice(wbtc, 36200);
      await expect(router.price(wbtc.address)).to.not.emit(router, "SuspectPriceSeen");
      const [pending, since] = await router.pendingPrice(wbtc.address);
      expect(pending, "the pending price is the first sighting's").to.equal(usd(36000));
      expect(since).to.equal(t0);
      await expectStatus(router, wbtc, PriceStatus.SUSPECT, usd(36200));
      await expectOnlyRiskReducing(router, wbtc, PriceStatus.SUSPECT);

      // confirmWindow after the first round (not after the re-push): OK.
      await time.setNextBlockTimestamp(t0 + BigInt(CONFIRM_WINDOW));
      await expect(router.price(wbtc.address))
        .to.emit(router, "PriceStatusChanged")
        .withArgs(wbtc.address, PriceStatus.SUSPECT, PriceStatus.OK, usd(36200));
      await expectLastGood(router, wbtc, usd(36200));
      await expectNoPending(router, wbtc);
    });

    it("a pending jump that moves to another level restarts the confirmation clock", async () => {
      const { router, assets } = await loadSystem();
      const wbtc = assets.WBTC;
      const feed = mockOf(wbtc.primaryFeed);

      await setPrice(wbtc, 36000);
      const t0 = await updatedAt(feed);
      await (await router.price(wbtc.address)).wait();

      await time.setNextBlockTimestamp(t0 + 300n);
      await setPrice(wbtc, 30000); // 16.7% below the pending price: a new level
      await expect(router.price(wbtc.address))
        .to.emit(router, "SuspectPriceSeen")
        .withArgs(
          wbtc.address,
          usd(30000),
          usd(60000),
          t0 + 300n,
          await mockOf(wbtc.primaryFeed).latestRound(),
        );

      await time.setNextBlockTimestamp(t0 + BigInt(CONFIRM_WINDOW));
      await expect(router.priceFor(wbtc.address, Action.LIQUIDATE))
        .to.be.revertedWithCustomError(router, "PriceNotUsable")
        .withArgs(wbtc.address, Action.LIQUIDATE, PriceStatus.SUSPECT);

      await time.setNextBlockTimestamp(t0 + 300n + BigInt(CONFIRM_WINDOW));
      await expect(router.price(wbtc.address))
        .to.emit(router, "PriceStatusChanged")
        .withArgs(wbtc.address, PriceStatus.SUSPECT, PriceStatus.OK, usd(30000));
      await expectLastGood(router, wbtc, usd(30000));
    });

    it("real gap confirmed by the fallback: -40% on both feeds is OK at once", async () => {
      const { router, assets } = await loadSystem();
      const weth = assets.WETH;

      // The primary alone: the feeds disagree, DISAGREE.
      await setPrice(weth, 1800, "primary");
      await expectStatus(router, weth, PriceStatus.DISAGREE, usd(1800));
      await expectOnlyRiskReducing(router, weth, PriceStatus.DISAGREE);

      // The fallback agrees: confirmed without waiting.
      await setPrice(weth, 1800, "fallback");
      const confirm = router.price(weth.address);
      await expect(confirm)
        .to.emit(router, "PriceStatusChanged")
        .withArgs(weth.address, PriceStatus.DISAGREE, PriceStatus.OK, usd(1800));
      await expect(confirm).not.to.emit(router, "SuspectPriceSeen");
      await expectStatus(router, weth, PriceStatus.OK, usd(1800));
      await expectLastGood(router, weth, usd(1800));
      await expectAllowed(router, weth, Action.BORROW);
    });

    it("real gap on both feeds in one step (fresh fixture): OK at once, no SuspectPriceSeen", async () => {
      const { router, assets } = await loadSystem();
      const weth = assets.WETH;

      await setPrice(weth, 1800);
      const read = router.price(weth.address);
      await expect(read).not.to.emit(router, "SuspectPriceSeen");
      await expect(read).not.to.emit(router, "PriceStatusChanged");
      await expectStatus(router, weth, PriceStatus.OK, usd(1800));
      await expectLastGood(router, weth, usd(1800));
      await expectNoPending(router, weth);
      await expectAllowed(router, weth, Action.BORROW);
    });
  });

  describe("lagging feed", () => {
    it("lag by 3 rounds without fallback: the old round's price, OK while fresh (undetectable)", async () => {
      const { router, assets } = await loadSystem();
      const wbtc = assets.WBTC;
      const feed = mockOf(wbtc.primaryFeed);

      for (const p of [61000, 62000, 63000, 64000]) await setPrice(wbtc, p);
      await feed.setLag(3);
      const [roundId, raw] = await feed.latestRoundData();
      expect(roundId).to.equal((await feed.latestRound()) - 3n);
      expect(raw).to.equal(answer(wbtc.primaryFeed, 61000));

      await expectStatus(router, wbtc, PriceStatus.OK, usd(61000));
      await expectAllowed(router, wbtc, Action.BORROW);
    });

    it("lag onto a round older than the heartbeat: STALE", async () => {
      const { router, assets } = await loadSystem();
      const wbtc = assets.WBTC;
      const feed = mockOf(wbtc.primaryFeed);

      await setPrice(wbtc, 61000);
      await expectStatus(router, wbtc, PriceStatus.OK, usd(61000));
      await time.increase(PRIMARY_HEARTBEAT);
      await setPrice(wbtc, 62000); // not read by the router
      await feed.setLag(1);
      await expectStatus(router, wbtc, PriceStatus.STALE, usd(61000));
      await expectOnlyRiskReducing(router, wbtc, PriceStatus.STALE);
    });

    it("a feed that goes back to a round the router has passed: INVALID", async () => {
      const { router, assets } = await loadSystem();
      const wbtc = assets.WBTC;
      const feed = mockOf(wbtc.primaryFeed);

      await setPrice(wbtc, 61000);
      await setPrice(wbtc, 62000);
      await expectStatus(router, wbtc, PriceStatus.OK, usd(62000));
      await feed.setLag(1); // round 2 (61000), fresh, within deviation: only the round gives it away
      await expectStatus(router, wbtc, PriceStatus.INVALID, usd(62000));
      await expectOnlyRiskReducing(router, wbtc, PriceStatus.INVALID);
      await feed.heal();
      await expectStatus(router, wbtc, PriceStatus.OK, usd(62000));
    });

    it("lag by 3 rounds with fallback: DISAGREE at the primary's old price once the market moved >2%", async () => {
      const { router, assets } = await loadSystem();
      const weth = assets.WETH;
      const primary = mockOf(weth.primaryFeed);

      for (const p of [3020, 3040, 3060]) await setPrice(weth, p);
      await primary.setLag(3); // reports 3000 while the fallback says 3060: 1.96%, still agreement
      await expectStatus(router, weth, PriceStatus.OK, usd(3000));

      await setPrice(weth, 3200); // primary now reports 3020, fallback 3200
      const [, raw] = await primary.latestRoundData();
      expect(raw).to.equal(answer(weth.primaryFeed, 3020));
      await expectStatus(router, weth, PriceStatus.DISAGREE, usd(3020));
      await expectOnlyRiskReducing(router, weth, PriceStatus.DISAGREE);

      await primary.heal();
      await expectStatus(router, weth, PriceStatus.OK, usd(3200));
    });
  });

  describe("L2 sequencer", () => {
    it("sequencer down: SEQUENCER_DOWN with the last good price, whatever the feeds say", async () => {
      const { router, assets, sequencer } = await loadL2System();
      const { WBTC: wbtc, WETH: weth } = assets;
      const seq = sequencerMock(sequencer);
      await expectStatus(router, wbtc, PriceStatus.OK, usd(60000));

      await seq.setDown();
      await expect(router.price(wbtc.address))
        .to.emit(router, "PriceStatusChanged")
        .withArgs(wbtc.address, PriceStatus.OK, PriceStatus.SEQUENCER_DOWN, usd(60000));
      await setPrice(wbtc, 61000);
      await expectStatus(router, wbtc, PriceStatus.SEQUENCER_DOWN, usd(60000));
      await expectOnlyRiskReducing(router, wbtc, PriceStatus.SEQUENCER_DOWN);
      await expectStatus(router, weth, PriceStatus.SEQUENCER_DOWN, usd(3000));
      await expectOnlyRiskReducing(router, weth, PriceStatus.SEQUENCER_DOWN);
      await expectLastGood(router, wbtc, usd(60000));
    });

    it("sequencer back up: SEQUENCER_DOWN through the grace period (exactly grace still down), OK at grace + 1", async () => {
      const { router, assets, sequencer } = await loadL2System();
      const wbtc = assets.WBTC;
      const seq = sequencerMock(sequencer);

      await seq.setDown();
      await expectStatus(router, wbtc, PriceStatus.SEQUENCER_DOWN, usd(60000));
      await seq.setUp();
      const startedAt = await seq.startedAt();
      await expectStatus(router, wbtc, PriceStatus.SEQUENCER_DOWN, usd(60000));
      await expectOnlyRiskReducing(router, wbtc, PriceStatus.SEQUENCER_DOWN);

      // Keep the price feed fresh across the grace period.
      await time.increaseTo(startedAt + BigInt(GRACE_PERIOD - 60));
      await setPrice(wbtc, 61000);

      await time.setNextBlockTimestamp(startedAt + BigInt(GRACE_PERIOD));
      await expect(router.priceFor(wbtc.address, Action.BORROW))
        .to.be.revertedWithCustomError(router, "PriceNotUsable")
        .withArgs(wbtc.address, Action.BORROW, PriceStatus.SEQUENCER_DOWN);

      await time.setNextBlockTimestamp(startedAt + BigInt(GRACE_PERIOD + 1));
      await expect(router.priceFor(wbtc.address, Action.BORROW)).to.not.be.reverted;
      await expectStatus(router, wbtc, PriceStatus.OK, usd(61000));
      await expectLastGood(router, wbtc, usd(61000));
    });

    it("sequencer feed reverting: SEQUENCER_DOWN; readable again: OK", async () => {
      const { router, assets, sequencer } = await loadL2System();
      const wbtc = assets.WBTC;
      const seq = sequencerMock(sequencer);

      await seq.setReverting(true);
      await expectStatus(router, wbtc, PriceStatus.SEQUENCER_DOWN, usd(60000));
      await expectOnlyRiskReducing(router, wbtc, PriceStatus.SEQUENCER_DOWN);

      await seq.setReverting(false);
      await expectStatus(router, wbtc, PriceStatus.OK, usd(60000));
    });

    it("sequencer startedAt 0: SEQUENCER_DOWN", async () => {
      const { router, assets, sequencer } = await loadL2System();
      const wbtc = assets.WBTC;

      await sequencerMock(sequencer).setStatus(0, 0);
      await expectStatus(router, wbtc, PriceStatus.SEQUENCER_DOWN, usd(60000));
      await expectOnlyRiskReducing(router, wbtc, PriceStatus.SEQUENCER_DOWN);
    });

    it("sequencer startedAt in the future: SEQUENCER_DOWN", async () => {
      const { router, assets, sequencer } = await loadL2System();
      const wbtc = assets.WBTC;

      await sequencerMock(sequencer).setStatus(0, (await time.latest()) + 1000);
      await expectStatus(router, wbtc, PriceStatus.SEQUENCER_DOWN, usd(60000));
      await expectOnlyRiskReducing(router, wbtc, PriceStatus.SEQUENCER_DOWN);
    });

    it("sequencer answer 2 (neither up nor down): SEQUENCER_DOWN", async () => {
      const { router, assets, sequencer } = await loadL2System();
      const wbtc = assets.WBTC;
      const longAgo = (await time.latest()) - 10 * GRACE_PERIOD;

      await sequencerMock(sequencer).setStatus(2, longAgo);
      await expectStatus(router, wbtc, PriceStatus.SEQUENCER_DOWN, usd(60000));
      await expectOnlyRiskReducing(router, wbtc, PriceStatus.SEQUENCER_DOWN);

      // The same startedAt with answer 0 is up and past the grace period.
      await sequencerMock(sequencer).setStatus(0, longAgo);
      await expectStatus(router, wbtc, PriceStatus.OK, usd(60000));
    });
  });

  describe("decimals", () => {
    it("an 8-decimal feed and an 18-decimal feed give the same WAD price for the same USD price", async () => {
      const { router, assets } = await loadSystem();
      const { WETH: weth, WBTC: wbtc } = assets;
      expect(weth.primaryFeed.decimals).to.equal(8);
      expect(weth.fallbackFeed!.decimals).to.equal(18);

      await setPrice(weth, "3012.34567891");
      const [, rawPrimary] = await mockOf(weth.primaryFeed).latestRoundData();
      const [, rawFallback] = await mockOf(weth.fallbackFeed).latestRoundData();
      expect(rawPrimary).to.equal(301234567891n);
      expect(rawFallback).to.equal(3012345678910000000000n);

      // Read through the primary (8 decimals) ...
      await expectStatus(router, weth, PriceStatus.OK, usd("3012.34567891"));
      // ... and through the fallback alone (18 decimals).
      await mockOf(weth.primaryFeed).setMode(FeedMode.REVERT);
      await expectStatus(router, weth, PriceStatus.FALLBACK, usd("3012.34567891"));

      await setPrice(wbtc, "60123.45678901");
      await expectStatus(router, wbtc, PriceStatus.OK, 60123456789010000000000n);
    });
  });
});
