/**
 * Ballast's SDK for integrators: typed reads (health, liquidation and bankruptcy prices, the gap to
 * insolvency, the largest borrow, the largest position, funding, the vault's share price, the insurance fund
 * and the bad-debt and recourse ledgers) and writes that do the approve-then-call dance, over ethers v6 and
 * the TypeChain types. Start with {@link connect}; docs/sdk.md has the guide.
 *
 * ```ts
 * const ballast = await connect(addresses, signer);
 * const health = await ballast.lending.health(account);
 * const liq = await ballast.lending.liquidationPrice(account, ballast.asset("WETH"));
 * await ballast.perps.depositMargin(1_000_000_000n);
 * ```
 *
 * @packageDocumentation
 */
import type { ContractRunner } from "ethers";

import {
  IERC20Metadata__factory,
  InsuranceFund__factory,
  LendingMarket__factory,
  LiquidityVault__factory,
  OracleRouter__factory,
  PerpMarket__factory,
  type IERC20Metadata,
  type InsuranceFund,
  type LendingMarket,
  type LiquidityVault,
  type OracleRouter,
  type PerpMarket,
} from "../typechain-types";
import type { SdkContext } from "./context";
import { LendingClient } from "./lending";
import { PerpsClient } from "./perps";
import { RiskClient } from "./risk";
import type { BallastAddresses, DeploymentLike, DeploymentsFileLike } from "./types";

export * from "./types";
export * from "./math";
export * from "./format";
export { ensureAllowance, approveThenCall, type SdkContext } from "./context";
export { LendingClient, LENDING_TOTALS_TAIL_SLOT, type RepayOptions } from "./lending";
export { PerpsClient, PERP_POSITIONS_SLOT, DEFAULT_SLIPPAGE, type TradeOptions } from "./perps";
export { RiskClient, type BadDebtReport } from "./risk";
/** Every TypeChain type and factory (with its ABI: `typechain.LendingMarket__factory.abi`). */
export * as typechain from "../typechain-types";

/** The TypeChain handles of a deployment, connected to the runner. */
export interface BallastContracts {
  router: OracleRouter;
  insuranceFund: InsuranceFund;
  baseToken: IERC20Metadata;
  lendingMarket: LendingMarket | null;
  perpMarket: PerpMarket | null;
  vault: LiquidityVault | null;
}

/** A connected deployment: typed contract handles and the lending, perps and risk clients. */
export class Ballast {
  private readonly lendingClient: LendingClient | null;
  private readonly perpsClient: PerpsClient | null;
  /** Insurance fund, bad-debt and recourse reads. */
  readonly risk: RiskClient;

  /**
   * Use {@link connect}.
   * @param addresses The deployment's addresses.
   * @param contracts Its contracts, connected to the runner.
   * @param context The shared context.
   */
  constructor(
    readonly addresses: BallastAddresses,
    readonly contracts: BallastContracts,
    readonly context: SdkContext,
  ) {
    this.lendingClient = contracts.lendingMarket ? new LendingClient(contracts.lendingMarket, context) : null;
    this.perpsClient =
      contracts.perpMarket && contracts.vault
        ? new PerpsClient(contracts.perpMarket, contracts.vault, context, addresses.perpMarketIds)
        : null;
    this.risk = new RiskClient(context, this.lendingClient, this.perpsClient);
  }

  /** The base asset's decimals (6 for USDC). */
  get baseDecimals(): number {
    return this.context.baseDecimals;
  }

  /** The lending client (throws when the deployment has no lending market). */
  get lending(): LendingClient {
    if (!this.lendingClient) throw new Error("this deployment has no lending market");
    return this.lendingClient;
  }

  /** The perps client (throws when the deployment has no perps engine). */
  get perps(): PerpsClient {
    if (!this.perpsClient) throw new Error("this deployment has no perps engine");
    return this.perpsClient;
  }

  /** Whether the deployment has a lending market. */
  get hasLending(): boolean {
    return this.lendingClient !== null;
  }

  /** Whether the deployment has a perps engine. */
  get hasPerps(): boolean {
    return this.perpsClient !== null;
  }

