/**
 *   npx hardhat keeper --network localhost [--file deployments/localhost.json] [--signer 10] [--dry-run]
 *                      [--once | --rounds N] [--interval 2000]
 *
 * Runs the keeper bot (keeper/keeper.ts) against a deployment: lending and perps liquidations, triggered
 * stop orders and ADL, each simulated before it is sent. Logs what it did and why.
 */
import { existsSync } from "node:fs";
import { task } from "hardhat/config";
import { HardhatPluginError } from "hardhat/plugins";

const PLUGIN = "ballast";

function count(name: string, value: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new HardhatPluginError(PLUGIN, `--${name} ${value}: must be an integer >= ${min}`);
  return n;
}

task("keeper", "Runs the Ballast keeper: liquidations, triggered stop orders and ADL")
  .addOptionalParam("file", "the deployments file (default: deployments/<network>.json)")
  .addOptionalParam("signer", "the index of the keeper's signer among the network's accounts", "10")
  .addOptionalParam("interval", "milliseconds between rounds", "2000")
  .addOptionalParam("rounds", "stop after this many rounds (0: run until stopped)", "0")
  .addFlag("once", "one round, then exit (same as --rounds 1)")
  .addFlag("dryRun", "simulate and log, send nothing")
  .setAction(
    async (
      args: {
        file?: string;
        signer: string;
        interval: string;
        rounds: string;
        once: boolean;
        dryRun: boolean;
      },
      hre,
    ) => {
      const { deploymentsPath, readDeployments } = await import("../deploy/deployments");
      const { Keeper } = await import("../keeper/keeper");
      const file = args.file ?? deploymentsPath(hre);
      if (!existsSync(file))
        throw new HardhatPluginError(PLUGIN, `no deployments file at ${file}: run npx hardhat deploy first`);
      const signers = await hre.ethers.getSigners();
      const index = count("signer", args.signer, 0);
      if (index >= signers.length) {
        throw new HardhatPluginError(PLUGIN, `--signer ${index}: the network has ${signers.length} accounts`);
      }
      const rounds = args.once ? 1 : count("rounds", args.rounds, 0);
      const interval = count("interval", args.interval, 0);
      const keeper = new Keeper(hre, readDeployments(file), signers[index], { dryRun: args.dryRun });
      await keeper.init();
      console.log(
        `[keeper] ${signers[index].address} on ${hre.network.name}${args.dryRun ? " (dry run)" : ""}`,
      );
      const all = [];
      for (let i = 0; rounds === 0 || i < rounds; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, interval));
        const actions = await keeper.round();
        all.push(...actions);
        console.log(
          `[keeper] round ${i + 1}: ${keeper.borrowers.size} borrowers, ${keeper.traders.size} traders, ${keeper.orders.size} open orders watched; ${actions.filter((a) => a.outcome === "sent").length} sent, ${actions.filter((a) => a.outcome === "refused").length} refused by simulation`,
        );
      }
      return all;
    },
  );
