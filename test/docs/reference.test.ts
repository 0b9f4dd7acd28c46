/** docs/reference.md is what scripts/reference.ts renders from the current contracts (run npm run docs). */
import hre from "hardhat";
import { expect } from "chai";
import { readFileSync } from "node:fs";
import path from "node:path";
import { format, resolveConfig } from "prettier";

import { renderReference } from "../../scripts/reference";

describe("docs/reference.md", () => {
  it("lists every custom error and event with its NatSpec and the contracts that raise or emit it, and is current", async () => {
    const file = path.join(hre.config.paths.root, "docs", "reference.md");
    const options = (await resolveConfig(file)) ?? {};
    const want = await format(await renderReference(hre), { ...options, filepath: file });
    const have = readFileSync(file, "utf8");
    expect(have, "docs/reference.md is stale: run npm run docs").to.equal(want);
    // Spot checks that the content is real.
    expect(have).to.include("### PriceNotUsable(address asset, Action action, PriceStatus status)");
    expect(have).to.include(
      "Thrown when the policy table refuses an action under the asset's current price status.",
    );
    expect(have).to.match(/### DeficitRealised\(/);
    expect(have).to.match(/Raised by: .*LendingMarket/);
    expect(have).to.include("ERC4626ExceededMaxDeposit");
  });
});
