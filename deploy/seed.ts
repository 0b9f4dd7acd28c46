/**
 * A realistic demo state on a fresh local deployment (npm run node): suppliers, borrowers at various
 * health, an LP, open perps positions and an insurance fund, so that a dApp or the dashboard has something
 * to show at once. Only for deployments with mock tokens (it mints).
 */
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import type { Signer } from "ethers";

import type { System } from "./deploySystem";
import { toUnits } from "./units";

export interface SeededAccount {
  role: string;
  address: string;
  note: string;
}

const WAD = 10n ** 18n;

/** Seeds the demo state with signers 1..10 of the network (10: the keeper's, funded); returns who is who. */
export async function seedDemo(hre: HardhatRuntimeEnvironment, system: System): Promise<SeededAccount[]> {
  const { base, lending, perps, assets, insuranceFund, router } = system;
  if (!base.token) throw new Error("seedDemo needs a mock base token (a local deployment)");
  const all = await hre.ethers.getSigners();
  if (all.length < 11) throw new Error("seedDemo needs 11 funded signers");
  const signers = all.slice(1, 10);
  const keeper = all[10];
  const [supplierA, supplierB, safe, watch, edge, lp, longEth, shortEth, longBtc] = signers;
  const usd = (v: number) => toUnits(v, base.decimals);
  const out: SeededAccount[] = [];
  const fund = async (who: Signer, amount: bigint) => {
    await (await base.token!.mint(await who.getAddress(), amount)).wait();
  };
  const approve = async (who: Signer, spender: string) => {
    await (await base.erc20.connect(who).approve(spender, hre.ethers.MaxUint256)).wait();
  };

  await fund(keeper, usd(5_000_000));
  out.push({
    role: "keeper",
    address: await keeper.getAddress(),
    note: "5,000,000 USDC to repay debts (npx hardhat keeper)",
  });
  await fund(system.admin, usd(100_000));
  await approve(system.admin, await insuranceFund.getAddress());
  await (await insuranceFund.topUp(usd(100_000))).wait();
  out.push({ role: "insurance fund", address: await insuranceFund.getAddress(), note: "100,000 topped up" });

  if (lending) {
    const market = lending.market;
    const marketAddress = await market.getAddress();
    for (const s of [supplierA, supplierB]) {
      await fund(s, usd(1_000_000));
      await approve(s, marketAddress);
      await (await market.connect(s).supply(usd(500_000), await s.getAddress())).wait();
      out.push({ role: "supplier", address: await s.getAddress(), note: "supplied 500,000" });
    }
    const weth = assets.WETH;
    const [price] = await router.peek(weth.address);
    const collateral = 100n * 10n ** BigInt(weth.decimals);
    const value = (collateral * price) / 10n ** BigInt(weth.decimals) / WAD; // whole USD
    const config = system.config.lending!.collaterals.find((c) => c.symbol === "WETH")!;
    const thresholdPpm = BigInt(Math.round(config.liquidationThreshold * 1e6));
    for (const [who, health] of [
      [safe, 1.6],
      [watch, 1.15],
      [edge, 1.03],
    ] as const) {
      await (await weth.token!.mint(await who.getAddress(), collateral)).wait();
      await (await weth.token!.connect(who).approve(marketAddress, collateral)).wait();
      await (
        await market.connect(who).supplyCollateral(weth.address, collateral, await who.getAddress())
      ).wait();
      const debt = (value * thresholdPpm) / BigInt(Math.round(health * 1e6));
      // The borrow capacity (LTV) binds first for the healthy ones.
      const ltvPpm = BigInt(Math.round(config.ltv * 1e6));
      const capped = debt < (value * ltvPpm) / 1_000_000n ? debt : (value * ltvPpm) / 1_000_000n - 1n;
      await (await market.connect(who).borrow(usd(Number(capped)), await who.getAddress())).wait();
      out.push({
        role: "borrower",
        address: await who.getAddress(),
        note: `100 WETH, borrowed ${capped.toLocaleString("en-US")} (health ~${(Number(value * thresholdPpm) / 1e6 / Number(capped)).toFixed(2)})`,
      });
    }
  }

  if (perps) {
    const { market, vault, marketIds } = perps;
    await fund(lp, usd(2_000_000));
    await approve(lp, await vault.getAddress());
    await (await vault.connect(lp).deposit(usd(2_000_000), await lp.getAddress())).wait();
    out.push({ role: "LP", address: await lp.getAddress(), note: "deposited 2,000,000 in the vault" });
    const marketAddress = await market.getAddress();
    const trades: [Signer, string, number, number][] = [
      [longEth, "WETH", 10, 1],
      [shortEth, "WETH", 5, -1],
      [longBtc, "WBTC", 8, 1],
    ];
    for (const [who, symbol, leverage, side] of trades) {
      if (marketIds[symbol] === undefined) continue;
      await fund(who, usd(20_000));
      await approve(who, marketAddress);
      await (await market.connect(who).depositMargin(usd(20_000), await who.getAddress())).wait();
      const [price] = await router.peek(assets[symbol].address);
      const size = (BigInt(20_000 * leverage) * WAD * WAD) / price;
      const delta = side > 0 ? size : -size;
      const limit = side > 0 ? hre.ethers.MaxUint256 : 0n;
      await (await market.connect(who).modifyPosition(marketIds[symbol], delta, limit)).wait();
      out.push({
        role: "trader",
        address: await who.getAddress(),
        note: `${side > 0 ? "long" : "short"} ${symbol} ${leverage}x on 20,000 margin`,
      });
    }
  }
  return out;
}