  /** A token's address by symbol, from the deployment's `assets` (throws if unknown). */
  asset(symbol: string): string {
    const address = this.addresses.assets?.[symbol];
    if (!address) throw new Error(`asset ${symbol} is not in this deployment's addresses`);
    return address;
  }
}

/** The addresses of what `deploySystem` returned, in the {@link BallastAddresses} shape. */
export async function addressesOf(deployment: DeploymentLike): Promise<BallastAddresses> {
  const assets: Record<string, string> = {};
  for (const [symbol, a] of Object.entries(deployment.assets ?? {})) assets[symbol] = a.address;
  return {
    oracleRouter: await deployment.router.getAddress(),
    insuranceFund: await deployment.insuranceFund.getAddress(),
    baseToken: deployment.base.address,
    lendingMarket: deployment.lending ? await deployment.lending.market.getAddress() : undefined,
    perpMarket: deployment.perps ? await deployment.perps.market.getAddress() : undefined,
    liquidityVault: deployment.perps ? await deployment.perps.vault.getAddress() : undefined,
    assets,
    perpMarketIds: deployment.perps?.marketIds ? { ...deployment.perps.marketIds } : undefined,
  };
}

/** The addresses of a deployments file (`deployments/<network>.json`), in the {@link BallastAddresses} shape. */
export function addressesOfFile(file: DeploymentsFileLike): BallastAddresses {
  const assets: Record<string, string> = {};
  for (const [symbol, a] of Object.entries(file.assets ?? {})) assets[symbol] = a.address;
  return {
    oracleRouter: file.contracts.OracleRouter,
    insuranceFund: file.contracts.InsuranceFund,
    baseToken: file.base.address,
    lendingMarket: file.contracts.LendingMarket,
    perpMarket: file.contracts.PerpMarket,
    liquidityVault: file.contracts.LiquidityVault,
    assets,
    perpMarketIds: file.perpMarketIds ? { ...file.perpMarketIds } : undefined,
  };
}

/** Any accepted description of a deployment, as flat {@link BallastAddresses}. */
export async function resolveAddresses(
  source: BallastAddresses | DeploymentsFileLike | DeploymentLike,
): Promise<BallastAddresses> {
  if ("router" in source) return addressesOf(source);
  if ("contracts" in source) return addressesOfFile(source);
  return { ...source };
}

/**
 * Connects to a deployment: `source` is a deployments file (the parsed `deployments/<network>.json`), flat
 * addresses, or what `deploySystem` returned; `runner` is a Signer (reads and writes) or a Provider (reads
 * only). Reads the base asset's decimals once.
 */
export async function connect(
  source: BallastAddresses | DeploymentsFileLike | DeploymentLike,
  runner: ContractRunner,
): Promise<Ballast> {
  const addresses = await resolveAddresses(source);
  const provider = runner.provider;
  if (!provider) throw new Error("the runner has no provider");
  if (addresses.perpMarket && !addresses.liquidityVault)
    throw new Error("perpMarket given without liquidityVault");
  const contracts: BallastContracts = {
    router: OracleRouter__factory.connect(addresses.oracleRouter, runner),
    insuranceFund: InsuranceFund__factory.connect(addresses.insuranceFund, runner),
    baseToken: IERC20Metadata__factory.connect(addresses.baseToken, runner),
    lendingMarket: addresses.lendingMarket
      ? LendingMarket__factory.connect(addresses.lendingMarket, runner)
      : null,
    perpMarket: addresses.perpMarket ? PerpMarket__factory.connect(addresses.perpMarket, runner) : null,
    vault: addresses.liquidityVault
      ? LiquidityVault__factory.connect(addresses.liquidityVault, runner)
      : null,
  };
  const context: SdkContext = {
    runner,
    provider,
    router: contracts.router,
    insuranceFund: contracts.insuranceFund,
    baseToken: contracts.baseToken,
    baseDecimals: Number(await contracts.baseToken.decimals()),
    feedTicks: new Map(),
  };
  return new Ballast(addresses, contracts, context);
}
