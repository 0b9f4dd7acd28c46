/**
 * End to end, as an integrator runs it: a Hardhat node in a child process, `npx hardhat deploy --seed`
 * against it, `npx hardhat crash` (WETH -40%), `npx hardhat keeper --once`, then the liquidations read back
 * from the node over JSON-RPC.
 */
import { expect } from "chai";
import { spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ethers } from "ethers";

import { readDeployments } from "../../deploy/deployments";
import { bin, root, startNode } from "./node";

const hardhat = bin("hardhat");
const PORT = String(8700 + Math.floor(Math.random() * 200));

function cli(args: string[]) {
  const r = spawnSync(hardhat, [...args, "--network", "localhost"], {
    cwd: root,
    env: { ...process.env, LOCAL_PORT: PORT },
    encoding: "utf8",
    timeout: 120_000,
  });
  if (r.status !== 0)
    throw new Error(`hardhat ${args.join(" ")} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

describe("end to end: node, deploy, crash, keeper (child processes)", function () {
  this.timeout(300_000);
  let node: ChildProcess;

  before(async () => {
    node = await startNode(PORT);
  });

  after(() => {
    node?.kill("SIGINT");
  });

  it("the keeper, run from the CLI against the node after a CLI crash, liquidates the borrowers and the 10x long; the node shows the events", async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), "ballast-e2e-")), "localhost.json");
    const deployed = cli(["deploy", "--seed", "--fresh", "--out", file]);
    expect(deployed).to.include("Demo accounts:");
    const again = cli(["deploy", "--out", file]);
    expect(again, "a re-run reuses the deployment").to.include("Reused the deployment");

    expect(cli(["crash", "--asset", "WETH", "--change", "-0.4", "--file", file])).to.include(
      "WETH: 3000.0 -> 1800.0 USD (OK)",
    );
    const log = cli(["keeper", "--once", "--file", file]);
    expect(log).to.include("lending.liquidate");
    expect(log).to.match(/round 1: 3 borrowers, 3 traders, 0 open orders watched; 4 sent, 0 refused/);

    const d = readDeployments(file);
    const provider = new ethers.JsonRpcProvider(`http://127.0.0.1:${PORT}`);
    const lending = new ethers.Contract(
      d.contracts.LendingMarket!,
      [
        "event Liquidate(address indexed liquidator, address indexed borrower, address indexed token, uint256 repaid, uint256 seized, uint256 protocolFee)",
      ],
      provider,
    );
    const perps = new ethers.Contract(
      d.contracts.PerpMarket!,
      [
        "event AccountLiquidated(address indexed account, address indexed keeper, uint256 notional, uint256 keeperFee, uint256 insuranceFee, uint256 deficit)",
      ],
      provider,
    );
    const liquidations = await lending.queryFilter(lending.filters.Liquidate(), d.block);
    expect(liquidations).to.have.length(3);
    const perpLiquidations = await perps.queryFilter(perps.filters.AccountLiquidated(), d.block);
    expect(perpLiquidations).to.have.length(1);
    provider.destroy();
  });
});
