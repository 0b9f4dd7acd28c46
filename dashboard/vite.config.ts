/**
 * The dashboard's Vite config. `npm run dashboard` (scripts/dashboard.ts) runs Vite with it and passes, in
 * the environment:
 *   RPC_URL      the chain's JSON-RPC URL (default http://127.0.0.1:8545)
 *   DEPLOYMENTS  the deployments file (default deployments/localhost.json)
 *   DASHBOARD_PORT  only to name the dependency cache
 * The page never talks to the node directly: it posts JSON-RPC to /rpc, which this server proxies to RPC_URL
 * (so no CORS setup on the node, and one origin for everything), and reads /dashboard-config.json, which
 * carries the deployments file as it is on disk at the time of the request (a redeploy needs only a reload).
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { defineConfig, type Plugin } from "vite";

const root = path.resolve(__dirname, "..");
const rpcUrl = process.env.RPC_URL ?? "http://127.0.0.1:8545";
const deploymentsFile = path.resolve(root, process.env.DEPLOYMENTS ?? "deployments/localhost.json");

/** Serves /dashboard-config.json: the RPC URL (for display) and the deployments file, read afresh. */
function dashboardConfig(): Plugin {
  return {
    name: "ballast-dashboard-config",
    configureServer(server) {
      server.middlewares.use("/dashboard-config.json", (_req, res) => {
        res.setHeader("content-type", "application/json");
        res.setHeader("cache-control", "no-store");
        if (!existsSync(deploymentsFile)) {
          res.statusCode = 404;
          res.end(
            JSON.stringify({ error: `no deployments file at ${deploymentsFile}: run npm run node first` }),
          );
          return;
        }
        const deployments = JSON.parse(readFileSync(deploymentsFile, "utf8"));
        res.end(JSON.stringify({ rpcUrl, deploymentsFile, deployments }));
      });
    },
  };
}

export default defineConfig({
  root: __dirname,
  // One dependency cache per port: two dashboards (e.g. a developer's and the end-to-end test's) never race
  // on one cache.
  cacheDir: path.join(root, "node_modules", ".vite", `dashboard-${process.env.DASHBOARD_PORT ?? "5173"}`),
  // The page imports the SDK, the TypeChain types and docs/reference.md from the repository root.
  server: {
    fs: { allow: [root] },
    proxy: { "/rpc": { target: rpcUrl, changeOrigin: true, rewrite: () => "/" } },
  },
  optimizeDeps: { include: ["ethers", "chart.js/auto"] },
  plugins: [dashboardConfig()],
  clearScreen: false,
});
