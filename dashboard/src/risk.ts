/**
 * Insurance fund and deficit ledger: the fund's balance and the waterfall's books (deficits, what insurance
 * covered, what was socialised, the ADL haircut, recourse owed), as figures and as a chart over blocks.
 * The history is sampled from past blocks at start (every SDK read takes a blockTag) and extended with each
 * new block.
 */
import Chart from "chart.js/auto";

import { formatBase, unitsToNumber, type BadDebtTotals } from "../../sdk";
import type { Chain } from "./chain";
import { el, render, table } from "./dom";

export interface RiskSample {
  blockNumber: number;
  insuranceFund: bigint;
  ledger: BadDebtTotals;
  adlHaircut: bigint;
  recourseOwed: bigint;
}

/** The fund and ledgers at one block. */
export async function readRisk(chain: Chain, blockNumber: number): Promise<RiskSample> {
  const { ballast } = chain;
  const opts = { blockTag: blockNumber };
  const [insuranceFund, bad, recourseOwed, adlHaircut] = await Promise.all([
    ballast.risk.insuranceFundBalance(opts),
    ballast.risk.badDebt(opts),
    ballast.risk.totalRecourseDebt(opts),
    ballast.hasPerps ? ballast.contracts.perpMarket!.totalAdlHaircut({ blockTag: blockNumber }) : 0n,
  ]);
  return { blockNumber, insuranceFund, ledger: bad.total, adlHaircut, recourseOwed };
}

/** Samples `count` blocks evenly from the deployment to `latest` (the chart's history at start). */
export async function readRiskHistory(chain: Chain, latest: number, count = 20): Promise<RiskSample[]> {
  const first = Math.max(0, chain.config.deployments.block);
  const blocks = new Set<number>();
  for (let i = 0; i < count; i++)
    blocks.add(Math.round(first + ((latest - first) * i) / Math.max(1, count - 1)));
  return Promise.all([...blocks].sort((a, b) => a - b).map((b) => readRisk(chain, b)));
}

export class RiskView {
  private chart: Chart | null = null;
  private samples: RiskSample[] = [];

  constructor(
    private readonly figures: HTMLElement,
    private readonly canvas: HTMLCanvasElement,
    private readonly chain: Chain,
  ) {}

  /** Adds samples (ignoring blocks already present) and redraws. */
  add(samples: RiskSample[]): void {
    for (const s of samples)
      if (!this.samples.some((x) => x.blockNumber === s.blockNumber)) this.samples.push(s);
    this.samples.sort((a, b) => a.blockNumber - b.blockNumber);
    this.draw();
  }

  private draw(): void {
    const last = this.samples[this.samples.length - 1];
    if (!last) return;
    const base = this.chain.ballast.baseDecimals;
    const f = (v: bigint) => formatBase(v, base);
    render(
      this.figures,
      table(
        [
          "insurance fund",
          "deficits",
          "covered by insurance",
          "socialised",
          "ADL haircut",
          "recourse recorded",
          "recourse owed",
        ],
        [
          {
            cells: [
              el("span", { id: "insurance-fund" }, f(last.insuranceFund)),
              el("span", { id: "ledger-deficit" }, f(last.ledger.deficit)),
              f(last.ledger.coveredByInsurance),
              f(last.ledger.socialised),
              f(last.adlHaircut),
              f(last.ledger.recourseRecorded),
              f(last.recourseOwed),
            ],
          },
        ],
        { id: "risk-table" },
      ),
    );
    const n = (v: bigint) => unitsToNumber(v, base);
    const series: [string, (s: RiskSample) => bigint, string][] = [
      ["insurance fund", (s) => s.insuranceFund, "#2563eb"],
      ["covered by insurance", (s) => s.ledger.coveredByInsurance, "#16a34a"],
      ["socialised", (s) => s.ledger.socialised, "#dc2626"],
      ["ADL haircut", (s) => s.adlHaircut, "#9333ea"],
      ["recourse owed", (s) => s.recourseOwed, "#ea580c"],
    ];
    const labels = this.samples.map((s) => String(s.blockNumber));
    const datasets = series.map(([name, get, color]) => ({
      label: name,
      data: this.samples.map((s) => n(get(s))),
      borderColor: color,
      backgroundColor: color,
      stepped: true as const,
      pointRadius: 0,
    }));
    if (!this.chart) {
      this.chart = new Chart(this.canvas, {
        type: "line",
        data: { labels, datasets },
        options: {
          animation: false,
          responsive: true,
          maintainAspectRatio: false,
          scales: {
            x: { title: { display: true, text: "block" } },
            y: { title: { display: true, text: "USD" } },
          },
        },
      });
    } else {
      this.chart.data.labels = labels;
      this.chart.data.datasets = datasets;
      this.chart.update();
    }
  }
}
