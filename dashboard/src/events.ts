/**
 * One log scanner for the whole page: every poll fetches the logs of Ballast's contracts since the last
 * block seen (eth_getLogs over the block range), decodes them with the merged ABI, and hands them to the
 * views: the accounts view learns addresses from them, the feed shows the interesting ones.
 */
import type { LogDescription } from "ethers";

import type { Chain } from "./chain";

export interface ChainEvent {
  blockNumber: number;
  logIndex: number;
  txHash: string;
  /** The emitting contract's name ("LendingMarket", ...). */
  source: string;
  name: string;
  args: LogDescription["args"];
  fragment: LogDescription["fragment"];
}

/** The contracts whose logs the page reads, by address (lowercase) -> name. */
export function watchedContracts(chain: Chain): Map<string, string> {
  const c = chain.config.deployments.contracts;
  const out = new Map<string, string>();
  for (const [name, address] of Object.entries(c)) {
    if (address && ["LendingMarket", "PerpMarket", "InsuranceFund", "OracleRouter"].includes(name))
      out.set(address.toLowerCase(), name);
  }
  return out;
}

/** Logs of the watched contracts in [from, to], decoded, in chain order; undecodable ones are skipped. */
export async function fetchEvents(chain: Chain, from: number, to: number): Promise<ChainEvent[]> {
  if (to < from) return [];
  const watched = watchedContracts(chain);
  const logs = await chain.provider.getLogs({ address: [...watched.keys()], fromBlock: from, toBlock: to });
  const out: ChainEvent[] = [];
  for (const log of logs) {
    const parsed = chain.iface.parseLog({ topics: [...log.topics], data: log.data });
    if (!parsed) continue;
    out.push({
      blockNumber: log.blockNumber,
      logIndex: log.index,
      txHash: log.transactionHash,
      source: watched.get(log.address.toLowerCase()) ?? log.address,
      name: parsed.name,
      args: parsed.args,
      fragment: parsed.fragment,
    });
  }
  return out;
}

/** The account an event is about, when it names one the accounts view should track. */
export function accountOf(e: ChainEvent): string | null {
  switch (e.name) {
    case "SupplyCollateral":
    case "Borrow":
      return e.name === "Borrow" ? String(e.args.borrower) : String(e.args.onBehalf);
    case "Supply":
      return String(e.args.onBehalf);
    case "MarginDeposited":
      return String(e.args.onBehalf);
    case "PositionModified":
      return String(e.args.account);
    default:
      return null;
  }
}
