/**
 * Actions with one of the node's unlocked accounts: supply, post collateral, borrow, repay, deposit margin,
 * open and close a position, place a stop-loss (and, on a local chain with mock tokens, mint some).
 * Every action is two steps: Preview (the health before and after, from the SDK's state and maths, and a
 * dry run of the call, eth_call, whose custom error is decoded into words), then Confirm (the SDK's write,
 * which approves exactly what it needs first). Nothing is signed in the page: the node signs for its own
 * unlocked accounts (eth_sendTransaction through provider.getSigner(address)).
 */
import { MaxUint256, parseUnits, type ContractTransactionReceipt } from "ethers";

import {
  connect,
  formatBase,
  formatHealth,
  formatPrice,
  formatWad,
  lendingLiquidationPrice,
  lendingPosition,
  MAX_UINT256,
  perpLiquidationPrice,
  perpRisk,
  PriceStatus,
  typechain,
  WAD,
  type Ballast,
} from "../../sdk";
import { label, signerFor, symbolOf, type Chain } from "./chain";
import { byId, el, render } from "./dom";
import { decodeError, describeError, errorSentence } from "./errors";
import {
  afterBorrow,
  afterDeposit,
  afterRepay,
  afterSupplyCollateral,
  perpsHealth,
  previewTrade,
} from "./preview";

type FieldKind = "amount" | "collateral" | "market" | "side" | "price";
interface Field {
  name: string;
  label: string;
  kind: FieldKind;
  placeholder?: string;
}

/** What Preview found: lines to show, the health before and after, a problem (decoded error) if any. */
interface Plan {
  lines: string[];
  healthBefore: bigint;
  healthAfter: bigint;
  problem?: string;
  send: () => Promise<ContractTransactionReceipt | null>;
}

interface Ctx {
  chain: Chain;
  me: string;
  /** The SDK connected with the account's signer. */
  ballast: Ballast;
}

interface ActionSpec {
  id: string;
  title: string;
  fields: Field[];
  plan: (ctx: Ctx, v: Record<string, string>) => Promise<Plan>;
}

/* INPUT PARSING */

function amountOf(text: string, decimals: number, what: string): bigint {
  const t = text.trim().replace(/,/g, "");
  if (!/^\d+(\.\d+)?$/.test(t)) throw new Error(`${what}: "${text}" is not a positive number`);
  const v = parseUnits(t, decimals);
  if (v === 0n) throw new Error(`${what} must be above zero`);
  return v;
}

const tokenOf = (ctx: Ctx, symbol: string) => {
  const a = ctx.chain.assets.find((x) => x.symbol === symbol);
  if (!a) throw new Error(`unknown asset ${symbol}`);
  return a;
};

/** Dry-runs a call; the decoded custom error when it would revert, else undefined. */
async function dryRun(ctx: Ctx, call: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await call();
    return undefined;
  } catch (e) {
    return describeError(e, ctx.chain.iface);
  }
}

/** The allowance check the SDK's write will do, for the preview's wording: "approves X first" or nothing. */
async function approvalNote(
  ctx: Ctx,
  token: string,
  spender: string,
  amount: bigint,
  decimals: number,
  symbol: string,
) {
  const erc20 = typechain.IERC20__factory.connect(token, ctx.chain.provider);
  const [allowance, balance] = await Promise.all([erc20.allowance(ctx.me, spender), erc20.balanceOf(ctx.me)]);
  const lines: string[] = [];
  let problem: string | undefined;
  if (balance < amount)
    problem = `balance ${formatBase(balance, decimals, 4)} ${symbol} is below ${formatBase(amount, decimals, 4)} (the token would revert with ERC20InsufficientBalance)`;
  if (allowance < amount)
    lines.push(
      `approves exactly ${formatBase(amount, decimals, 4)} ${symbol} first (allowance ${formatBase(allowance, decimals, 4)})`,
    );
  return { lines, problem, needsApproval: allowance < amount };
}

