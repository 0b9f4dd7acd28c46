/**
 * The live feed: liquidations, deficits (and who covered them), ADLs, order fills and oracle status changes,
 * newest first, as the log scanner finds them.
 */
import { formatBase, formatPrice, formatWad, PriceStatus } from "../../sdk";
import { label, symbolOf, type Chain } from "./chain";
import { el } from "./dom";
import type { ChainEvent } from "./events";

/** The events the feed shows, and the group each belongs to (a CSS class and a filter). */
const KINDS: Record<string, string> = {
  Liquidate: "liquidation",
  AccountLiquidated: "liquidation",
  PositionLiquidated: "liquidation",
  DeficitRealised: "deficit",
  InsurancePaid: "deficit",
  RecourseRecorded: "deficit",
  Deleveraged: "adl",
  ProfitHaircut: "adl",
  OrderPlaced: "order",
  OrderExecuted: "order",
  PositionModified: "fill",
  PriceStatusChanged: "oracle",
  MarginCall: "oracle",
};

const MAX_ITEMS = 300;

/** One line of words for an event (null for events the feed does not show). */
export function describeEvent(chain: Chain, e: ChainEvent): string | null {
  if (!(e.name in KINDS)) return null;
  const base = (v: unknown) => formatBase(BigInt(v as bigint), chain.ballast.baseDecimals);
  const who = (v: unknown) => label(chain, String(v));
  const a = e.args;
  switch (e.name) {
    case "Liquidate":
      return `${who(a.borrower)} liquidated by ${who(a.liquidator)}: repaid ${base(a.repaid)}, seized ${formatWad(a.seized)} ${symbolOf(chain, a.token)}`;
    case "AccountLiquidated":
      return `perps account ${who(a.account)} liquidated: notional ${base(a.notional)}, keeper fee ${base(a.keeperFee)}, deficit ${base(a.deficit)}`;
    case "PositionLiquidated":
      return `position of ${who(a.account)} in market ${a.marketId} closed at ${formatPrice(a.price)} (size ${formatWad(a.size)}, PnL ${base(a.realisedPnl)})`;
    case "DeficitRealised":
      return `deficit ${base(a.deficit)} of ${who(a.account)} (${e.source}): reserves ${base(a.fromReserves)}, insurance ${base(a.fromInsurance)}, socialised ${base(a.socialised)}, recourse ${base(a.recourse)}`;
    case "InsurancePaid":
      return `insurance fund paid ${base(a.paid)} of ${base(a.requested)} requested`;
    case "RecourseRecorded":
      return `recourse debt of ${base(a.amount)} recorded against ${who(a.account)}`;
    case "Deleveraged":
      return `ADL: ${who(a.account)} in market ${a.marketId} closed ${formatWad(a.size)} at ${formatPrice(a.price)}, haircut ${base(a.haircut)} of ${base(a.pnl)} profit`;
    case "ProfitHaircut":
      return `profit of ${who(a.account)} cut: paid ${base(a.paid)} of ${base(a.profit)}`;
    case "OrderPlaced":
      return `order #${a.orderId} placed by ${who(a.account)}: close ${formatWad(a.order.size)} when price ${a.order.triggerAbove ? ">=" : "<="} ${formatPrice(a.order.triggerPrice)}`;
    case "OrderExecuted":
      return `order #${a.orderId} of ${who(a.account)} executed at ${formatPrice(a.price)}`;
    case "PositionModified":
      return `fill: ${who(a.account)} ${BigInt(a.sizeDelta) > 0n ? "bought" : "sold"} ${formatWad(BigInt(a.sizeDelta) < 0n ? -BigInt(a.sizeDelta) : BigInt(a.sizeDelta))} in market ${a.marketId} at ${formatPrice(a.fillPrice)} (fee ${base(a.fee)})`;
    case "PriceStatusChanged":
      return `${symbolOf(chain, a.asset)} oracle ${PriceStatus[Number(a.from)]} -> ${PriceStatus[Number(a.to)]} at ${formatPrice(a.price)}`;
    case "MarginCall":
      return `margin call: ${who(a.account)} at health ${formatWad(a.health)}`;
    default:
      return null;
  }
}

/** Prepends the new events' lines to the feed (newest first). */
export function appendFeed(container: HTMLElement, chain: Chain, events: ChainEvent[]): void {
  for (const e of events) {
    const text = describeEvent(chain, e);
    if (!text) continue;
    const item = el(
      "li",
      { class: `feed-item kind-${KINDS[e.name]}`, "data-event": e.name, title: e.txHash },
      el("span", { class: "block" }, `#${e.blockNumber}`),
      el("span", { class: "kind" }, e.name),
      text,
    );
    container.prepend(item);
  }
  while (container.children.length > MAX_ITEMS) container.lastElementChild?.remove();
}
