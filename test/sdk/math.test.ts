/**
 * The SDK's pure maths on synthetic states (no chain), with fast-check: the searches return true
 * boundaries, the closed forms agree with their definitions, and the long side's liquidation price is the
 * highest boundary even where rounding makes liquidatability flip back and forth (equity rounded down,
 * margin rounded up, each to the base unit) -- a range the on-chain tests cannot reach with realistic sizes.
 */
import { expect } from "chai";
import fc from "fast-check";

import {
  formatBase,
  formatFixed,
  formatHealth,
  formatPercent,
  formatPrice,
  lastTrue,
  lendingBankruptcyPrice,
  lendingLiquidationPrice,
  lendingPosition,
  MarketStatus,
  MAX_UINT256,
  maxBorrow,
  NegativeBalancePolicy,
  perpBankruptcyPrice,
  perpLiquidationPrice,
  perpRisk,
  priceGap,
  PriceStatus,
  toAssetsUp,
  toSharesUp,
  WAD,
  wadToNumber,
  type CollateralHolding,
  type LendingAccountState,
  type PerpAccountState,
  type PerpMarketState,
} from "../../sdk";

const RUNS = Number(process.env.FUZZ_RUNS ?? 60);
const USD_PER_UNIT = 10n ** 12n;

/* SYNTHETIC STATES */

function market(overrides: Partial<PerpMarketState> = {}): PerpMarketState {
  return {
    marketId: 0,
    asset: "0x0000000000000000000000000000000000000001",
    status: MarketStatus.ACTIVE,
    price: 3000n * WAD,
    priceStatus: PriceStatus.OK,
    priceTick: 1n,
    longOI: 0n,
    shortOI: 0n,
    fundingIndex: 0n,
    lastFundingTime: 1_000n,
    fundingRate: 0n,
    longBasisSum: 0n,
    shortBasisSum: 0n,
    params: {
      initialMargin: WAD / 20n,
      maintenanceMargin: WAD / 40n,
      tradingFee: WAD / 2000n,
      liquidationFee: WAD / 100n,
      marginScale: 1_000n * WAD,
      skewScale: 10_000n * WAD,
      maxLongOI: 10n ** 30n,
      maxShortOI: 10n ** 30n,
      maxFundingRate: WAD / 10n / 86_400n,
      adlPnlFactor: WAD / 2n,
    },
    ...overrides,
  };
}

/** One position in market 0 (and optionally a fixed one in market 1); funding accrues over `at - 1000`. */
function perpAccount(p: {
  size: bigint;
  entry: bigint;
  margin: bigint;
  at?: bigint;
  skew?: bigint;
  tick?: bigint;
  marginScale?: bigint;
  maintenanceMargin?: bigint;
  entryIndex?: bigint;
  other?: bigint;
}): PerpAccountState {
  const skew = p.skew ?? 0n;
  const m0 = market({
    priceTick: p.tick ?? 1n,
    longOI: skew > 0n ? skew : 0n,
    shortOI: skew < 0n ? -skew : 0n,
    fundingIndex: 5n * WAD,
  });
  if (p.marginScale) m0.params = { ...m0.params, marginScale: p.marginScale };
  if (p.maintenanceMargin) m0.params = { ...m0.params, maintenanceMargin: p.maintenanceMargin };
  const m1 = market({ marketId: 1, price: 60_000n * WAD });
  const positions = [
    { marketId: 0, size: p.size, entryPrice: p.entry, entryFundingIndex: p.entryIndex ?? 0n },
  ];
  if (p.other)
    positions.push({ marketId: 1, size: p.other, entryPrice: 59_000n * WAD, entryFundingIndex: 0n });
  return {
    account: "0x00000000000000000000000000000000000000aa",
    blockNumber: 1,
    blockTimestamp: 1_000n,
    at: p.at ?? 1_000n,
    baseDecimals: 6,
    usdPerUnit: USD_PER_UNIT,
    margin: p.margin,
    positions,
    markets: [m0, m1],
    pool: { capital: 10n ** 15n, pendingInsurance: 0n },
    paused: false,
    recourseDebt: 0n,
  };
}

const liquidatableAt = (s: PerpAccountState, price: bigint) =>
  perpRisk(s, { marketId: 0, price }).liquidatable;

function holding(
  token: string,
  decimals: number,
  amount: bigint,
  price: bigint,
  ltv: bigint,
  lt: bigint,
  tick = 1n,
) {
  const h: CollateralHolding = {
    token,
    index: 0,
    decimals,
    amount,
    price,
    priceStatus: PriceStatus.OK,
    priceTick: tick,
    ltv,
    liquidationThreshold: lt,
    liquidationBonus: WAD / 20n,
  };
  return h;
}

