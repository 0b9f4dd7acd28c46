/**
 * Price files for the `csv` shape: columns time,price (an optional header line `time,price`), time in
 * seconds and strictly increasing, price above 0. Blank lines are skipped.
 */
import type { CsvRow } from "./types";

/** At most this many bad rows are listed per file. */
const MAX_PROBLEMS = 5;

/** The rows of a price file, and a description of each bad row (`line 4: ...`). */
export function parseCsv(text: string): { rows: CsvRow[]; problems: string[] } {
  const rows: CsvRow[] = [];
  const problems: string[] = [];
  let bad = 0;
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || (rows.length === 0 && bad === 0 && /^time\s*,\s*price$/i.test(line))) return;
    const problem = rowProblem(line, rows.at(-1));
    if (problem === undefined) {
      const [time, price] = line.split(",").map(Number);
      rows.push([time, price]);
    } else if (++bad <= MAX_PROBLEMS) problems.push(`line ${i + 1}: ${problem}`);
  });
  if (bad > MAX_PROBLEMS) problems.push(`and ${bad - MAX_PROBLEMS} more bad lines`);
  if (rows.length === 0 && bad === 0) problems.push("has no rows");
  return { rows, problems };
}

function rowProblem(line: string, previous: CsvRow | undefined): string | undefined {
  const cells = line.split(",").map((c) => c.trim());
  if (cells.length !== 2) return `expected 2 columns (time,price), got ${cells.length}`;
  const [time, price] = cells.map((c) => (c === "" ? NaN : Number(c)));
  if (!Number.isFinite(time)) return `time must be a number (got "${cells[0]}")`;
  if (!Number.isFinite(price) || price <= 0) return `price must be a number above 0 (got "${cells[1]}")`;
  if (previous && time <= previous[0]) return `time must increase (${time} after ${previous[0]})`;
  return undefined;
}
