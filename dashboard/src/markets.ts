/**
 * Markets view: per asset, the oracle's price and status (with why, when it is not OK), and the lending and
 * perps numbers that depend on it: utilisation and rates, open interest and funding.
 */
import {
  formatBase,
  formatPercent,
  formatPrice,
  formatWad,
  PriceStatus,
  typechain,
  type LendingRates,
  type PerpMarketState,
} from "../../sdk";
import type { Chain } from "./chain";
import { el, render, table } from "./dom";

export interface AssetOracle {
  symbol: string;
  address: string;
  price: bigint;
  status: PriceStatus;
  /** Why the status is not OK, in words ("" when OK). */
  reason: string;
}

export interface MarketsSnapshot {
  blockNumber: number;
  oracles: AssetOracle[];
  lending: { rates: LendingRates; supplied: bigint; borrowed: bigint; reserves: bigint } | null;
  perps: { markets: PerpMarketState[]; lpAssets: bigint } | null;
}

/** Reads every market at the latest block. */
export async function readMarkets(chain: Chain): Promise<MarketsSnapshot> {
  const { ballast } = chain;
  const block = await chain.provider.getBlock("latest");
  if (!block) throw new Error("no latest block");
  const at = { blockTag: block.number };
  const oracles = await Promise.all(chain.assets.map((a) => readOracle(chain, a.symbol, a.address, block)));
  let lending: MarketsSnapshot["lending"] = null;
  if (ballast.hasLending) {
    const [rates, state] = await Promise.all([ballast.lending.rates(at), ballast.lending.marketState(at)]);
    const t = state.totals;
    lending = { rates, supplied: t.supplyAssets, borrowed: t.borrowAssets, reserves: t.reserves };
  }
  let perps: MarketsSnapshot["perps"] = null;
  if (ballast.hasPerps) {
    const [markets, vault] = await Promise.all([ballast.perps.markets(at), ballast.perps.vaultState(at)]);
    perps = { markets, lpAssets: vault.totalAssets };
  }
  return { blockNumber: block.number, oracles, lending, perps };
}

async function readOracle(
  chain: Chain,
  symbol: string,
  address: string,
  block: { number: number; timestamp: number },
): Promise<AssetOracle> {
  const router = chain.ballast.contracts.router;
  const call = { blockTag: block.number };
  const [price, status] = await router.peek(address, call);
  const s = Number(status) as PriceStatus;
  return {
    symbol,
    address,
    price,
    status: s,
    reason: s === PriceStatus.OK ? "" : await reasonFor(chain, address, s, block),
  };
}

/** Why a price is not OK, from the router's own records (the feeds' ages, the pending jump). */
async function reasonFor(
  chain: Chain,
  asset: string,
  status: PriceStatus,
  block: { number: number; timestamp: number },
): Promise<string> {
  const router = chain.ballast.contracts.router;
  const call = { blockTag: block.number };
  const [config, [lastGood, lastGoodAt]] = await Promise.all([
    router.assetConfig(asset, call),
    router.lastGoodPrice(asset, call),
  ]);
  const age = async (feed: string) => {
    const round = await typechain.AggregatorV3Interface__factory.connect(
      feed,
      chain.provider,
    ).latestRoundData(call);
    return block.timestamp - Number(round.updatedAt);
  };
  const lastGoodText = `last good price ${formatPrice(lastGood)} at block time ${Number(lastGoodAt)}`;
  switch (status) {
    case PriceStatus.FALLBACK:
      return `primary feed unusable, priced from the fallback feed; ${lastGoodText}`;
    case PriceStatus.STALE:
      return `feed not updated for ${await age(config.primaryFeed)} s (heartbeat ${config.primaryHeartbeat} s); ${lastGoodText}`;
    case PriceStatus.INVALID:
      return `price outside [${formatPrice(config.minPrice)}, ${formatPrice(config.maxPrice)}] or unreadable; ${lastGoodText}`;
    case PriceStatus.SUSPECT: {
      const [pending, since] = await router.pendingPrice(asset, call);
      return `jump to ${formatPrice(pending)} (more than ${formatPercent(config.maxDeviation)} from ${formatPrice(lastGood)}) unconfirmed since ${Number(since)}; confirms after ${config.confirmWindow} s or when the fallback agrees`;
    }
    case PriceStatus.SEQUENCER_DOWN:
      return "the L2 sequencer is down or in its grace period";
    case PriceStatus.DISAGREE:
      return `primary and fallback feeds differ by more than ${formatPercent(config.maxDivergence)}; ${lastGoodText}`;
    default:
      return PriceStatus[status] ?? `status ${status}`;
  }
}

const statusClass = (s: PriceStatus) =>
  s === PriceStatus.OK ? "ok" : s === PriceStatus.FALLBACK ? "warn" : "bad";

/** Renders the markets view. */
export function renderMarkets(container: HTMLElement, chain: Chain, m: MarketsSnapshot): void {
  const base = chain.ballast.baseDecimals;
  const oracleTable = table(
    ["asset", "price", "status", "reason"],
    m.oracles.map((o) => ({
      attrs: { "data-asset": o.symbol },
      cells: [
        o.symbol,
        el("span", { class: "price" }, formatPrice(o.price)),
        el("span", { class: `status ${statusClass(o.status)}` }, PriceStatus[o.status]),
        o.reason,
      ],
    })),
    { id: "oracle-table" },
  );
  const parts: (Node | string)[] = [el("h3", {}, "Oracle"), oracleTable];
  if (m.lending) {
    const r = m.lending.rates;
    parts.push(
      el("h3", {}, "Lending"),
      table(
        ["supplied", "borrowed", "utilisation", "borrow APR", "supply APR", "reserves"],
        [
          {
            cells: [
              formatBase(m.lending.supplied, base),
              formatBase(m.lending.borrowed, base),
              formatPercent(r.utilisation),
              formatPercent(r.borrowApr),
              formatPercent(r.supplyApr),
              formatBase(m.lending.reserves, base),
            ],
          },
        ],
        { id: "lending-table" },
      ),
    );
  }
  if (m.perps) {
    const symbolOf = (asset: string) =>
      m.oracles.find((o) => o.address.toLowerCase() === asset.toLowerCase())?.symbol ?? asset;
    parts.push(
      el("h3", {}, `Perps (LP pool ${formatBase(m.perps.lpAssets, base)})`),
      table(
        [
          "market",
          "status",
          "price",
          "long OI",
          "short OI",
          "skew",
          "funding / day",
          "OI caps (long / short)",
        ],
        m.perps.markets.map((p) => ({
          attrs: { "data-perp": symbolOf(p.asset) },
          cells: [
            `${symbolOf(p.asset)}-PERP`,
            ["ACTIVE", "HALTED", "DELISTED"][Number(p.status)] ?? String(p.status),
            formatPrice(p.price),
            formatWad(p.longOI),
            formatWad(p.shortOI),
            formatWad(p.longOI - p.shortOI),
            formatPercent(p.fundingRate * 86_400n, 4),
            `${formatWad(p.params.maxLongOI, 0)} / ${formatWad(p.params.maxShortOI, 0)}`,
          ],
        })),
        { id: "perps-table" },
      ),
    );
  }
  render(container, ...parts);
}