const baseSymbol = (ctx: Ctx) => ctx.chain.config.deployments.base.symbol;

const receiptOf = async (p: Promise<{ receipt: ContractTransactionReceipt }>) => (await p).receipt;

/* LENDING */

const lendingHealthOf = (ctx: Ctx) => ctx.ballast.lending.state(ctx.me);

const supply: ActionSpec = {
  id: "supply",
  title: "Supply (lend the base asset)",
  fields: [{ name: "amount", label: "amount", kind: "amount", placeholder: "10000" }],
  async plan(ctx, v) {
    const d = ctx.ballast.baseDecimals;
    const amount = amountOf(v.amount, d, "amount");
    const s = await lendingHealthOf(ctx);
    const market = await ctx.ballast.contracts.lendingMarket!.getAddress();
    const a = await approvalNote(
      ctx,
      ctx.chain.config.deployments.base.address,
      market,
      amount,
      d,
      baseSymbol(ctx),
    );
    const problem =
      a.problem ??
      (a.needsApproval
        ? undefined
        : await dryRun(ctx, () => ctx.ballast.contracts.lendingMarket!.supply.staticCall(amount, ctx.me)));
    const h = lendingPosition(s).health;
    return {
      lines: [
        `supply ${formatBase(amount, d)}: supplied assets are not collateral, health does not change`,
        ...a.lines,
      ],
      healthBefore: h,
      healthAfter: h,
      problem,
      send: () => receiptOf(ctx.ballast.lending.supply(amount)),
    };
  },
};

const supplyCollateral: ActionSpec = {
  id: "supplyCollateral",
  title: "Post collateral",
  fields: [
    { name: "token", label: "collateral", kind: "collateral" },
    { name: "amount", label: "amount", kind: "amount", placeholder: "10" },
  ],
  async plan(ctx, v) {
    const t = tokenOf(ctx, v.token);
    const amount = amountOf(v.amount, t.decimals, "amount");
    const market = ctx.ballast.contracts.lendingMarket!;
    const s = await lendingHealthOf(ctx);
    const after = await afterSupplyCollateral(s, t.address, amount, async () => {
      const [config, [price, status]] = await Promise.all([
        market.collateralConfig(t.address),
        ctx.ballast.contracts.router.peek(t.address),
      ]);
      return {
        token: t.address,
        index: 0,
        decimals: Number(config.decimals),
        amount: 0n,
        price,
        priceStatus: Number(status) as PriceStatus,
        priceTick: 1n,
        ltv: config.ltv,
        liquidationThreshold: config.liquidationThreshold,
        liquidationBonus: config.liquidationBonus,
      };
    });
    const a = await approvalNote(ctx, t.address, await market.getAddress(), amount, t.decimals, t.symbol);
    const problem =
      a.problem ??
      (a.needsApproval
        ? undefined
        : await dryRun(ctx, () => market.supplyCollateral.staticCall(t.address, amount, ctx.me)));
    return {
      lines: [`post ${formatBase(amount, t.decimals, 4)} ${t.symbol} as collateral`, ...a.lines],
      healthBefore: lendingPosition(s).health,
      healthAfter: lendingPosition(after).health,
      problem,
      send: () => receiptOf(ctx.ballast.lending.supplyCollateral(t.address, amount)),
    };
  },
};

