/**
 * npm run node: a local Hardhat node with Ballast deployed and a demo state seeded, for dApps and the
 * dashboard to connect to at once. Prints the addresses (also in deployments/localhost.json) and keeps the
 * node running until Ctrl-C. LOCAL_PORT (default 8545) moves it.
 *
 *   npm run node
 *   npm run crash -- --asset WETH --change -0.4     (in another terminal)
 */
import { spawn, spawnSync } from "node:child_process";
import path from "node:path";

const PORT = process.env.LOCAL_PORT ?? "8545";
const root = path.join(__dirname, "..");
const hardhat = path.join(root, "node_modules", ".bin", "hardhat");

const node = spawn(hardhat, ["node", "--port", PORT], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
let ready = false;
let output = "";
const stop = (code: number) => {
  node.kill("SIGINT");
  process.exit(code);
};
process.on("SIGINT", () => stop(0));
process.on("SIGTERM", () => stop(0));
node.on("exit", (code) => {
  if (!ready) {
    console.error(output);
    console.error(`hardhat node exited (${code}) before it was ready: is port ${PORT} in use?`);
  }
  process.exit(code ?? 1);
});
node.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
node.stdout.on("data", (chunk: Buffer) => {
  if (ready) return; // the node logs every request; keep the terminal for what matters
  output += chunk.toString();
  if (!output.includes("Started HTTP and WebSocket JSON-RPC server")) return;
  ready = true;
  console.log(`Hardhat node on http://127.0.0.1:${PORT} (chain 31337); deploying Ballast...`);
  const deploy = spawnSync(hardhat, ["deploy", "--network", "localhost", "--seed", "--fresh"], {
    cwd: root,
    stdio: "inherit",
    env: { ...process.env, LOCAL_PORT: PORT },
  });
  if (deploy.status !== 0) {
    console.error("deploy failed");
    stop(1);
  }
  console.log(`\nBallast is running on http://127.0.0.1:${PORT}: addresses in deployments/localhost.json.`);
  console.log(
    "Crash a price from another terminal: npm run crash -- --asset WETH --change -0.4. Ctrl-C stops.",
  );
});
