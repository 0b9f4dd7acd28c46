import { subtask } from "hardhat/config";
import { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } from "hardhat/builtin-tasks/task-names";
import type { HardhatUserConfig } from "hardhat/config";
import "@nomicfoundation/hardhat-toolbox";

import "./tasks/deploy";
import "./tasks/keeper";
import "./tasks/simulate";
import "./tasks/sweep";

// The compiler comes from the npm `solc` package (pinned exactly in package.json), never from a
// download: these machines have no internet beyond the npm registry.
const SOLC_VERSION = "0.8.28";

subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async (args: { solcVersion: string }, _hre, runSuper) => {
  if (args.solcVersion !== SOLC_VERSION) return runSuper(args);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const solc = require("solc") as { version(): string };
  return {
    compilerPath: require.resolve("solc/soljson.js"),
    isSolcJs: true,
    version: SOLC_VERSION,
    longVersion: solc.version(),
  };
});

// Networks beyond the in-process chain and localhost take their RPC URL and key from the environment;
// nothing secret is committed.
const remote: HardhatUserConfig["networks"] = {};
if (process.env.RPC_URL) {
  remote.remote = {
    url: process.env.RPC_URL,
    accounts: process.env.DEPLOYER_KEY ? [process.env.DEPLOYER_KEY] : [],
  };
}

const config: HardhatUserConfig = {
  solidity: {
    compilers: [
      {
        version: SOLC_VERSION,
        settings: {
          // viaIR off: see README "Compiler settings" for the measurement behind this choice.
          optimizer: { enabled: true, runs: 200 },
          evmVersion: "cancun",
        },
      },
    ],
    // PerpMarket alone is compiled with viaIR: without it the engine exceeds the 24 KiB code limit (README,
    // "Compiler settings"). Coverage runs (COVERAGE=1, set by the npm scripts) allow unlimited code size, and
    // solidity-coverage's viaIR mode slows every test several-fold, so they compile it the ordinary way.
    overrides: process.env.COVERAGE
      ? {}
      : {
          "contracts/perps/PerpMarket.sol": {
            version: SOLC_VERSION,
            settings: { viaIR: true, optimizer: { enabled: true, runs: 200 }, evmVersion: "cancun" },
          },
        },
  },
  networks: {
    hardhat: {
      // Pinned so that one transaction may use the whole block (the osaka cap is 16.7M gas).
      hardfork: "cancun",
    },
    // LOCAL_PORT moves it (npm run node honours the same variable).
    localhost: { url: `http://127.0.0.1:${process.env.LOCAL_PORT ?? 8545}` },
    ...remote,
  },
  gasReporter: {
    enabled: process.env.REPORT_GAS === "1",
    offline: true,
    currency: "USD",
  },
  typechain: {
    outDir: "typechain-types",
    target: "ethers-v6",
  },
  mocha: {
    timeout: 120_000,
  },
};

export default config;
