/**
 * Reentrancy: every nonReentrant entry point of PerpMarket and LiquidityVault is guarded.
 *
 * The base asset is a hostile token (contracts/mocks/ReentrantToken.sol): once armed, its next transfer
 * first calls a target with calldata and bubbles up that call's revert. Each case arms it so that the
 * outer call's own token transfer re-enters a guarded function, expects ReentrancyGuardReentrantCall
 * raised by the contract whose guard is held, then disarms and expects the very same outer call to go
 * through (so the revert came from the re-entry alone). The token holds the engine's admin role, so
 * re-entered admin functions get past onlyRole to the guard.
 */
import { expect } from "chai";
import hre, { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";

import { localConfig } from "../../deploy/config";
import { deploySystem } from "../../deploy/deploySystem";
import { toUnits, wad } from "../../deploy/units";
import type { ReentrantToken } from "../../typechain-types";

const GUARD = "ReentrancyGuardReentrantCall";
const MAX = ethers.MaxUint256;
const u = (v: number | string) => toUnits(v, 6);

async function fixture() {
  const [admin, lp, alice, bob, keeper] = await ethers.getSigners();
  const rt = (await (await ethers.getContractFactory("ReentrantToken", admin)).deploy(6)) as ReentrantToken;
  await rt.waitForDeployment();
  const rtAddr = await rt.getAddress();
  const f = await deploySystem(hre, localConfig({ base: { address: rtAddr } }));
  const perp = f.perps!.market;
  const vault = f.perps!.vault;
  const perpAddr = await perp.getAddress();
  const vaultAddr = await vault.getAddress();
  const ETH = f.perps!.marketIds.WETH;

  for (const who of [lp, alice, bob, keeper]) {
    await rt.mint(who.address, u(10_000_000));
    await rt.connect(who).approve(perpAddr, MAX);
    await rt.connect(who).approve(vaultAddr, MAX);
  }
  await perp.connect(admin).grantRole(ethers.ZeroHash, rtAddr);

  await vault.connect(lp).deposit(u(1_000_000), lp.address);
  await perp.connect(alice).depositMargin(u(10_000), alice.address);
  await perp.connect(alice).modifyPosition(ETH, wad(1), wad(4_000));

  return { f, rt, rtAddr, perp, vault, perpAddr, vaultAddr, ETH, admin, lp, alice, bob };
}

const load = () => loadFixture(fixture);
type Ctx = Awaited<ReturnType<typeof fixture>>;

describe("perps: reentrancy", function () {
  describe("PerpMarket: depositMargin's transferFrom re-enters a guarded function", function () {
    const zeroParams = {
      initialMargin: 0n,
      maintenanceMargin: 0n,
      tradingFee: 0n,
      liquidationFee: 0n,
      marginScale: 0n,
      skewScale: 0n,
      maxLongOI: 0n,
      maxShortOI: 0n,
      maxFundingRate: 0n,
      adlPnlFactor: 0n,
    };
    const cases: [string, (c: Ctx) => string][] = [
      [
        "modifyPosition",
        (c) => c.perp.interface.encodeFunctionData("modifyPosition", [c.ETH, wad(1), wad(4_000)]),
      ],
      ["closePosition", (c) => c.perp.interface.encodeFunctionData("closePosition", [c.ETH, 0])],
      ["depositMargin", (c) => c.perp.interface.encodeFunctionData("depositMargin", [u(1), c.rtAddr])],
      ["withdrawMargin", (c) => c.perp.interface.encodeFunctionData("withdrawMargin", [u(1), c.rtAddr])],
      ["executeOrder", (c) => c.perp.interface.encodeFunctionData("executeOrder", [1])],
      ["liquidate", (c) => c.perp.interface.encodeFunctionData("liquidate", [c.alice.address])],
      ["adl", (c) => c.perp.interface.encodeFunctionData("adl", [c.ETH, [c.alice.address]])],
      ["sweepFees", (c) => c.perp.interface.encodeFunctionData("sweepFees")],
      ["lpDeposit", (c) => c.perp.interface.encodeFunctionData("lpDeposit", [u(1)])],
      ["lpWithdraw", (c) => c.perp.interface.encodeFunctionData("lpWithdraw", [u(1), c.rtAddr])],
      ["setMarketParams", (c) => c.perp.interface.encodeFunctionData("setMarketParams", [c.ETH, zeroParams])],
      ["delistMarket", (c) => c.perp.interface.encodeFunctionData("delistMarket", [c.ETH])],
    ];
    for (const [name, data] of cases) {
      it(`depositMargin: reverts with ReentrancyGuardReentrantCall when the token re-enters ${name}`, async function () {
        const c = await load();
        const outer = () => c.perp.connect(c.bob).depositMargin(u(1_000), c.bob.address);
        await c.rt.arm(c.perpAddr, data(c));
        await expect(outer()).to.be.revertedWithCustomError(c.perp, GUARD);
        expect((await c.perp.marginOf(c.bob.address)).margin).to.equal(0n);
        await c.rt.arm(ethers.ZeroAddress, "0x");
        await expect(outer()).to.not.be.reverted;
        expect((await c.perp.marginOf(c.bob.address)).margin).to.equal(u(1_000));
      });
    }
  });

  describe("LiquidityVault: deposit's transferFrom re-enters a guarded function", function () {
    const cases: [string, (c: Ctx) => string][] = [
      ["deposit", (c) => c.vault.interface.encodeFunctionData("deposit", [u(1), c.rtAddr])],
      ["mint", (c) => c.vault.interface.encodeFunctionData("mint", [1n, c.rtAddr])],
      ["withdraw", (c) => c.vault.interface.encodeFunctionData("withdraw", [u(1), c.rtAddr, c.rtAddr])],
      ["redeem", (c) => c.vault.interface.encodeFunctionData("redeem", [1n, c.rtAddr, c.rtAddr])],
    ];
    for (const [name, data] of cases) {
      it(`deposit: reverts with ReentrancyGuardReentrantCall when the token re-enters vault.${name}`, async function () {
        const c = await load();
        const outer = () => c.vault.connect(c.bob).deposit(u(1_000), c.bob.address);
        await c.rt.arm(c.vaultAddr, data(c));
        await expect(outer()).to.be.revertedWithCustomError(c.vault, GUARD);
        expect(await c.vault.balanceOf(c.bob.address)).to.equal(0n);
        await c.rt.arm(ethers.ZeroAddress, "0x");
        const expected = await c.vault.previewDeposit(u(1_000));
        await expect(outer()).to.not.be.reverted;
        expect(await c.vault.balanceOf(c.bob.address)).to.equal(expected);
        expect(expected).to.be.gt(0n);
      });
    }
  });
});
