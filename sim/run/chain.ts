/**
 * The simulator's clock and signers. Every transaction is mined at a timestamp the simulator chooses
 * (evm_setNextBlockTimestamp before each one), and views run at the latest block, so a run's numbers do not
 * depend on wall-clock time: the same scenario and seed give the same chain history up to a constant shift.
 */
import type { ContractTransactionReceipt, ContractTransactionResponse, Signer } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types";

export class Chain {
  /** Timestamp of the next transaction. */
  t = 0;
  /** Chain time of step 0 (set by `startRun`). */
  t0 = 0;
  txCount = 0;

  constructor(readonly hre: HardhatRuntimeEnvironment) {}

  /** Starts the clock `gap` seconds after the latest block. */
  async init(gap = 1000) {
    const latest = await this.hre.ethers.provider.getBlock("latest");
    this.t = latest!.timestamp + gap;
  }

  /** Moves the clock to at least `at` (never backwards: a busy step runs late by a second per extra tx). */
  moveTo(at: number) {
    if (at > this.t) this.t = at;
  }

  /** Sends one transaction at the clock's time (then ticks a second) and waits for its receipt. */
  async send(fn: () => Promise<ContractTransactionResponse>): Promise<ContractTransactionReceipt> {
    await this.hre.network.provider.request({ method: "evm_setNextBlockTimestamp", params: [this.t] });
    this.t += 1;
    this.txCount += 1;
    const tx = await fn();
    const receipt = await tx.wait();
    if (!receipt) throw new Error(`no receipt for ${tx.hash}`);
    return receipt;
  }

  /** A fresh, funded (ether for gas) signer at a deterministic address derived from `salt` and `label`. */
  async account(salt: string, label: string): Promise<Signer> {
    const { ethers } = this.hre;
    const address = ethers.getAddress(ethers.dataSlice(ethers.id(`ballast-sim/${salt}/${label}`), 12));
    await this.hre.network.provider.request({
      method: "hardhat_setBalance",
      params: [address, "0x3635c9adc5dea00000"],
    });
    await this.hre.network.provider.request({ method: "hardhat_impersonateAccount", params: [address] });
    return ethers.getSigner(address);
  }
}
