/**
 * Measures the gas of every operation that matters and writes gas/snapshot.json (operation -> gasUsed).
 *
 *   npm run gas          writes the snapshot (commit it)
 *   npm run gas:check    compares with the committed snapshot; exits 1 when an operation got more than
 *                        TOLERANCE dearer, or appeared or disappeared, without the snapshot being updated
 *
 * Every number is the gasUsed of a mined transaction on the in-process Hardhat network (cancun).
 */
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import hre from "hardhat";
import type { ContractTransactionResponse } from "ethers";
import { time } from "@nomicfoundation/hardhat-network-helpers";

import { localConfig } from "../deploy/config";
import { deploySystem, perpMarketParams, type System } from "../deploy/deploySystem";
import { toUnits, wad } from "../deploy/units";

const SNAPSHOT = path.join(__dirname, "..", "gas", "snapshot.json");
const TOLERANCE = 0.03;

type Snapshot = Record<string, number>;

async function gasOf(tx: Promise<ContractTransactionResponse>): Promise<number> {
  const receipt = await (await tx).wait();
  if (!receipt) throw new Error("no receipt");
  return Number(receipt.gasUsed);
}

async function measure(): Promise<Snapshot> {
  const s: Snapshot = {};
  const system = await deploySystem(hre, localConfig());
  const { router } = system;
  const weth = system.assets.WETH;
  const wbtc = system.assets.WBTC;
  const btcFeed = wbtc.primaryFeed.mock!;
  const ethPrimary = weth.primaryFeed.mock!;

  // Listing: a one-feed asset and a two-feed asset.
  const feed = await (await hre.ethers.getContractFactory("MockAggregator")).deploy(8, 10n ** 9n, "X");
  const second = await (await hre.ethers.getContractFactory("MockAggregator")).deploy(8, 10n ** 9n, "Y");
  const listing = {
    primaryFeed: await feed.getAddress(),
    primaryHeartbeat: 3600,
    fallbackFeed: hre.ethers.ZeroAddress,
    fallbackHeartbeat: 0,
    confirmWindow: 600,
    minPrice: wad(1),
    maxPrice: wad(1000),
    maxDeviation: wad(0.2),
    maxDivergence: wad(0.02),
  };
  // Fixed addresses keep the calldata, and so the gas, the same on every run.
  const asset = "0x" + "11".repeat(20);
  s["OracleRouter.setAssetConfig (list, one feed)"] = await gasOf(router.setAssetConfig(asset, listing));
  s["OracleRouter.setAssetConfig (list, two feeds)"] = await gasOf(
    router.setAssetConfig("0x" + "22".repeat(20), {
      ...listing,
      fallbackFeed: await second.getAddress(),
      fallbackHeartbeat: 3600,
    }),
  );

  // Reads on a steady price: nothing to write.
  s["OracleRouter.price (OK, one feed, unchanged)"] = await gasOf(router.price(wbtc.address));
  s["OracleRouter.price (OK, two feeds, unchanged)"] = await gasOf(router.price(weth.address));
  s["OracleRouter.priceFor (OK, one feed, unchanged)"] = await gasOf(router.priceFor(wbtc.address, 3));

  // A new price: the last good price is written.
  await btcFeed.setPrice(toUnits(61000, 8));
  s["OracleRouter.price (OK, one feed, new price)"] = await gasOf(router.price(wbtc.address));

  // A jump: SUSPECT recorded, then confirmed by persistence.
  await btcFeed.setPrice(toUnits(36000, 8));
  s["OracleRouter.price (SUSPECT, jump first seen)"] = await gasOf(router.price(wbtc.address));
  await time.increase(600);
  s["OracleRouter.price (OK, jump confirmed by time)"] = await gasOf(router.price(wbtc.address));

  // Primary broken: fallback used.
  await ethPrimary.setMode(1);
  s["OracleRouter.price (FALLBACK, primary reverts)"] = await gasOf(router.price(weth.address));
  await ethPrimary.setMode(2);
  s["OracleRouter.price (FALLBACK, primary burns its gas)"] = await gasOf(router.price(weth.address));
  await ethPrimary.heal();

  // No usable feed.
  await btcFeed.goStale(4000);
  s["OracleRouter.price (STALE, status change)"] = await gasOf(router.price(wbtc.address));
  s["OracleRouter.price (STALE, unchanged)"] = await gasOf(router.price(wbtc.address));

  Object.assign(s, await measureLending(system));
  Object.assign(s, await measurePerps(system));
  return Object.fromEntries(Object.entries(s).sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * Lending operations, each by a warm account (not its first action) in a warm market (a deficit has been
 * realised before, so the bad-debt ledger is not written for the first time), with one collateral
 * priced by one mock feed (WBTC). Borrow is also measured with WETH, whose price has a fallback feed.
 */
async function measureLending(system: System): Promise<Snapshot> {
  const s: Snapshot = {};
  const market = system.lending!.market;
  const marketAddress = await market.getAddress();
  const usdc = system.base.token!;
  const wbtc = system.assets.WBTC;
  const weth = system.assets.WETH;
  const signers = await hre.ethers.getSigners();
  const [supplier, borrower, liquidator, victim, earlier, ethBorrower] = signers.slice(1, 7);
  const u = (v: number) => toUnits(v, 6);
  const btc = (v: number) => toUnits(v, 8);
  const setBtc = async (usd: number) => {
    // A keeper's pokes: a jump is seen, then confirmed by persisting for the confirm window.
    await wbtc.primaryFeed.mock!.setPrice(toUnits(usd, 8));
    await system.router.price(wbtc.address);
    await time.increase(600);
    await system.router.price(wbtc.address);
  };
  // Healthy feeds after the oracle section's faults.
  await setBtc(60_000);
  await weth.primaryFeed.mock!.setPrice(toUnits(3000, 8));
  await weth.fallbackFeed!.mock!.setPrice(toUnits(3000, 18));

  for (const who of [supplier, borrower, liquidator, victim, earlier, ethBorrower]) {
    await usdc.mint(who.address, u(10_000_000));
    await usdc.connect(who).approve(marketAddress, hre.ethers.MaxUint256);
    await wbtc.token!.mint(who.address, btc(100));
    await wbtc.token!.connect(who).approve(marketAddress, hre.ethers.MaxUint256);
    await weth.token!.mint(who.address, toUnits(100, 18));
    await weth.token!.connect(who).approve(marketAddress, hre.ethers.MaxUint256);
  }
  await market.connect(supplier).supply(u(5_000_000), supplier.address);
  s["lending.supply"] = await gasOf(market.connect(supplier).supply(u(1000), supplier.address));
  s["lending.withdraw"] = await gasOf(market.connect(supplier).withdraw(u(1000), supplier.address));

  await market.connect(borrower).supplyCollateral(wbtc.address, btc(1), borrower.address);
  s["lending.supplyCollateral"] = await gasOf(
    market.connect(borrower).supplyCollateral(wbtc.address, btc(0.5), borrower.address),
  );
  await market.connect(borrower).borrow(u(1000), borrower.address);
  s["lending.borrow"] = await gasOf(market.connect(borrower).borrow(u(1000), borrower.address));
  s["lending.repay"] = await gasOf(market.connect(borrower).repay(u(500), borrower.address));
  s["lending.withdrawCollateral"] = await gasOf(
    market.connect(borrower).withdrawCollateral(wbtc.address, btc(0.1), borrower.address),
  );

  await market.connect(ethBorrower).supplyCollateral(weth.address, toUnits(10, 18), ethBorrower.address);
  await market.connect(ethBorrower).borrow(u(1000), ethBorrower.address);
  s["lending.borrow (WETH: primary and fallback feeds)"] = await gasOf(
    market.connect(ethBorrower).borrow(u(1000), ethBorrower.address),
  );

  // Two borrowers near the threshold: 1 BTC against 44,900 and 44,500 USDC.
  await market.connect(victim).supplyCollateral(wbtc.address, btc(1), victim.address);
  await market.connect(victim).borrow(u(44_900), victim.address);
  await market.connect(earlier).supplyCollateral(wbtc.address, btc(1), earlier.address);
  await market.connect(earlier).borrow(u(44_500), earlier.address);
  await market.connect(liquidator).supply(u(1000), liquidator.address); // the liquidator is warm

  // Partial liquidation: health between 0.95 and 1 (close factor 50%).
  await setBtc(55_000);
  await market.connect(liquidator).liquidate(earlier.address, wbtc.address, u(100));
  s["lending.liquidate"] = await gasOf(
    market.connect(liquidator).liquidate(victim.address, wbtc.address, u(1000)),
  );

  // A -40% gap (confirmed by persistence): everything seized, the rest of the debt down the waterfall.
  await setBtc(33_000);
  await market.connect(liquidator).liquidate(earlier.address, wbtc.address, hre.ethers.MaxUint256);
  s["lending.liquidateWithDeficit"] = await gasOf(
    market.connect(liquidator).liquidate(victim.address, wbtc.address, hre.ethers.MaxUint256),
  );
  return s;
}

/**
 * Perps operations on the WBTC market (one mock feed through the real OracleRouter), by warm accounts (margin
 * already posted, an earlier trade done) in a warm market (other positions open, funding accruing).
 */
async function measurePerps(system: System): Promise<Snapshot> {
  const s: Snapshot = {};
  const perp = system.perps!.market;
  const vault = system.perps!.vault;
  const usdc = system.base.token!;
  const wbtc = system.assets.WBTC;
  const BTC = system.perps!.marketIds.WBTC;
  const ETH = system.perps!.marketIds.WETH;
  const signers = await hre.ethers.getSigners();
  const [lp, trader, other, victim, keeper, multi, adlShort] = signers.slice(8, 15);
  const u = (v: number) => toUnits(v, 6);
  const sz = (v: number) => wad(v);
  const setBtc = async (usd: number) => {
    await wbtc.primaryFeed.mock!.setPrice(toUnits(usd, 8));
    await system.router.price(wbtc.address);
    await time.increase(600);
    await wbtc.primaryFeed.mock!.setPrice(toUnits(usd, 8));
    await system.router.price(wbtc.address);
  };
  const setEth = async (usd: number) => {
    await system.assets.WETH.primaryFeed.mock!.setPrice(toUnits(usd, 8));
    await system.assets.WETH.fallbackFeed!.mock!.setPrice(toUnits(usd, 18));
  };
  await setBtc(60_000);
  await setEth(3000);
  for (const who of [lp, trader, other, victim, keeper, multi, adlShort]) {
    await usdc.mint(who.address, u(10_000_000));
    await usdc.connect(who).approve(await perp.getAddress(), hre.ethers.MaxUint256);
    await usdc.connect(who).approve(await vault.getAddress(), hre.ethers.MaxUint256);
  }
  // A third market (EURC) for the three-position liquidation.
  const EUR = Number(await perp.marketCount());
  await perp.listMarket(system.assets.EURC.address, {
    initialMargin: wad(0.05),
    maintenanceMargin: wad(0.025),
    tradingFee: wad(0.0005),
    liquidationFee: wad(0.01),
    marginScale: wad(100_000_000),
    skewScale: wad(1_000_000_000),
    maxLongOI: wad(100_000_000),
    maxShortOI: wad(100_000_000),
    maxFundingRate: wad(0.01) / 86_400n,
    adlPnlFactor: wad(0.5),
  });

  await vault.connect(lp).deposit(u(5_000_000), lp.address);
  for (const who of [trader, other, victim]) await perp.connect(who).depositMargin(u(50_000), who.address);
  await perp.connect(multi).depositMargin(u(70_000), multi.address);
  await perp.connect(other).modifyPosition(BTC, -sz(1), 0); // the market is warm and skewed
  // The trader is warm: an earlier round trip in the same market.
  await perp.connect(trader).modifyPosition(BTC, sz(1), hre.ethers.MaxUint256);
  await perp.connect(trader).closePosition(BTC, 0);

  s["perps.open"] = await gasOf(perp.connect(trader).modifyPosition(BTC, sz(1), hre.ethers.MaxUint256));
  await time.increase(60);
  s["perps.increase"] = await gasOf(perp.connect(trader).modifyPosition(BTC, sz(0.5), hre.ethers.MaxUint256));
  await time.increase(60);
  s["perps.close"] = await gasOf(perp.connect(trader).closePosition(BTC, 0));
  // A first position ever in the market: both position slots go from zero to non-zero.
  const fresh = signers[15];
  await usdc.mint(fresh.address, u(10_000));
  await usdc.connect(fresh).approve(await perp.getAddress(), hre.ethers.MaxUint256);
  await perp.connect(fresh).depositMargin(u(10_000), fresh.address);
  s["perps.open (first position of the account in the market)"] = await gasOf(
    perp.connect(fresh).modifyPosition(BTC, sz(1), hre.ethers.MaxUint256),
  );
  await perp.connect(fresh).closePosition(BTC, 0);
  // Cross margin: opening with a position in a second market (two-feed WETH) prices both markets.
  await perp.connect(trader).modifyPosition(ETH, sz(1), hre.ethers.MaxUint256);
  s["perps.open (second market held: WETH priced too)"] = await gasOf(
    perp.connect(trader).modifyPosition(BTC, sz(1), hre.ethers.MaxUint256),
  );
  await perp.connect(trader).closePosition(ETH, 0);
  await perp.connect(trader).closePosition(BTC, 0);

  // A triggered stop: a long with a stop at 57,000, then the price at 56,000.
  await perp.connect(trader).modifyPosition(BTC, sz(1), hre.ethers.MaxUint256);
  await perp.connect(trader).placeOrder(BTC, true, sz(1), wad(57_000), false, 0n);
  const orderId = await perp.lastOrderId();
  // Liquidation victims: 1 position, and 3 positions in three markets, at 10x or more.
  await perp.connect(victim).modifyPosition(BTC, sz(8), hre.ethers.MaxUint256);
  await perp.connect(multi).modifyPosition(BTC, sz(5), hre.ethers.MaxUint256);
  await perp.connect(multi).modifyPosition(ETH, sz(50), hre.ethers.MaxUint256);
  await perp.connect(multi).modifyPosition(EUR, sz(400_000), hre.ethers.MaxUint256);
  await setBtc(56_000);
  await setEth(2800);
  s["perps.executeOrder"] = await gasOf(perp.connect(keeper).executeOrder(orderId));
  s["perps.liquidate"] = await gasOf(perp.connect(keeper).liquidate(victim.address));
  await setBtc(52_000);
  await setEth(2600);
  s["perps.liquidate3"] = await gasOf(perp.connect(keeper).liquidate(multi.address));

  // ADL: a short in large profit against a small pool (the factor lowered so that it triggers).
  await perp.connect(adlShort).depositMargin(u(200_000), adlShort.address);
  await perp.connect(adlShort).modifyPosition(BTC, -sz(20), 0);
  await setBtc(40_000);
  const btcParams = perpMarketParams(system.config.perps!.markets.find((m) => m.symbol === "WBTC")!);
  await perp.setMarketParams(BTC, { ...btcParams, adlPnlFactor: wad(0.01) });
  s["perps.adl"] = await gasOf(perp.connect(keeper).adl(BTC, [adlShort.address]));
  return s;
}

function compare(committed: Snapshot, now: Snapshot): string[] {
  const problems: string[] = [];
  for (const [op, gas] of Object.entries(now)) {
    const before = committed[op];
    if (before === undefined) {
      problems.push(`${op}: new operation (${gas}) not in the snapshot`);
    } else if (gas > before * (1 + TOLERANCE)) {
      problems.push(`${op}: ${before} -> ${gas} (+${(((gas - before) / before) * 100).toFixed(1)}%)`);
    }
  }
  for (const op of Object.keys(committed)) {
    if (!(op in now)) problems.push(`${op}: in the snapshot but no longer measured`);
  }
  return problems;
}

async function main() {
  const now = await measure();
  const width = Math.max(...Object.keys(now).map((k) => k.length));
  if (process.env.GAS_CHECK === "1") {
    const committed = JSON.parse(readFileSync(SNAPSHOT, "utf8")) as Snapshot;
    for (const [op, gas] of Object.entries(now)) {
      const before = committed[op];
      const delta = before ? `${gas - before >= 0 ? "+" : ""}${gas - before}` : "new";
      console.log(`${op.padEnd(width)}  ${String(gas).padStart(8)}  ${delta}`);
    }
    const problems = compare(committed, now);
    if (problems.length > 0) {
      console.error(`\nGas check failed (tolerance ${TOLERANCE * 100}%); run \`npm run gas\` and commit:`);
      for (const p of problems) console.error(`  ${p}`);
      process.exitCode = 1;
      return;
    }
    console.log(`\nGas check passed: ${Object.keys(now).length} operations within ${TOLERANCE * 100}%.`);
    return;
  }
  mkdirSync(path.dirname(SNAPSHOT), { recursive: true });
  writeFileSync(SNAPSHOT, JSON.stringify(now, null, 2) + "\n");
  for (const [op, gas] of Object.entries(now)) console.log(`${op.padEnd(width)}  ${String(gas).padStart(8)}`);
  console.log(`\nWrote ${path.relative(process.cwd(), SNAPSHOT)}`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
