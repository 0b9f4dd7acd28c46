import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";

import { toUnits } from "../../deploy/units";
import { loadSystem, type Fixture } from "../helpers/fixture";
import type { InsuranceFund, MockERC20 } from "../../typechain-types";
import { VIRTUAL_ASSETS, VIRTUAL_SHARES, toAssetsDown, toSharesDown } from "../helpers/math";

/** USDC (6 decimals) units. */
const u = (v: number | string) => toUnits(v, 6);

const DAY = 86_400;
const HOUR = 3_600;
const COOLDOWN = 7 * DAY; // localConfig
const WINDOW = 2 * DAY; // localConfig
const MIN_COOLDOWN = 1 * DAY;
const MAX_COOLDOWN = 30 * DAY;
const MIN_WINDOW = 1 * HOUR;
const MAX_WINDOW = 7 * DAY;
const DEFAULT_ADMIN_ROLE = ethers.ZeroHash;

/* The share maths, written independently of the contract (SharesMath with 1e6 virtual shares, 1 virtual asset). */

interface Ctx {
  f: Fixture;
  fund: InsuranceFund;
  fundAddress: string;
  usdc: MockERC20;
  admin: HardhatEthersSigner;
  alice: HardhatEthersSigner;
  keeper: HardhatEthersSigner;
  stranger: HardhatEthersSigner;
  bob: HardhatEthersSigner;
  carol: HardhatEthersSigner;
  /** An EOA registered as a market, so that tests can call cover/recordRecourse directly. */
  market: HardhatEthersSigner;
  /** Mints `amount` to `who` and approves the fund for it. */
  give: (who: HardhatEthersSigner, amount: bigint) => Promise<void>;
  /** `who` stakes `amount` for itself (minting and approving first); returns the shares received. */
  stakeAs: (who: HardhatEthersSigner, amount: bigint) => Promise<bigint>;
  /** A plain ERC20 transfer into the fund (not through topUp). */
  donate: (amount: bigint) => Promise<void>;
}

async function setup(): Promise<Ctx> {
  const f = await loadSystem();
  const fund = f.insuranceFund;
  const fundAddress = await fund.getAddress();
  const usdc = f.base.token!;
  const { admin, alice, keeper, stranger } = f.actors;
  const signers = await ethers.getSigners();
  const [bob, carol, market] = [signers[4], signers[5], signers[6]];
  await fund.connect(admin).setMarket(market.address, true);

  const give = async (who: HardhatEthersSigner, amount: bigint) => {
    await usdc.mint(who.address, amount);
    await usdc.connect(who).approve(fundAddress, amount);
  };
  const stakeAs = async (who: HardhatEthersSigner, amount: bigint) => {
    await give(who, amount);
    const before = await fund.sharesOf(who.address);
    await fund.connect(who).stake(amount, who.address);
    return (await fund.sharesOf(who.address)) - before;
  };
  const donate = async (amount: bigint) => {
    await usdc.mint(stranger.address, amount);
    await usdc.connect(stranger).transfer(fundAddress, amount);
  };
  return {
    f,
    fund,
    fundAddress,
    usdc,
    admin,
    alice,
    keeper,
    stranger,
    bob,
    carol,
    market,
    give,
    stakeAs,
    donate,
  };
}

/** Requests `shares` for `who` at exactly `at` (or the next second); returns readyAt. */
async function requestAt(fund: InsuranceFund, who: HardhatEthersSigner, shares: bigint, at?: number) {
  const ts = at ?? (await time.latest()) + 1;
  await time.setNextBlockTimestamp(ts);
  await fund.connect(who).requestUnstake(shares);
  return ts + COOLDOWN;
}

