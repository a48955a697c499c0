// Directives valid both globally and inside a virtual section, read as ldirectord reads them.
import type { DaemonState } from '../model';
import { DAEMON_STATES } from '../model';
import type { DiagnosticSink } from './diagnostics';
import type { RawDirective } from './document';
import {
  beyondTimer,
  readInteger,
  readOptionallyQuoted,
  readSeconds,
  readYesNo,
  valueText,
  type ValueResult,
} from './cf-values';
import { isSecretDirective } from './secret-directives';
import type { SharedSettings } from './settings';

/** What a directive handler may use besides its own value. */
export interface DirectiveContext {
  readonly sink: DiagnosticSink;
  /** Host name used in ldirectord's ftp/sip defaults (`$HOSTNAME` or uname). */
  readonly hostname: string;
  /** Why `path` cannot be opened for appending, or undefined (ldirectord opens logfile and monitorfile at parse time). */
  readonly appendProblem: (path: string) => string | undefined;
  /** True when `path` is an existing directory. */
  readonly isDirectory: (path: string) => boolean;
  /** The text of a file the configuration names (`tlscafile`); throws when it cannot be read. */
  readonly readText: (path: string) => string;
  /** ldirectord's `-d`: the log file is not test-opened. */
  readonly debug?: boolean;
}

/** Warns that only `used` of the value was read (ldirectord's unanchored patterns skip the rest). */
export function warnIfPartial(
  d: { key: string; value: string | undefined; pos: import('../model').SourcePos },
  used: string,
  ctx: DirectiveContext,
): void {
  const text = (d.value ?? '').trim();
  if (text !== used)
    ctx.sink.warn('ignored-text', d.pos, `${d.key}: "${text}" is read as "${used}", as ldirectord does`, d.key);
}

/**
 * Warns when a pattern of `what` (`receive`, `receivenot`: Perl regular expressions for ldirectord) is not a JavaScript
 * one: the checks then match it as plain text.
 */
export function warnIfNotJsRegExp(d: RawDirective, what: string, pattern: string, ctx: DirectiveContext): void {
  if (pattern === '') return;
  try {
    new RegExp(pattern);
  } catch (err) {
    ctx.sink.warn(
      'ignored-setting',
      d.pos,
      `${what} pattern "${pattern}" is not a JavaScript regular expression (${(err as Error).message.replace(/^Invalid regular expression: /, '')}): it will be matched as plain text`,
      d.key,
    );
  }
}

/** Handles one directive, updating `state`. */
export type DirectiveHandler<S> = (d: RawDirective, state: S, ctx: DirectiveContext) => void;

/** Reports a failed value as an error, or warns about ignored text; returns the value when there is one. */
export function accept<T>(d: RawDirective, r: ValueResult<T>, ctx: DirectiveContext): T | undefined {
  if (!r.ok) {
    ctx.sink.error('invalid-value', d.pos, r.message, d.key);
    return undefined;
  }
  if (r.ignored) {
    // Text around a credential is not quoted back: it may be the rest of a mistyped secret.
    const what = isSecretDirective(d.key) ? 'the text after the value (not shown)' : `text "${r.ignored}"`;
    ctx.sink.warn('ignored-text', d.pos, `${d.key}: ${what} is ignored (as ldirectord does)`, d.key);
  }
  return r.value;
}

/** Parses `emailalertstatus`: comma list of all, none, starting, running, stopping, reloading. */
export function parseEmailAlertStatus(text: string): ValueResult<DaemonState[]> {
  if (text === '') return { ok: true, value: [] }; // Perl's split of an empty string is an empty list: no states
  const words = text.split(/\s*,\s*/);
  while (words.length > 1 && words[words.length - 1] === '') words.pop(); // Perl's split drops trailing empty fields
  const hasNone = words.includes('none');
  const states = new Set<DaemonState>();
  for (const w of words) {
    if (w === 'none') continue;
    if (w === 'all') {
      for (const s of DAEMON_STATES) states.add(s);
    } else if ((DAEMON_STATES as readonly string[]).includes(w)) {
      states.add(w as DaemonState);
    } else {
      return {
        ok: false,
        message: `invalid email alert status: "${w}" (use all, none, starting, running, stopping, reloading)`,
      };
    }
    if (hasNone) return { ok: false, message: `invalid email alert status: "${w}" specified with "none"` };
  }
  return { ok: true, value: DAEMON_STATES.filter((s) => states.has(s)) };
}

