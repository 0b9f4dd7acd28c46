/**
 * The npm package as a dApp gets it: `npm run build:package`, `npm pack`, the tarball unpacked into a
 * separate TypeScript project (with ethers as its own dependency), compiled with `moduleResolution: node16`
 * so that package.json "exports" are honoured, and run against a Hardhat node (child process) deployed with
 * the CLI. The consumer imports the SDK ("ballast"), the TypeChain types ("ballast/typechain") and an ABI
 * ("ballast/abi/LendingMarket.json"); what it prints must equal what the contracts say.
 */
import { expect } from "chai";
import { spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ethers } from "ethers";

import { readDeployments } from "../../deploy/deployments";
import { bin, root, startNode } from "./node";
const PORT = String(8900 + Math.floor(Math.random() * 90));

function run(cmd: string, args: string[], cwd = root, env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: "utf8",
    env: { ...process.env, ...env },
    timeout: 240_000,
  });
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const CONSUMER = `
import { readFileSync } from "node:fs";
import { JsonRpcProvider, Contract } from "ethers";
import { connect } from "ballast";
import { LendingMarket__factory } from "ballast/typechain";

async function main() {
  const [url, file, borrower] = process.argv.slice(2);
  const provider = new JsonRpcProvider(url);
  const deployments = JSON.parse(readFileSync(file, "utf8"));
  const ballast = await connect(deployments, provider);
  const health = await ballast.lending.health(borrower);
  const weth = ballast.asset("WETH");
  const liq = await ballast.lending.liquidationPrice(borrower, weth);
  const typed = LendingMarket__factory.connect(deployments.contracts.LendingMarket, provider);
  const abi = JSON.parse(readFileSync(require.resolve("ballast/abi/LendingMarket.json"), "utf8"));
  const plain = new Contract(deployments.contracts.LendingMarket, abi, provider);
  const viaTypechain = (await typed.accountView(borrower)).health;
  const viaAbi = (await plain.accountView(borrower)).health;
  console.log(JSON.stringify({
    health: health.toString(),
    viaTypechain: viaTypechain.toString(),
    viaAbi: viaAbi.toString(),
    liquidationPrice: liq === null ? null : liq.toString(),
    fund: (await ballast.risk.insuranceFundBalance()).toString(),
  }));
  provider.destroy();
}
main().catch((e) => { console.error(e); process.exit(1); });
`;

describe("the npm package, used by a separate TypeScript project against a local node", function () {
  this.timeout(600_000);
  let node: ChildProcess;

  before(async () => {
    node = await startNode(PORT);
  });

  after(() => node?.kill("SIGINT"));

  it("npm pack -> import { connect } from 'ballast', 'ballast/typechain' and 'ballast/abi/*.json' -> the same numbers as the contracts", async () => {
    run("npm", ["run", "build:package"]);
    const work = mkdtempSync(path.join(os.tmpdir(), "ballast-pack-"));
    const packed = JSON.parse(
      run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", work]),
    ) as {
      filename: string;
      files: { path: string }[];
    }[];
    const files = packed[0].files.map((f) => f.path);
    expect(files).to.include("dist/sdk/index.js");
    expect(files).to.include("dist/sdk/index.d.ts");
    expect(files).to.include("dist/abi/LendingMarket.json");
    expect(files).to.include("contracts/interfaces/ILendingMarket.sol");
    expect(
      files.some((f) => f.startsWith("test/") || f.startsWith("contracts/mocks/")),
      "no tests or mocks",
    ).to.equal(false);

    // A separate project: the tarball as its "ballast" dependency, ethers as its own.
    const consumer = path.join(work, "consumer");
    mkdirSync(path.join(consumer, "node_modules"), { recursive: true });
    run("tar", ["-xzf", path.join(work, packed[0].filename), "-C", work]);
    run("mv", [path.join(work, "package"), path.join(consumer, "node_modules", "ballast")]);
    symlinkSync(path.join(root, "node_modules", "ethers"), path.join(consumer, "node_modules", "ethers"));
    writeFileSync(path.join(consumer, "package.json"), JSON.stringify({ name: "consumer", private: true }));
    writeFileSync(
      path.join(consumer, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "es2022",
          module: "node16",
          moduleResolution: "node16",
          strict: true,
          esModuleInterop: true,
          skipLibCheck: false,
          types: [],
          outDir: "out",
        },
        files: ["main.ts"],
      }),
    );
    writeFileSync(path.join(consumer, "main.ts"), CONSUMER);
    // Node's own types for the consumer (it uses node:fs and require).
    mkdirSync(path.join(consumer, "node_modules", "@types"), { recursive: true });
    symlinkSync(
      path.join(root, "node_modules", "@types", "node"),
      path.join(consumer, "node_modules", "@types", "node"),
    );
    const tsconfig = JSON.parse(readFileSync(path.join(consumer, "tsconfig.json"), "utf8"));
    tsconfig.compilerOptions.types = ["node"];
    writeFileSync(path.join(consumer, "tsconfig.json"), JSON.stringify(tsconfig));
    run(bin("tsc"), ["-p", consumer]);
    expect(readdirSync(path.join(consumer, "out"))).to.include("main.js");

    // A deployment on the node, with the demo state, through the CLI.
    const file = path.join(work, "localhost.json");
    run(
      bin("hardhat"),
      ["deploy", "--network", "localhost", "--seed", "--fresh", "--quiet", "--out", file],
      root,
      {
        LOCAL_PORT: PORT,
      },
    );
    const url = `http://127.0.0.1:${PORT}`;
    const borrower = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65"; // node signer 4: health ~1.15
    const out = JSON.parse(
      run("node", [path.join(consumer, "out", "main.js"), url, file, borrower], consumer),
    ) as Record<string, string | null>;

    const d = readDeployments(file);
    const provider = new ethers.JsonRpcProvider(url);
    const market = new ethers.Contract(
      d.contracts.LendingMarket!,
      [
        "function accountView(address) view returns ((uint256 supplyShares, uint256 supplyAssets, uint256 borrowShares, uint256 debt, uint256 collateralValue, uint256 borrowCapacity, uint256 liquidationCapacity, uint256 health, bool pricesTrusted))",
      ],
      provider,
    );
    const fund = new ethers.Contract(
      d.contracts.InsuranceFund,
      ["function totalAssets() view returns (uint256)"],
      provider,
    );
    const health = ((await market.accountView(borrower)) as { health: bigint }).health;
    expect(out.health, "the SDK's health == accountView").to.equal(health.toString());
    expect(out.viaTypechain).to.equal(health.toString());
    expect(out.viaAbi).to.equal(health.toString());
    expect(BigInt(out.health!))
      .to.be.gt(10n ** 18n)
      .and.lt(12n * 10n ** 17n);
    expect(out.fund).to.equal(((await fund.totalAssets()) as bigint).toString());
    // 100 WETH against ~221,739 of debt at a 0.85 threshold: liquidatable below about 2,609 USD.
    const liq = BigInt(out.liquidationPrice!);
    expect(liq).to.be.gt(ethers.parseEther("2600")).and.lt(ethers.parseEther("2620"));
    provider.destroy();
  });
});
