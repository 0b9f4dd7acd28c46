/**
 * Accounts view: every account the log scanner has seen, sorted by health (the worst first), with each
 * collateral's liquidation and bankruptcy prices and each perp position's, from the SDK. One state read per
 * account and side (ballast.lending.state / ballast.perps.state, at one block), then the SDK's pure
 * functions: the read the SDK's guide recommends for a bot watching many accounts.
 */
import {
  formatBase,
  formatHealth,
  formatPrice,
  formatWad,
  lendingBankruptcyPrice,
  lendingLiquidationPrice,
  lendingPosition,
  MAX_UINT256,
  perpBankruptcyPrice,
  perpLiquidationPrice,
  perpRisk,
  WAD,
  type LendingPosition,
  type PerpRisk,
} from "../../sdk";
import { label, symbolOf, type Chain } from "./chain";
import { el, render, table } from "./dom";

export interface PriceLine {
  /** "WETH collateral" or "WETH-PERP long 2.5" */
  what: string;
  price: bigint;
  liquidation: bigint | null;
  bankruptcy: bigint | null;
}

export interface AccountRisk {
  account: string;
  lending: LendingPosition | null;
  perps: PerpRisk | null;
  /** Lending health (WAD); MAX_UINT256 without debt. */
  lendingHealth: bigint;
  /** Perps equity / maintenance margin (WAD); MAX_UINT256 without a position. */
  perpsHealth: bigint;
  /** The lower of the two: what the row is sorted and coloured by. */
  health: bigint;
  liquidatable: boolean;
  prices: PriceLine[];
}

/** Reads one account's risk at `blockTag`. */
export async function readAccount(chain: Chain, account: string, blockTag: number): Promise<AccountRisk> {
  const { ballast } = chain;
  const opts = { blockTag };
  const prices: PriceLine[] = [];
  let lending: LendingPosition | null = null;
  let perps: PerpRisk | null = null;
  if (ballast.hasLending) {
    const s = await ballast.lending.state(account, opts);
    lending = lendingPosition(s);
    if (lending.debt > 0n) {
      for (const h of s.holdings) {
        prices.push({
          what: `${symbolOf(chain, h.token)} collateral ${formatWad(h.amount * 10n ** BigInt(18 - h.decimals))}`,
          price: h.price,
          liquidation: lendingLiquidationPrice(s, h.token),
          bankruptcy: lendingBankruptcyPrice(s, h.token)?.price ?? null,
        });
      }
    }
  }
  if (ballast.hasPerps) {
    const s = await ballast.perps.state(account, opts);
    perps = perpRisk(s);
    for (const p of s.positions) {
      if (p.size === 0n) continue;
      const m = s.markets[p.marketId];
      let liquidation: bigint | null = null;
      let bankruptcy: bigint | null = null;
      try {
        liquidation = perpLiquidationPrice(s, p.marketId);
        bankruptcy = perpBankruptcyPrice(s, p.marketId)?.price ?? null;
      } catch {
        // The search refuses when accrued funding has reached 100% of the price; show no price then.
      }
      prices.push({
        what: `${symbolOf(chain, m.asset)}-PERP ${p.size > 0n ? "long" : "short"} ${formatWad(p.size < 0n ? -p.size : p.size)}`,
        price: m.price,
        liquidation,
        bankruptcy,
      });
    }
  }
  const lendingHealth = lending?.health ?? MAX_UINT256;
  const perpsHealth =
    perps && perps.maintenanceMargin > 0n
      ? perps.equity <= 0n
        ? 0n
        : (perps.equity * WAD) / perps.maintenanceMargin
      : MAX_UINT256;
  return {
    account,
    lending,
    perps,
    lendingHealth,
    perpsHealth,
    health: lendingHealth < perpsHealth ? lendingHealth : perpsHealth,
    liquidatable: (lending?.liquidatable ?? false) || (perps?.liquidatable ?? false),
    prices,
  };
}

/** Reads every account (in parallel) and sorts them by health, the worst first. */
export async function readAccounts(
  chain: Chain,
  accounts: Iterable<string>,
  blockTag: number,
): Promise<AccountRisk[]> {
  const out = await Promise.all([...accounts].map((a) => readAccount(chain, a, blockTag)));
  return out.sort((a, b) => (a.health < b.health ? -1 : a.health > b.health ? 1 : 0));
}

/** red below 1 (liquidatable), amber below 1.1, green above. */
export function healthClass(r: AccountRisk): string {
  if (r.liquidatable || r.health < WAD) return "health-red liquidatable";
  if (r.health < (WAD * 11n) / 10n) return "health-amber";
  return "health-green";
}

const price = (p: bigint | null) => (p === null ? "—" : formatPrice(p));

export function renderAccounts(container: HTMLElement, chain: Chain, risks: AccountRisk[]): void {
  const base = chain.ballast.baseDecimals;
  const rows = risks.map((r) => ({
    attrs: { "data-account": r.account.toLowerCase(), class: healthClass(r) },
    cells: [
      label(chain, r.account),
      el("span", { class: "health" }, formatHealth(r.health, 3)),
      r.lending && (r.lending.debt > 0n || r.lending.collateralValue > 0n)
        ? `${formatBase(r.lending.collateralValue, base)} / ${formatBase(r.lending.debt, base)} (health ${formatHealth(r.lendingHealth, 3)})`
        : r.lending && r.lending.supplyAssets > 0n
          ? `supplies ${formatBase(r.lending.supplyAssets, base)}`
          : "—",
      r.perps && r.perps.notional > 0n
        ? `${formatBase(r.perps.equity, base)} / ${formatBase(r.perps.maintenanceMargin, base)} (notional ${formatBase(r.perps.notional, base)})`
        : r.perps && r.perps.margin !== 0n
          ? `margin ${formatBase(r.perps.margin, base)}`
          : "—",
      r.prices.length === 0
        ? "—"
        : el(
            "ul",
            { class: "prices" },
            ...r.prices.map((p) =>
              el(
                "li",
                {},
                `${p.what}: now ${formatPrice(p.price)}, liquidation ${price(p.liquidation)}, bankruptcy ${price(p.bankruptcy)}`,
              ),
            ),
          ),
    ],
  }));
  render(
    container,
    table(
      [
        "account",
        "health",
        "lending: collateral / debt",
        "perps: equity / maintenance",
        "liquidation & bankruptcy prices",
      ],
      rows,
      { id: "accounts-table" },
    ),
  );
}