const borrow: ActionSpec = {
  id: "borrow",
  title: "Borrow",
  fields: [{ name: "amount", label: "amount", kind: "amount", placeholder: "20000" }],
  async plan(ctx, v) {
    const d = ctx.ballast.baseDecimals;
    const amount = amountOf(v.amount, d, "amount");
    const s = await lendingHealthOf(ctx);
    const after = afterBorrow(s, amount);
    const liq = after.holdings.map((h) => {
      const p = lendingLiquidationPrice(after, h.token);
      return `${symbolOf(ctx.chain, h.token)}: liquidated at ${p === null ? "—" : formatPrice(p)} (now ${formatPrice(h.price)})`;
    });
    const problem = await dryRun(ctx, () =>
      ctx.ballast.contracts.lendingMarket!.borrow.staticCall(amount, ctx.me),
    );
    return {
      lines: [
        `borrow ${formatBase(amount, d)}; debt after ${formatBase(lendingPosition(after).debt, d)}`,
        ...liq,
      ],
      healthBefore: lendingPosition(s).health,
      healthAfter: lendingPosition(after).health,
      problem,
      send: () => receiptOf(ctx.ballast.lending.borrow(amount)),
    };
  },
};

const repay: ActionSpec = {
  id: "repay",
  title: "Repay",
  fields: [{ name: "amount", label: "amount (or max)", kind: "amount", placeholder: "max" }],
  async plan(ctx, v) {
    const d = ctx.ballast.baseDecimals;
    const s = await lendingHealthOf(ctx);
    const debt = lendingPosition(s).debt;
    const max = v.amount.trim().toLowerCase() === "max";
    const amount = max ? debt : amountOf(v.amount, d, "amount");
    if (debt === 0n) throw new Error(`${label(ctx.chain, ctx.me)} has no debt to repay`);
    const after = afterRepay(s, amount);
    const market = await ctx.ballast.contracts.lendingMarket!.getAddress();
    const a = await approvalNote(
      ctx,
      ctx.chain.config.deployments.base.address,
      market,
      amount < debt ? amount : debt,
      d,
      baseSymbol(ctx),
    );
    return {
      // For "max" the SDK approves the debt projected a few minutes ahead (interest accrues until mined).
      lines: [
        `repay ${max ? "all" : formatBase(amount, d)} of ${formatBase(debt, d)}`,
        ...a.lines.map((l) => (max ? `${l} (plus a few minutes of interest)` : l)),
      ],
      healthBefore: lendingPosition(s).health,
      healthAfter: lendingPosition(after).health,
      problem: a.problem,
      send: () => receiptOf(ctx.ballast.lending.repay(max ? "max" : amount)),
    };
  },
};

/* PERPS */

const perpState = (ctx: Ctx) => ctx.ballast.perps.state(ctx.me);
const marketIdOf = (ctx: Ctx, symbol: string) => {
  const id = ctx.chain.config.deployments.perpMarketIds?.[symbol];
  if (id === undefined) throw new Error(`no perp market for ${symbol}`);
  return id;
};

const depositMargin: ActionSpec = {
  id: "depositMargin",
  title: "Deposit margin",
  fields: [{ name: "amount", label: "amount", kind: "amount", placeholder: "5000" }],
  async plan(ctx, v) {
    const d = ctx.ballast.baseDecimals;
    const amount = amountOf(v.amount, d, "amount");
    const s = await perpState(ctx);
    const engine = await ctx.ballast.contracts.perpMarket!.getAddress();
    const a = await approvalNote(
      ctx,
      ctx.chain.config.deployments.base.address,
      engine,
      amount,
      d,
      baseSymbol(ctx),
    );
    return {
      lines: [`deposit ${formatBase(amount, d)} as perps margin`, ...a.lines],
      healthBefore: perpsHealth(perpRisk(s)),
      healthAfter: perpsHealth(perpRisk(afterDeposit(s, amount))),
      problem: a.problem,
      send: () => receiptOf(ctx.ballast.perps.depositMargin(amount)),
    };
  },
};