describe("InsuranceFund", () => {
  describe("constructor", () => {
    it("constructor: sets the admin, asset, cooldown and window, and emits CooldownSet", async () => {
      const { usdc, alice } = await setup();
      const factory = await ethers.getContractFactory("InsuranceFund");
      const fund = await factory.deploy(alice.address, await usdc.getAddress(), 3 * DAY, 12 * HOUR);
      await fund.waitForDeployment();
      await expect(fund.deploymentTransaction())
        .to.emit(fund, "CooldownSet")
        .withArgs(3 * DAY, 12 * HOUR);
      expect(await fund.asset()).to.equal(await usdc.getAddress());
      expect(await fund.cooldown()).to.equal(3 * DAY);
      expect(await fund.unstakeWindow()).to.equal(12 * HOUR);
      expect(await fund.hasRole(DEFAULT_ADMIN_ROLE, alice.address)).to.equal(true);
      expect(await fund.totalShares()).to.equal(0n);
      expect(await fund.totalAssets()).to.equal(0n);
    });

    it("constructor: the deployed system's fund has the configured cooldown, window and constants", async () => {
      const { fund, f } = await setup();
      expect(await fund.asset()).to.equal(f.base.address);
      expect(await fund.cooldown()).to.equal(COOLDOWN);
      expect(await fund.unstakeWindow()).to.equal(WINDOW);
      expect(await fund.MIN_COOLDOWN()).to.equal(MIN_COOLDOWN);
      expect(await fund.MAX_COOLDOWN()).to.equal(MAX_COOLDOWN);
      expect(await fund.MIN_WINDOW()).to.equal(MIN_WINDOW);
      expect(await fund.MAX_WINDOW()).to.equal(MAX_WINDOW);
      expect(await fund.hasRole(DEFAULT_ADMIN_ROLE, f.actors.admin.address)).to.equal(true);
      expect(await fund.hasRole(DEFAULT_ADMIN_ROLE, f.actors.stranger.address)).to.equal(false);
    });

    it("constructor: reverts with ZeroAddress for a zero admin or a zero asset", async () => {
      const { usdc, alice } = await setup();
      const factory = await ethers.getContractFactory("InsuranceFund");
      await expect(
        factory.deploy(ethers.ZeroAddress, await usdc.getAddress(), COOLDOWN, WINDOW),
      ).to.be.revertedWithCustomError(factory, "ZeroAddress");
      await expect(
        factory.deploy(alice.address, ethers.ZeroAddress, COOLDOWN, WINDOW),
      ).to.be.revertedWithCustomError(factory, "ZeroAddress");
    });

    it("constructor: enforces the cooldown and window bounds (OutOfBounds just outside, accepted at each bound)", async () => {
      const { usdc, alice } = await setup();
      const factory = await ethers.getContractFactory("InsuranceFund");
      const asset = await usdc.getAddress();
      await expect(factory.deploy(alice.address, asset, MIN_COOLDOWN - 1, WINDOW))
        .to.be.revertedWithCustomError(factory, "OutOfBounds")
        .withArgs("cooldown", MIN_COOLDOWN - 1, MIN_COOLDOWN, MAX_COOLDOWN);
      await expect(factory.deploy(alice.address, asset, MAX_COOLDOWN + 1, WINDOW))
        .to.be.revertedWithCustomError(factory, "OutOfBounds")
        .withArgs("cooldown", MAX_COOLDOWN + 1, MIN_COOLDOWN, MAX_COOLDOWN);
      await expect(factory.deploy(alice.address, asset, COOLDOWN, MIN_WINDOW - 1))
        .to.be.revertedWithCustomError(factory, "OutOfBounds")
        .withArgs("unstakeWindow", MIN_WINDOW - 1, MIN_WINDOW, MAX_WINDOW);
      await expect(factory.deploy(alice.address, asset, COOLDOWN, MAX_WINDOW + 1))
        .to.be.revertedWithCustomError(factory, "OutOfBounds")
        .withArgs("unstakeWindow", MAX_WINDOW + 1, MIN_WINDOW, MAX_WINDOW);

      const low = await factory.deploy(alice.address, asset, MIN_COOLDOWN, MIN_WINDOW);
      expect(await low.cooldown()).to.equal(MIN_COOLDOWN);
      expect(await low.unstakeWindow()).to.equal(MIN_WINDOW);
      const high = await factory.deploy(alice.address, asset, MAX_COOLDOWN, MAX_WINDOW);
      expect(await high.cooldown()).to.equal(MAX_COOLDOWN);
      expect(await high.unstakeWindow()).to.equal(MAX_WINDOW);
    });
  });

  describe("cover", () => {
    it("cover: the deployed LendingMarket is registered", async () => {
      const { fund, f } = await setup();
      expect(await fund.isMarket(await f.lending!.market.getAddress())).to.equal(true);
    });

    it("cover: reverts with NotRegisteredMarket for a stranger", async () => {
      const { fund, stranger, donate } = await setup();
      await donate(u(1_000));
      await expect(fund.connect(stranger).cover(u(1)))
        .to.be.revertedWithCustomError(fund, "NotRegisteredMarket")
        .withArgs(stranger.address);
    });

    it("cover: pays the full amount when the fund holds enough, emits InsurancePaid and counts totalPaid", async () => {
      const { fund, usdc, market, donate, fundAddress } = await setup();
      await donate(u(1_000));
      expect(await fund.connect(market).cover.staticCall(u(400))).to.equal(u(400));
      const tx = fund.connect(market).cover(u(400));
      await expect(tx).to.emit(fund, "InsurancePaid").withArgs(market.address, u(400), u(400));
      await expect(tx).to.changeTokenBalances(usdc, [fundAddress, market.address], [-u(400), u(400)]);
      expect(await fund.totalPaid()).to.equal(u(400));
      expect(await fund.totalAssets()).to.equal(u(600));
    });

    it("cover: pays only the balance when asked for more, and totalPaid accumulates", async () => {
      const { fund, usdc, market, donate, fundAddress } = await setup();
      await donate(u(1_000));
      await fund.connect(market).cover(u(400));
      expect(await fund.connect(market).cover.staticCall(u(1_000))).to.equal(u(600));
      const tx = fund.connect(market).cover(u(1_000));
      await expect(tx).to.emit(fund, "InsurancePaid").withArgs(market.address, u(1_000), u(600));
      await expect(tx).to.changeTokenBalances(usdc, [fundAddress, market.address], [-u(600), u(600)]);
      expect(await fund.totalPaid()).to.equal(u(1_000));
      expect(await fund.totalAssets()).to.equal(0n);
      expect(await usdc.balanceOf(market.address)).to.equal(u(1_000));
    });

    it("cover: an empty fund pays 0 without reverting and still emits InsurancePaid", async () => {
      const { fund, usdc, market, fundAddress } = await setup();
      expect(await fund.totalAssets()).to.equal(0n);
      expect(await fund.connect(market).cover.staticCall(u(50))).to.equal(0n);
      const tx = fund.connect(market).cover(u(50));
      await expect(tx).to.emit(fund, "InsurancePaid").withArgs(market.address, u(50), 0n);
      await expect(tx).to.changeTokenBalances(usdc, [fundAddress, market.address], [0n, 0n]);
      expect(await fund.totalPaid()).to.equal(0n);
    });

    it("cover: stakers share a loss pro rata with the fund's own capital (money in it before anyone staked), not first-loss", async () => {
      // As documented: stakers share each loss pro rata with the fund's own capital (the un-staked balance,
      // owned by the virtual shares); they are not first-loss capital.
      const { fund, market, keeper, alice, give, stakeAs } = await setup();
      await give(keeper, u(1_000));
      await fund.connect(keeper).topUp(u(1_000)); // income with no stakers
      const shares = await stakeAs(alice, u(1_000));
      expect(shares).to.equal(toSharesDown(u(1_000), u(1_000), 0n));
      expect(shares).to.equal(999_999n);
      await fund.connect(market).cover(u(1_000));
      expect(await fund.totalAssets()).to.equal(u(1_000));
      expect(await fund.previewUnstake(shares)).to.equal(toAssetsDown(shares, u(1_000), shares));
      expect(await fund.previewUnstake(shares)).to.equal(499_999_750n); // half the loss, not all of it
    });

    it("cover: a market that has been deregistered is refused", async () => {
      const { fund, admin, market, donate } = await setup();
      await donate(u(10));
      await fund.connect(admin).setMarket(market.address, false);
      expect(await fund.isMarket(market.address)).to.equal(false);
      await expect(fund.connect(market).cover(u(1)))
        .to.be.revertedWithCustomError(fund, "NotRegisteredMarket")
        .withArgs(market.address);
      expect(await fund.totalAssets()).to.equal(u(10));
    });
  });

  describe("recordRecourse", () => {
    it("recordRecourse: reverts with NotRegisteredMarket for a stranger", async () => {
      const { fund, stranger, alice } = await setup();
      await expect(fund.connect(stranger).recordRecourse(alice.address, u(1)))
        .to.be.revertedWithCustomError(fund, "NotRegisteredMarket")
        .withArgs(stranger.address);
      expect(await fund.recourseDebt(alice.address)).to.equal(0n);
    });

    it("recordRecourse: records per-account debt and the total, emitting RecourseRecorded", async () => {
      const { fund, market, alice, bob } = await setup();
      await expect(fund.connect(market).recordRecourse(alice.address, u(300)))
        .to.emit(fund, "RecourseRecorded")
        .withArgs(market.address, alice.address, u(300));
      await expect(fund.connect(market).recordRecourse(alice.address, u(200)))
        .to.emit(fund, "RecourseRecorded")
        .withArgs(market.address, alice.address, u(200));
      await fund.connect(market).recordRecourse(bob.address, u(50));
      expect(await fund.recourseDebt(alice.address)).to.equal(u(500));
      expect(await fund.recourseDebt(bob.address)).to.equal(u(50));
      expect(await fund.totalRecourseDebt()).to.equal(u(550));
      expect(await fund.totalRecovered()).to.equal(0n);
      expect(await fund.totalAssets()).to.equal(0n); // a record moves no tokens
    });
  });

  describe("topUp", () => {
    it("topUp: reverts with ZeroAmount", async () => {
      const { fund, keeper } = await setup();
      await expect(fund.connect(keeper).topUp(0)).to.be.revertedWithCustomError(fund, "ZeroAmount");
    });

    it("topUp: anyone may top up; pulls the tokens and emits InsuranceToppedUp", async () => {
      const { fund, usdc, stranger, keeper, give, fundAddress } = await setup();
      await give(stranger, u(250));
      const tx = fund.connect(stranger).topUp(u(250));
      await expect(tx).to.emit(fund, "InsuranceToppedUp").withArgs(stranger.address, u(250));
      await expect(tx).to.changeTokenBalances(usdc, [stranger.address, fundAddress], [-u(250), u(250)]);
      await give(keeper, u(1));
      await expect(fund.connect(keeper).topUp(u(1)))
        .to.emit(fund, "InsuranceToppedUp")
        .withArgs(keeper.address, u(1));
      expect(await fund.totalAssets()).to.equal(u(251));
      expect(await fund.totalShares()).to.equal(0n); // income mints no shares
    });
  });

  describe("repayRecourse", () => {
    it("repayRecourse: a third party repays part of the debt; RecourseRepaid(account, payer, amount, stillOwed)", async () => {
      const { fund, usdc, market, alice, keeper, give, fundAddress } = await setup();
      await fund.connect(market).recordRecourse(alice.address, u(1_000));
      await give(keeper, u(300));
      expect(await fund.connect(keeper).repayRecourse.staticCall(alice.address, u(300))).to.equal(u(300));
      const tx = fund.connect(keeper).repayRecourse(alice.address, u(300));
      await expect(tx)
        .to.emit(fund, "RecourseRepaid")
        .withArgs(alice.address, keeper.address, u(300), u(700));
      await expect(tx).to.changeTokenBalances(
        usdc,
        [keeper.address, fundAddress, alice.address],
        [-u(300), u(300), 0n],
      );
      expect(await fund.recourseDebt(alice.address)).to.equal(u(700));
      expect(await fund.totalRecourseDebt()).to.equal(u(700));
      expect(await fund.totalRecovered()).to.equal(u(300));
    });

    it("repayRecourse: paying more than is owed takes only what is owed and clears the debt", async () => {
      const { fund, usdc, market, alice, keeper, give, fundAddress } = await setup();
      await fund.connect(market).recordRecourse(alice.address, u(1_000));
      await give(keeper, u(5_000));
      await fund.connect(keeper).repayRecourse(alice.address, u(300));
      expect(await fund.connect(keeper).repayRecourse.staticCall(alice.address, u(4_000))).to.equal(u(700));
      const tx = fund.connect(keeper).repayRecourse(alice.address, u(4_000));
      await expect(tx).to.emit(fund, "RecourseRepaid").withArgs(alice.address, keeper.address, u(700), 0n);
      await expect(tx).to.changeTokenBalances(usdc, [keeper.address, fundAddress], [-u(700), u(700)]);
      expect(await fund.recourseDebt(alice.address)).to.equal(0n);
      expect(await fund.totalRecourseDebt()).to.equal(0n);
      expect(await fund.totalRecovered()).to.equal(u(1_000));
      expect(await usdc.allowance(keeper.address, fundAddress)).to.equal(u(4_000));
    });

    it("repayRecourse: nothing owed takes nothing, emits nothing and needs no approval", async () => {
      const { fund, usdc, market, alice, bob, keeper, fundAddress } = await setup();
      await fund.connect(market).recordRecourse(alice.address, u(10));
      await usdc.mint(keeper.address, u(100)); // no approval at all
      expect(await fund.connect(keeper).repayRecourse.staticCall(bob.address, u(100))).to.equal(0n);
      const tx = fund.connect(keeper).repayRecourse(bob.address, u(100));
      await expect(tx).not.to.emit(fund, "RecourseRepaid");
      await expect(tx).to.changeTokenBalances(usdc, [keeper.address, fundAddress], [0n, 0n]);
      expect(await fund.totalRecovered()).to.equal(0n);
      expect(await fund.totalRecourseDebt()).to.equal(u(10));
    });

    it("repayRecourse: an account that owes may repay its own debt", async () => {
      const { fund, market, alice, give } = await setup();
      await fund.connect(market).recordRecourse(alice.address, u(10));
      await give(alice, u(10));
      await expect(fund.connect(alice).repayRecourse(alice.address, u(10)))
        .to.emit(fund, "RecourseRepaid")
        .withArgs(alice.address, alice.address, u(10), 0n);
      expect(await fund.totalAssets()).to.equal(u(10));
    });
  });

  describe("stake", () => {
    it("stake: reverts with ZeroAmount and with ZeroAddress for a zero receiver", async () => {
      const { fund, alice, give } = await setup();
      await give(alice, u(10));
      await expect(fund.connect(alice).stake(0, alice.address)).to.be.revertedWithCustomError(
        fund,
        "ZeroAmount",
      );
      await expect(fund.connect(alice).stake(u(10), ethers.ZeroAddress)).to.be.revertedWithCustomError(
        fund,
        "ZeroAddress",
      );
    });

    it("stake: the first stake into an empty fund mints assets x 1e6 shares and emits Staked", async () => {
      const { fund, usdc, alice, give, fundAddress } = await setup();
      await give(alice, u(1_000));
      expect(await fund.connect(alice).stake.staticCall(u(1_000), alice.address)).to.equal(
        u(1_000) * 1_000_000n,
      );
      const tx = fund.connect(alice).stake(u(1_000), alice.address);
      await expect(tx)
        .to.emit(fund, "Staked")
        .withArgs(alice.address, alice.address, u(1_000), 1_000_000_000_000_000n);
      await expect(tx).to.changeTokenBalances(usdc, [alice.address, fundAddress], [-u(1_000), u(1_000)]);
      expect(await fund.sharesOf(alice.address)).to.equal(1_000_000_000_000_000n);
      expect(await fund.totalShares()).to.equal(1_000_000_000_000_000n);
    });

    it("stake: shares are rounded down, priced on the balance before the deposit (with virtual shares)", async () => {
      const { fund, alice, bob, market, stakeAs, give } = await setup();
      const aliceShares = await stakeAs(alice, u(1_000));
      await fund.connect(market).cover(333_333_333n); // balance 666_666_667
      const balance = await fund.totalAssets();
      expect(balance).to.equal(666_666_667n);
      const amount = u(100);
      const expected = toSharesDown(amount, balance, aliceShares);
      // The exact quotient is not an integer: this stake is rounded down.
      expect((amount * (aliceShares + VIRTUAL_SHARES)) % (balance + VIRTUAL_ASSETS)).to.not.equal(0n);
      expect(expected).to.equal(149_999_999_850_000n);
      await give(bob, amount);
      await expect(fund.connect(bob).stake(amount, bob.address))
        .to.emit(fund, "Staked")
        .withArgs(bob.address, bob.address, amount, expected);
      expect(await fund.sharesOf(bob.address)).to.equal(expected);
      expect(await fund.totalShares()).to.equal(aliceShares + expected);
      // Rounding down favours those already in: bob's shares are worth no more than he paid.
      expect(await fund.previewUnstake(expected)).to.equal(99_999_999n);
    });

    it("stake: a third party may stake for a receiver; the caller pays, the receiver gets the shares", async () => {
      const { fund, usdc, keeper, alice, give, fundAddress } = await setup();
      await give(keeper, u(10));
      const tx = fund.connect(keeper).stake(u(10), alice.address);
      await expect(tx)
        .to.emit(fund, "Staked")
        .withArgs(keeper.address, alice.address, u(10), u(10) * 1_000_000n);
      await expect(tx).to.changeTokenBalances(usdc, [keeper.address, fundAddress], [-u(10), u(10)]);
      expect(await fund.sharesOf(alice.address)).to.equal(u(10) * 1_000_000n);
      expect(await fund.sharesOf(keeper.address)).to.equal(0n);
    });

    it("stake: a receiver who owes recourse debt has the deposit repay the debt first, only the rest is staked", async () => {
      const { fund, usdc, market, alice, bob, keeper, stakeAs, give, fundAddress } = await setup();
      const bobShares = await stakeAs(bob, u(1_000));
      await fund.connect(market).recordRecourse(alice.address, u(300));
      await give(keeper, u(1_000));
      const balanceBefore = await fund.totalAssets();
      // Priced on the balance with the repayment in (it belongs to the fund's existing capital) but before
      // the stake arrives (second review, A-1: pricing before the repayment let a debtor's new shares claim
      // part of its own repayment back).
      const expected = toSharesDown(u(700), balanceBefore + u(300), bobShares);
      expect(expected).to.equal(538_461_538_585_798n);
      expect(await fund.connect(keeper).stake.staticCall(u(1_000), alice.address)).to.equal(expected);
      const tx = fund.connect(keeper).stake(u(1_000), alice.address);
      await expect(tx).to.emit(fund, "RecourseRepaid").withArgs(alice.address, keeper.address, u(300), 0n);
      await expect(tx).to.emit(fund, "Staked").withArgs(keeper.address, alice.address, u(700), expected);
      await expect(tx).to.changeTokenBalances(usdc, [keeper.address, fundAddress], [-u(1_000), u(1_000)]);
      expect(await fund.sharesOf(alice.address)).to.equal(expected);
      expect(await fund.recourseDebt(alice.address)).to.equal(0n);
      expect(await fund.totalRecourseDebt()).to.equal(0n);
      expect(await fund.totalRecovered()).to.equal(u(300));
      // The 300 repaid accrue to those already staked (bob), not to alice's new shares.
      expect(await fund.previewUnstake(bobShares)).to.equal(
        toAssetsDown(bobShares, u(2_000), bobShares + expected),
      );
      expect(await fund.previewUnstake(bobShares)).to.be.gte(u(1_300) - 1n);
      expect(
        await fund.previewUnstake(expected),
        "alice's shares are worth what she staked, not more",
      ).to.be.lte(u(700));
      expect(await fund.previewUnstake(expected)).to.be.gte(u(700) - 2n);
    });

    it("stake: a debtor that stakes a large amount cannot take its own repayment back through its new shares (second review, A-1)", async () => {
      const { fund, usdc, market, alice, bob, stakeAs, give } = await setup();
      const bobShares = await stakeAs(bob, u(1_000));
      await fund.connect(market).recordRecourse(alice.address, u(100_000));
      await give(alice, u(10_100_000));
      await fund.connect(alice).stake(u(10_100_000), alice.address);
      expect(await fund.recourseDebt(alice.address)).to.equal(0n);
      const shares = await fund.sharesOf(alice.address);
      const at = await requestAt(fund, alice, shares);
      await time.setNextBlockTimestamp(at);
      const before = await usdc.balanceOf(alice.address);
      await fund.connect(alice).unstake(alice.address);
      const back = (await usdc.balanceOf(alice.address)) - before;
      // She gets back at most what she staked beyond the debt: the 100,000 stays repaid.
      expect(back, "alice's stake comes back without her repayment").to.be.lte(u(10_000_000));
      expect(back).to.be.gte(u(10_000_000) - 2n);
      // The repayment accrues to those already staked.
      expect(await fund.previewUnstake(bobShares)).to.be.gte(u(100_999)); // was 1,009.99 before the fix
    });

    it("stake: a deposit that does not exceed the debt only repays it: no shares and no Staked event", async () => {
      const { fund, usdc, market, alice, give, fundAddress } = await setup();
      await fund.connect(market).recordRecourse(alice.address, u(1_000));
      await give(alice, u(400));
      expect(await fund.connect(alice).stake.staticCall(u(400), alice.address)).to.equal(0n);
      const tx = fund.connect(alice).stake(u(400), alice.address);
      await expect(tx).to.emit(fund, "RecourseRepaid").withArgs(alice.address, alice.address, u(400), u(600));
      await expect(tx).not.to.emit(fund, "Staked");
      await expect(tx).to.changeTokenBalances(usdc, [alice.address, fundAddress], [-u(400), u(400)]);
      expect(await fund.sharesOf(alice.address)).to.equal(0n);
      expect(await fund.totalShares()).to.equal(0n);
      expect(await fund.recourseDebt(alice.address)).to.equal(u(600));
      expect(await fund.totalRecovered()).to.equal(u(400));
    });

    it("stake: reverts with ZeroShares when the deposit is worth less than one share", async () => {
      const { fund, alice, give, donate } = await setup();
      await donate(u(1_000)); // 1e9 units against 1e6 virtual shares: one share costs just over 1000 units
      await give(alice, 1_001n);
      await expect(fund.connect(alice).stake(1_000n, alice.address)).to.be.revertedWithCustomError(
        fund,
        "ZeroShares",
      );
      await expect(fund.connect(alice).stake(1_001n, alice.address))
        .to.emit(fund, "Staked")
        .withArgs(alice.address, alice.address, 1_001n, 1n);
    });
    it("stake: an amount over uint128 reverts with SafeCastOverflowedUintDowncast(128, amount); 2^128 - 1 is staked exactly (its shares fit the uint192 stake)", async () => {
      const { fund, alice, bob, stakeAs, give } = await setup();
      const assets = 2n ** 128n - 1n;
      const shares = await stakeAs(alice, assets);
      expect(shares).to.equal(assets * VIRTUAL_SHARES);
      expect(shares <= 2n ** 192n - 1n).to.equal(true);
      await give(bob, 2n ** 128n);
      await expect(fund.connect(bob).stake(2n ** 128n, bob.address))
        .to.be.revertedWithCustomError(fund, "SafeCastOverflowedUintDowncast")
        .withArgs(128, 2n ** 128n);
      expect(await fund.sharesOf(bob.address)).to.equal(0n);
      expect(await fund.totalShares()).to.equal(shares);
    });
  });

  describe("requestUnstake", () => {
    it("requestUnstake: reverts with ZeroAmount", async () => {
      const { fund, alice, stakeAs } = await setup();
      await stakeAs(alice, u(1));
      await expect(fund.connect(alice).requestUnstake(0)).to.be.revertedWithCustomError(fund, "ZeroAmount");
    });

    it("requestUnstake: reverts with InsufficientShares(requested, available)", async () => {
      const { fund, alice, stranger, stakeAs } = await setup();
      const shares = await stakeAs(alice, u(1));
      await expect(fund.connect(alice).requestUnstake(shares + 1n))
        .to.be.revertedWithCustomError(fund, "InsufficientShares")
        .withArgs(shares + 1n, shares);
      await expect(fund.connect(stranger).requestUnstake(1n))
        .to.be.revertedWithCustomError(fund, "InsufficientShares")
        .withArgs(1n, 0n);
    });

    it("requestUnstake: records the request and emits UnstakeRequested(staker, shares, now + cooldown, readyAt + window)", async () => {
      const { fund, alice, stakeAs } = await setup();
      const shares = await stakeAs(alice, u(100));
      expect(await fund.unstakeRequest(alice.address)).to.deep.equal([0n, 0n, 0n]); // none yet
      const at = (await time.latest()) + 10;
      await time.setNextBlockTimestamp(at);
      await expect(fund.connect(alice).requestUnstake(shares / 4n))
        .to.emit(fund, "UnstakeRequested")
        .withArgs(alice.address, shares / 4n, at + COOLDOWN, at + COOLDOWN + WINDOW);
      const r = await fund.unstakeRequest(alice.address);
      expect(r.shares).to.equal(shares / 4n);
      expect(r.readyAt).to.equal(at + COOLDOWN);
      expect(r.closesAt).to.equal(at + COOLDOWN + WINDOW);
      // Requesting does not move shares or tokens.
      expect(await fund.sharesOf(alice.address)).to.equal(shares);
      expect(await fund.totalAssets()).to.equal(u(100));
    });

    it("requestUnstake: a new request replaces the old one (shares and readyAt)", async () => {
      const { fund, alice, stakeAs } = await setup();
      const shares = await stakeAs(alice, u(100));
      const t0 = (await time.latest()) + 1;
      const firstReady = await requestAt(fund, alice, shares, t0);
      const secondReady = await requestAt(fund, alice, shares / 2n, t0 + DAY);
      expect(secondReady).to.equal(firstReady + DAY);
      const r = await fund.unstakeRequest(alice.address);
      expect(r.shares).to.equal(shares / 2n);
      expect(r.readyAt).to.equal(secondReady);
      expect(r.closesAt).to.equal(secondReady + WINDOW);
      // The first request's readiness no longer counts.
      await time.setNextBlockTimestamp(firstReady);
      await expect(fund.connect(alice).unstake(alice.address))
        .to.be.revertedWithCustomError(fund, "CooldownNotElapsed")
        .withArgs(secondReady);
      await time.setNextBlockTimestamp(secondReady);
      await expect(fund.connect(alice).unstake(alice.address))
        .to.emit(fund, "Unstaked")
        .withArgs(alice.address, alice.address, u(50), shares / 2n);
      expect(await fund.sharesOf(alice.address)).to.equal(shares / 2n);
    });

    it("requestUnstake: a cooldown changed by the admin applies to later requests", async () => {
      const { fund, admin, alice, stakeAs } = await setup();
      const shares = await stakeAs(alice, u(1));
      await fund.connect(admin).setCooldown(MIN_COOLDOWN, MIN_WINDOW);
      const at = (await time.latest()) + 1;
      await time.setNextBlockTimestamp(at);
      await expect(fund.connect(alice).requestUnstake(shares))
        .to.emit(fund, "UnstakeRequested")
        .withArgs(alice.address, shares, at + MIN_COOLDOWN, at + MIN_COOLDOWN + MIN_WINDOW);
      expect(await fund.unstakeRequest(alice.address)).to.deep.equal([
        shares,
        BigInt(at + MIN_COOLDOWN),
        BigInt(at + MIN_COOLDOWN + MIN_WINDOW),
      ]);
    });
    it("requestUnstake: reverts with SafeCastOverflowedUintDowncast above uint128; 2^128 - 1 shares are stored exactly", async () => {
      const { fund, usdc, alice, stakeAs } = await setup();
      const assets = 2n ** 128n / VIRTUAL_SHARES + 1n;
      const shares = await stakeAs(alice, assets);
      expect(shares).to.equal(assets * VIRTUAL_SHARES);
      expect(shares).to.equal(340_282_366_920_938_463_463_374_607_431_769_000_000n);
      expect(shares > 2n ** 128n).to.equal(true);
      await expect(fund.connect(alice).requestUnstake(2n ** 128n))
        .to.be.revertedWithCustomError(fund, "SafeCastOverflowedUintDowncast")
        .withArgs(128, 2n ** 128n);
      await expect(fund.connect(alice).requestUnstake(shares))
        .to.be.revertedWithCustomError(fund, "SafeCastOverflowedUintDowncast")
        .withArgs(128, shares);
      const max = 2n ** 128n - 1n;
      const at = (await time.latest()) + 1;
      await time.setNextBlockTimestamp(at);
      await expect(fund.connect(alice).requestUnstake(max))
        .to.emit(fund, "UnstakeRequested")
        .withArgs(alice.address, max, at + COOLDOWN, at + COOLDOWN + WINDOW);
      expect((await fund.unstakeRequest(alice.address)).shares).to.equal(max);
      await time.setNextBlockTimestamp(at + COOLDOWN);
      const paid = toAssetsDown(max, assets, shares);
      expect(paid).to.equal(340_282_366_920_938_463_463_374_607_431_768n);
      await expect(fund.connect(alice).unstake(alice.address))
        .to.emit(fund, "Unstaked")
        .withArgs(alice.address, alice.address, paid, max);
      expect(await usdc.balanceOf(alice.address)).to.equal(paid);
      expect(await fund.sharesOf(alice.address)).to.equal(shares - max);
      expect(await fund.totalShares()).to.equal(shares - max);
    });
  });

  describe("unstake", () => {
    it("unstake: reverts with NoUnstakeRequest without a request, and again after a completed unstake", async () => {
      const { fund, alice, stakeAs } = await setup();
      const shares = await stakeAs(alice, u(100));
      await expect(fund.connect(alice).unstake(alice.address)).to.be.revertedWithCustomError(
        fund,
        "NoUnstakeRequest",
      );
      const readyAt = await requestAt(fund, alice, shares / 2n);
      await time.setNextBlockTimestamp(readyAt);
      await fund.connect(alice).unstake(alice.address);
      expect(await fund.unstakeRequest(alice.address)).to.deep.equal([0n, 0n, 0n]);
      await expect(fund.connect(alice).unstake(alice.address)).to.be.revertedWithCustomError(
        fund,
        "NoUnstakeRequest",
      );
    });

    it("unstake: reverts with ZeroAddress for a zero receiver", async () => {
      const { fund, alice, stakeAs } = await setup();
      const shares = await stakeAs(alice, u(100));
      const readyAt = await requestAt(fund, alice, shares);
      await time.setNextBlockTimestamp(readyAt);
      await expect(fund.connect(alice).unstake(ethers.ZeroAddress)).to.be.revertedWithCustomError(
        fund,
        "ZeroAddress",
      );
    });

    it("unstake: reverts one second before the cooldown ends with CooldownNotElapsed(readyAt)", async () => {
      const { fund, alice, stakeAs } = await setup();
      const shares = await stakeAs(alice, u(100));
      const readyAt = await requestAt(fund, alice, shares);
      await time.setNextBlockTimestamp(readyAt - 1);
      await expect(fund.connect(alice).unstake(alice.address))
        .to.be.revertedWithCustomError(fund, "CooldownNotElapsed")
        .withArgs(readyAt);
    });

    it("unstake: works exactly at readyAt, pays shares x (balance + 1) / (totalShares + 1e6) and emits Unstaked", async () => {
      const { fund, usdc, alice, bob, keeper, stakeAs, give, fundAddress } = await setup();
      const aliceShares = await stakeAs(alice, u(100));
      const bobShares = await stakeAs(bob, u(300));
      await give(keeper, u(37));
      await fund.connect(keeper).topUp(u(37)); // income: balance 437
      const readyAt = await requestAt(fund, alice, aliceShares);
      const total = aliceShares + bobShares;
      const expected = toAssetsDown(aliceShares, u(437), total);
      expect(expected).to.equal(109_249_999n);
      await time.setNextBlockTimestamp(readyAt);
      const tx = fund.connect(alice).unstake(bob.address); // to another receiver
      await expect(tx).to.emit(fund, "Unstaked").withArgs(alice.address, bob.address, expected, aliceShares);
      await expect(tx).to.changeTokenBalances(
        usdc,
        [fundAddress, bob.address, alice.address],
        [-expected, expected, 0n],
      );
      expect(await fund.sharesOf(alice.address)).to.equal(0n);
      expect(await fund.totalShares()).to.equal(bobShares);
    });

    it("unstake: works at the last second of the window, reverts with UnstakeWindowClosed one second after", async () => {
      const { fund, alice, bob, stakeAs } = await setup();
      const aliceShares = await stakeAs(alice, u(100));
      const bobShares = await stakeAs(bob, u(100));
      const aliceReady = await requestAt(fund, alice, aliceShares);
      const bobReady = await requestAt(fund, bob, bobShares, aliceReady - COOLDOWN + 1);
      expect(bobReady).to.equal(aliceReady + 1);
      await time.setNextBlockTimestamp(aliceReady + WINDOW);
      await expect(fund.connect(alice).unstake(alice.address)).to.emit(fund, "Unstaked");
      await time.setNextBlockTimestamp(bobReady + WINDOW + 1);
      await expect(fund.connect(bob).unstake(bob.address))
        .to.be.revertedWithCustomError(fund, "UnstakeWindowClosed")
        .withArgs(bobReady + WINDOW);
      // Bob keeps his shares and must request again.
      expect(await fund.sharesOf(bob.address)).to.equal(bobShares);
      const again = await requestAt(fund, bob, bobShares);
      await time.setNextBlockTimestamp(again);
      await expect(fund.connect(bob).unstake(bob.address))
        .to.emit(fund, "Unstaked")
        .withArgs(bob.address, bob.address, u(100), bobShares);
    });

    it("unstake: the window is fixed at request time, so an admin change does not shorten a pending request's window", async () => {
      const { fund, admin, alice, bob, stakeAs } = await setup();
      const aliceShares = await stakeAs(alice, u(100));
      const bobShares = await stakeAs(bob, u(100));
      const t0 = (await time.latest()) + 1;
      const readyAt = await requestAt(fund, alice, aliceShares, t0);
      expect(await requestAt(fund, bob, bobShares, t0 + 1)).to.equal(readyAt + 1);
      await fund.connect(admin).setCooldown(COOLDOWN, MIN_WINDOW);
      // The pending requests keep the window they were made with.
      const r = await fund.unstakeRequest(alice.address);
      expect(r.readyAt).to.equal(readyAt);
      expect(r.closesAt).to.equal(readyAt + WINDOW);
      // Well past the new, shorter window: alice still unstakes, at the last second of her old one.
      await time.setNextBlockTimestamp(readyAt + WINDOW);
      await expect(fund.connect(alice).unstake(alice.address))
        .to.emit(fund, "Unstaked")
        .withArgs(alice.address, alice.address, u(100), aliceShares);
      // One second after bob's old window, his request is closed (at the old closesAt, not the new one).
      await time.setNextBlockTimestamp(readyAt + 1 + WINDOW + 1);
      await expect(fund.connect(bob).unstake(bob.address))
        .to.be.revertedWithCustomError(fund, "UnstakeWindowClosed")
        .withArgs(readyAt + 1 + WINDOW);
    });

    it("unstake: the cooldown is fixed at request time, so an admin change does not move a pending request's readyAt", async () => {
      const { fund, admin, alice, bob, stakeAs } = await setup();
      const aliceShares = await stakeAs(alice, u(100));
      const bobShares = await stakeAs(bob, u(100));
      const t0 = (await time.latest()) + 1;
      const aliceReady = await requestAt(fund, alice, aliceShares, t0);
      const bobReady = await requestAt(fund, bob, bobShares, t0 + 1);
      // A shorter cooldown does not let alice out early ...
      await fund.connect(admin).setCooldown(MIN_COOLDOWN, WINDOW);
      await time.setNextBlockTimestamp(t0 + MIN_COOLDOWN + 10);
      await expect(fund.connect(alice).unstake(alice.address))
        .to.be.revertedWithCustomError(fund, "CooldownNotElapsed")
        .withArgs(aliceReady);
      // ... and a longer one does not hold bob back.
      await fund.connect(admin).setCooldown(MAX_COOLDOWN, MIN_WINDOW);
      expect(await fund.unstakeRequest(bob.address)).to.deep.equal([
        bobShares,
        BigInt(bobReady),
        BigInt(bobReady + WINDOW),
      ]);
      await time.setNextBlockTimestamp(bobReady);
      await expect(fund.connect(bob).unstake(bob.address))
        .to.emit(fund, "Unstaked")
        .withArgs(bob.address, bob.address, u(100), bobShares);
      await time.setNextBlockTimestamp(aliceReady + WINDOW);
      await expect(fund.connect(alice).unstake(alice.address))
        .to.emit(fund, "Unstaked")
        .withArgs(alice.address, alice.address, u(100), aliceShares);
    });

    it("unstake: recourse debt of the staker is repaid first from the proceeds and stays in the fund", async () => {
      const { fund, usdc, market, alice, bob, stakeAs, fundAddress } = await setup();
      const aliceShares = await stakeAs(alice, u(1_000));
      await stakeAs(bob, u(1_000));
      const readyAt = await requestAt(fund, alice, aliceShares);
      await fund.connect(market).recordRecourse(alice.address, u(300));
      const assets = await fund.previewUnstake(aliceShares);
      expect(assets).to.equal(u(1_000));
      await time.setNextBlockTimestamp(readyAt);
      const tx = fund.connect(alice).unstake(alice.address);
      await expect(tx).to.emit(fund, "Unstaked").withArgs(alice.address, alice.address, assets, aliceShares);
      await expect(tx).to.emit(fund, "RecourseRepaid").withArgs(alice.address, alice.address, u(300), 0n);
      await expect(tx).to.changeTokenBalances(
        usdc,
        [fundAddress, alice.address],
        [-(assets - u(300)), assets - u(300)],
      );
      expect(await fund.recourseDebt(alice.address)).to.equal(0n);
      expect(await fund.totalRecourseDebt()).to.equal(0n);
      expect(await fund.totalRecovered()).to.equal(u(300));
      expect(await fund.totalAssets()).to.equal(u(2_000) - assets + u(300));
    });

    it("unstake: proceeds smaller than the debt all go to the debt and nothing is transferred", async () => {
      const { fund, usdc, market, alice, stakeAs, fundAddress } = await setup();
      const aliceShares = await stakeAs(alice, u(100));
      await fund.connect(market).recordRecourse(alice.address, u(500));
      const readyAt = await requestAt(fund, alice, aliceShares);
      const assets = await fund.previewUnstake(aliceShares);
      expect(assets).to.equal(u(100));
      await time.setNextBlockTimestamp(readyAt);
      const tx = fund.connect(alice).unstake(alice.address);
      await expect(tx).to.emit(fund, "Unstaked").withArgs(alice.address, alice.address, assets, aliceShares);
      await expect(tx)
        .to.emit(fund, "RecourseRepaid")
        .withArgs(alice.address, alice.address, assets, u(500) - assets);
      await expect(tx).to.changeTokenBalances(usdc, [fundAddress, alice.address], [0n, 0n]);
      expect(await fund.recourseDebt(alice.address)).to.equal(u(500) - assets);
      expect(await fund.totalShares()).to.equal(0n);
    });
  });

  describe("the cooldown: a staker cannot run from a loss", () => {
    it("cooldown: a staker who requested before a loss receives the pro-rata share of what is left, not the stake", async () => {
      const { fund, usdc, market, alice, bob, stakeAs, fundAddress } = await setup();
      const aliceShares = await stakeAs(alice, u(1_000));
      const bobShares = await stakeAs(bob, u(3_000));
      expect(aliceShares).to.equal(1_000_000_000_000_000n);
      expect(bobShares).to.equal(3_000_000_000_000_000n);

      // Alice sees the loss coming and asks to leave at once.
      const readyAt = await requestAt(fund, alice, aliceShares);
      // She cannot leave before the cooldown ends.
      await time.setNextBlockTimestamp(readyAt - 2);
      await expect(fund.connect(alice).unstake(alice.address))
        .to.be.revertedWithCustomError(fund, "CooldownNotElapsed")
        .withArgs(readyAt);
      // One second before the end, a market draws a big cover: 3000 of the 4000.
      await time.setNextBlockTimestamp(readyAt - 1);
      await expect(fund.connect(market).cover(u(3_000)))
        .to.emit(fund, "InsurancePaid")
        .withArgs(market.address, u(3_000), u(3_000));
      expect(await fund.totalAssets()).to.equal(u(1_000));

      const total = aliceShares + bobShares;
      const expected = toAssetsDown(aliceShares, u(1_000), total);
      expect(expected).to.equal(u(250)); // a quarter of what is left, not her 1000
      // Bob, who never requested, is treated identically per share: also a quarter of his stake.
      const bobValue = toAssetsDown(bobShares, u(1_000), total);
      expect(bobValue).to.equal(u(750));
      expect(expected * bobShares).to.equal(bobValue * aliceShares);
      expect(await fund.previewUnstake(aliceShares)).to.equal(expected);
      expect(await fund.previewUnstake(bobShares)).to.equal(bobValue);

      await time.setNextBlockTimestamp(readyAt);
      const tx = fund.connect(alice).unstake(alice.address);
      await expect(tx)
        .to.emit(fund, "Unstaked")
        .withArgs(alice.address, alice.address, expected, aliceShares);
      await expect(tx).to.changeTokenBalances(usdc, [fundAddress, alice.address], [-expected, expected]);
      expect(await usdc.balanceOf(alice.address)).to.equal(u(250));
      // Her leaving does not change the price of bob's shares.
      expect(await fund.previewUnstake(bobShares)).to.equal(u(750));

      // Bob leaves later, after his own cooldown: same price per share.
      const bobReady = await requestAt(fund, bob, bobShares);
      await time.setNextBlockTimestamp(bobReady);
      const bobExpected = toAssetsDown(bobShares, u(1_000) - expected, bobShares);
      expect(bobExpected).to.equal(u(750));
      await expect(fund.connect(bob).unstake(bob.address))
        .to.emit(fund, "Unstaked")
        .withArgs(bob.address, bob.address, bobExpected, bobShares);
      expect(await usdc.balanceOf(bob.address)).to.equal(u(750));
      // Together they bore the whole 3000 loss pro rata: nothing is left.
      expect(await fund.totalAssets()).to.equal(0n);
      expect(await fund.totalShares()).to.equal(0n);
    });

    it("cooldown: income topped up while a staker cools down is shared pro rata", async () => {
      const { fund, usdc, keeper, alice, bob, stakeAs, give } = await setup();
      const aliceShares = await stakeAs(alice, u(1_000));
      const bobShares = await stakeAs(bob, u(3_000));
      const readyAt = await requestAt(fund, alice, aliceShares);
      await time.setNextBlockTimestamp(readyAt - DAY);
      await give(keeper, u(400));
      await fund.connect(keeper).topUp(u(400));
      const total = aliceShares + bobShares;
      const aliceExpected = toAssetsDown(aliceShares, u(4_400), total);
      const bobExpected = toAssetsDown(bobShares, u(4_400), total);
      expect(aliceExpected).to.equal(1_099_999_999n); // 1000 + a quarter of the 400, rounded down
      expect(bobExpected).to.equal(3_299_999_999n); // 3000 + three quarters of the 400, rounded down
      expect(await fund.previewUnstake(bobShares)).to.equal(bobExpected);
      await time.setNextBlockTimestamp(readyAt);
      await expect(fund.connect(alice).unstake(alice.address))
        .to.emit(fund, "Unstaked")
        .withArgs(alice.address, alice.address, aliceExpected, aliceShares);
      expect(await usdc.balanceOf(alice.address)).to.equal(1_099_999_999n);
      // Alice's rounding unit stays with bob.
      expect(await fund.previewUnstake(bobShares)).to.equal(u(3_300));
    });

    it("cooldown: re-requesting during the cooldown only pushes readiness back", async () => {
      const { fund, market, alice, stakeAs } = await setup();
      const aliceShares = await stakeAs(alice, u(1_000));
      const t0 = (await time.latest()) + 1;
      const firstReady = await requestAt(fund, alice, aliceShares, t0);
      const secondReady = await requestAt(fund, alice, aliceShares, t0 + 3 * DAY);
      await time.setNextBlockTimestamp(firstReady);
      await expect(fund.connect(alice).unstake(alice.address))
        .to.be.revertedWithCustomError(fund, "CooldownNotElapsed")
        .withArgs(secondReady);
      await fund.connect(market).cover(u(600));
      await time.setNextBlockTimestamp(secondReady);
      await expect(fund.connect(alice).unstake(alice.address))
        .to.emit(fund, "Unstaked")
        .withArgs(alice.address, alice.address, toAssetsDown(aliceShares, u(400), aliceShares), aliceShares);
      expect(toAssetsDown(aliceShares, u(400), aliceShares)).to.equal(u(400));
    });
  });

  describe("share-price inflation", () => {
    it("inflation: a donation before the first stake goes to the virtual shares, the next staker loses under one share's worth", async () => {
      const { fund, usdc, alice, stakeAs, donate } = await setup();
      const donation = u(1_000);
      await donate(donation);
      expect(await fund.totalAssets()).to.equal(donation);
      expect(await fund.totalShares()).to.equal(0n);
      const deposit = u(1_000);
      const shares = await stakeAs(alice, deposit);
      expect(shares).to.equal(toSharesDown(deposit, donation, 0n));
      expect(shares).to.equal(999_999n);
      const value = await fund.previewUnstake(shares);
      expect(value).to.equal(toAssetsDown(shares, donation + deposit, shares));
      expect(value).to.equal(999_999_500n);
      // One share costs (donation + 1) / 1e6 = 1000.000001 units: alice loses 500 units, under one share.
      const oneShare = (donation + VIRTUAL_ASSETS) / VIRTUAL_SHARES + 1n;
      expect(deposit - value).to.equal(500n);
      expect(deposit - value).to.be.lessThan(oneShare);

      const readyAt = await requestAt(fund, alice, shares);
      await time.setNextBlockTimestamp(readyAt);
      await fund.connect(alice).unstake(alice.address);
      expect(await usdc.balanceOf(alice.address)).to.equal(999_999_500n);
      expect(await fund.totalAssets()).to.equal(donation + 500n);
    });

    it("inflation: a first staker of 1 unit who then donates loses to the next staker instead of stealing", async () => {
      const { fund, usdc, stranger: attacker, alice, stakeAs, donate } = await setup();
      const attackerShares = await stakeAs(attacker, 1n);
      expect(attackerShares).to.equal(1_000_000n);
      const donation = u(1_000);
      await donate(donation); // minted to and sent by the attacker
      const deposit = u(1_000);
      const aliceShares = await stakeAs(alice, deposit);
      expect(aliceShares).to.equal(toSharesDown(deposit, donation + 1n, attackerShares));
      expect(aliceShares).to.equal(1_999_999n);
      const balance = donation + 1n + deposit;
      const total = attackerShares + aliceShares;
      const aliceValue = toAssetsDown(aliceShares, balance, total);
      const attackerValue = toAssetsDown(attackerShares, balance, total);
      expect(await fund.previewUnstake(aliceShares)).to.equal(aliceValue);
      expect(aliceValue).to.equal(999_999_750n);
      expect(attackerValue).to.equal(500_000_125n);
      // Alice loses 250 units; the attacker loses about half of the 1000 USDC donated.
      expect(deposit - aliceValue).to.equal(250n);
      expect(donation + 1n - attackerValue).to.equal(499_999_876n);

      const readyAt = await requestAt(fund, alice, aliceShares);
      await time.setNextBlockTimestamp(readyAt);
      await fund.connect(alice).unstake(alice.address);
      expect(await usdc.balanceOf(alice.address)).to.equal(999_999_750n);
    });
  });

  describe("share epochs: a full drain writes the shares off", () => {
    const M = u(1_000_000);

    it("epochs: a cover that drains the fund writes every share off (StakersWipedOut), and the next staker gets 1e6 shares per unit and owns the whole fund", async () => {
      const { fund, usdc, market, alice, bob, carol, stakeAs, give, fundAddress } = await setup();
      expect(await fund.epoch()).to.equal(0n);
      const a = await stakeAs(alice, M);
      const b = await stakeAs(bob, M);
      expect(a).to.equal(10n ** 18n);
      expect(b).to.equal(toSharesDown(M, M, a));
      expect(b).to.equal(10n ** 18n);

      expect(await fund.connect(market).cover.staticCall(u(3_000_000))).to.equal(u(2_000_000));
      const tx = fund.connect(market).cover(u(3_000_000));
      await expect(tx).to.emit(fund, "InsurancePaid").withArgs(market.address, u(3_000_000), u(2_000_000));
      await expect(tx)
        .to.emit(fund, "StakersWipedOut")
        .withArgs(0n, 2n * 10n ** 18n);
      await expect(tx).to.changeTokenBalances(
        usdc,
        [fundAddress, market.address],
        [-u(2_000_000), u(2_000_000)],
      );
      expect(await fund.epoch()).to.equal(1n);
      expect(await fund.totalShares()).to.equal(0n);
      expect(await fund.totalAssets()).to.equal(0n);
      expect(await fund.sharesOf(alice.address)).to.equal(0n);
      expect(await fund.sharesOf(bob.address)).to.equal(0n);
      expect(await fund.totalPaid()).to.equal(u(2_000_000));

      // A fresh start: exactly 1e6 shares per base unit, as into an empty fund.
      await give(carol, u(1_000));
      const tx2 = fund.connect(carol).stake(u(1_000), carol.address);
      await expect(tx2)
        .to.emit(fund, "Staked")
        .withArgs(carol.address, carol.address, u(1_000), 1_000_000_000_000_000n);
      expect(await fund.sharesOf(carol.address)).to.equal(1_000_000_000_000_000n);
      expect(await fund.totalShares()).to.equal(1_000_000_000_000_000n);
      // She owns the whole fund: her shares are worth exactly what she paid.
      expect(await fund.previewUnstake(1_000_000_000_000_000n)).to.equal(u(1_000));

      // A wiped-out staker who stakes again starts from zero too: the old shares do not come back.
      const again = await stakeAs(alice, u(500));
      expect(again).to.equal(toSharesDown(u(500), u(1_000), 1_000_000_000_000_000n));
      expect(again).to.equal(500_000_000_000_000n);
      expect(await fund.sharesOf(alice.address)).to.equal(500_000_000_000_000n);
      expect(await fund.totalShares()).to.equal(1_500_000_000_000_000n);
      expect(await fund.previewUnstake(again)).to.equal(u(500));
      expect(await fund.epoch()).to.equal(1n);
    });

    it("epochs: a drain with no shares outstanding writes nothing off and keeps the epoch", async () => {
      const { fund, market, donate } = await setup();
      await donate(u(1_000));
      await expect(fund.connect(market).cover(u(1_000))).not.to.emit(fund, "StakersWipedOut");
      expect(await fund.epoch()).to.equal(0n);
      expect(await fund.totalAssets()).to.equal(0n);
      // An empty fund paying 0 with no shares writes nothing off either.
      await expect(fund.connect(market).cover(u(1))).not.to.emit(fund, "StakersWipedOut");
      expect(await fund.epoch()).to.equal(0n);
    });

    it("epochs: a request made before the wipe-out is void after it; unstakeRequest reports zeroes", async () => {
      const { fund, usdc, market, alice, bob, stakeAs } = await setup();
      const a = await stakeAs(alice, M);
      await stakeAs(bob, M);
      const t0 = (await time.latest()) + 1;
      const readyAt = await requestAt(fund, alice, a, t0);
      expect(await fund.unstakeRequest(alice.address)).to.deep.equal([
        a,
        BigInt(readyAt),
        BigInt(readyAt + WINDOW),
      ]);

      await expect(fund.connect(market).cover(u(2_000_000)))
        .to.emit(fund, "StakersWipedOut")
        .withArgs(0n, 2n * 10n ** 18n);
      expect(await fund.unstakeRequest(alice.address)).to.deep.equal([0n, 0n, 0n]);

      // Inside the old request's window, there is no request.
      await time.setNextBlockTimestamp(readyAt);
      await expect(fund.connect(alice).unstake(alice.address)).to.be.revertedWithCustomError(
        fund,
        "NoUnstakeRequest",
      );
      // The written-off shares cannot be requested again either.
      await expect(fund.connect(bob).requestUnstake(1n))
        .to.be.revertedWithCustomError(fund, "InsufficientShares")
        .withArgs(1n, 0n);

      // A new stake in the new epoch does not revive the old request.
      const fresh = await stakeAs(alice, u(100));
      expect(fresh).to.equal(u(100) * 1_000_000n);
      expect(await fund.unstakeRequest(alice.address)).to.deep.equal([0n, 0n, 0n]);
      await expect(fund.connect(alice).unstake(alice.address)).to.be.revertedWithCustomError(
        fund,
        "NoUnstakeRequest",
      );

      // All of this happened inside the old request's window.
      expect(await time.latest()).to.be.lessThan(readyAt + WINDOW);

      // A request made in the new epoch works as usual.
      const newReady = await requestAt(fund, alice, fresh);
      expect(await fund.unstakeRequest(alice.address)).to.deep.equal([
        fresh,
        BigInt(newReady),
        BigInt(newReady + WINDOW),
      ]);
      await time.setNextBlockTimestamp(newReady);
      await expect(fund.connect(alice).unstake(alice.address))
        .to.emit(fund, "Unstaked")
        .withArgs(alice.address, alice.address, u(100), fresh);
      expect(await usdc.balanceOf(alice.address)).to.equal(u(100));
      expect(await fund.totalShares()).to.equal(0n);
      expect(await fund.totalAssets()).to.equal(0n);
    });

    it("epochs: share counts stay bounded across five full drains: every 1M stake mints exactly 1e6 x assets shares", async () => {
      const { fund, usdc, market, give } = await setup();
      const signers = await ethers.getSigners();
      const stakers = [signers[1], signers[4], signers[5], signers[7], signers[8]];
      for (let i = 0; i < stakers.length; i++) {
        const who = stakers[i];
        await give(who, M);
        await expect(fund.connect(who).stake(M, who.address))
          .to.emit(fund, "Staked")
          .withArgs(who.address, who.address, M, M * VIRTUAL_SHARES);
        expect(await fund.sharesOf(who.address)).to.equal(10n ** 18n);
        expect(await fund.totalShares()).to.equal(10n ** 18n);
        expect(await fund.previewUnstake(10n ** 18n)).to.equal(M);
        await expect(fund.connect(market).cover(M)) // exactly the balance
          .to.emit(fund, "StakersWipedOut")
          .withArgs(BigInt(i), 10n ** 18n);
        expect(await fund.epoch()).to.equal(BigInt(i + 1));
        expect(await fund.totalShares()).to.equal(0n);
        expect(await fund.sharesOf(who.address)).to.equal(0n);
      }
      expect(await fund.totalPaid()).to.equal(5n * M);

      // The sixth staker is in the same position as the first, and can leave with everything at once.
      const last = signers[9];
      await give(last, M);
      await fund.connect(last).stake(M, last.address);
      expect(await fund.sharesOf(last.address)).to.equal(10n ** 18n);
      const readyAt = await requestAt(fund, last, 10n ** 18n);
      await time.setNextBlockTimestamp(readyAt);
      await expect(fund.connect(last).unstake(last.address))
        .to.emit(fund, "Unstaked")
        .withArgs(last.address, last.address, M, 10n ** 18n);
      expect(await usdc.balanceOf(last.address)).to.equal(M);
      expect(await fund.totalShares()).to.equal(0n);
      expect(await fund.epoch()).to.equal(5n);
    });

    it("epochs: a cover that leaves dust (1 unit against 1e18 shares) writes the shares off", async () => {
      const { fund, market, alice, bob, stakeAs } = await setup();
      const a = await stakeAs(alice, M);
      expect(a).to.equal(10n ** 18n);
      // 1 unit x 1e12 < 1e18 shares: below a millionth of the first stake's price.
      await expect(fund.connect(market).cover(M - 1n))
        .to.emit(fund, "StakersWipedOut")
        .withArgs(0n, a);
      expect(await fund.epoch()).to.equal(1n);
      expect(await fund.totalAssets()).to.equal(1n);
      expect(await fund.totalShares()).to.equal(0n);
      expect(await fund.sharesOf(alice.address)).to.equal(0n);

      // The dust stays as the fund's own capital; the next staker is priced against it, not against 1e18.
      const b = await stakeAs(bob, M);
      expect(b).to.equal(toSharesDown(M, 1n, 0n));
      expect(b).to.equal(500_000_000_000_000_000n);
      expect(await fund.previewUnstake(b)).to.equal(toAssetsDown(b, M + 1n, b));
    });

    it("epochs: a cover that leaves exactly a millionth of the price writes nothing off; the next stake is pro rata", async () => {
      const { fund, market, alice, bob, stakeAs } = await setup();
      const a = await stakeAs(alice, M);
      const left = u(1); // 1e6 units x 1e12 == 1e18 shares: not below the line
      await expect(fund.connect(market).cover(M - left)).not.to.emit(fund, "StakersWipedOut");
      expect(await fund.epoch()).to.equal(0n);
      expect(await fund.totalShares()).to.equal(a);
      expect(await fund.previewUnstake(a)).to.equal(toAssetsDown(a, left, a));

      const b = await stakeAs(bob, M);
      expect(b).to.equal(toSharesDown(M, left, a));
      expect(await fund.previewUnstake(b)).to.equal(toAssetsDown(b, M + left, a + b));
      expect(await fund.previewUnstake(a)).to.equal(toAssetsDown(a, M + left, a + b));
    });
  });

  describe("the wipe-out line is relative to each cover (second review, A-2)", () => {
    const M = u(1_000_000);

    it("a stake made after a large loss is not wiped out by the next small cover", async () => {
      const { fund, market, alice, bob, stakeAs } = await setup();
      await stakeAs(alice, M);
      // The cover leaves exactly a millionth of the balance: not below the line, nothing written off.
      await expect(fund.connect(market).cover(M - u(1))).not.to.emit(fund, "StakersWipedOut");
      const b = await stakeAs(bob, M);
      expect(await fund.previewUnstake(b)).to.be.gt(M - u(1));
      // Under the old absolute line (1 unit per 1e12 shares) this 1 USDC cover wrote bob's stake off.
      await expect(fund.connect(market).cover(u(1))).not.to.emit(fund, "StakersWipedOut");
      expect(await fund.sharesOf(bob.address)).to.equal(b);
      expect(await fund.previewUnstake(b)).to.be.gt(M - u(2));
    });

    it("a cover that leaves less than a millionth of the balance it found writes every share off", async () => {
      const { fund, market, alice, stakeAs } = await setup();
      const a = await stakeAs(alice, M);
      await expect(fund.connect(market).cover(M - u(1) + 1n))
        .to.emit(fund, "StakersWipedOut")
        .withArgs(0n, a);
      expect(await fund.totalAssets()).to.equal(u(1) - 1n);
    });

    it("losses without a wipe-out that push the old shares below a millionth of the first price: the next stake writes them off before it mints", async () => {
      const { fund, market, alice, bob, stakeAs, give } = await setup();
      const a = await stakeAs(alice, M);
      await give(bob, M);
      // Three covers of 99.9% each: none below its own line, but 1e18 shares now stand on 1,000 units.
      for (const left of [10n ** 9n, 10n ** 6n, 10n ** 3n]) {
        const balance = await fund.totalAssets();
        await expect(fund.connect(market).cover(balance - left)).not.to.emit(fund, "StakersWipedOut");
      }
      expect(await fund.totalShares()).to.equal(a);
      expect(await fund.totalAssets()).to.equal(1_000n);
      const tx = fund.connect(bob).stake(M, bob.address);
      await expect(tx).to.emit(fund, "StakersWipedOut").withArgs(0n, a);
      const b = await fund.sharesOf(bob.address);
      // Priced as a fresh start against the 1,000 units of dust: a bounded share count.
      expect(b).to.equal(toSharesDown(M, 1_000n, 0n));
      expect(await fund.totalShares()).to.equal(b);
      expect(await fund.sharesOf(alice.address)).to.equal(0n);
      expect(await fund.epoch()).to.equal(1n);
    });
  });

  describe("share counts stay bounded", () => {
    const M = u(1_000_000);

    it("four dust drains in a row: each writes the shares off and each new 1M stake mints the same count", async () => {
      const { fund, market, stakeAs } = await setup();
      const signers = await ethers.getSigners();
      let expectedEpoch = 0n;
      let dust = 0n;
      for (let i = 0; i < 4; i++) {
        const staker = signers[5 + i];
        const shares = await stakeAs(staker, M);
        expect(shares, `stake ${i}`).to.equal(toSharesDown(M, dust, 0n));
        expect(shares < 2n ** 128n).to.equal(true);
        const balance = await fund.totalAssets();
        await expect(fund.connect(market).cover(balance - 1n))
          .to.emit(fund, "StakersWipedOut")
          .withArgs(expectedEpoch, shares);
        expectedEpoch += 1n;
        dust = 1n;
        expect(await fund.totalShares()).to.equal(0n);
        expect(await fund.sharesOf(staker.address)).to.equal(0n);
      }
      expect(await fund.epoch()).to.equal(4n);
    });
  });

  describe("admin", () => {
    it("setMarket: registers and deregisters with MarketRegistered", async () => {
      const { fund, admin, carol } = await setup();
      await expect(fund.connect(admin).setMarket(carol.address, true))
        .to.emit(fund, "MarketRegistered")
        .withArgs(carol.address, true);
      expect(await fund.isMarket(carol.address)).to.equal(true);
      await expect(fund.connect(admin).setMarket(carol.address, false))
        .to.emit(fund, "MarketRegistered")
        .withArgs(carol.address, false);
      expect(await fund.isMarket(carol.address)).to.equal(false);
    });

    it("setMarket: reverts with ZeroAddress", async () => {
      const { fund, admin } = await setup();
      await expect(fund.connect(admin).setMarket(ethers.ZeroAddress, true)).to.be.revertedWithCustomError(
        fund,
        "ZeroAddress",
      );
    });

    it("setMarket: a stranger is refused with AccessControlUnauthorizedAccount", async () => {
      const { fund, stranger } = await setup();
      await expect(fund.connect(stranger).setMarket(stranger.address, true))
        .to.be.revertedWithCustomError(fund, "AccessControlUnauthorizedAccount")
        .withArgs(stranger.address, DEFAULT_ADMIN_ROLE);
      expect(await fund.isMarket(stranger.address)).to.equal(false);
    });

    it("setCooldown: accepts each bound exactly and emits CooldownSet", async () => {
      const { fund, admin } = await setup();
      await expect(fund.connect(admin).setCooldown(MIN_COOLDOWN, MIN_WINDOW))
        .to.emit(fund, "CooldownSet")
        .withArgs(MIN_COOLDOWN, MIN_WINDOW);
      expect(await fund.cooldown()).to.equal(MIN_COOLDOWN);
      expect(await fund.unstakeWindow()).to.equal(MIN_WINDOW);
      await expect(fund.connect(admin).setCooldown(MAX_COOLDOWN, MAX_WINDOW))
        .to.emit(fund, "CooldownSet")
        .withArgs(MAX_COOLDOWN, MAX_WINDOW);
      expect(await fund.cooldown()).to.equal(MAX_COOLDOWN);
      expect(await fund.unstakeWindow()).to.equal(MAX_WINDOW);
    });

    it("setCooldown: reverts with OutOfBounds one beyond each bound", async () => {
      const { fund, admin } = await setup();
      const cases: [number, number, string, number, number, number][] = [
        [MIN_COOLDOWN - 1, WINDOW, "cooldown", MIN_COOLDOWN - 1, MIN_COOLDOWN, MAX_COOLDOWN],
        [MAX_COOLDOWN + 1, WINDOW, "cooldown", MAX_COOLDOWN + 1, MIN_COOLDOWN, MAX_COOLDOWN],
        [COOLDOWN, MIN_WINDOW - 1, "unstakeWindow", MIN_WINDOW - 1, MIN_WINDOW, MAX_WINDOW],
        [COOLDOWN, MAX_WINDOW + 1, "unstakeWindow", MAX_WINDOW + 1, MIN_WINDOW, MAX_WINDOW],
      ];
      for (const [c, w, param, value, min, max] of cases) {
        await expect(fund.connect(admin).setCooldown(c, w))
          .to.be.revertedWithCustomError(fund, "OutOfBounds")
          .withArgs(param, value, min, max);
      }
      expect(await fund.cooldown()).to.equal(COOLDOWN);
      expect(await fund.unstakeWindow()).to.equal(WINDOW);
    });

    it("setCooldown: a stranger is refused with AccessControlUnauthorizedAccount", async () => {
      const { fund, stranger } = await setup();
      await expect(fund.connect(stranger).setCooldown(MIN_COOLDOWN, MIN_WINDOW))
        .to.be.revertedWithCustomError(fund, "AccessControlUnauthorizedAccount")
        .withArgs(stranger.address, DEFAULT_ADMIN_ROLE);
      expect(await fund.cooldown()).to.equal(COOLDOWN);
    });
  });

  describe("views", () => {
    it("totalAssets: equals the token balance, including plain transfers and after covers", async () => {
      const { fund, usdc, market, alice, keeper, stakeAs, give, donate, fundAddress } = await setup();
      expect(await fund.totalAssets()).to.equal(0n);
      await stakeAs(alice, u(100));
      await give(keeper, u(20));
      await fund.connect(keeper).topUp(u(20));
      await donate(7n);
      expect(await fund.totalAssets()).to.equal(u(120) + 7n);
      await fund.connect(market).cover(u(50));
      expect(await fund.totalAssets()).to.equal(u(70) + 7n);
      expect(await fund.totalAssets()).to.equal(await usdc.balanceOf(fundAddress));
    });

    it("previewUnstake: matches what unstake pays", async () => {
      const { fund, usdc, market, alice, bob, stakeAs, donate } = await setup();
      const aliceShares = await stakeAs(alice, u(123));
      await stakeAs(bob, u(456));
      await fund.connect(market).cover(u(77));
      await donate(13n);
      const part = aliceShares / 3n;
      const readyAt = await requestAt(fund, alice, part);
      await time.setNextBlockTimestamp(readyAt);
      await ethers.provider.send("evm_mine", []);
      const preview = await fund.previewUnstake(part);
      expect(preview).to.equal(toAssetsDown(part, await fund.totalAssets(), await fund.totalShares()));
      await fund.connect(alice).unstake(alice.address);
      expect(await usdc.balanceOf(alice.address)).to.equal(preview);
      expect(await fund.previewUnstake(0)).to.equal(0n);
    });
  });
});
