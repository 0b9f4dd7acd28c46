/** npm run docs: writes docs/reference.md (see scripts/reference.ts). */
import { writeFileSync } from "node:fs";
import path from "node:path";
import hre from "hardhat";
import { execFileSync } from "node:child_process";

import { renderReference } from "./reference";

async function main() {
  await hre.run("compile", { quiet: true });
  const file = path.join(hre.config.paths.root, "docs", "reference.md");
  writeFileSync(file, await renderReference(hre));
  // Formatted as the repository's prettier config would, so that lint and the freshness test agree.
  execFileSync(path.join(hre.config.paths.root, "node_modules", ".bin", "prettier"), ["--write", file]);
  console.log(`Wrote ${path.relative(process.cwd(), file)}`);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