const openPosition: ActionSpec = {
  id: "open",
  title: "Open / increase a position",
  fields: [
    { name: "market", label: "market", kind: "market" },
    { name: "side", label: "side", kind: "side" },
    { name: "size", label: "size (underlying)", kind: "amount", placeholder: "1" },
  ],
  async plan(ctx, v) {
    const id = marketIdOf(ctx, v.market);
    const size = amountOf(v.size, 18, "size");
    const delta = v.side === "short" ? -size : size;
    const s = await perpState(ctx);
    const { sim, after } = previewTrade(s, id, delta);
    const d = ctx.ballast.baseDecimals;
    const problem = sim.error
      ? `${sim.error}: ${errorSentence(sim.error) ?? "the trade would revert"}`
      : await dryRun(ctx, () =>
          ctx.ballast.contracts.perpMarket!.modifyPosition.staticCall(
            id,
            delta,
            delta > 0n ? MaxUint256 : 0n,
          ),
        );
    return {
      lines: [
        `${v.side} ${formatWad(size)} ${v.market} at about ${formatPrice(sim.fillPrice)}, fee ${formatBase(sim.fee, d)}`,
        `equity after ${formatBase(sim.equityAfter, d)}, initial margin after ${formatBase(sim.initialMarginAfter, d)}`,
      ],
      healthBefore: perpsHealth(perpRisk(s)),
      healthAfter: perpsHealth(after),
      problem,
      send: () => receiptOf(ctx.ballast.perps.openPosition(id, delta)),
    };
  },
};

const closePosition: ActionSpec = {
  id: "close",
  title: "Close a position",
  fields: [{ name: "market", label: "market", kind: "market" }],
  async plan(ctx, v) {
    const id = marketIdOf(ctx, v.market);
    const s = await perpState(ctx);
    const p = s.positions.find((x) => x.marketId === id && x.size !== 0n);
    if (!p) throw new Error(`${label(ctx.chain, ctx.me)} has no ${v.market} position`);
    const { sim, after } = previewTrade(s, id, -p.size);
    const d = ctx.ballast.baseDecimals;
    return {
      lines: [
        `close ${formatWad(p.size)} ${v.market} at about ${formatPrice(sim.fillPrice)}, realising ${formatBase(sim.paid, d)}`,
      ],
      healthBefore: perpsHealth(perpRisk(s)),
      healthAfter: perpsHealth(after),
      problem: sim.error ? `${sim.error}: ${errorSentence(sim.error) ?? ""}` : undefined,
      send: () => receiptOf(ctx.ballast.perps.closePosition(id)),
    };
  },
};

const MAX_UINT128 = 2n ** 128n - 1n;

const stopLoss: ActionSpec = {
  id: "stopLoss",
  title: "Place a stop-loss",
  fields: [
    { name: "market", label: "market", kind: "market" },
    { name: "trigger", label: "trigger price (USD)", kind: "price", placeholder: "2500" },
  ],
  async plan(ctx, v) {
    const id = marketIdOf(ctx, v.market);
    const trigger = amountOf(v.trigger, 18, "trigger price");
    const s = await perpState(ctx);
    const p = s.positions.find((x) => x.marketId === id && x.size !== 0n);
    if (!p) throw new Error(`${label(ctx.chain, ctx.me)} has no ${v.market} position to protect`);
    const isLong = p.size > 0n;
    const size = isLong ? p.size : -p.size;
    const d = ctx.ballast.baseDecimals;
    const liq = perpLiquidationPrice(s, id);
    const atTrigger = perpRisk(s, { marketId: id, price: trigger });
    const lines = [
      `close ${formatWad(size)} ${v.market} ${isLong ? "long" : "short"} when the price is ${isLong ? "at or below" : "at or above"} ${formatPrice(trigger)} (a plain stop: no price limit)`,
      `equity at the trigger ${formatBase(atTrigger.equity, d)}; liquidation price ${liq === null ? "—" : formatPrice(liq)}`,
    ];
    const beyond = liq !== null && (isLong ? trigger <= liq : trigger >= liq);
    if (beyond)
      lines.push("warning: the trigger is beyond the liquidation price, so a liquidation would come first");
    const engine = ctx.ballast.contracts.perpMarket!;
    const args = [id, isLong, size, trigger, !isLong, isLong ? 0n : MAX_UINT128] as const;
    return {
      lines,
      healthBefore: perpsHealth(perpRisk(s)),
      // Placing the order changes nothing now; the health shown is the one at the trigger price.
      healthAfter: perpsHealth(atTrigger),
      problem: await dryRun(ctx, () => engine.placeOrder.staticCall(...args)),
      send: async () => (await (await engine.placeOrder(...args)).wait()) ?? null,
    };
  },
};

