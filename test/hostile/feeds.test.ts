/**
 * A feed that burns all the gas it is given, seen from the markets. The router's side (a burning feed reads
 * as INVALID, or FALLBACK when the other feed answers, and a starved caller gets OracleGasTooLow) is in
 * test/oracle/faults.test.ts ("feed burning all its gas", "gas guard"); test/lending/borrow-repay.test.ts
 * refuses a borrow with both WETH feeds burning. Here, on a system with positions everywhere
 * (test/hostile/digest.ts):
 * - WBTC's only feed burns: risk-adding lending and perps actions get PriceNotUsable(WBTC, action, INVALID);
 *   repayment needs no price; a liquidation of another collateral still runs (WBTC counts at a high
 *   estimate) and reports the health;
 * - WETH's primary burns: the fallback prices it (FALLBACK): borrows, opens, increases and withdrawals get
 *   PriceNotUsable(WETH, action, FALLBACK), reductions and liquidation checks run on the fallback price;
 * - both WETH feeds burn: even closes and liquidations get PriceNotUsable(WETH, action, INVALID), while
 *   deposits and repayments (no price) still work;
 * - a caller that sends too little gas gets OracleGasTooLow from the router, through the market, at every
 *   gas limit, never an out-of-gas and never a status the feed did not earn.
 * Every refusal is checked with `expectRevertUnchanged`: the error, its arguments, and a digest of every
 * view equal before and after.
 */
import { expect } from "chai";
import { Action, FeedMode, PriceStatus } from "../../deploy/enums";
import {
  digest,
  digestNow,
  e18,
  expectRevertUnchanged,
  loadHostile,
  MAX,
  revertData,
  u,
  type ErrorSource,
  type HostileFixture,
} from "./digest";

const L = (f: HostileFixture) => f.lending!.market;
const P = (f: HostileFixture) => f.perps!.market;
/** The perps engine reads prices with priceFor: the router raises PriceNotUsable. */
const R = (f: HostileFixture) => f.router;

async function burning(which: "WBTC" | "WETH primary" | "WETH both") {
  const f = await loadHostile();
  const a = which === "WBTC" ? f.assets.WBTC : f.assets.WETH;
  await a.primaryFeed.mock!.setMode(FeedMode.BURN_GAS);
  if (which === "WETH both") await a.fallbackFeed!.mock!.setMode(FeedMode.BURN_GAS);
  // carol holds margin, so that her opens reach the price check.
  await P(f).connect(f.actors.carol).depositMargin(u(100_000), f.actors.carol.address);
  return f;
}

