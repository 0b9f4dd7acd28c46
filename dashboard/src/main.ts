/**
 * The dashboard's entry point: connects, mounts the views, and polls. Every poll reads the new blocks' logs
 * (feed, account discovery), then the markets, the accounts' risk and the insurance fund at the latest block.
 */
import "./style.css";

import { ActionsPanel } from "./actions";
import { readAccounts, renderAccounts } from "./accounts";
import { openChain, type Chain } from "./chain";
import { byId, el, render } from "./dom";
import { describeError } from "./errors";
import { accountOf, fetchEvents } from "./events";
import { appendFeed } from "./feed";
import { readMarkets, renderMarkets } from "./markets";
import { readRisk, readRiskHistory, RiskView } from "./risk";
import { mountSimulatorView } from "./sim";

const POLL_MS = 1500;

class Dashboard {
  private lastScanned: number;
  private readonly accounts = new Set<string>();
  private readonly risk: RiskView;
  private busy = false;
  private again = false;

  constructor(private readonly chain: Chain) {
    // Seeding happens right after the deployment block; scanning from the deployment on finds every account.
    this.lastScanned = Math.max(0, chain.config.deployments.block - 1);
    this.risk = new RiskView(byId("risk-figures"), byId<HTMLCanvasElement>("risk-chart"), chain);
  }

  async start(): Promise<void> {
    const latest = await this.chain.provider.getBlockNumber();
    this.risk.add(await readRiskHistory(this.chain, latest));
    new ActionsPanel(this.chain, () => void this.poll()).mount(byId("actions"));
    await this.poll();
    setInterval(() => void this.poll(), POLL_MS);
  }

  /** One refresh; a refresh asked for while one runs is run right after it (never two at once). */
  async poll(): Promise<void> {
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    try {
      await this.refresh();
      byId("error").textContent = "";
    } catch (e) {
      byId("error").textContent = `refresh failed: ${describeError(e, this.chain.iface)}`;
    } finally {
      this.busy = false;
      if (this.again) {
        this.again = false;
        void this.poll();
      }
    }
  }

  private async refresh(): Promise<void> {
    const latest = await this.chain.provider.getBlockNumber();
    const events = await fetchEvents(this.chain, this.lastScanned + 1, latest);
    this.lastScanned = latest;
    for (const e of events) {
      const a = accountOf(e);
      if (a) this.accounts.add(a);
    }
    appendFeed(byId("feed-list"), this.chain, events);
    const [markets, risks, sample] = await Promise.all([
      readMarkets(this.chain),
      readAccounts(this.chain, this.accounts, latest),
      readRisk(this.chain, latest),
    ]);
    renderMarkets(byId("markets"), this.chain, markets);
    renderAccounts(byId("accounts"), this.chain, risks);
    this.risk.add([sample]);
    const status = byId("status");
    status.dataset.block = String(latest);
    status.textContent = `block ${latest} · ${this.accounts.size} accounts · updated ${new Date().toLocaleTimeString()}`;
  }
}

async function main(): Promise<void> {
  mountSimulatorView(byId("sim"));
  try {
    const chain = await openChain();
    const d = chain.config.deployments;
    render(
      byId("chain"),
      el(
        "span",
        {},
        `${d.network} (chain ${d.chainId}) via ${chain.config.rpcUrl} · ${chain.config.deploymentsFile}`,
      ),
    );
    await new Dashboard(chain).start();
  } catch (e) {
    byId("error").textContent = `cannot connect: ${(e as Error).message ?? String(e)}`;
  }
}

void main();
