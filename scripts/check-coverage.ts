/**
 * Fails when the coverage of contracts/ (mocks excluded by .solcover.js) is under the thresholds, per
 * file and in total. Reads coverage/coverage-summary.json written by `hardhat coverage`.
 *
 *   npm run coverage:check
 */
import { readFileSync } from "node:fs";
import path from "node:path";

const THRESHOLDS = { lines: 95, branches: 95 } as const;

interface Metric {
  total: number;
  covered: number;
  pct: number | "Unknown";
}
type Summary = Record<string, Record<keyof typeof THRESHOLDS, Metric>>;

function main() {
  const file = path.join(__dirname, "..", "coverage", "coverage-summary.json");
  const summary = JSON.parse(readFileSync(file, "utf8")) as Summary;
  const failures: string[] = [];
  for (const [name, metrics] of Object.entries(summary)) {
    const label = name === "total" ? "total" : path.relative(process.cwd(), name);
    for (const [metric, min] of Object.entries(THRESHOLDS) as [keyof typeof THRESHOLDS, number][]) {
      const m = metrics[metric];
      if (m.total === 0) continue;
      const pct = (100 * m.covered) / m.total;
      if (pct < min) failures.push(`${label}: ${metric} ${pct.toFixed(2)}% < ${min}%`);
    }
  }
  const total = summary.total;
  console.log(
    `coverage of contracts/: lines ${total.lines.pct}%, branches ${total.branches.pct}% ` +
      `(thresholds ${THRESHOLDS.lines}% / ${THRESHOLDS.branches}%)`,
  );
  if (failures.length > 0) {
    console.error("Coverage below threshold:\n  " + failures.join("\n  "));
    process.exit(1);
  }
}

main();