export const ACTIONS: ActionSpec[] = [
  supply,
  supplyCollateral,
  borrow,
  repay,
  depositMargin,
  openPosition,
  closePosition,
  stopLoss,
];

/* THE PANEL */

export class ActionsPanel {
  private ctx: Ctx | null = null;
  private pending: Plan | null = null;
  private readonly connected = new Map<string, Ballast>();

  /** @param onDone Called after a transaction is mined (the page refreshes its views). */
  constructor(
    private readonly chain: Chain,
    private readonly onDone: () => void,
  ) {}

  mount(container: HTMLElement): void {
    const select = el(
      "select",
      { id: "account" },
      ...this.chain.accounts.map((a) => el("option", { value: a }, label(this.chain, a))),
    );
    select.addEventListener("change", () => this.clearPreview());
    const faucet = el("button", { id: "faucet", type: "button" }, "Mint test tokens");
    faucet.addEventListener("click", () => void this.run("mint", () => this.mint()));
    const forms = ACTIONS.map((spec) => this.form(spec));
    const confirm = el("button", { id: "confirm", type: "button", disabled: "" }, "Confirm");
    const cancel = el("button", { id: "cancel", type: "button" }, "Cancel");
    confirm.addEventListener("click", () => void this.confirm());
    cancel.addEventListener("click", () => this.clearPreview());
    render(
      container,
      el("label", {}, "account ", select),
      faucet,
      el("div", { class: "forms" }, ...forms),
      el(
        "div",
        { id: "preview", class: "preview" },
        el("div", { id: "preview-body" }, "Fill a form and press Preview."),
        confirm,
        cancel,
      ),
      el("div", { id: "action-result" }),
    );
  }

