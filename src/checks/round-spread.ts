// How the first rounds of a batch of new checks are spread: short, so a starting director checks every real at once.

/** Longest spread of the first round of a batch of new checks, whatever their number and interval: checks at once. */
export const FIRST_ROUND_MAX_SPREAD_MS = 1_000;

/**
 * How long the first round of a batch of new checks is spread over: 100 ms plus 0.1 ms per check, at most
 * {@link FIRST_ROUND_MAX_SPREAD_MS} and at most one interval. Short, because the first round decides what a starting
 * director puts in its table (start-up time is failover time), and ldirectord checks at once: a new real is never
 * left unchecked for a share of a long `checkinterval`. Each check gets a random place in the interval; its first
 * round runs at that place scaled into the spread and its later rounds at the place itself, so they are spread over
 * the whole interval as before.
 */
export function firstRoundSpreadMs(newChecks: number, intervalMs: number): number {
  return Math.min(intervalMs, FIRST_ROUND_MAX_SPREAD_MS, 100 + newChecks * 0.1);
}
