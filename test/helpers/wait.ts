// Bounded waiting for tests: sleep, and polling until a value shows up.

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `fn` every `everyMs` until it returns a value other than undefined, at most `ms` milliseconds; throws with
 * `what` (and the last state seen by `describe`, if given) when the time is up.
 */
export async function eventually<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, ms: number, everyMs = 100, describe?: () => string): Promise<T> {
  const deadline = Date.now() + ms;
  for (let i = 0; i < 1_000_000; i++) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() >= deadline) break;
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}${describe ? `\n${describe()}` : ''}`);
}
