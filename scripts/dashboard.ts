/**
 * npm run dashboard: serves the live risk dashboard (dashboard/) with Vite's dev server.
 *
 *   npm run dashboard                                   (http://127.0.0.1:5173, node at :8545)
 *   npm run dashboard -- --port 5180 --rpc http://127.0.0.1:8601 --file deployments/localhost.json
 *
 * Options (each also an environment variable): --port (DASHBOARD_PORT, default 5173), --rpc (RPC_URL, default
 * http://127.0.0.1:8545), --file (DEPLOYMENTS, default deployments/localhost.json). Vite runs in a child
 * process, so that this script stays CommonJS like the others (Vite 8 is ESM only).
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";

const root = path.join(__dirname, "..");
const USAGE = `usage: npm run dashboard -- [--port <port>] [--rpc <url>] [--file <deployments.json>]
  --port  the dashboard's port (env DASHBOARD_PORT, default 5173)
  --rpc   the chain's JSON-RPC URL (env RPC_URL, default http://127.0.0.1:8545)
  --file  the deployments file (env DEPLOYMENTS, default deployments/localhost.json)`;

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

/** Reads `--name value` pairs; anything else is an error. */
function parseArgs(argv: string[]): Record<string, string> {
  const known = new Set(["--port", "--rpc", "--file"]);
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (flag === "--help" || flag === "-h") {
      console.log(USAGE);
      process.exit(0);
    }
    if (!known.has(flag)) fail(`unknown argument: ${flag}`);
    if (value === undefined || value.startsWith("--")) fail(`${flag} needs a value`);
    out[flag.slice(2)] = value;
  }
  return out;
}

const args = parseArgs(process.argv.slice(2));
const port = args.port ?? process.env.DASHBOARD_PORT ?? "5173";
const rpcUrl = args.rpc ?? process.env.RPC_URL ?? "http://127.0.0.1:8545";
const file = path.resolve(
  args.file ?? process.env.DEPLOYMENTS ?? path.join(root, "deployments", "localhost.json"),
);
if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) fail(`not a port: ${port}`);
if (!/^https?:\/\//.test(rpcUrl)) fail(`not an http(s) URL: ${rpcUrl}`);
if (!existsSync(file))
  console.warn(`warning: ${file} does not exist yet (start the chain with npm run node)`);

// --bypass-lock: Vite 8 allows one dev server per project by default, but dashboards for two chains (a
// developer's and the end-to-end test's) may run side by side; each gets its own dependency cache (see
// dashboard/vite.config.ts) so that they do not share one.
const vite = spawn(
  path.join(root, "node_modules", ".bin", "vite"),
  [
    "--config",
    path.join(root, "dashboard", "vite.config.ts"),
    "--host",
    "127.0.0.1",
    "--port",
    port,
    "--strictPort",
    "--bypass-lock",
  ],
  {
    cwd: root,
    stdio: "inherit",
    env: {
      ...process.env,
      DASHBOARD_PORT: port,
      RPC_URL: rpcUrl,
      DEPLOYMENTS: file,
      // The config is bundled (Vite's default loader); the future native loader's notice is noise here.
      VITE_CONFIG_NATIVE_IGNORE_WARNING: "true",
    },
  },
);
console.log(`Ballast dashboard: http://127.0.0.1:${port} (chain ${rpcUrl}, deployments ${file})`);
const stop = () => vite.kill("SIGTERM");
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
vite.on("exit", (code) => process.exit(code ?? 0));