describe("hostile inputs: a feed that burns all its gas, seen from the markets", () => {
  describe("WBTC's only feed burns its gas (INVALID)", () => {
    it("borrow and withdrawCollateral (WBTC among the collaterals) revert with PriceNotUsable(WBTC, action, INVALID), state unchanged", async () => {
      const f = await burning("WBTC");
      const { bob } = f.actors;
      const wbtc = f.assets.WBTC.address;
      const [, status] = await f.router.peek(wbtc);
      expect(status).to.equal(PriceStatus.INVALID);
      await expectRevertUnchanged(
        f,
        () => L(f).connect(bob).borrow(u(100), bob.address),
        L(f),
        "PriceNotUsable",
        [wbtc, Action.BORROW, PriceStatus.INVALID],
      );
      await expectRevertUnchanged(
        f,
        () => L(f).connect(bob).withdrawCollateral(f.assets.EURC.address, u(1), bob.address),
        L(f),
        "PriceNotUsable",
        [wbtc, Action.WITHDRAW_COLLATERAL, PriceStatus.INVALID],
      );
    });

    it("a BTC perp open reverts with PriceNotUsable(WBTC, OPEN, INVALID), state unchanged", async () => {
      const f = await burning("WBTC");
      await expectRevertUnchanged(
        f,
        () => P(f).connect(f.actors.carol).modifyPosition(f.BTC, e18(0.1), MAX),
        f.router,
        "PriceNotUsable",
        [f.assets.WBTC.address, Action.OPEN, PriceStatus.INVALID],
      );
    });

    it("repay needs no price and goes through; liquidating the WETH collateral still runs (WBTC at a high estimate) and reports the health (NotLiquidatable), state unchanged", async () => {
      const f = await burning("WBTC");
      const { bob, keeper } = f.actors;
      await expect(L(f).connect(bob).repay(u(100), bob.address)).to.emit(L(f), "Repay");
      await expectRevertUnchanged(
        f,
        () => L(f).connect(keeper).liquidate(bob.address, f.assets.WETH.address, MAX),
        L(f),
        "NotLiquidatable",
        [(health: bigint) => health > e18(1)],
      );
    });
  });

  describe("WETH's primary feed burns its gas (FALLBACK)", () => {
    const rows: [
      string,
      Action,
      (f: HostileFixture) => Promise<unknown>,
      (f: HostileFixture) => ErrorSource,
    ][] = [
      [
        "lending borrow",
        Action.BORROW,
        (f) => L(f).connect(f.actors.bob).borrow(u(100), f.actors.bob.address),
        L,
      ],
      ["perps open", Action.OPEN, (f) => P(f).connect(f.actors.carol).modifyPosition(f.ETH, e18(1), MAX), R],
      [
        "perps increase",
        Action.INCREASE,
        (f) => P(f).connect(f.actors.alice).modifyPosition(f.ETH, e18(1), MAX),
        R,
      ],
      [
        "perps withdrawMargin",
        Action.WITHDRAW_MARGIN,
        (f) => P(f).connect(f.actors.alice).withdrawMargin(u(1), f.actors.alice.address),
        R,
      ],
      [
        "vault withdraw (the pool pays out only on trusted prices)",
        Action.WITHDRAW_MARGIN,
        (f) => f.perps!.vault.connect(f.actors.lp).withdraw(u(1), f.actors.lp.address, f.actors.lp.address),
        R,
      ],
    ];
    for (const [name, action, call, by] of rows) {
      it(`${name}: reverts with PriceNotUsable(WETH, ${Action[action]}, FALLBACK), state unchanged`, async () => {
        const f = await burning("WETH primary");
        await expectRevertUnchanged(f, () => call(f), by(f), "PriceNotUsable", [
          f.assets.WETH.address,
          action,
          PriceStatus.FALLBACK,
        ]);
      });
    }

    it("risk-reducing actions run on the fallback's price: a reduction fills, a liquidation check reports the account healthy (AccountNotLiquidatable), state unchanged", async () => {
      const f = await burning("WETH primary");
      const { alice, keeper } = f.actors;
      await expectRevertUnchanged(
        f,
        () => P(f).connect(keeper).liquidate(alice.address),
        P(f),
        "AccountNotLiquidatable",
        [(equity: bigint) => equity > 0n, (mm: bigint) => mm > 0n],
      );
      await expect(P(f).connect(alice).modifyPosition(f.ETH, -e18(1), 0))
        .to.emit(P(f), "PositionModified")
        .withArgs(
          alice.address,
          f.ETH,
          -e18(1),
          (x: bigint) => x > 0n,
          (x: bigint) => x > 0n,
          (x: bigint) => x <= 0n,
          e18(9),
        );
    });
  });

  describe("both WETH feeds burn their gas (INVALID)", () => {
    it("closes and liquidations (perps and lending) revert with PriceNotUsable(WETH, action, INVALID), state unchanged; deposits and repayments need no price", async () => {
      const f = await burning("WETH both");
      const { alice, bob, keeper } = f.actors;
      const weth = f.assets.WETH.address;
      await expectRevertUnchanged(
        f,
        () => P(f).connect(alice).closePosition(f.ETH, 0),
        f.router,
        "PriceNotUsable",
        [weth, Action.CLOSE, PriceStatus.INVALID],
      );
      await expectRevertUnchanged(
        f,
        () => P(f).connect(keeper).liquidate(alice.address),
        f.router,
        "PriceNotUsable",
        [weth, Action.LIQUIDATE, PriceStatus.INVALID],
      );
      await expectRevertUnchanged(
        f,
        () => L(f).connect(keeper).liquidate(bob.address, weth, MAX),
        L(f),
        "PriceNotUsable",
        [weth, Action.LIQUIDATE, PriceStatus.INVALID],
      );
      await expect(P(f).connect(alice).depositMargin(u(1), alice.address)).to.emit(P(f), "MarginDeposited");
      await expect(L(f).connect(bob).repay(u(1), bob.address)).to.emit(L(f), "Repay");
    });
  });

  describe("a starved caller: OracleGasTooLow through the market, never an out-of-gas", () => {
    it("with WETH's primary burning, every gas limit from 150k to 420k gives either OracleGasTooLow or PriceNotUsable(WETH, action, FALLBACK) for a borrow, an open and a margin withdrawal; state unchanged", async () => {
      const f = await burning("WETH primary");
      const { alice, bob, carol } = f.actors;
      const weth = f.assets.WETH.address;
      const before = await digestNow(f, f.scope);
      const calls: [string, Action, (gasLimit: number) => Promise<unknown>][] = [
        ["borrow", Action.BORROW, (gasLimit) => L(f).connect(bob).borrow(u(100), bob.address, { gasLimit })],
        [
          "open",
          Action.OPEN,
          (gasLimit) => P(f).connect(carol).modifyPosition(f.ETH, e18(1), MAX, { gasLimit }),
        ],
        [
          "withdrawMargin",
          Action.WITHDRAW_MARGIN,
          (gasLimit) => P(f).connect(alice).withdrawMargin(u(1), alice.address, { gasLimit }),
        ],
      ];
      const needed = await f.router.MIN_GAS_FOR_READ();
      const seen = new Set<string>();
      for (let gasLimit = 150_000; gasLimit <= 420_000; gasLimit += 30_000) {
        for (const [name, action, call] of calls) {
          let data = "0x";
          try {
            await call(gasLimit);
          } catch (e) {
            data = revertData(e);
          }
          const err = f.router.interface.parseError(data);
          const where = `${name} at a gas limit of ${gasLimit}`;
          expect(err, `${where}: a custom error of the router, not ${data}`).to.not.equal(null);
          if (err!.name === "OracleGasTooLow") {
            expect(err!.args[0], where).to.be.lt(needed);
            expect(err!.args[1], where).to.equal(needed);
          } else {
            expect(err!.name, where).to.equal("PriceNotUsable");
            expect([...err!.args], where).to.deep.equal([weth, BigInt(action), BigInt(PriceStatus.FALLBACK)]);
          }
          seen.add(err!.name);
        }
      }
      // The sweep crossed from starved to fed: both outcomes were met.
      expect([...seen].sort()).to.deep.equal(["OracleGasTooLow", "PriceNotUsable"]);
      expect(await digest(f, f.scope)).to.deep.equal(before);
    });
  });
});
