// Bounded waiting for tests: sleep, and polling until a value shows up.

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `fn` every `everyMs` until it returns a value other than undefined, at most `ms` milliseconds; throws with
 * `what` (and the last state seen by `describe`, if given) when the time is up.
 */
export async function eventually<T>(
  what: string,
  fn: () => T | undefined | Promise<T | undefined>,
  ms: number,
  everyMs = 100,
  describe?: () => string,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (let i = 0; i < 1_000_000; i++) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() >= deadline) break;
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}${describe ? `\n${describe()}` : ''}`);
}

/**
 * Runs `body`, then `restore` whether `body` failed or not, so that one failing step of a sequence of tests that
 * share a fixture does not leave the fixture broken for the next ones. A failure of `body` is what is thrown; a
 * failure of `restore` after it is added to its message rather than hiding it.
 */
export async function thenRestore<T>(body: () => Promise<T>, restore: () => Promise<void>): Promise<T> {
  let result: T;
  try {
    result = await body();
  } catch (error) {
    try {
      await restore();
    } catch (restoreError) {
      if (error instanceof Error) error.message += `\n(and restoring the fixture failed too: ${String(restoreError)})`;
    }
    throw error;
  }
  await restore();
  return result;
}
