/**
 * A sweep worker (forked by sim/sweep/pool.ts, never run by hand): loads its own Hardhat runtime on the
 * in-process network, says it is ready, then runs one job per message until told to stop. Each run writes
 * its directory (summary.json, timeline.csv, events.csv, report.html) and answers with the summary.
 *
 * The chain is reset before every run, so a run's outputs, events.csv's addresses included, are those of a
 * fresh process: they do not depend on which worker took the run or what it ran before.
 */
import type { FromWorker, ToWorker } from "./pool";

function send(message: FromWorker): Promise<void> {
  return new Promise((resolve, reject) =>
    process.send!(message, undefined, {}, (e) => (e ? reject(e) : resolve())),
  );
}

/** An error on one line: its message (cut short) and where it was thrown. */
function describeError(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const message = e.message.split("\n")[0].slice(0, 300);
  const at = e.stack?.split("\n").find((l) => l.trim().startsWith("at "));
  return at ? `${message} (${at.trim()})` : message;
}

async function main() {
  if (!process.send) throw new Error("sim/sweep/worker.ts is forked by the sweep task, not run directly");
  const hre = (await import("hardhat")).default;
  const { runSimulation, writeOutputs } = await import("../run/run");
  const { parseScenario } = await import("../scenario");

  // Messages are handled one at a time: the parent sends the next job only after this one's answer.
  process.on("message", async (m: ToWorker) => {
    if (m.kind === "stop") {
      process.disconnect();
      return;
    }
    const { job } = m;
    try {
      await hre.network.provider.request({ method: "hardhat_reset", params: [] });
      const scenario = parseScenario(job.doc, { baseDir: job.baseDir, source: job.name });
      const result = await runSimulation(hre, scenario, { seed: job.seed });
      const report = writeOutputs(job.dir, result);
      const v = result.violations;
      const error =
        v.length > 0
          ? `${v.length} invariant violation(s), first at step ${v[0].step}: ${v[0].check}: ${v[0].detail}`
          : undefined;
      await send({
        kind: "done",
        index: job.index,
        summary: result.summary,
        violations: v.length,
        report,
        error,
      });
    } catch (e) {
      await send({ kind: "done", index: job.index, violations: 0, error: describeError(e) });
    }
  });
  // The parent is gone (killed, or finished): nothing left to do.
  process.on("disconnect", () => process.exit(0));
  await send({ kind: "ready" });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
