// Counts the turns the event loop takes while something runs: a work that yields gives it turns, one that holds the
// loop gives none.

/** A running count of event-loop turns (one `setImmediate` callback per turn) until {@link LoopTurns.stop}. */
export interface LoopTurns {
  /** Turns counted so far. */
  readonly turns: () => number;
  /** Stops counting (idempotent); returns the count. */
  readonly stop: () => number;
}

/** Starts counting the turns of the event loop. */
export function countLoopTurns(): LoopTurns {
  let turns = 0;
  let ticking = true;
  const tick = (): void => {
    if (!ticking) return;
    turns++;
    setImmediate(tick);
  };
  setImmediate(tick);
  return {
    turns: () => turns,
    stop: () => {
      ticking = false;
      return turns;
    },
  };
}
