/**
 * The scenario layer of the simulator (SCENARIOS.md, docs/scenarios.md): types, the validating loader,
 * the seeded PRNG and samplers, price paths and the oracle fault plan. Pure TypeScript, no chain.
 */
export * from "./types";
export { ScenarioError, ScenarioErrors } from "./check";
export {
  DEFAULTS,
  defaultKeepers,
  loadScenario,
  marketNames,
  parseScenario,
  resolveMarket,
  validateScenario,
} from "./validate";
export type { ParseOptions } from "./validate";
export { Rng } from "./rng";
export { AMOUNT, COUNT, FRACTION, LEVERAGE, sample, sampleCount } from "./dist";
export type { Bounds } from "./dist";
export { SECONDS_PER_YEAR, gasCostPath, pricePath, pricePaths, spanOf } from "./paths";
export type { Grid } from "./paths";
export { parseCsv } from "./csv";
export { activeFaults, feedFaults, feedReports, isActive, oraclePlan, sequencerStates } from "./faults";
export type { FeedName, FeedReport, OraclePlan, SequencerState } from "./faults";
