/**
 * LendingMarket administration: listCollateral (checks in order, events, the fee-on-transfer probe, the
 * 16-collateral limit), setCollateralParams and setMarketParams bounds (at and beyond each bound),
 * setMarketParams and setRateModel (each accrues under the old settings first), setPaused roles, access
 * control on every admin function (state unchanged), and the constructor.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";

import { NegativeBalancePolicy } from "../../deploy/enums";
import { toUnits, wad, WAD } from "../../deploy/units";
import {
  type FeeOnTransferToken,
  type ILendingMarket,
  LendingMarket__factory,
  type MockERC20,
} from "../../typechain-types";
import { expectConservation } from "../helpers/conservation";
import { type Fixture, loadSystem } from "../helpers/fixture";

const usdc = (v: number | string) => toUnits(v, 6);
const ADMIN_ROLE = ethers.ZeroHash;
const MAX_COLLATERALS = 16;

type CollateralParams = ILendingMarket.CollateralParamsStruct;
type MarketParams = ILendingMarket.MarketParamsStruct;

const WETH_PARAMS = {
  ltv: wad(0.8),
  liquidationThreshold: wad(0.85),
  liquidationBonus: wad(0.05),
  supplyCap: toUnits(100_000, 18),
};

/** The local deployment's market parameters (localConfig). */
const LOCAL_MARKET_PARAMS = {
  borrowCap: usdc(100_000_000),
  minBorrow: usdc(100),
  reserveFactor: wad(0.1),
  protocolShare: wad(0.1),
  smallPosition: usdc(1000),
  marginCallHealth: wad(1.1),
};

/** A struct argument of an event as the ABI orders it (field names are the API, not their order). */
const MARKET_INTERFACE = LendingMarket__factory.createInterface();
function tupleOf(eventName: "MarketParamsSet" | "CollateralParamsSet", value: object): unknown[] {
  const components = MARKET_INTERFACE.getEvent(eventName)!.inputs.at(-1)!.components!;
  return components.map((c) => (value as Record<string, unknown>)[c.name]);
}
const marketTuple = (p: object) => tupleOf("MarketParamsSet", p);
const collateralTuple = (p: object) => tupleOf("CollateralParamsSet", p);

let counter = 0;

/** Deploys a MockERC20 with `decimals`; `priced` also deploys an 8-decimal feed and lists it in the router. */
async function newToken(
  f: Fixture,
  decimals: number,
  opts: { priced?: boolean; usd?: number } = {},
): Promise<{ token: MockERC20; address: string }> {
  const { admin } = f.actors;
  const n = ++counter;
  const token = await (
    await ethers.getContractFactory("MockERC20", admin)
  ).deploy(`Token ${n}`, `TK${n}`, decimals);
  const address = await token.getAddress();
  if (opts.priced ?? true) await priceInRouter(f, address, opts.usd ?? 15);
  return { token, address };
}

/** Lists `asset` in the OracleRouter with a fresh 8-decimal mock feed at `usd`. */
async function priceInRouter(f: Fixture, asset: string, usd: number) {
  const { admin } = f.actors;
  const feed = await (
    await ethers.getContractFactory("MockAggregator", admin)
  ).deploy(8, toUnits(usd, 8), `feed ${asset}`);
  await f.router.connect(admin).setAssetConfig(asset, {
    primaryFeed: await feed.getAddress(),
    primaryHeartbeat: 3600,
    fallbackFeed: ethers.ZeroAddress,
    fallbackHeartbeat: 0,
    confirmWindow: 600,
    minPrice: wad("0.01"),
    maxPrice: wad(1_000_000),
    maxDeviation: wad(0.2),
    maxDivergence: wad(0.02),
  });
}

/** Deploys a FeeOnTransferToken (`feeBps` burnt on every transfer) and prices it in the router at $15. */
async function newFeeToken(f: Fixture, decimals: number, feeBps: bigint): Promise<FeeOnTransferToken> {
  const token = await (
    await ethers.getContractFactory("FeeOnTransferToken", f.actors.admin)
  ).deploy(decimals, feeBps);
  expect(await token.feeBps()).to.equal(feeBps);
  await priceInRouter(f, await token.getAddress(), 15);
  return token;
}

const PARAMS = (over: Partial<Record<keyof CollateralParams, bigint>> = {}) => ({
  ltv: wad(0.6),
  liquidationThreshold: wad(0.7),
  liquidationBonus: wad(0.1),
  supplyCap: toUnits(1_000_000, 12),
  ...over,
});

async function setup() {
  const f = await loadSystem();
  const market = f.lending!.market;
  const marketAddress = await market.getAddress();
  /** Mints `probe` of `token` to the admin and approves the market for it, then lists it. */
  const list = async (token: MockERC20, params: CollateralParams, probe = 10_000n) => {
    const { admin } = f.actors;
    await token.mint(admin.address, probe);
    await token.connect(admin).approve(marketAddress, probe);
    return market.connect(admin).listCollateral(await token.getAddress(), params, probe);
  };
  /** setMarketParams with the local parameters except `over`. */
  const marketParams = (over: Partial<MarketParams> = {}) => ({ ...LOCAL_MARKET_PARAMS, ...over });
  return { f, market, marketAddress, list, marketParams };
}

/** Everything an admin function could change, for "state unchanged" checks. */
async function adminState(f: Fixture) {
  const market = f.lending!.market;
  const tokens = await market.collateralTokens();
  const configs = [];
  for (const t of tokens) configs.push([...(await market.collateralConfig(t))]);
  return {
    params: [...(await market.params())],
    tokens,
    configs,
    rateModel: await market.rateModel(),
    paused: await market.paused(),
    guardianRoleOfStranger: await market.hasRole(
      await market.PAUSE_GUARDIAN_ROLE(),
      f.actors.stranger.address,
    ),
    totals: [...(await market.totals())],
  };
}

