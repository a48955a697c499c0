// Where check durations are counted: the buckets of the check duration histogram, shared by the metrics and the
// native engine (which counts its quiet rounds in them without handing each one to JS).

/** Upper bounds (seconds) of the check duration histogram: sub-millisecond connects up to negotiate timeouts. */
export const CHECK_DURATION_BUCKETS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];