/** Reads an e-mail recipient list: enclosing quotes stripped, split on commas. */
function readEmailAlert(d: RawDirective): ValueResult<string[]> {
  let text = valueText(d);
  const q = /^"([^"]*)"$/.exec(text);
  if (q) text = q[1] as string;
  if (text === '') return { ok: false, message: 'no email address specified' };
  const addresses = text.split(/\s*,\s*/).filter((a) => a !== '');
  if (text.includes('"')) {
    return {
      ok: true,
      value: addresses,
      ignored: `the quotes are kept as part of the address (only a value that is entirely quoted loses them): ${text}`,
    };
  }
  return { ok: true, value: addresses };
}

/** Reads `smtp`: a host name; ldir also accepts `host:port` (an extension; ldirectord always uses port 25). */
function readSmtp(d: RawDirective): ValueResult<string> {
  const text = valueText(d);
  const withPort = /^([0-9A-Za-z._+-]+|\[[0-9A-Fa-f:]+\]):(\d{1,5})$/.exec(text);
  if (withPort && Number(withPort[2]) > 0 && Number(withPort[2]) < 65536) return { ok: true, value: text };
  const m = /^[0-9A-Za-z._+-]+/.exec(text);
  if (!m) return { ok: false, message: `invalid SMTP server address: "${text}"` };
  const rest = text.slice(m[0].length);
  return rest.trim() ? { ok: true, value: m[0], ignored: rest.trim() } : { ok: true, value: m[0] };
}

/** Positive integer directive writing `field`. */
function positive<K extends 'checkcount' | 'failurecount'>(field: K, what: string): DirectiveHandler<SharedSettings> {
  return (d, s, ctx) => {
    const v = accept(d, readInteger(d, what, true), ctx);
    if (v !== undefined) s[field] = v;
  };
}

/** Seconds directive writing `field` (decimals down to 0.1 s, see {@link readSeconds}). */
function seconds<K extends 'checktimeout' | 'negotiatetimeout'>(field: K): DirectiveHandler<SharedSettings> {
  return (d, s, ctx) => {
    const v = accept(d, readSeconds(d, field), ctx);
    if (v !== undefined) s[field] = v;
  };
}

/** Yes/no directive writing `field`. */
function yesNo<K extends 'quiescent' | 'cleanstop'>(field: K): DirectiveHandler<SharedSettings> {
  return (d, s, ctx) => {
    const v = accept(d, readYesNo(d), ctx);
    if (v !== undefined) s[field] = v;
  };
}

/** Directives accepted both globally and per virtual service. */
export const SHARED_DIRECTIVES: Readonly<Record<string, DirectiveHandler<SharedSettings>>> = {
  checktimeout: seconds('checktimeout'),
  negotiatetimeout: seconds('negotiatetimeout'),
  failurecount: positive('failurecount', 'failurecount'),
  checkcount: (d, s, ctx) => {
    const v = accept(d, readInteger(d, 'checkcount', true), ctx);
    if (v !== undefined) s.checkcount = v;
    ctx.sink.warn('deprecated', d.pos, "checkcount is deprecated and slated for removal, see 'failurecount'", d.key);
  },
  fallbackcommand: (d, s, ctx) => {
    const v = readOptionallyQuoted(d);
    if (v === '') ctx.sink.error('invalid-value', d.pos, 'invalid fallback command: empty', d.key);
    else s.fallbackcommand = v;
  },
  quiescent: yesNo('quiescent'),
  cleanstop: yesNo('cleanstop'),
  emailalert: (d, s, ctx) => {
    const v = accept(d, readEmailAlert(d), ctx);
    if (v !== undefined) s.emailalert = v;
  },
  emailalertfreq: (d, s, ctx) => {
    const m = /^\d+/.exec(valueText(d));
    if (!m) {
      ctx.sink.error('invalid-value', d.pos, `invalid email alert frequency: "${valueText(d)}"`, d.key);
      return;
    }
    const rest = valueText(d).slice(m[0].length);
    if (rest.trim())
      ctx.sink.warn('ignored-text', d.pos, `${d.key}: text "${rest.trim()}" is ignored (as ldirectord does)`, d.key);
    const tooLong = beyondTimer('emailalertfreq', Number(m[0]), valueText(d));
    if (tooLong !== undefined) {
      ctx.sink.error('invalid-value', d.pos, tooLong, d.key);
      return;
    }
    s.emailalertfreq = Number(m[0]);
  },
  emailalertstatus: (d, s, ctx) => {
    const v = accept(d, parseEmailAlertStatus(valueText(d)), ctx);
    if (v !== undefined) s.emailalertstatus = v;
  },
  smtp: (d, s, ctx) => {
    const v = accept(d, readSmtp(d), ctx);
    if (v !== undefined) s.smtp = v;
  },
};