describe("lending: administration", () => {
  describe("listCollateral", () => {
    it("listCollateral: lists a priced 12-decimal token at the next index; CollateralListed and CollateralParamsSet evented; the probe is returned", async () => {
      const { f, market, marketAddress, list } = await setup();
      const { admin, alice } = f.actors;
      const { token, address } = await newToken(f, 12, { usd: 15 });
      const params = PARAMS();
      const tx = list(token, params, 10n ** 10n);
      await expect(tx).to.emit(market, "CollateralListed").withArgs(address, 3n, 12n);
      await expect(tx).to.emit(market, "CollateralParamsSet").withArgs(address, collateralTuple(params));

      const tokens = await market.collateralTokens();
      expect(tokens.length).to.equal(4);
      expect(tokens[3]).to.equal(address);
      const c = await market.collateralConfig(address);
      expect(c.token).to.equal(address);
      expect(c.decimals).to.equal(12n);
      expect(c.ltv).to.equal(params.ltv);
      expect(c.liquidationThreshold).to.equal(params.liquidationThreshold);
      expect(c.liquidationBonus).to.equal(params.liquidationBonus);
      expect(c.supplyCap).to.equal(params.supplyCap);
      expect(c.totalSupplied).to.equal(0n);
      // The probe went in and came back.
      expect(await token.balanceOf(admin.address)).to.equal(10n ** 10n);
      expect(await token.balanceOf(marketAddress)).to.equal(0n);
      expect(await token.allowance(admin.address, marketAddress)).to.equal(0n);

      // It works as collateral: 2.5 tokens at $15 = 37.5 USDC of value, 22.5 of capacity.
      const amount = toUnits("2.5", 12);
      await token.mint(alice.address, amount);
      await token.connect(alice).approve(marketAddress, amount);
      await market.connect(alice).supplyCollateral(address, amount, alice.address);
      const view = await market.accountView(alice.address);
      expect(view.collateralValue).to.equal(usdc("37.5"));
      expect(view.borrowCapacity).to.equal(usdc("22.5"));
      expect(view.liquidationCapacity).to.equal(usdc("26.25"));
      await expectConservation(f);
    });

    it("listCollateral: 0- and 18-decimal tokens are accepted and valued at amount x price / 10^(decimals + 12)", async () => {
      const { f, market, marketAddress, list } = await setup();
      const { alice } = f.actors;
      for (const decimals of [0, 18]) {
        const { token, address } = await newToken(f, decimals, { usd: 15 });
        await expect(list(token, PARAMS({ supplyCap: 10n ** 30n }), 1n))
          .to.emit(market, "CollateralListed")
          .withArgs(address, BigInt((await market.collateralTokens()).length), BigInt(decimals));
        const amount = 7n * 10n ** BigInt(decimals);
        await token.mint(alice.address, amount);
        await token.connect(alice).approve(marketAddress, amount);
        await market.connect(alice).supplyCollateral(address, amount, alice.address);
      }
      // 7 x 15 + 7 x 15
      expect((await market.accountView(alice.address)).collateralValue).to.equal(usdc(210));
    });

    it("listCollateral: reverts with CollateralAlreadyListed for a listed token and for the base asset", async () => {
      const { f, market } = await setup();
      const { admin } = f.actors;
      await expect(market.connect(admin).listCollateral(f.assets.WETH.address, PARAMS(), 1n))
        .to.be.revertedWithCustomError(market, "CollateralAlreadyListed")
        .withArgs(f.assets.WETH.address);
      // The base asset, even though the oracle does not price it.
      expect(await f.router.isListed(f.base.address)).to.equal(false);
      await expect(market.connect(admin).listCollateral(f.base.address, PARAMS(), 1n))
        .to.be.revertedWithCustomError(market, "CollateralAlreadyListed")
        .withArgs(f.base.address);
      expect((await market.collateralTokens()).length).to.equal(3);
    });

    it("listCollateral: reverts with ZeroAddress for token 0", async () => {
      const { f, market } = await setup();
      await expect(
        market.connect(f.actors.admin).listCollateral(ethers.ZeroAddress, PARAMS(), 1n),
      ).to.be.revertedWithCustomError(market, "ZeroAddress");
    });

    it("listCollateral: reverts with AssetNotListed when the oracle does not price the token", async () => {
      const { f, market, list } = await setup();
      const { token, address } = await newToken(f, 18, { priced: false });
      await expect(list(token, PARAMS()))
        .to.be.revertedWithCustomError(market, "AssetNotListed")
        .withArgs(address);
      expect((await market.collateralTokens()).length).to.equal(3);
      await expect(market.collateralConfig(address))
        .to.be.revertedWithCustomError(market, "CollateralNotListed")
        .withArgs(address);
    });

    it("listCollateral: reverts with TokenDecimalsUnsupported for a 19-decimal token", async () => {
      const { f, market, list } = await setup();
      const { token, address } = await newToken(f, 19);
      await expect(list(token, PARAMS()))
        .to.be.revertedWithCustomError(market, "TokenDecimalsUnsupported")
        .withArgs(address);
      expect((await market.collateralTokens()).length).to.equal(3);
    });

    it("listCollateral: reverts with TokenDecimalsUnsupported for a contract without decimals()", async () => {
      const { f, market } = await setup();
      // The rate model is a contract without decimals(); give it a price in the router so that the check
      // reached is the decimals one.
      const notAToken = await f.lending!.rateModel.getAddress();
      await priceInRouter(f, notAToken, 15);
      await expect(market.connect(f.actors.admin).listCollateral(notAToken, PARAMS(), 1n))
        .to.be.revertedWithCustomError(market, "TokenDecimalsUnsupported")
        .withArgs(notAToken);
    });

    it("listCollateral: reverts with TokenDecimalsUnsupported(token) for an address without code (priced in the oracle)", async () => {
      const { f, market } = await setup();
      const eoa = ethers.Wallet.createRandom().address;
      await priceInRouter(f, eoa, 15);
      await expect(market.connect(f.actors.admin).listCollateral(eoa, PARAMS(), 1n))
        .to.be.revertedWithCustomError(market, "TokenDecimalsUnsupported")
        .withArgs(eoa);
      expect((await market.collateralTokens()).length).to.equal(3);
    });

    it("listCollateral: reverts with ZeroAmount for a zero probe amount", async () => {
      const { f, market } = await setup();
      const { address } = await newToken(f, 18);
      await expect(
        market.connect(f.actors.admin).listCollateral(address, PARAMS(), 0n),
      ).to.be.revertedWithCustomError(market, "ZeroAmount");
      expect((await market.collateralTokens()).length).to.equal(3);
    });

    it("listCollateral: the probe must be paid: without allowance nothing is listed", async () => {
      const { f, market } = await setup();
      const { token, address } = await newToken(f, 18);
      await token.mint(f.actors.admin.address, 100n);
      await expect(market.connect(f.actors.admin).listCollateral(address, PARAMS(), 100n))
        .to.be.revertedWithCustomError(token, "ERC20InsufficientAllowance")
        .withArgs(await market.getAddress(), 0n, 100n);
      expect((await market.collateralTokens()).length).to.equal(3);
    });

    it("listCollateral: parameters out of bounds revert (OutOfBounds, InvalidCollateralParams, including the 0.95 rule) and nothing is listed; at the 0.95 rule it lists", async () => {
      const { f, market, list } = await setup();
      const { token } = await newToken(f, 18);
      await expect(list(token, PARAMS({ liquidationBonus: wad(0.25) + 1n })))
        .to.be.revertedWithCustomError(market, "OutOfBounds")
        .withArgs("liquidationBonus", wad(0.25) + 1n, 0n, wad(0.25));
      await expect(list(token, PARAMS({ ltv: wad(0.7) })))
        .to.be.revertedWithCustomError(market, "InvalidCollateralParams")
        .withArgs(wad(0.7), wad(0.7), wad(0.1));
      // The 0.95 rule: (0.76 + 1 wei) x 1.25 is over FULL_CLOSE_HEALTH; 0.9 x 1.1 = 0.99 too.
      for (const [lt, bonus] of [
        [wad(0.76) + 1n, wad(0.25)],
        [wad(0.9), wad(0.1)],
      ]) {
        await expect(list(token, PARAMS({ liquidationThreshold: lt, liquidationBonus: bonus })))
          .to.be.revertedWithCustomError(market, "InvalidCollateralParams")
          .withArgs(wad(0.6), lt, bonus);
      }
      expect((await market.collateralTokens()).length).to.equal(3);
      // At the rule: 0.76 x 1.25 = 0.95 lists.
      const at = PARAMS({ liquidationThreshold: wad(0.76), liquidationBonus: wad(0.25) });
      await expect(list(token, at))
        .to.emit(market, "CollateralParamsSet")
        .withArgs(await token.getAddress(), collateralTuple(at));
      expect((await market.collateralTokens()).length).to.equal(4);
    });

    it("listCollateral: reverts with FeeOnTransfer(token, probe, probe - fee) for a 1% fee-on-transfer token; nothing listed, the probe stays with the admin", async () => {
      const { f, market, marketAddress } = await setup();
      const { admin } = f.actors;
      const token = await newFeeToken(f, 18, 100n);
      const address = await token.getAddress();
      const probe = 10_000n;
      const fee = (probe * 100n) / 10_000n; // 100
      await token.mint(admin.address, probe);
      await token.connect(admin).approve(marketAddress, probe);
      await expect(market.connect(admin).listCollateral(address, PARAMS(), probe))
        .to.be.revertedWithCustomError(market, "FeeOnTransfer")
        .withArgs(address, probe, probe - fee);
      expect((await market.collateralTokens()).length).to.equal(3);
      await expect(market.collateralConfig(address))
        .to.be.revertedWithCustomError(market, "CollateralNotListed")
        .withArgs(address);
      // The whole transaction reverted: no fee was burnt, the market holds nothing.
      expect(await token.balanceOf(admin.address)).to.equal(probe);
      expect(await token.balanceOf(marketAddress)).to.equal(0n);
      expect(await token.totalSupply()).to.equal(probe);
    });

    it("listCollateral: a 1 bps fee is caught by a 10,000-unit probe (FeeOnTransfer(token, 10000, 9999)); a 9,999-unit probe rounds the fee to zero and lists the token", async () => {
      const { f, market, marketAddress } = await setup();
      const { admin } = f.actors;
      const token = await newFeeToken(f, 18, 1n);
      const address = await token.getAddress();
      await token.mint(admin.address, 10_000n);
      await token.connect(admin).approve(marketAddress, 10_000n);
      await expect(market.connect(admin).listCollateral(address, PARAMS(), 10_000n))
        .to.be.revertedWithCustomError(market, "FeeOnTransfer")
        .withArgs(address, 10_000n, 9_999n);
      // 9,999 x 1 / 10,000 = 0: the probe moves in and out without a fee, so the check cannot see it. The
      // probe must be at least 10,000 / feeBps units for the fee to show (the deployment's default probe,
      // 10^max(decimals - 2, 4), is at least 10,000 units).
      await expect(market.connect(admin).listCollateral(address, PARAMS(), 9_999n))
        .to.emit(market, "CollateralListed")
        .withArgs(address, 3n, 18n);
      expect(await token.balanceOf(admin.address)).to.equal(10_000n);
      expect(await token.balanceOf(marketAddress)).to.equal(0n);
    });

    it("listCollateral: the same fee-on-transfer token with a 0 bps fee lists (CollateralListed) and the probe comes back whole", async () => {
      const { f, market, marketAddress } = await setup();
      const { admin } = f.actors;
      const token = await newFeeToken(f, 18, 0n);
      const address = await token.getAddress();
      const probe = 10_000n;
      await token.mint(admin.address, probe);
      await token.connect(admin).approve(marketAddress, probe);
      const params = PARAMS();
      const tx = market.connect(admin).listCollateral(address, params, probe);
      await expect(tx).to.emit(market, "CollateralListed").withArgs(address, 3n, 18n);
      await expect(tx).to.emit(market, "CollateralParamsSet").withArgs(address, collateralTuple(params));
      expect((await market.collateralTokens())[3]).to.equal(address);
      expect(await token.balanceOf(admin.address)).to.equal(probe);
      expect(await token.balanceOf(marketAddress)).to.equal(0n);
      expect(await token.totalSupply()).to.equal(probe);
    });

    it("listCollateral: up to 16 collaterals (the last at index 15 works as collateral); the 17th reverts with TooManyCollaterals(16)", async function () {
      this.timeout(300_000);
      const { f, market, marketAddress, list } = await setup();
      const { alice, keeper } = f.actors;
      expect(await market.MAX_COLLATERALS()).to.equal(BigInt(MAX_COLLATERALS));
      let last: { token: MockERC20; address: string } | undefined;
      for (let i = 3; i < MAX_COLLATERALS; i++) {
        last = await newToken(f, 18, { usd: 10 });
        await expect(list(last.token, PARAMS({ supplyCap: 10n ** 30n })))
          .to.emit(market, "CollateralListed")
          .withArgs(last.address, BigInt(i), 18n);
      }
      expect((await market.collateralTokens()).length).to.equal(MAX_COLLATERALS);

      const extra = await newToken(f, 18);
      await expect(list(extra.token, PARAMS()))
        .to.be.revertedWithCustomError(market, "TooManyCollaterals")
        .withArgs(BigInt(MAX_COLLATERALS));

      // Index 15 (the top bit of the account's 16-bit mask) together with index 0.
      await f.base.token!.mint(keeper.address, usdc(100_000));
      await f.base.token!.connect(keeper).approve(marketAddress, usdc(100_000));
      await market.connect(keeper).supply(usdc(100_000), keeper.address);
      const amount = toUnits(100, 18); // $1,000 at $10, capacity 600
      await last!.token.mint(alice.address, amount);
      await last!.token.connect(alice).approve(marketAddress, amount);
      await market.connect(alice).supplyCollateral(last!.address, amount, alice.address);
      await f.assets.WETH.token!.mint(alice.address, toUnits(1, 18));
      await f.assets.WETH.token!.connect(alice).approve(marketAddress, toUnits(1, 18));
      await market.connect(alice).supplyCollateral(f.assets.WETH.address, toUnits(1, 18), alice.address);
      expect((await market.accountView(alice.address)).borrowCapacity).to.equal(usdc(600 + 2400));
      await expect(market.connect(alice).borrow(usdc(3000) + 1n, alice.address))
        .to.be.revertedWithCustomError(market, "InsufficientBorrowCapacity")
        .withArgs(usdc(3000) + 1n, usdc(3000));
      await market.connect(alice).borrow(usdc(3000), alice.address);
      await f.lending!.rateModel.setCurve(0, 0, 0, wad(0.8)); // no interest: the debt stays 3,000
      // Withdrawing the index-15 collateral now would leave 2,400 of capacity for 3,000 of debt.
      await expect(market.connect(alice).withdrawCollateral(last!.address, 1n, alice.address))
        .to.be.revertedWithCustomError(market, "InsufficientBorrowCapacity")
        .withArgs(usdc(3000), usdc(2400) + ((((amount - 1n) * wad(10)) / 10n ** 30n) * wad(0.6)) / WAD);
      await expectConservation(f);
    });
  });

  describe("setCollateralParams", () => {
    const weth = (f: Fixture) => f.assets.WETH.address;

    it("setCollateralParams: updates the config, evented; the borrow capacity follows the new LTV", async () => {
      const { f, market } = await setup();
      const { admin, alice } = f.actors;
      await f.assets.WETH.token!.mint(alice.address, toUnits(1, 18));
      await f.assets.WETH.token!.connect(alice).approve(await market.getAddress(), toUnits(1, 18));
      await market.connect(alice).supplyCollateral(weth(f), toUnits(1, 18), alice.address);
      expect((await market.accountView(alice.address)).borrowCapacity).to.equal(usdc(2400));

      const p = {
        ltv: wad(0.5),
        liquidationThreshold: wad(0.6),
        liquidationBonus: wad(0.08),
        supplyCap: 42n,
      };
      await expect(market.connect(admin).setCollateralParams(weth(f), p))
        .to.emit(market, "CollateralParamsSet")
        .withArgs(weth(f), collateralTuple(p));
      const c = await market.collateralConfig(weth(f));
      expect([c.ltv, c.liquidationThreshold, c.liquidationBonus, c.supplyCap]).to.deep.equal([
        p.ltv,
        p.liquidationThreshold,
        p.liquidationBonus,
        p.supplyCap,
      ]);
      expect(c.totalSupplied).to.equal(toUnits(1, 18));
      const view = await market.accountView(alice.address);
      expect(view.borrowCapacity).to.equal(usdc(1500));
      expect(view.liquidationCapacity).to.equal(usdc(1800));
    });

    it("setCollateralParams: liquidationThreshold is bounded at 98% (98% + 1 wei reverts with OutOfBounds, checked first), but the 0.95 rule makes 95% (with no bonus) the highest threshold that passes", async () => {
      const { f, market } = await setup();
      const { admin } = f.actors;
      expect(await market.MAX_LIQUIDATION_THRESHOLD()).to.equal(wad(0.98));
      // The only bonus compatible with the highest threshold is none: 0.95 x (1 + 0) = 0.95.
      const at = {
        ...WETH_PARAMS,
        ltv: wad(0.9),
        liquidationThreshold: wad(0.95),
        liquidationBonus: 0n,
      };
      await expect(market.connect(admin).setCollateralParams(weth(f), at))
        .to.emit(market, "CollateralParamsSet")
        .withArgs(weth(f), collateralTuple(at));
      expect((await market.collateralConfig(weth(f))).liquidationThreshold).to.equal(wad(0.95));
      // One wei more, or the 98% bound itself, breaks the 0.95 rule whatever the bonus.
      for (const lt of [wad(0.95) + 1n, wad(0.98)]) {
        await expect(market.connect(admin).setCollateralParams(weth(f), { ...at, liquidationThreshold: lt }))
          .to.be.revertedWithCustomError(market, "InvalidCollateralParams")
          .withArgs(at.ltv, lt, 0n);
      }
      // Beyond the bound: OutOfBounds comes before the 0.95 rule.
      await expect(
        market.connect(admin).setCollateralParams(weth(f), { ...at, liquidationThreshold: wad(0.98) + 1n }),
      )
        .to.be.revertedWithCustomError(market, "OutOfBounds")
        .withArgs("liquidationThreshold", wad(0.98) + 1n, 0n, wad(0.98));
      expect((await market.collateralConfig(weth(f))).liquidationThreshold).to.equal(wad(0.95));
    });

    it("setCollateralParams: liquidationBonus 25% passes (with threshold 0.76: 0.76 x 1.25 = 0.95); one wei more reverts with OutOfBounds", async () => {
      const { f, market } = await setup();
      const { admin } = f.actors;
      const at = {
        ...WETH_PARAMS,
        ltv: wad(0.7),
        liquidationThreshold: wad(0.76),
        liquidationBonus: wad(0.25),
      };
      await expect(market.connect(admin).setCollateralParams(weth(f), at))
        .to.emit(market, "CollateralParamsSet")
        .withArgs(weth(f), collateralTuple(at));
      await expect(
        market.connect(admin).setCollateralParams(weth(f), { ...at, liquidationBonus: wad(0.25) + 1n }),
      )
        .to.be.revertedWithCustomError(market, "OutOfBounds")
        .withArgs("liquidationBonus", wad(0.25) + 1n, 0n, wad(0.25));
      expect((await market.collateralConfig(weth(f))).liquidationBonus).to.equal(wad(0.25));
    });

    it("setCollateralParams: threshold x (1 + bonus) = 0.95 (FULL_CLOSE_HEALTH) passes; one wei beyond, on either parameter, reverts with InvalidCollateralParams(ltv, threshold, bonus)", async () => {
      const { f, market } = await setup();
      const { admin } = f.actors;
      expect(await market.FULL_CLOSE_HEALTH()).to.equal(wad(0.95));
      const cases = [
        // 0.76 x 1.25 = 0.95; (0.76 + 1 wei) x 1.25 = 0.95 + 1.25 wei, rounded up.
        { lt: wad(0.76), bonus: wad(0.25), beyond: { lt: wad(0.76) + 1n, bonus: wad(0.25) } },
        // 0.8 x 1.1875 = 0.95; 0.8 x (1.1875 + 1 wei) = 0.95 + 0.8 wei, rounded up.
        { lt: wad(0.8), bonus: wad(0.1875), beyond: { lt: wad(0.8), bonus: wad(0.1875) + 1n } },
      ];
      for (const c of cases) {
        const at = { ...WETH_PARAMS, ltv: wad(0.5), liquidationThreshold: c.lt, liquidationBonus: c.bonus };
        expect((c.lt * (WAD + c.bonus)) / WAD).to.equal(wad(0.95));
        await expect(market.connect(admin).setCollateralParams(weth(f), at))
          .to.emit(market, "CollateralParamsSet")
          .withArgs(weth(f), collateralTuple(at));
        const beyond = { ...at, liquidationThreshold: c.beyond.lt, liquidationBonus: c.beyond.bonus };
        await expect(market.connect(admin).setCollateralParams(weth(f), beyond))
          .to.be.revertedWithCustomError(market, "InvalidCollateralParams")
          .withArgs(wad(0.5), c.beyond.lt, c.beyond.bonus);
        const stored = await market.collateralConfig(weth(f));
        expect([stored.liquidationThreshold, stored.liquidationBonus]).to.deep.equal([c.lt, c.bonus]);
      }
    });

    it("setCollateralParams: the product is rounded up: at a 5% bonus, threshold 0.904761904761904761 (x 1.05 = 0.95 - 0.95 wei, rounded up to 0.95) passes; one wei more (0.95 + 0.1 wei) reverts", async () => {
      const { f, market } = await setup();
      const { admin } = f.actors;
      const lt = 904_761_904_761_904_761n;
      // lt x 1.05 = 949,999,999,999,999,999.05e-18: rounded up to exactly 0.95.
      expect(lt * wad(1.05)).to.equal(wad(0.95) * WAD - 95n * 10n ** 16n);
      const at = { ...WETH_PARAMS, liquidationThreshold: lt };
      await expect(market.connect(admin).setCollateralParams(weth(f), at))
        .to.emit(market, "CollateralParamsSet")
        .withArgs(weth(f), collateralTuple(at));
      // (lt + 1) x 1.05 = 0.95 + 0.1 wei: rounded down it would pass; rounded up it is over.
      expect((lt + 1n) * wad(1.05)).to.equal(wad(0.95) * WAD + 10n ** 17n);
      await expect(
        market.connect(admin).setCollateralParams(weth(f), { ...at, liquidationThreshold: lt + 1n }),
      )
        .to.be.revertedWithCustomError(market, "InvalidCollateralParams")
        .withArgs(WETH_PARAMS.ltv, lt + 1n, wad(0.05));
      expect((await market.collateralConfig(weth(f))).liquidationThreshold).to.equal(lt);
    });

    it("setCollateralParams: pairs the old rule (product at most 1) accepted now revert with InvalidCollateralParams: 0.8 x 1.25 = 1, 0.9 x 1.1 = 0.99, 0.9 x 1.06 = 0.954; state unchanged", async () => {
      const { f, market } = await setup();
      const { admin } = f.actors;
      const pairs = [
        { ltv: wad(0.7), liquidationThreshold: wad(0.8), liquidationBonus: wad(0.25) },
        { ltv: wad(0.8), liquidationThreshold: wad(0.9), liquidationBonus: wad(0.1) },
        { ltv: wad(0.8), liquidationThreshold: wad(0.9), liquidationBonus: wad(0.06) },
        // 0.9 x 1.12 = 1.008: refused before and now.
        { ltv: wad(0.8), liquidationThreshold: wad(0.9), liquidationBonus: wad(0.12) },
      ];
      for (const q of pairs) {
        const p = { ...WETH_PARAMS, ...q };
        await expect(market.connect(admin).setCollateralParams(weth(f), p))
          .to.be.revertedWithCustomError(market, "InvalidCollateralParams")
          .withArgs(p.ltv, p.liquidationThreshold, p.liquidationBonus);
      }
      const c = await market.collateralConfig(weth(f));
      expect([c.ltv, c.liquidationThreshold, c.liquidationBonus, c.supplyCap]).to.deep.equal([
        WETH_PARAMS.ltv,
        WETH_PARAMS.liquidationThreshold,
        WETH_PARAMS.liquidationBonus,
        WETH_PARAMS.supplyCap,
      ]);
    });

    it("setCollateralParams: ltv equal to the threshold reverts with InvalidCollateralParams; one wei below passes", async () => {
      const { f, market } = await setup();
      const { admin } = f.actors;
      const p = { ...WETH_PARAMS, ltv: wad(0.85) };
      await expect(market.connect(admin).setCollateralParams(weth(f), p))
        .to.be.revertedWithCustomError(market, "InvalidCollateralParams")
        .withArgs(wad(0.85), wad(0.85), wad(0.05));
      await expect(market.connect(admin).setCollateralParams(weth(f), { ...p, ltv: wad(0.9) }))
        .to.be.revertedWithCustomError(market, "InvalidCollateralParams")
        .withArgs(wad(0.9), wad(0.85), wad(0.05));
      await market.connect(admin).setCollateralParams(weth(f), { ...p, ltv: wad(0.85) - 1n });
      expect((await market.collateralConfig(weth(f))).ltv).to.equal(wad(0.85) - 1n);
    });

    it("setCollateralParams: reverts with CollateralNotListed for an unlisted token", async () => {
      const { f, market } = await setup();
      await expect(market.connect(f.actors.admin).setCollateralParams(f.base.address, WETH_PARAMS))
        .to.be.revertedWithCustomError(market, "CollateralNotListed")
        .withArgs(f.base.address);
    });
  });

  describe("setMarketParams", () => {
    const bounds: { field: keyof typeof LOCAL_MARKET_PARAMS; min: bigint; max: bigint }[] = [
      // min(1e15 whole tokens, type(uint96).max): 1e21 for the 6-decimal base.
      { field: "borrowCap", min: 0n, max: 10n ** 15n * 10n ** 6n },
      { field: "minBorrow", min: 0n, max: usdc(1_000_000) },
      { field: "smallPosition", min: 0n, max: usdc(1_000_000) },
      { field: "reserveFactor", min: 0n, max: wad(0.5) },
      { field: "protocolShare", min: 0n, max: WAD },
      { field: "marginCallHealth", min: WAD, max: 2n * WAD },
    ];

    for (const b of bounds) {
      it(`setMarketParams: ${b.field} at its bounds [${b.min}, ${b.max}] passes; beyond reverts with OutOfBounds("${b.field}", value, min, max)`, async () => {
        const { f, market, marketParams } = await setup();
        const { admin } = f.actors;
        for (const v of [b.min, b.max]) {
          const p = marketParams({ [b.field]: v });
          await expect(market.connect(admin).setMarketParams(p))
            .to.emit(market, "MarketParamsSet")
            .withArgs(marketTuple(p));
          expect((await market.params())[b.field]).to.equal(v);
        }
        const beyond = [b.max + 1n];
        if (b.min > 0n) beyond.push(b.min - 1n);
        for (const v of beyond) {
          await expect(market.connect(admin).setMarketParams(marketParams({ [b.field]: v })))
            .to.be.revertedWithCustomError(market, "OutOfBounds")
            .withArgs(b.field, v, b.min, b.max);
        }
        expect((await market.params())[b.field]).to.equal(b.max);
      });
    }

    it("setMarketParams: the whole struct is stored as given and takes effect (borrowCap 0 blocks every loan)", async () => {
      const { f, market, marketParams, marketAddress } = await setup();
      const { admin, alice, keeper } = f.actors;
      const p = marketParams({
        borrowCap: 0n,
        minBorrow: usdc(7),
        reserveFactor: wad(0.3),
        protocolShare: wad(0.2),
        smallPosition: usdc(11),
        marginCallHealth: wad(1.5),
      });
      await market.connect(admin).setMarketParams(p);
      expect([...(await market.params())]).to.deep.equal(marketTuple(p));
      await f.base.token!.mint(keeper.address, usdc(1_000));
      await f.base.token!.connect(keeper).approve(marketAddress, usdc(1_000));
      await market.connect(keeper).supply(usdc(1_000), keeper.address);
      await f.assets.WETH.token!.mint(alice.address, toUnits(1, 18));
      await f.assets.WETH.token!.connect(alice).approve(marketAddress, toUnits(1, 18));
      await market.connect(alice).supplyCollateral(f.assets.WETH.address, toUnits(1, 18), alice.address);
      await expect(market.connect(alice).borrow(usdc(10), alice.address))
        .to.be.revertedWithCustomError(market, "BorrowCapExceeded")
        .withArgs(0n, usdc(10));
    });
  });

  describe("setMarketParams accrues first", () => {
    it("setMarketParams: accrues at the old reserve factor first (AccrueInterest, then MarketParamsSet); a new reserveFactor applies from the change on, not to the interest earned before it", async () => {
      const { f, market, marketAddress, marketParams } = await setup();
      const { admin, alice, keeper } = f.actors;
      await f.base.token!.mint(keeper.address, usdc(1_000_000));
      await f.base.token!.connect(keeper).approve(marketAddress, usdc(1_000_000));
      await market.connect(keeper).supply(usdc(1_000_000), keeper.address);
      await f.assets.WETH.token!.mint(alice.address, toUnits(1_000, 18));
      await f.assets.WETH.token!.connect(alice).approve(marketAddress, toUnits(1_000, 18));
      await market.connect(alice).supplyCollateral(f.assets.WETH.address, toUnits(1_000, 18), alice.address);
      const t0 = (
        await (await (await market.connect(alice).borrow(usdc(500_000), alice.address)).wait())!.getBlock()
      ).timestamp;
      const rm = f.lending!.rateModel;
      const year = 365n * 86400n;

      // A year at u = 50% with 10% to reserves, accrued by the change itself.
      const rate1 = await rm.borrowRatePerSecond(wad(0.5));
      const i1 = (usdc(500_000) * (rate1 * year) + WAD - 1n) / WAD;
      const r1 = (i1 * wad(0.1)) / WAD;
      const borrow1 = usdc(500_000) + i1;
      const supply1 = usdc(1_000_000) + i1 - r1;
      expect(i1).to.equal(12_500_000_007n);
      expect(r1).to.equal(1_250_000_000n);

      const p = marketParams({ reserveFactor: wad(0.5) });
      await time.setNextBlockTimestamp(t0 + Number(year));
      const tx = market.connect(admin).setMarketParams(p);
      await expect(tx).to.emit(market, "AccrueInterest").withArgs(rate1, i1, r1);
      await expect(tx).to.emit(market, "MarketParamsSet").withArgs(marketTuple(p));
      const receipt = (await (await tx).wait())!;
      expect(
        receipt.logs.map((l) => market.interface.parseLog(l)?.name),
        "the accrual comes before the change",
      ).to.deep.equal(["AccrueInterest", "MarketParamsSet"]);
      expect([...(await market.totals())]).to.deep.equal([
        supply1,
        usdc(1_000_000) * 10n ** 6n,
        borrow1,
        usdc(500_000) * 10n ** 6n,
        r1,
      ]);

      // One second later, at the new factor: 50% of that second's interest goes to reserves.
      const rate2 = await rm.borrowRatePerSecond((borrow1 * WAD) / supply1);
      const i2 = (borrow1 * rate2 + WAD - 1n) / WAD;
      const r2 = (i2 * wad(0.5)) / WAD;
      await time.setNextBlockTimestamp(t0 + Number(year) + 1);
      await expect(market.accrueInterest()).to.emit(market, "AccrueInterest").withArgs(rate2, i2, r2);
      const [supplyAssets, , borrowAssets, , reserves] = await market.totals();
      expect(reserves, "reserves: 10% of the year before the change, 50% after").to.equal(r1 + r2);
      expect(supplyAssets).to.equal(supply1 + i2 - r2);
      expect(borrowAssets).to.equal(borrow1 + i2);
      await expectConservation(f);
    });
  });

  describe("setRateModel", () => {
    it("setRateModel: accrues at the old model first (AccrueInterest with the old rate), then uses the new one; RateModelSet evented", async () => {
      const { f, market, marketAddress } = await setup();
      const { admin, alice, keeper } = f.actors;
      const oldModel = f.lending!.rateModel;
      await f.base.token!.mint(keeper.address, usdc(1_000_000));
      await f.base.token!.connect(keeper).approve(marketAddress, usdc(1_000_000));
      await market.connect(keeper).supply(usdc(1_000_000), keeper.address);
      await f.assets.WETH.token!.mint(alice.address, toUnits(1_000, 18));
      await f.assets.WETH.token!.connect(alice).approve(marketAddress, toUnits(1_000, 18));
      await market.connect(alice).supplyCollateral(f.assets.WETH.address, toUnits(1_000, 18), alice.address);
      const borrowTx = await market.connect(alice).borrow(usdc(500_000), alice.address);
      const t0 = (await (await borrowTx.wait())!.getBlock()).timestamp;

      const newModel = await (
        await ethers.getContractFactory("KinkedRateModel", admin)
      ).deploy(admin.address, wad(0.5), wad(1), wad(2), wad(0.5));
      const newAddress = await newModel.getAddress();

      // 30 days at u = 50% on the old curve: 2.5% a year.
      const u = wad(0.5);
      expect(await market.utilisation()).to.equal(u);
      const oldRate = await oldModel.borrowRatePerSecond(u);
      const dt = 30n * 86400n;
      const interest = (usdc(500_000) * (oldRate * dt) + WAD - 1n) / WAD;
      const toReserves = (interest * wad(0.1)) / WAD;
      await time.setNextBlockTimestamp(t0 + Number(dt));
      const tx = market.connect(admin).setRateModel(newAddress);
      await expect(tx).to.emit(market, "AccrueInterest").withArgs(oldRate, interest, toReserves);
      await expect(tx).to.emit(market, "RateModelSet").withArgs(newAddress);
      expect(await market.rateModel()).to.equal(newAddress);
      const [supplyAssets, , borrowAssets, , reserves] = await market.totals();
      expect(borrowAssets).to.equal(usdc(500_000) + interest);
      expect(supplyAssets).to.equal(usdc(1_000_000) + interest - toReserves);
      expect(reserves).to.equal(toReserves);

      // The next accrual uses the new curve.
      const u2 = await market.utilisation();
      const newRate = await newModel.borrowRatePerSecond(u2);
      expect(newRate).to.not.equal(await oldModel.borrowRatePerSecond(u2));
      const interest2 = (borrowAssets * (newRate * 86400n) + WAD - 1n) / WAD;
      await time.setNextBlockTimestamp(t0 + Number(dt) + 86400);
      await expect(market.accrueInterest())
        .to.emit(market, "AccrueInterest")
        .withArgs(newRate, interest2, (interest2 * wad(0.1)) / WAD);
      await expectConservation(f);
    });

    it("setRateModel: reverts with ZeroAddress for 0", async () => {
      const { f, market } = await setup();
      await expect(
        market.connect(f.actors.admin).setRateModel(ethers.ZeroAddress),
      ).to.be.revertedWithCustomError(market, "ZeroAddress");
      expect(await market.rateModel()).to.equal(await f.lending!.rateModel.getAddress());
    });
  });

  describe("setPaused", () => {
    it("setPaused: the admin grants and revokes PAUSE_GUARDIAN_ROLE; a revoked guardian can no longer pause", async () => {
      const { f, market } = await setup();
      const { admin, keeper } = f.actors;
      const role = await market.PAUSE_GUARDIAN_ROLE();
      expect(role).to.equal(ethers.id("PAUSE_GUARDIAN_ROLE"));
      await market.connect(admin).grantRole(role, keeper.address);
      await expect(market.connect(keeper).setPaused(true)).to.emit(market, "PausedSet").withArgs(true);
      // Pausing twice is harmless.
      await expect(market.connect(keeper).setPaused(true)).to.emit(market, "PausedSet").withArgs(true);
      await expect(market.connect(keeper).setPaused(false))
        .to.be.revertedWithCustomError(market, "AccessControlUnauthorizedAccount")
        .withArgs(keeper.address, ADMIN_ROLE);
      await market.connect(admin).setPaused(false);
      await market.connect(admin).revokeRole(role, keeper.address);
      await expect(market.connect(keeper).setPaused(true))
        .to.be.revertedWithCustomError(market, "AccessControlUnauthorizedAccount")
        .withArgs(keeper.address, ADMIN_ROLE);
      expect(await market.paused()).to.equal(false);
    });
  });

  describe("access control", () => {
    const calls: { name: string; call: (f: Fixture, who: HardhatEthersSigner) => Promise<unknown> }[] = [
      {
        name: "listCollateral",
        call: async (f, who) => {
          const { address } = await newToken(f, 18);
          return f.lending!.market.connect(who).listCollateral(address, PARAMS(), 1n);
        },
      },
      {
        name: "setCollateralParams",
        call: (f, who) =>
          f.lending!.market.connect(who).setCollateralParams(f.assets.WETH.address, {
            ...WETH_PARAMS,
            ltv: wad(0.1),
          }),
      },
      {
        name: "setMarketParams",
        call: (f, who) =>
          f.lending!.market.connect(who).setMarketParams({ ...LOCAL_MARKET_PARAMS, borrowCap: 0n }),
      },
      {
        name: "setRateModel",
        call: (f, who) => f.lending!.market.connect(who).setRateModel(who.address),
      },
      { name: "setPaused(true)", call: (f, who) => f.lending!.market.connect(who).setPaused(true) },
      {
        name: "grantRole(PAUSE_GUARDIAN_ROLE)",
        call: async (f, who) =>
          f
            .lending!.market.connect(who)
            .grantRole(await f.lending!.market.PAUSE_GUARDIAN_ROLE(), who.address),
      },
    ];

    for (const c of calls) {
      it(`access: ${c.name} by a stranger reverts with AccessControlUnauthorizedAccount(stranger, DEFAULT_ADMIN_ROLE), state unchanged`, async () => {
        const { f, market } = await setup();
        const { stranger } = f.actors;
        const before = await adminState(f);
        await expect(c.call(f, stranger))
          .to.be.revertedWithCustomError(market, "AccessControlUnauthorizedAccount")
          .withArgs(stranger.address, ADMIN_ROLE);
        expect(await adminState(f)).to.deep.equal(before);
      });
    }

    it("access: setPaused(false) by a stranger while paused reverts with AccessControlUnauthorizedAccount, still paused", async () => {
      const { f, market } = await setup();
      const { stranger, admin } = f.actors;
      await market.connect(admin).setPaused(true);
      const before = await adminState(f);
      await expect(market.connect(stranger).setPaused(false))
        .to.be.revertedWithCustomError(market, "AccessControlUnauthorizedAccount")
        .withArgs(stranger.address, ADMIN_ROLE);
      expect(await adminState(f)).to.deep.equal(before);
      expect(before.paused).to.equal(true);
    });

    it("access: a pause guardian is not an admin (every other admin function refused)", async () => {
      const { f, market } = await setup();
      const { admin, keeper: guardian } = f.actors;
      await market.connect(admin).grantRole(await market.PAUSE_GUARDIAN_ROLE(), guardian.address);
      const before = await adminState(f);
      for (const c of calls.filter((x) => !x.name.startsWith("setPaused"))) {
        await expect(c.call(f, guardian), c.name)
          .to.be.revertedWithCustomError(market, "AccessControlUnauthorizedAccount")
          .withArgs(guardian.address, ADMIN_ROLE);
      }
      expect(await adminState(f)).to.deep.equal(before);
    });
  });

  describe("constructor", () => {
    async function deployArgs(f: Fixture) {
      return [
        f.actors.admin.address,
        f.base.address,
        await f.router.getAddress(),
        await f.insuranceFund.getAddress(),
        await f.lending!.rateModel.getAddress(),
        NegativeBalancePolicy.PROTECTED,
        LOCAL_MARKET_PARAMS,
      ] as const;
    }

    for (const [i, name] of ["admin", "baseToken", "oracle", "insuranceFund", "rateModel"].entries()) {
      it(`constructor: reverts with ZeroAddress for ${name} = 0`, async () => {
        const f = await loadSystem();
        const factory = await ethers.getContractFactory("LendingMarket", f.actors.admin);
        const args = [...(await deployArgs(f))] as unknown[];
        args[i] = ethers.ZeroAddress;
        await expect(
          factory.deploy(...(args as Parameters<typeof factory.deploy>)),
        ).to.be.revertedWithCustomError(factory, "ZeroAddress");
      });
    }

    it("constructor: grants the admin role, stores the parameters, emits RateModelSet and MarketParamsSet", async () => {
      const f = await loadSystem();
      const factory = await ethers.getContractFactory("LendingMarket", f.actors.admin);
      const args = await deployArgs(f);
      const market = await factory.deploy(...args);
      const tx = market.deploymentTransaction()!;
      await expect(tx).to.emit(market, "RateModelSet").withArgs(args[4]);
      await expect(tx).to.emit(market, "MarketParamsSet").withArgs(marketTuple(LOCAL_MARKET_PARAMS));
      expect(await market.hasRole(ADMIN_ROLE, f.actors.admin.address)).to.equal(true);
      expect(await market.baseToken()).to.equal(f.base.address);
      expect(await market.oracle()).to.equal(args[2]);
      expect(await market.insuranceFund()).to.equal(args[3]);
      expect(await market.rateModel()).to.equal(args[4]);
      expect(await market.negativeBalancePolicy()).to.equal(BigInt(NegativeBalancePolicy.PROTECTED));
      expect([...(await market.params())]).to.deep.equal(marketTuple(LOCAL_MARKET_PARAMS));
      expect(await market.paused()).to.equal(false);
      expect(await market.collateralTokens()).to.deep.equal([]);
    });

    it("constructor: market parameters are bounds-checked (OutOfBounds), scaled to the base asset's decimals", async () => {
      const f = await loadSystem();
      const factory = await ethers.getContractFactory("LendingMarket", f.actors.admin);
      const args = [...(await deployArgs(f))] as unknown[];
      args[6] = { ...LOCAL_MARKET_PARAMS, reserveFactor: wad(0.5) + 1n };
      await expect(factory.deploy(...(args as Parameters<typeof factory.deploy>)))
        .to.be.revertedWithCustomError(factory, "OutOfBounds")
        .withArgs("reserveFactor", wad(0.5) + 1n, 0n, wad(0.5));

      // An 18-decimal base: minBorrow may be up to 1,000,000 x 1e18.
      const base18 = await (
        await ethers.getContractFactory("MockERC20", f.actors.admin)
      ).deploy("D", "D", 18);
      args[1] = await base18.getAddress();
      args[6] = { ...LOCAL_MARKET_PARAMS, minBorrow: toUnits(1_000_000, 18) };
      const m = await factory.deploy(...(args as Parameters<typeof factory.deploy>));
      expect((await m.params()).minBorrow).to.equal(toUnits(1_000_000, 18));
      args[6] = { ...LOCAL_MARKET_PARAMS, minBorrow: toUnits(1_000_000, 18) + 1n };
      await expect(factory.deploy(...(args as Parameters<typeof factory.deploy>)))
        .to.be.revertedWithCustomError(factory, "OutOfBounds")
        .withArgs("minBorrow", toUnits(1_000_000, 18) + 1n, 0n, toUnits(1_000_000, 18));

      // borrowCap's bound is min(1e15 whole tokens, type(uint96).max): with an 18-decimal base 1e15 tokens
      // (1e33) does not fit the uint96 field, so the bound is 2^96 - 1, which is accepted.
      const uint96Max = 2n ** 96n - 1n;
      expect(uint96Max).to.be.lessThan(10n ** 15n * 10n ** 18n);
      args[6] = { ...LOCAL_MARKET_PARAMS, borrowCap: uint96Max };
      const m2 = await factory.deploy(...(args as Parameters<typeof factory.deploy>));
      expect((await m2.params()).borrowCap).to.equal(uint96Max);
      // With a 12-decimal base, 1e15 tokens (1e27) fits a uint96 and is the bound: one unit more reverts.
      const base12 = await (
        await ethers.getContractFactory("MockERC20", f.actors.admin)
      ).deploy("T", "T", 12);
      args[1] = await base12.getAddress();
      const cap12 = 10n ** 15n * 10n ** 12n;
      expect(cap12).to.be.lessThan(uint96Max);
      args[6] = { ...LOCAL_MARKET_PARAMS, borrowCap: cap12 };
      const m3 = await factory.deploy(...(args as Parameters<typeof factory.deploy>));
      expect((await m3.params()).borrowCap).to.equal(cap12);
      args[6] = { ...LOCAL_MARKET_PARAMS, borrowCap: cap12 + 1n };
      await expect(factory.deploy(...(args as Parameters<typeof factory.deploy>)))
        .to.be.revertedWithCustomError(factory, "OutOfBounds")
        .withArgs("borrowCap", cap12 + 1n, 0n, cap12);
      // setMarketParams applies the same bound.
      await expect(
        m3.connect(f.actors.admin).setMarketParams({ ...LOCAL_MARKET_PARAMS, borrowCap: cap12 + 1n }),
      )
        .to.be.revertedWithCustomError(m3, "OutOfBounds")
        .withArgs("borrowCap", cap12 + 1n, 0n, cap12);
    });
  });
});
