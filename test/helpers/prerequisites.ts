// What a test does when something it needs is missing here: outside CI it skips with the reason; under CI=true it
// fails with one line naming what was missing, unless the CI allow-list (test/helpers/ci-skips.ts) covers it.
import assert from 'node:assert/strict';
import { allowanceFor, isCi, type TestPlace, testPlace } from './ci-skips';

/** Where the decision is taken: CI or not, host or VM (the defaults read the environment). */
export interface PrerequisiteContext {
  readonly ci: boolean;
  readonly place: TestPlace;
}

const HERE: PrerequisiteContext = { ci: isCi(), place: testPlace() };

/** The one line a CI run fails with when a test cannot run here. */
export function missingInCi(missing: string): string {
  return `CI=true, and this test cannot run: ${missing}`;
}

/** True when a missing prerequisite must fail the test here rather than skip it. */
export function mustFail(missing: string, here: PrerequisiteContext = HERE): boolean {
  return here.ci && allowanceFor(missing, here.place) === undefined;
}

/**
 * Skips the running test with `missing` as the reason, or, under CI=true without an allowance for it, fails it with
 * {@link missingInCi} (throws: call it as the test's last step, `return skipOrFail(t, why)`).
 */
export function skipOrFail(
  t: { skip(message?: string): void },
  missing: string,
  here: PrerequisiteContext = HERE,
): void {
  if (mustFail(missing, here)) assert.fail(missingInCi(missing));
  t.skip(missing);
}

/** Options of a suite that needs something, passed on to `describe`. */
export interface SuiteOptions {
  readonly concurrency?: number | boolean;
  readonly timeout?: number;
}

/**
 * The options and body of a suite that needs something, for `describe(name, ...needing(missing, options, body))`:
 * `missing` undefined when it is all there, else why not. Missing: the suite is skipped with the reason, or under
 * CI=true without an allowance its body is replaced by one that fails with {@link missingInCi} (the suite fails with
 * that one line). The caller makes the `describe` call, so node:test reports the suite as the caller's file's.
 */
export function needing(
  missing: string | undefined,
  options: SuiteOptions,
  body: () => void,
  here: PrerequisiteContext = HERE,
): [SuiteOptions & { skip?: string }, () => void] {
  if (missing === undefined) return [options, body];
  if (mustFail(missing, here)) return [options, () => assert.fail(missingInCi(missing))];
  return [{ ...options, skip: missing }, body];
}