  private form(spec: ActionSpec): HTMLFormElement {
    const inputs = spec.fields.map((f) => {
      let input: HTMLInputElement | HTMLSelectElement;
      if (f.kind === "collateral")
        input = el(
          "select",
          {},
          ...this.chain.assets.map((a) => el("option", { value: a.symbol }, a.symbol)),
        );
      else if (f.kind === "market")
        input = el(
          "select",
          {},
          ...Object.keys(this.chain.config.deployments.perpMarketIds ?? {}).map((s) =>
            el("option", { value: s }, `${s}-PERP`),
          ),
        );
      else if (f.kind === "side")
        input = el(
          "select",
          {},
          el("option", { value: "long" }, "long"),
          el("option", { value: "short" }, "short"),
        );
      else input = el("input", { type: "text", placeholder: f.placeholder ?? "", inputmode: "decimal" });
      input.name = f.name;
      return el("label", {}, `${f.label} `, input);
    });
    const form = el(
      "form",
      { "data-action": spec.id, class: "action" },
      el("h4", {}, spec.title),
      ...inputs,
      el("button", { type: "submit" }, "Preview"),
    );
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const values: Record<string, string> = {};
      for (const [k, v] of new FormData(form).entries()) values[k] = String(v);
      void this.preview(spec, values);
    });
    return form;
  }

  private async context(): Promise<Ctx> {
    const me = byId<HTMLSelectElement>("account").value;
    let ballast = this.connected.get(me);
    if (!ballast) {
      ballast = await connect(this.chain.config.deployments, await signerFor(this.chain, me));
      this.connected.set(me, ballast);
    }
    return { chain: this.chain, me, ballast };
  }

  private async preview(spec: ActionSpec, values: Record<string, string>): Promise<void> {
    this.clearPreview();
    const body = byId("preview-body");
    body.textContent = "Previewing...";
    try {
      this.ctx = await this.context();
      const plan = await spec.plan(this.ctx, values);
      this.pending = plan;
      const cls = (h: bigint) =>
        h < WAD ? "health-red" : h < (WAD * 11n) / 10n ? "health-amber" : "health-green";
      render(
        body,
        el("h4", {}, `${spec.title} as ${label(this.chain, this.ctx.me)}`),
        el(
          "p",
          { class: "health-change" },
          "health ",
          el("span", { id: "health-before", class: cls(plan.healthBefore) }, fmtHealth(plan.healthBefore)),
          " → ",
          el("span", { id: "health-after", class: cls(plan.healthAfter) }, fmtHealth(plan.healthAfter)),
        ),
        el("ul", {}, ...plan.lines.map((l) => el("li", {}, l))),
        plan.problem
          ? el("p", { id: "preview-problem", class: "error" }, `would revert: ${plan.problem}`)
          : null,
      );
      const confirm = byId<HTMLButtonElement>("confirm");
      confirm.disabled = false;
      confirm.textContent = plan.problem ? "Send anyway" : "Confirm";
    } catch (e) {
      render(body, el("p", { class: "error" }, describeError(e, this.chain.iface)));
    }
  }

  private async confirm(): Promise<void> {
    const plan = this.pending;
    if (!plan) return;
    byId<HTMLButtonElement>("confirm").disabled = true;
    await this.run("transaction", async () => {
      const receipt = await plan.send();
      return receipt ? `mined in block ${receipt.blockNumber} (gas ${receipt.gasUsed})` : "done";
    });
    this.pending = null;
  }

  /** Mints mock tokens to the account (local deployments only: MockERC20.mint is open). */
  private async mint(): Promise<string> {
    const ctx = await this.context();
    const signer = await signerFor(this.chain, ctx.me);
    const d = this.chain.config.deployments;
    const done: string[] = [];
    const mintable = [
      {
        symbol: d.base.symbol,
        address: d.base.address,
        mock: d.base.mock,
        amount: 100_000n * 10n ** BigInt(ctx.ballast.baseDecimals),
      },
      ...this.chain.assets.map((a) => ({
        symbol: a.symbol,
        address: a.address,
        mock: d.assets?.[a.symbol]?.mock,
        // Ten whole tokens of each collateral: enough to borrow against on a demo chain.
        amount: 10n * 10n ** BigInt(a.decimals),
      })),
    ];
    for (const t of mintable) {
      if (!t.mock) continue;
      const token = typechain.MockERC20__factory.connect(t.address, signer);
      await (await token.mint(ctx.me, t.amount)).wait();
      done.push(t.symbol);
    }
    if (done.length === 0) throw new Error("this deployment has no mock tokens to mint");
    return `minted ${done.join(", ")} to ${label(this.chain, ctx.me)}`;
  }

  private async run(what: string, task: () => Promise<string>): Promise<void> {
    const out = byId("action-result");
    out.className = "busy";
    out.textContent = `${what}...`;
    try {
      const text = await task();
      out.className = "ok";
      out.textContent = text;
      this.onDone();
    } catch (e) {
      const decoded = decodeError(e, this.chain.iface);
      out.className = "error";
      out.textContent = `${what} failed: ${decoded ? decoded.text : describeError(e, this.chain.iface)}`;
    }
  }

  private clearPreview(): void {
    this.pending = null;
    const confirm = document.getElementById("confirm") as HTMLButtonElement | null;
    if (confirm) {
      confirm.disabled = true;
      confirm.textContent = "Confirm";
    }
  }
}

const fmtHealth = (h: bigint) => (h === MAX_UINT256 ? "∞ (no debt)" : formatHealth(h, 4));