function lendingAccount(
  holdings: CollateralHolding[],
  borrowShares: bigint,
  t = { bA: 10n ** 12n, bS: 10n ** 18n },
) {
  const totals = {
    supplyAssets: 5n * 10n ** 12n,
    supplyShares: 5n * 10n ** 18n,
    borrowAssets: t.bA,
    borrowShares: t.bS,
    reserves: 0n,
  };
  const s: LendingAccountState = {
    account: "0x00000000000000000000000000000000000000bb",
    market: {
      blockNumber: 1,
      blockTimestamp: 1n,
      at: 1n,
      baseDecimals: 6,
      storedTotals: totals,
      lastAccrual: 1n,
      totals,
      params: {
        borrowCap: 10n ** 20n,
        minBorrow: 100n * 10n ** 6n,
        reserveFactor: WAD / 10n,
        smallPosition: 0n,
        protocolShare: 0n,
        marginCallHealth: WAD,
      },
      borrowRatePerSecond: 0n,
      paused: false,
      negativeBalancePolicy: NegativeBalancePolicy.PROTECTED,
    },
    supplyShares: 0n,
    borrowShares,
    holdings,
    recourseDebt: 0n,
  };
  return s;
}

const WETH = "0x00000000000000000000000000000000000000e1";
const WBTC = "0x00000000000000000000000000000000000000b1";

