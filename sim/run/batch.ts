/**
 * Batched chain access through the SimHarness scaffolding contract (contracts/mocks/SimHarness.sol). On the
 * in-process chain one transaction or one eth_call costs about a millisecond of overhead whatever it does,
 * while work inside one call runs at thousands of operations a second: so the simulator reads a step's state
 * in one `aggregate` view call, sends a step's oracle updates in one `multicall` transaction, and builds the
 * population with `setup` batches.
 */
import type { Interface, Result } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types";

import type { SimHarness } from "../../typechain-types";

/** Something with an address and an ABI (a typechain contract). */
export interface Target {
  interface: Interface;
  getAddress(): Promise<string>;
}

interface Call {
  target: string;
  data: string;
  iface: Interface;
  fn: string;
  gas: number;
  done: (r: Result | undefined, revert: string) => void;
}

/** The gas one eth_call of `aggregate` may use (the in-process chain caps a call at the block gas limit). */
const CALL_GAS_BUDGET = 24_000_000;

export async function deployHarness(hre: HardhatRuntimeEnvironment): Promise<SimHarness> {
  const harness = (await hre.ethers.deployContract("SimHarness")) as unknown as SimHarness;
  await harness.waitForDeployment();
  return harness;
}

/**
 * A list of view calls read together. `add` queues a call with its callback; `run` reads them in as few
 * eth_calls as the gas budget allows (each call's `gas` is an estimate, default 60k) and calls back in order.
 */
export class Reads {
  private calls: Call[] = [];
  private readonly addresses = new Map<Target, string>();

  constructor(private readonly harness: SimHarness) {}

  get size() {
    return this.calls.length;
  }

  async add(
    c: Target,
    fn: string,
    args: unknown[],
    done: (r: Result) => void,
    opts: { gas?: number; onRevert?: (data: string) => void } = {},
  ) {
    let target = this.addresses.get(c);
    if (!target) {
      target = await c.getAddress();
      this.addresses.set(c, target);
    }
    this.calls.push({
      target,
      data: c.interface.encodeFunctionData(fn, args),
      iface: c.interface,
      fn,
      gas: opts.gas ?? 60_000,
      done: (r, revert) => {
        if (r) return done(r);
        if (opts.onRevert) return opts.onRevert(revert);
        throw new Error(`${fn}(${args.join(", ")}) reverted: ${revert}`);
      },
    });
  }

  async run() {
    const calls = this.calls;
    this.calls = [];
    for (let start = 0; start < calls.length;) {
      let end = start;
      let gas = 0;
      while (end < calls.length && (end === start || gas + calls[end].gas <= CALL_GAS_BUDGET)) {
        gas += calls[end].gas;
        end += 1;
      }
      const chunk = calls.slice(start, end);
      const [ok, results] = await this.harness.aggregate.staticCall(
        chunk.map((c) => c.target),
        chunk.map((c) => c.data),
      );
      chunk.forEach((c, i) =>
        c.done(ok[i] ? c.iface.decodeFunctionResult(c.fn, results[i]) : undefined, results[i]),
      );
      start = end;
    }
  }
}

/** Write calls sent together in one `multicall` transaction (each from the harness). */
export class Writes {
  targets: string[] = [];
  data: string[] = [];

  async add(c: Target, fn: string, args: unknown[]) {
    this.targets.push(await c.getAddress());
    this.data.push(c.interface.encodeFunctionData(fn, args));
  }

  get size() {
    return this.targets.length;
  }
}
