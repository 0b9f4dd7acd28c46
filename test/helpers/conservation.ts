import { expect } from "chai";
import { ethers } from "hardhat";

import type { System } from "../../deploy/deploySystem";

/**
 * The books must balance (DESIGN.md section 5). Call after every step of a test:
 * - the market holds at least the cash it owes: supplied + reserves - borrowed (base asset), and at least
 *   every collateral's recorded total;
 * - every deficit is accounted for: deficit == covered by insurance (reserves + fund) + socialised;
 * - recourse: everything recorded as owed is either still owed or recovered (fund ledger), and, when
 *   `accounts` lists every account that ever owed, the per-account debts add up to the total;
 * - the insurance fund's books: its assets are its token balance (never negative by construction).
 */
export async function expectConservation(system: System, accounts: string[] = []) {
  const { lending, base, insuranceFund } = system;
  if (!lending) throw new Error("this deployment has no lending market");
  const market = lending.market;
  const marketAddress = await market.getAddress();

  const [supplyAssets, , borrowAssets, , reserves] = await market.totals();
  const owedCash = supplyAssets + reserves > borrowAssets ? supplyAssets + reserves - borrowAssets : 0n;
  const cash = await base.erc20.balanceOf(marketAddress);
  expect(cash, "base tokens held >= supplied + reserves - borrowed").to.be.gte(owedCash);

  for (const token of await market.collateralTokens()) {
    const erc20 = await ethers.getContractAt("IERC20Metadata", token);
    const held = await erc20.balanceOf(marketAddress);
    const recorded = (await market.collateralConfig(token)).totalSupplied;
    expect(held, `collateral ${token} held >= recorded`).to.be.gte(recorded);
  }

  const bad = await market.badDebt();
  expect(bad.deficit, "deficit == covered by insurance + socialised").to.equal(
    bad.coveredByInsurance + bad.socialised,
  );

  const totalOwed = await insuranceFund.totalRecourseDebt();
  const recovered = await insuranceFund.totalRecovered();
  expect(totalOwed + recovered, "recourse recorded == still owed + recovered").to.equal(bad.recourseRecorded);
  if (accounts.length > 0) {
    let sum = 0n;
    for (const a of accounts) sum += await insuranceFund.recourseDebt(a);
    expect(sum, "per-account recourse debts add up to the total").to.equal(totalOwed);
  }
  expect(await insuranceFund.totalAssets()).to.equal(
    await base.erc20.balanceOf(await insuranceFund.getAddress()),
  );
}
