/**
 * Re-renders report.html for an existing simulation output folder (one that `npx hardhat simulate` wrote):
 *
 *   npx ts-node scripts/report.ts DIR
 *
 * Needs no chain: it reads DIR/summary.json, timeline.csv and events.csv only.
 */
import { writeReport } from "../sim/report/report";

const USAGE = `usage: ts-node scripts/report.ts DIR

Writes DIR/report.html from DIR/summary.json, DIR/timeline.csv and DIR/events.csv
(the output folder of npx hardhat simulate --out DIR).`;

function main(argv: string[]): number {
  if (argv.length !== 1 || argv[0].startsWith("-")) {
    console.error(USAGE);
    return 1;
  }
  try {
    console.log(writeReport(argv[0]));
    return 0;
  } catch (e) {
    console.error(`error: ${(e as Error).message}\n\n${USAGE}`);
    return 1;
  }
}

process.exitCode = main(process.argv.slice(2));
