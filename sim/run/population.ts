/**
 * The population of a scenario: suppliers, borrowers, LPs and traders, each drawn from the scenario's
 * distributions with its seed (one PRNG stream per group, so adding traders does not move the borrowers),
 * each a fresh account funded with mock tokens, each acting through the real contracts.
 */
import type { Signer } from "ethers";

import type { System } from "../../deploy/deploySystem";
import { toUnits } from "../../deploy/units";
import { AMOUNT, FRACTION, LEVERAGE, Rng, sample, sampleCount, type Scenario } from "../scenario";
import { BASE_DECIMALS, collateralOf, perpMarketOf } from "./build";
import type { Chain } from "./chain";

export type Role = "supplier" | "borrower" | "lp" | "trader";

export interface Actor {
  role: Role;
  index: number;
  signer: Signer;
  address: string;
  /** Base units put in at the start (a supplier's or LP's deposit, a trader's margin). */
  deposited: bigint;
  /** Borrowers: the collateral's symbol; traders: the market's asset symbol. */
  asset?: string;
}

export interface Population {
  suppliers: Actor[];
  borrowers: Actor[];
  lps: Actor[];
  traders: Actor[];
  /** Actions of the setup that the contracts refused (e.g. a borrow beyond the market's cash). */
  skipped: { role: Role; index: number; reason: string }[];
}

/** USD to base units. */
export const usd = (x: number) => toUnits(x.toFixed(BASE_DECIMALS), BASE_DECIMALS);
const MAX = (1n << 256n) - 1n;

/** Draws the population and sends its transactions: supply, collateral and borrow, LP deposits, trades. */
export async function buildPopulation(
  chain: Chain,
  sys: System,
  s: Scenario,
  salt: string,
): Promise<Population> {
  const pop: Population = { suppliers: [], borrowers: [], lps: [], traders: [], skipped: [] };
  const g = s.population;
  const base = sys.base.token!;
  const newActor = async (role: Role, index: number, deposited: bigint, asset?: string): Promise<Actor> => {
    const signer = await chain.account(salt, `${role}/${index}`);
    return { role, index, signer, address: await signer.getAddress(), deposited, asset };
  };
  const attempt = async (a: Actor, what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
      return true;
    } catch (e) {
      pop.skipped.push({
        role: a.role,
        index: a.index,
        reason: `${what}: ${(e as Error).message.split("\n")[0]}`,
      });
      return false;
    }
  };

  const lending = sys.lending!.market;
  const lendingAddress = await lending.getAddress();
  if (g.suppliers) {
    const rng = Rng.from(s.seed, "suppliers");
    const n = sampleCount(g.suppliers.count, rng);
    for (let i = 0; i < n; i++) {
      const amount = usd(sample(g.suppliers.deposit, rng, AMOUNT));
      const a = await newActor("supplier", i, amount);
      pop.suppliers.push(a);
      if (amount === 0n) continue;
      await chain.send(() => base.mint(a.address, amount));
      await chain.send(() => base.connect(a.signer).approve(lendingAddress, MAX));
      await attempt(a, "supply", () => chain.send(() => lending.connect(a.signer).supply(amount, a.address)));
    }
  }

  if (g.borrowers) {
    const rng = Rng.from(s.seed, "borrowers");
    const n = sampleCount(g.borrowers.count, rng);
    const symbol = g.borrowers.collateral;
    const asset = sys.assets[symbol];
    const spec = s.assets.find((x) => x.symbol === symbol)!;
    // A borrower asks for `ltv` x size; the market allows at most its collateral ltv (minus a margin for rounding).
    const maxLtv = collateralOf(s, spec).ltv - 0.001;
    for (let i = 0; i < n; i++) {
      const size = sample(g.borrowers.size, rng, AMOUNT);
      const ltv = Math.min(sample(g.borrowers.ltv, rng, FRACTION), maxLtv);
      const a = await newActor("borrower", i, 0n, symbol);
      pop.borrowers.push(a);
      const units = toUnits((size / spec.price).toFixed(Math.min(asset.decimals, 12)), asset.decimals);
      if (units === 0n) continue;
      await chain.send(() => asset.token!.mint(a.address, units));
      await chain.send(() => asset.token!.connect(a.signer).approve(lendingAddress, MAX));
      const posted = await attempt(a, "supplyCollateral", () =>
        chain.send(() => lending.connect(a.signer).supplyCollateral(asset.address, units, a.address)),
      );
      const debt = usd(size * ltv);
      if (posted && debt > 0n) {
        await attempt(a, "borrow", () => chain.send(() => lending.connect(a.signer).borrow(debt, a.address)));
      }
    }
  }

  const perp = sys.perps!.market;
  const vault = sys.perps!.vault;
  if (g.lps) {
    const rng = Rng.from(s.seed, "lps");
    const n = sampleCount(g.lps.count, rng);
    const vaultAddress = await vault.getAddress();
    for (let i = 0; i < n; i++) {
      const amount = usd(sample(g.lps.deposit, rng, AMOUNT));
      const a = await newActor("lp", i, amount);
      pop.lps.push(a);
      if (amount === 0n) continue;
      await chain.send(() => base.mint(a.address, amount));
      await chain.send(() => base.connect(a.signer).approve(vaultAddress, MAX));
      await attempt(a, "deposit", () => chain.send(() => vault.connect(a.signer).deposit(amount, a.address)));
    }
  }

  if (g.traders) {
    const rng = Rng.from(s.seed, "traders");
    const n = sampleCount(g.traders.count, rng);
    const symbol = g.traders.asset;
    const spec = s.assets.find((x) => x.symbol === symbol)!;
    const marketId = sys.perps!.marketIds[symbol];
    // Initial margin grows with size (marginScale): stay a little under the nominal maximum leverage.
    const maxLeverage = (1 / perpMarketOf(s, spec).initialMargin) * 0.95;
    const perpAddress = await perp.getAddress();
    for (let i = 0; i < n; i++) {
      const margin = sample(g.traders.margin, rng, AMOUNT);
      const leverage = Math.min(sample(g.traders.leverage, rng, LEVERAGE), maxLeverage);
      const long = rng.next() < g.traders.longShare;
      const amount = usd(margin);
      const a = await newActor("trader", i, amount, symbol);
      pop.traders.push(a);
      if (amount === 0n) continue;
      await chain.send(() => base.mint(a.address, amount));
      await chain.send(() => base.connect(a.signer).approve(perpAddress, MAX));
      const deposited = await attempt(a, "depositMargin", () =>
        chain.send(() => perp.connect(a.signer).depositMargin(amount, a.address)),
      );
      const size = toUnits(((margin * leverage) / spec.price).toFixed(12), 18);
      if (!deposited || size === 0n) continue;
      await attempt(a, "modifyPosition", () =>
        chain.send(() =>
          perp.connect(a.signer).modifyPosition(marketId, long ? size : -size, long ? MAX : 0n),
        ),
      );
    }
  }
  return pop;
}

/** Every account of the population, in a fixed order. */
export function everyone(p: Population): Actor[] {
  return [...p.suppliers, ...p.borrowers, ...p.lps, ...p.traders];
}
