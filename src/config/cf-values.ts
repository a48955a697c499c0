// Value readers that reproduce how ldirectord's regexes read directive values, reporting text they ignore.
import type { RawDirective } from './document';
import { isSecretDirective } from './secret-directives';

/** Outcome of reading a value: the value, or an error message; `ignored` is text ldirectord silently skips. */
export type ValueResult<T> = { ok: true; value: T; ignored?: string } | { ok: false; message: string };

/** Successful result. */
export function ok<T>(value: T, ignored?: string): ValueResult<T> {
  const extra = ignored?.trim();
  return extra ? { ok: true, value, ignored: extra } : { ok: true, value };
}

/** Failed result. */
export function fail<T>(message: string): ValueResult<T> {
  return { ok: false, message };
}

/** Text of the value, `''` for a bare word. */
export function valueText(d: RawDirective): string {
  return d.value ?? '';
}

/**
 * The first run of digits anywhere in the value, as ldirectord's unanchored `/(\d+)/`.
 * `positive` requires a non-zero number.
 */
export function readInteger(d: RawDirective, what: string, positive: boolean): ValueResult<number> {
  const text = valueText(d);
  const m = /\d+/.exec(text);
  if (!m) return fail(`${what} must be ${positive ? 'a positive' : 'a non-negative'} integer, not "${text}"`);
  const n = Number(m[0]);
  if (positive && n <= 0) return fail(`${what} must be a positive integer, not "${text}"`);
  if (!Number.isSafeInteger(n)) return fail(`${what} is too large: "${text}"`);
  return ok(n, `${text.slice(0, m.index)} ${text.slice(m.index + m[0].length)}`);
}

/** Fewest seconds a check interval or timeout may be (`checkinterval=0.1`; an ldir extension below 1). */
export const MIN_CHECK_SECONDS = 0.1;

/**
 * The longest time a directive may set, in seconds: a Node timer waits at most 2^31 - 1 ms (about 24.8 days); a
 * longer delay is taken as 1 ms, so `checktimeout=2147484` made a healthy real flap every few seconds.
 */
export const MAX_TIMER_SECONDS = 2_147_483;

/** The error for `seconds` (written `text`) of `what` when a timer cannot wait that long, else undefined. */
export function beyondTimer(what: string, seconds: number, text: string): string | undefined {
  if (seconds <= MAX_TIMER_SECONDS) return undefined;
  return `${what} must be at most ${MAX_TIMER_SECONDS} seconds (about 24.8 days: the longest a timer can wait), not "${text}"`;
}

/**
 * Seconds of `checkinterval`, `checktimeout` and `negotiatetimeout`: the first number in the value, found as
 * ldirectord's unanchored `/(\d+)/` finds an integer (so `checktimeout=x10` is still 10, the rest reported as
 * ignored), but with up to three decimals (milliseconds), from {@link MIN_CHECK_SECONDS} up: `0.5`, `.5` and `1.25`
 * are seconds. An integer reads exactly as before.
 */
export function readSeconds(d: RawDirective, what: string): ValueResult<number> {
  const text = valueText(d);
  const m = /\d*\.\d+|\d+/.exec(text);
  if (!m) return fail(`${what} must be a positive number of seconds, not "${text}"`);
  const n = Number(m[0]);
  if (n <= 0) return fail(`${what} must be a positive number of seconds, not "${text}"`);
  if (!Number.isSafeInteger(Math.floor(n))) return fail(`${what} is too large: "${text}"`);
  if ((m[0].split('.')[1] ?? '').length > 3)
    return fail(`${what} takes at most 3 decimals (milliseconds), not "${text}"`);
  if (n < MIN_CHECK_SECONDS) return fail(`${what} must be at least ${MIN_CHECK_SECONDS} seconds, not "${text}"`);
  const tooLong = beyondTimer(what, n, text);
  if (tooLong !== undefined) return fail(tooLong);
  return ok(n, `${text.slice(0, m.index)} ${text.slice(m.index + m[0].length)}`);
}

/**
 * An integer in `min..max`, written in decimal digits only (for ldir's own directives: no ldirectord leniency). At
 * most 10 digits are read (every bound fits: weights go to 2^31 - 1).
 */
export function readBoundedInteger(text: string, what: string, min: number, max: number): ValueResult<number> {
  const t = text.trim();
  if (!/^\d{1,10}$/.test(t) || Number(t) < min || Number(t) > max)
    return fail(`${what} must be a number from ${min} to ${max}, not "${t}"`);
  return ok(Number(t));
}

/** Exactly `yes` or `no` (ldirectord compares with `eq`, so trailing text or spaces are errors). */
export function readYesNo(d: RawDirective): ValueResult<boolean> {
  const text = valueText(d);
  if (text === 'yes') return ok(true);
  if (text === 'no') return ok(false);
  const hint = /^(yes|no)\s/.test(text)
    ? ' (ldirectord reads the whole rest of the line: remove the trailing text)'
    : '';
  return fail(`${d.key} must be 'yes' or 'no', not "${text}"${hint}`);
}

/**
 * A value ldirectord requires in double quotes (`key="..."`): the text between the first quote and the last one.
 * YAML values are taken as they are.
 */
export function readQuoted(d: RawDirective): ValueResult<string> {
  if (d.syntax === 'yaml') return ok(valueText(d));
  const text = valueText(d);
  const m = /^"(.*)"/.exec(text);
  const secret = isSecretDirective(d.key);
  if (!m && text.startsWith('"')) {
    return fail(
      `${d.key} value must be in double quotes: the closing double quote is missing${secret ? ' (the value is not shown)' : ` in ${d.key}=${text}`}`,
    );
  }
  if (!m)
    return fail(
      `${d.key} value must be in double quotes: ${d.key}="${secret ? '…' : text}"${secret ? ' (the value is not shown)' : ''}`,
    );
  return ok(m[1] as string, text.slice(m[0].length));
}

/** A value that may be double-quoted or bare (`checkcommand`, `fallbackcommand`, `monitorfile`). */
export function readOptionallyQuoted(d: RawDirective): string {
  const text = valueText(d);
  if (d.syntax === 'yaml') return text;
  const m = /^"(.*)"/.exec(text);
  return m ? (m[1] as string) : text;
}

/** The first match of `re` in the value; text around it is reported as ignored. */
export function readFirstMatch(d: RawDirective, re: RegExp): { match: string; ignored: string } | undefined {
  const text = valueText(d);
  const m = re.exec(text);
  if (!m) return undefined;
  return { match: m[0], ignored: `${text.slice(0, m.index)} ${text.slice(m.index + m[0].length)}`.trim() };
}
