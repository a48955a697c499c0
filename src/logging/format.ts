// Human-readable rendering of pino records: `msg key=value ...` (syslog text) and the pretty line (terminals, files).

/** How a destination writes records: pino's JSON lines, or one human-readable line per record. */
export type LogFormat = 'json' | 'pretty';

/** A parsed pino record: numeric level, epoch-ms time, message and the bound and per-call fields. */
export interface LogRecord {
  readonly level: number;
  readonly time?: number;
  readonly msg?: string;
  readonly [key: string]: unknown;
}

/** Options of {@link formatPretty}. */
export interface PrettyOptions {
  /** ANSI colour on the level (terminals). Default false. */
  readonly color?: boolean;
  /** Timestamps in UTC instead of local time (golden tests, servers kept in UTC). Default false. */
  readonly utc?: boolean;
}

/** Record keys that are not shown as `key=value`: pino's own, and the message. */
const INTERNAL_KEYS = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name', 'v']);

const LEVEL_LABELS: ReadonlyArray<readonly [number, string, string]> = [
  [60, 'FATAL', '\x1b[35m'],
  [50, 'ERROR', '\x1b[31m'],
  [40, 'WARN', '\x1b[33m'],
  [30, 'INFO', '\x1b[32m'],
  [20, 'DEBUG', '\x1b[34m'],
  [10, 'TRACE', '\x1b[90m'],
];

/** Parses one pino JSON line; undefined when it is not a JSON object with a numeric level. */
export function parseRecord(line: string): LogRecord | undefined {
  try {
    const value: unknown = JSON.parse(line);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    return typeof (value as { level?: unknown }).level === 'number' ? (value as LogRecord) : undefined;
  } catch {
    return undefined;
  }
}

/** The label and colour of the band a pino level number falls in (custom levels take the band below them). */
function levelBand(level: number): readonly [number, string, string] {
  return LEVEL_LABELS.find(([n]) => level >= n) ?? [10, 'TRACE', '\x1b[90m'];
}

/** The upper-case label of a pino level number (`INFO`). */
export function levelLabel(level: number): string {
  return levelBand(level)[1];
}

/** A string shown bare when it has no spaces, quotes, `=`, backslashes or control characters, else JSON-quoted. */
function formatString(s: string): string {
  return s !== '' && !/[\s"=\\\x00-\x1f\x7f]/.test(s) ? s : JSON.stringify(s);
}

/** Renders one field value: strings bare or quoted, errors by their message, other objects as compact JSON. */
export function formatValue(value: unknown): string {
  if (typeof value === 'string') return formatString(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value === null) return 'null';
  const message = typeof value === 'object' ? (value as { message?: unknown; stack?: unknown }) : undefined;
  if (message && typeof message.message === 'string' && typeof message.stack === 'string') {
    return formatString(message.message); // pino's err serializer: { type, message, stack }
  }
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    return '"[unserializable]"';
  }
}

/** Escapes line breaks and other control characters of a message, so one record stays one line. */
function oneLine(s: string): string {
  return s
    .replace(/\r?\n/g, '\\n')
    .replace(/[\x00-\x08\x0b-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * The text of a record without time and level: the message followed by `key=value` for every bound and per-call
 * field, in record order (`real server down module=engine vs=tcp:192.0.2.1:80 rs=10.0.0.2:80 reason="timeout"`).
 */
export function formatMessage(record: LogRecord): string {
  const parts: string[] = [];
  if (typeof record.msg === 'string' && record.msg !== '') parts.push(oneLine(record.msg));
  for (const [key, value] of Object.entries(record)) {
    if (INTERNAL_KEYS.has(key) || value === undefined) continue;
    parts.push(`${key}=${formatValue(value)}`);
  }
  return parts.join(' ');
}

/** `YYYY-MM-DD HH:MM:SS.mmm` of an epoch-ms time, local or UTC. */
export function formatTimestamp(ms: number, utc = false): string {
  const d = new Date(ms);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const [y, mo, da, h, mi, s] = utc
    ? [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()]
    : [d.getFullYear(), d.getMonth() + 1, d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds()];
  return `${p(y, 4)}-${p(mo)}-${p(da)} ${p(h)}:${p(mi)}:${p(s)}.${p(d.getMilliseconds(), 3)}`;
}

/**
 * One human-readable line (with its newline): `2024-05-01 12:00:00.123 WARN  message key=value ...`; an error's
 * stack follows on indented lines.
 */
export function formatPretty(record: LogRecord, options: PrettyOptions = {}): string {
  const [, name, colour] = levelBand(record.level);
  const level = options.color ? `${colour}${name.padEnd(5)}\x1b[0m` : name.padEnd(5);
  const time = formatTimestamp(typeof record.time === 'number' ? record.time : Date.now(), options.utc);
  let out = `${time} ${level} ${formatMessage(record)}\n`;
  const err = record['err'];
  if (typeof err === 'object' && err !== null && typeof (err as { stack?: unknown }).stack === 'string') {
    const stack = (err as { stack: string }).stack.split('\n').filter((l) => /^\s+at /.test(l)); // frames only
    if (stack.length > 0) out += `${stack.map((l) => `    ${l.trim()}`).join('\n')}\n`;
  }
  return out;
}

/** A pino JSON line in `format`: unchanged for `json`, else the pretty line (unparseable lines pass unchanged). */
export function renderLine(line: string, format: LogFormat, options: PrettyOptions = {}): string {
  if (format === 'json') return line;
  const record = parseRecord(line);
  return record ? formatPretty(record, options) : line;
}
