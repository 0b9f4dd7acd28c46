/**
 * The connection: the deployments file (served by the dashboard's Vite server), a JSON-RPC provider through
 * the server's /rpc proxy, the SDK handle, and the node's unlocked accounts as signers. Everything a dApp
 * needs to talk to Ballast is here; the views only read from `Chain`.
 */
import { Interface, JsonRpcProvider, type JsonRpcSigner } from "ethers";

import { connect, typechain, type Ballast, type DeploymentsFileLike } from "../../sdk";

/** What /dashboard-config.json serves (dashboard/vite.config.ts). */
export interface DashboardConfig {
  rpcUrl: string;
  deploymentsFile: string;
  /** deploy/deployments.ts's DeploymentsFile: the fields the page uses. */
  deployments: DeploymentsFileLike & {
    block: number;
    chainId: number;
    network: string;
    base: { address: string; symbol: string; decimals: number; mock: boolean };
    assets?: Record<string, { address: string; decimals: number; mock: boolean }>;
  };
}

export interface Chain {
  config: DashboardConfig;
  provider: JsonRpcProvider;
  /** The SDK connected with the provider (reads). */
  ballast: Ballast;
  /** Symbols of the listed assets, in the file's order, and their addresses. */
  assets: { symbol: string; address: string; decimals: number }[];
  /** Every ABI of the deployment merged: events and custom errors decode with it. */
  iface: Interface;
  /** The node's unlocked accounts (eth_accounts), in the node's order. */
  accounts: string[];
}

/** Loads the config, connects, and lists the node's accounts. */
export async function openChain(): Promise<Chain> {
  const res = await fetch("/dashboard-config.json", { cache: "no-store" });
  const config = (await res.json()) as DashboardConfig | { error: string };
  if ("error" in config) throw new Error(config.error);
  // polling: the node is local, so a short interval keeps the feed live without websockets.
  const provider = new JsonRpcProvider(new URL("/rpc", location.origin).toString(), undefined, {
    staticNetwork: true,
    pollingInterval: 1000,
  });
  const ballast = await connect(config.deployments, provider);
  const accounts = (await provider.send("eth_accounts", [])) as string[];
  const assets = Object.entries(config.deployments.assets ?? {}).map(([symbol, a]) => ({
    symbol,
    address: a.address,
    decimals: a.decimals,
  }));
  return { config, provider, ballast, assets, iface: mergedInterface(), accounts };
}

/** A signer for one of the node's unlocked accounts (the node signs; the page holds no keys). */
export function signerFor(chain: Chain, address: string): Promise<JsonRpcSigner> {
  return chain.provider.getSigner(address);
}

/** Every event and error of Ballast's contracts (and the mock token's) in one interface, deduplicated. */
function mergedInterface(): Interface {
  const abis = [
    typechain.LendingMarket__factory.abi,
    typechain.PerpMarket__factory.abi,
    typechain.InsuranceFund__factory.abi,
    typechain.OracleRouter__factory.abi,
    typechain.LiquidityVault__factory.abi,
    typechain.MockERC20__factory.abi,
  ];
  const seen = new Set<string>();
  const fragments = [];
  for (const abi of abis) {
    for (const f of abi) {
      if (f.type !== "event" && f.type !== "error") continue;
      const key = `${f.type}:${f.name}`;
      if (seen.has(key)) continue;
      seen.add(key);
      fragments.push(f);
    }
  }
  return new Interface(fragments);
}

/** The symbol of an asset address ("?" for an unknown one). */
export function symbolOf(chain: Chain, address: string): string {
  const a = chain.assets.find((x) => x.address.toLowerCase() === address.toLowerCase());
  return a?.symbol ?? address.slice(0, 8);
}

/** A short label for an address: "#11 0x1234…abcd" for one of the node's accounts. */
export function label(chain: Chain, address: string): string {
  const i = chain.accounts.findIndex((a) => a.toLowerCase() === address.toLowerCase());
  const short = `${address.slice(0, 6)}…${address.slice(-4)}`;
  return i >= 0 ? `#${i} ${short}` : short;
}