describe("sdk: maths", () => {
  describe("perps searches", () => {
    it("perpLiquidationPrice (long): liquidatable at it, not one step above, nor at any price above it (random books)", () => {
      fc.assert(
        fc.property(
          fc.bigInt({ min: 10n ** 15n, max: 2_000n * WAD }),
          fc.bigInt({ min: 1_000n, max: 5_000n }),
          fc.bigInt({ min: 10n ** 6n, max: 10n ** 12n }),
          fc.bigInt({ min: 0n, max: 5n * 86_400n }),
          fc.bigInt({ min: -5_000n, max: 5_000n }),
          fc.constantFrom(1n, 10n ** 10n),
          (size, entryUsd, margin, dt, skewUnits, tick) => {
            const s = perpAccount({
              size,
              entry: entryUsd * WAD,
              margin,
              at: 1_000n + dt,
              skew: skewUnits * WAD,
              tick,
              other: -WAD,
            });
            const p = perpLiquidationPrice(s, 0);
            if (p === null) {
              expect(liquidatableAt(s, tick)).to.equal(false);
              return;
            }
            expect(p % tick).to.equal(0n);
            expect(liquidatableAt(s, p), "at").to.equal(true);
            expect(liquidatableAt(s, p + tick), "one step above").to.equal(false);
            for (let k = 2n; k < 60n; k++)
              expect(liquidatableAt(s, p + k * tick), `${k} steps above`).to.equal(false);
            for (let k = 1n; k < 40n; k++)
              expect(liquidatableAt(s, p + k * k * k * 997n * tick)).to.equal(false);
          },
        ),
        { numRuns: RUNS },
      );
    });

    it("perpLiquidationPrice (long): the highest boundary where liquidatability flips (huge size: scanned price by price)", () => {
      // 1e9 ETH: one wei of price moves equity by 1e-3 base units, so the range where equity and the
      // (separately rounded) margin are within a unit of each other spans thousands of wei; with a maintenance
      // fraction of 45% the margin crosses a unit there too, and liquidatability flips back and forth.
      let extraFlips = 0;
      for (const entryOffset of [0n, 123_457n, 999_999_937n, 31_337n, 7n, 4_242_424n]) {
        const s = perpAccount({
          size: 10n ** 27n,
          entry: 3_000n * WAD + entryOffset,
          margin: 1_900_000_000_000n * 10n ** 6n,
          marginScale: 10n ** 36n,
          maintenanceMargin: (WAD * 45n) / 100n,
          at: 1_000n + 3_600n,
          skew: 10n ** 21n,
        });
        const p = perpLiquidationPrice(s, 0)!;
        expect(liquidatableAt(s, p)).to.equal(true);
        let last = p;
        let flips = 0;
        for (let q = p - 5_000n; q <= p + 5_000n; q++) {
          const now = liquidatableAt(s, q);
          if (now !== liquidatableAt(s, q - 1n)) flips++;
          if (now) last = q;
        }
        expect(last, "no liquidatable price above the one returned").to.equal(p);
        extraFlips += flips - 1;
      }
      expect(extraFlips, "the scanned ranges do flip back and forth").to.be.greaterThan(0);
    });

    it("perpLiquidationPrice (short): the lowest price at which the account is liquidatable", () => {
      fc.assert(
        fc.property(
          fc.bigInt({ min: 10n ** 15n, max: 2_000n * WAD }),
          fc.bigInt({ min: 1_000n, max: 5_000n }),
          fc.bigInt({ min: 10n ** 6n, max: 10n ** 12n }),
          fc.bigInt({ min: 0n, max: 5n * 86_400n }),
          fc.bigInt({ min: -5_000n, max: 5_000n }),
          (size, entryUsd, margin, dt, skewUnits) => {
            const s = perpAccount({
              size: -size,
              entry: entryUsd * WAD,
              margin,
              at: 1_000n + dt,
              skew: skewUnits * WAD,
            });
            const p = perpLiquidationPrice(s, 0)!;
            expect(liquidatableAt(s, p)).to.equal(true);
            if (p > 1n) expect(liquidatableAt(s, p - 1n)).to.equal(false);
            for (let k = 1n; k < 40n; k++) expect(liquidatableAt(s, p + k * k * k * 997n)).to.equal(true);
          },
        ),
        { numRuns: RUNS },
      );
    });

    it("perpBankruptcyPrice: equity >= 0 at it and < 0 one step beyond (long and short)", () => {
      fc.assert(
        fc.property(
          fc.bigInt({ min: 10n ** 15n, max: 2_000n * WAD }),
          fc.bigInt({ min: 1_000n, max: 5_000n }),
          fc.bigInt({ min: 10n ** 6n, max: 10n ** 12n }),
          fc.boolean(),
          fc.constantFrom(1n, 10n ** 10n),
          (size, entryUsd, margin, long, tick) => {
            const s = perpAccount({
              size: long ? size : -size,
              entry: entryUsd * WAD,
              margin,
              at: 90_000n,
              skew: WAD * 300n,
              tick,
            });
            const b = perpBankruptcyPrice(s, 0);
            if (b === null) return;
            const equity = (price: bigint) => perpRisk(s, { marketId: 0, price }).equity;
            expect(equity(b.price)).to.equal(b.equityAtPrice);
            expect(b.equityAtPrice).to.be.gte(0n);
            expect(b.equityAtPrice).to.be.lte((size * tick) / (WAD * USD_PER_UNIT) + 2n);
            expect(equity(long ? b.price - tick : b.price + tick)).to.be.lessThan(0n);
          },
        ),
        { numRuns: RUNS },
      );
    });

    it("perp searches: null where no price reaches; a throw for a missing position or runaway funding", () => {
      const rich = perpAccount({ size: WAD, entry: 3_000n * WAD, margin: 10n ** 12n });
      expect(perpLiquidationPrice(rich, 0)).to.equal(null);
      expect(perpBankruptcyPrice(rich, 0)).to.equal(null);
      expect(() => perpLiquidationPrice(rich, 1)).to.throw("no position");
      // Full skew at 10% a day for 11 days: funding has reached the price.
      const runaway = perpAccount({
        size: WAD,
        entry: 3_000n * WAD,
        margin: 1n,
        skew: 10n ** 30n,
        at: 1_000n + 11n * 86_400n,
      });
      expect(() => perpLiquidationPrice(runaway, 0)).to.throw("100% of the price");
      const delisted = perpAccount({ size: WAD, entry: 3_000n * WAD, margin: 1n });
      delisted.markets[0] = { ...delisted.markets[0], status: MarketStatus.DELISTED };
      expect(perpLiquidationPrice(delisted, 0)).to.equal(null);
    });
  });

  describe("lending closed forms", () => {
    it("lendingLiquidationPrice / lendingBankruptcyPrice: the boundaries of health < 1 and of equity >= 0 (random books)", () => {
      fc.assert(
        fc.property(
          fc.bigInt({ min: 10n ** 12n, max: 10n ** 22n }),
          fc.bigInt({ min: 1n, max: 10n ** 9n }),
          fc.bigInt({ min: 1n * WAD, max: 100_000n * WAD }),
          fc.bigInt({ min: 10n ** 17n, max: 10n ** 24n }),
          fc.constantFrom(1n, 10n ** 10n),
          (ethAmount, btcAmount, ethPrice, borrowShares, tick) => {
            const s = lendingAccount(
              [
                holding(WETH, 18, ethAmount, ethPrice, (WAD * 8n) / 10n, (WAD * 85n) / 100n, tick),
                holding(WBTC, 8, btcAmount, 60_000n * WAD, (WAD * 75n) / 100n, (WAD * 80n) / 100n),
              ],
              borrowShares,
            );
            const at = (price: bigint) => lendingPosition(s, { token: WETH, price });
            const p = lendingLiquidationPrice(s, WETH);
            if (p === null) {
              expect(at(tick).liquidatable).to.equal(false);
            } else {
              expect(p % tick).to.equal(0n);
              expect(at(p).liquidatable).to.equal(true);
              expect(at(p).health).to.be.lessThan(WAD);
              expect(at(p + tick).liquidatable).to.equal(false);
              expect(at(p + tick).health).to.be.gte(WAD);
            }
            const b = lendingBankruptcyPrice(s, WETH);
            const equity = (price: bigint) => at(price).collateralValue - at(price).debt;
            if (b === null) {
              expect(equity(0n)).to.be.gte(0n);
            } else {
              expect(b.price % tick).to.equal(0n);
              expect(equity(b.price)).to.equal(b.equityAtPrice);
              expect(b.equityAtPrice).to.be.gte(0n).and.lessThan(b.tolerance);
              expect(equity(b.price - tick)).to.be.lessThan(0n);
            }
          },
        ),
        { numRuns: RUNS },
      );
    });

    it("maxBorrow: the debt after borrowing it fits the capacity, one unit more does not (recomputed independently)", () => {
      fc.assert(
        fc.property(
          fc.bigInt({ min: 10n ** 15n, max: 10n ** 21n }),
          fc.bigInt({ min: 0n, max: 10n ** 15n }),
          fc.bigInt({ min: 10n ** 6n, max: 10n ** 13n }),
          fc.bigInt({ min: 10n ** 12n, max: 10n ** 20n }),
          (ethAmount, shares, bA, bS) => {
            const s = lendingAccount(
              [holding(WETH, 18, ethAmount, 3_000n * WAD, (WAD * 8n) / 10n, (WAD * 85n) / 100n)],
              shares,
              { bA, bS: bS + shares },
            );
            s.market.totals = { ...s.market.totals, supplyAssets: bA * 3n };
            const capacity = lendingPosition(s).borrowCapacity;
            const debtAfter = (x: bigint) => {
              const minted = toSharesUp(x, bA, bS + shares);
              return toAssetsUp(shares + minted, bA + x, bS + shares + minted);
            };
            const m = maxBorrow(s);
            if (m.limitedBy === "capacity" && m.amount === 0n) {
              expect(debtAfter(1n), "already at or over capacity").to.be.greaterThan(capacity);
            } else if (m.limitedBy === "capacity") {
              expect(debtAfter(m.amount)).to.be.lte(capacity);
              expect(debtAfter(m.amount + 1n)).to.be.greaterThan(capacity);
              expect(m.debtAfter).to.equal(debtAfter(m.amount));
            } else if (m.limitedBy === "liquidity") {
              expect(m.amount).to.equal(bA * 3n - bA);
              expect(debtAfter(m.amount)).to.be.lte(capacity);
            } else {
              expect(m).to.deep.include({ limitedBy: "minBorrow", amount: 0n });
            }
          },
        ),
        { numRuns: RUNS },
      );
    });

    it("maxBorrow: nothing when paused, owing recourse, or a collateral price is not OK", () => {
      const base = () =>
        lendingAccount(
          [holding(WETH, 18, 10n ** 19n, 3_000n * WAD, (WAD * 8n) / 10n, (WAD * 85n) / 100n)],
          0n,
        );
      expect(maxBorrow(base()).amount).to.be.greaterThan(0n);
      const paused = base();
      paused.market.paused = true;
      expect(maxBorrow(paused).limitedBy).to.equal("paused");
      const owing = base();
      owing.recourseDebt = 1n;
      expect(maxBorrow(owing).limitedBy).to.equal("recourse");
      const stale = base();
      stale.holdings[0].priceStatus = PriceStatus.STALE;
      expect(maxBorrow(stale)).to.deep.include({ amount: 0n, limitedBy: "price" });
    });
  });

  describe("helpers", () => {
    it("lastTrue: a boundary of any predicate (pred(n) and not pred(n + 1))", () => {
      fc.assert(
        fc.property(fc.array(fc.boolean(), { minLength: 2, maxLength: 200 }), (bits) => {
          bits[0] = true;
          bits[bits.length - 1] = false;
          const n = lastTrue(0n, BigInt(bits.length - 1), (k) => bits[Number(k)]);
          expect(bits[Number(n)]).to.equal(true);
          expect(bits[Number(n) + 1]).to.equal(false);
        }),
        { numRuns: RUNS },
      );
    });

    it("priceGap and the formatters", () => {
      const g = priceGap(3_000n * WAD, 1_740n * WAD);
      expect(g.wad).to.equal((-42n * WAD) / 100n);
      expect(g.ratio).to.equal(-0.42);
      expect(formatFixed(1_234_567_891n, 6, 2)).to.equal("1,234.56");
      expect(formatFixed(-1_500_000n, 6)).to.equal("-1.5");
      expect(formatBase(2_000_000_000n)).to.equal("2,000");
      expect(formatPrice(2_941_176_470_588_235_294_117n)).to.equal("$2,941.17");
      expect(formatPercent(g.wad)).to.equal("-42%");
      expect(formatHealth(MAX_UINT256)).to.equal("∞");
      expect(formatHealth(125n * 10n ** 16n)).to.equal("1.25");
      expect(wadToNumber(15n * 10n ** 17n)).to.equal(1.5);
    });
  });
});
