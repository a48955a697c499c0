// Secrets: the fields that hold credentials, and the one redaction that every output path uses (diagnostics, CLI
// JSON, control answers, log records).

/** What a secret is replaced by, everywhere. */
export const REDACTED = '[redacted]';

/**
 * Keys whose string values are credentials wherever they appear: in the model (`check.passwd`, `check.secret`,
 * `alerts.smtpAuth.passwd`), in JSON printed by the CLI, in log records.
 */
export const SECRET_FIELDS: ReadonlySet<string> = new Set([
  'passwd',
  'secret',
  'password',
  'smtppasswd',
  'smtpPassword',
]);

/**
 * Secret values shorter than this are not searched for in free text: such a value is no secret worth the name, and
 * hiding every `ab` in a log would make it unreadable. Messages about a credential directive never quote its value
 * whatever its length (src/config/secret-directives.ts), and fields named in {@link SECRET_FIELDS} are always hidden.
 */
export const MIN_SEARCHED_LENGTH = 4;

/** A deep copy of `value` with every non-empty string under a {@link SECRET_FIELDS} key replaced by {@link REDACTED}. */
export function redactSecretFields(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactSecretFields);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = SECRET_FIELDS.has(k) && typeof v === 'string' && v !== '' ? REDACTED : redactSecretFields(v);
    }
    return out;
  }
  return value;
}

/** Replaces every string inside a parsed JSON value through `text`. */
function mapStrings(value: unknown, text: (s: string) => string): unknown {
  if (typeof value === 'string') return text(value);
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, text));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[text(k)] = mapStrings(v, text);
    return out;
  }
  return value;
}

/**
 * The secret values known to a process (those of the configurations it loaded), hidden from any text that passes
 * through it. Values accumulate: a value of a configuration replaced by a reload is still hidden (a check of the old
 * configuration may still report). One instance is shared by the daemon's logger and its control socket.
 *
 * ```ts
 * const redactor = new SecretRedactor(['RADSHARED444']);
 * redactor.text('secret RADSHARED444 refused'); // 'secret [redacted] refused'
 * ```
 */
export class SecretRedactor {
  /** Longest first, so that a value containing another is replaced whole. */
  private values: string[] = [];
  /** Each value as it appears inside a JSON string (quotes, backslashes and control characters escaped). */
  private escaped: string[] = [];

  constructor(values: Iterable<string> = []) {
    this.add(values);
  }

  /** Adds values to hide (those shorter than {@link MIN_SEARCHED_LENGTH} are ignored). */
  add(values: Iterable<string>): void {
    const all = new Set(this.values);
    for (const v of values) if (v.length >= MIN_SEARCHED_LENGTH) all.add(v);
    if (all.size === this.values.length) return;
    this.values = [...all].sort((a, b) => b.length - a.length);
    this.escaped = [...new Set(this.values.map((v) => JSON.stringify(v).slice(1, -1)))].sort(
      (a, b) => b.length - a.length,
    );
  }

  /** How many values are hidden. */
  get size(): number {
    return this.values.length;
  }

  /** `text` with every known value replaced by {@link REDACTED}. */
  text(text: string): string {
    let out = text;
    for (const v of this.values) if (out.includes(v)) out = out.split(v).join(REDACTED);
    return out;
  }

  /**
   * One JSON text (a log record, a control answer) with every known value replaced inside its strings. A line
   * without any of them is returned as it is (one substring search per value); one with a value is parsed, its
   * strings redacted and written again, so the result is still valid JSON with the same structure (a trailing
   * newline is kept). Text that is not JSON is redacted as plain text.
   */
  jsonLine(line: string): string {
    if (!this.escaped.some((v) => line.includes(v))) return line;
    const newline = line.endsWith('\n') ? '\n' : '';
    try {
      return `${JSON.stringify(mapStrings(JSON.parse(line) as unknown, (s) => this.text(s)))}${newline}`;
    } catch {
      let out = line;
      for (const v of this.escaped) if (out.includes(v)) out = out.split(v).join(REDACTED);
      return out;
    }
  }
}
