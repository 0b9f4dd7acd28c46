/**
 *   npx hardhat keeper --network localhost [--file deployments/localhost.json] [--signer 10] [--dry-run]
 *                      [--once | --rounds N] [--interval 2000] [--scan-every 20] [--scan-blocks 2000]
 *
 * Runs the keeper bot (keeper/keeper.ts) against a deployment: lending and perps liquidations, triggered
 * stop orders and ADL, each simulated before it is sent. Each round reads the new events; every
 * --scan-every rounds a full scan rereads the event history and every account's views (0: never). Logs
 * what it did and why.
 */
import { existsSync } from "node:fs";
import { task } from "hardhat/config";
import { HardhatPluginError } from "hardhat/plugins";

const PLUGIN = "ballast";

export const KEEPER_USAGE = [
  "Usage: npx hardhat keeper [--network N] [--file FILE] [--signer INDEX] [--dry-run]",
  "                          [--once | --rounds N] [--interval MS] [--scan-every N] [--scan-blocks N]",
  "  --signer      the keeper's account among the network's (default 10)",
  "  --rounds      stop after N rounds (default 0: run until stopped); --once is --rounds 1",
  "  --interval    milliseconds between rounds (default 2000)",
  "  --scan-every  a full scan of the event history and every account's state every N rounds",
  "                (default 20; 0: never, events only)",
  "  --scan-blocks blocks per log query (default 2000)",
].join("\n");

function usage(problem: string): HardhatPluginError {
  return new HardhatPluginError(PLUGIN, `${problem}\n${KEEPER_USAGE}`);
}

function count(name: string, value: string, min: number): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isInteger(n) || n < min)
    throw usage(`--${name} ${value}: must be an integer >= ${min}`);
  return n;
}

task("keeper", "Runs the Ballast keeper: liquidations, triggered stop orders and ADL")
  .addOptionalParam("file", "the deployments file (default: deployments/<network>.json)")
  .addOptionalParam("signer", "the index of the keeper's signer among the network's accounts", "10")
  .addOptionalParam("interval", "milliseconds between rounds", "2000")
  .addOptionalParam("rounds", "stop after this many rounds (0: run until stopped)", "0")
  .addOptionalParam("scanEvery", "a full scan (event history and views) every N rounds (0: never)", "20")
  .addOptionalParam("scanBlocks", "blocks per log query", "2000")
  .addFlag("once", "one round, then exit (same as --rounds 1)")
  .addFlag("dryRun", "simulate and log, send nothing")
  .setAction(
    async (
      args: {
        file?: string;
        signer: string;
        interval: string;
        rounds: string;
        scanEvery: string;
        scanBlocks: string;
        once: boolean;
        dryRun: boolean;
      },
      hre,
    ) => {
      // The flags first: a bad value is a usage error whatever the state of the deployment.
      const index = count("signer", args.signer, 0);
      const rounds = args.once ? 1 : count("rounds", args.rounds, 0);
      const interval = count("interval", args.interval, 0);
      const scanEvery = count("scan-every", args.scanEvery, 0);
      const scanBlocks = count("scan-blocks", args.scanBlocks, 1);
      const { deploymentsPath, readDeployments } = await import("../deploy/deployments");
      const { Keeper } = await import("../keeper/keeper");
      const file = args.file ?? deploymentsPath(hre);
      if (!existsSync(file))
        throw new HardhatPluginError(PLUGIN, `no deployments file at ${file}: run npx hardhat deploy first`);
      const signers = await hre.ethers.getSigners();
      if (index >= signers.length) {
        throw usage(`--signer ${index}: the network has ${signers.length} accounts`);
      }
      const keeper = new Keeper(hre, readDeployments(file), signers[index], {
        dryRun: args.dryRun,
        scanEvery,
        scanBlocks,
      });
      await keeper.init();
      console.log(
        `[keeper] ${signers[index].address} on ${hre.network.name}${args.dryRun ? " (dry run)" : ""}; ${scanEvery > 0 ? `a full scan every ${scanEvery} rounds` : "events only, no scans"}`,
      );
      const all = [];
      for (let i = 0; rounds === 0 || i < rounds; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, interval));
        const actions = await keeper.round();
        all.push(...actions);
        const scanned = scanEvery > 0 && keeper.rounds % scanEvery === 0;
        console.log(
          `[keeper] round ${i + 1}: ${keeper.borrowers.size} borrowers, ${keeper.traders.size} traders, ${keeper.orders.size} open orders watched; ${actions.filter((a) => a.outcome === "sent").length} sent, ${actions.filter((a) => a.outcome === "refused").length} refused by simulation${scanned ? " (after a full scan)" : ""}`,
        );
      }
      return all;
    },
  );
