/**
 * Writes dist/abi/<Contract>.json (the ABI of every deployable contract and interface) for the npm package:
 * `import abi from "ballast/abi/LendingMarket.json"`. Run by `npm run build:package` after compiling.
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import path from "node:path";

const root = path.join(__dirname, "..");
const NAMES: Record<string, string> = {
  OracleRouter: "oracle/OracleRouter.sol",
  LendingMarket: "lending/LendingMarket.sol",
  KinkedRateModel: "lending/KinkedRateModel.sol",
  InsuranceFund: "risk/InsuranceFund.sol",
  PerpMarket: "perps/PerpMarket.sol",
  LiquidityVault: "perps/LiquidityVault.sol",
  IOracleRouter: "interfaces/IOracleRouter.sol",
  ILendingMarket: "interfaces/ILendingMarket.sol",
  IInsuranceFund: "interfaces/IInsuranceFund.sol",
  IPerpMarket: "interfaces/IPerpMarket.sol",
  ILiquidityVault: "interfaces/ILiquidityVault.sol",
  IRateModel: "interfaces/IRateModel.sol",
  Errors: "libraries/Errors.sol",
  Events: "libraries/Events.sol",
};

const out = path.join(root, "dist", "abi");
mkdirSync(out, { recursive: true });
for (const [name, source] of Object.entries(NAMES)) {
  const artifact = path.join(root, "artifacts", "contracts", source, `${name}.json`);
  if (!existsSync(artifact)) throw new Error(`${artifact} is missing: run npx hardhat compile first`);
  const { abi } = JSON.parse(readFileSync(artifact, "utf8")) as { abi: unknown[] };
  writeFileSync(path.join(out, `${name}.json`), JSON.stringify(abi, null, 2) + "\n");
}
console.log(`Wrote ${Object.keys(NAMES).length} ABIs to ${path.relative(process.cwd(), out)}`);
