// Parses the text of a `real=` line (before name resolution) with ldirectord's grammar and its quirks.
import type { ForwardMethod, TunnelFlags } from '../model';
import { FORWARD_METHODS } from '../model';
import { fail, ok, type ValueResult } from './cf-values';
import { readTunnelFlags, readTunnelPort } from './directives-tunnel';
import { listWords } from './strict-subject';

/** A real server line as written: hosts and port still unresolved. */
export interface RealLine {
  /** First host: dotted IPv4, host name or `[IPv6]`. */
  readonly host: string;
  /** Last host of a `first->last` range. */
  readonly rangeEnd?: string;
  /** Port number or service name; undefined when omitted. */
  readonly port?: string;
  readonly forward: ForwardMethod;
  /** Weight; undefined when omitted (default 1). */
  readonly weight?: number;
  readonly request?: string;
  readonly receive?: string;
  readonly lowerThreshold?: number;
  readonly upperThreshold?: number;
  /** This real's GUE port (`tunnelport=N` at the end of the line; an ldir extension), overriding the virtual's. */
  readonly tunnelPort?: number;
  /** This real's tunnel checksums (`tunnelflags=WORD` at the end of the line; an ldir extension), overriding the virtual's. */
  readonly tunnelFlags?: TunnelFlags;
}

/** Longest real/fallback value read: ldirectord's unanchored regexes take quadratic time on huge lines. */
export const MAX_SERVER_LINE = 4096;

/** ldirectord's real server regex (unanchored at the start, as in `_ld_read_config_real_resolve`). */
const REAL_RE =
  /(\d+\.\d+\.\d+\.\d+|[A-Za-z0-9.-]+|\[[0-9A-fa-f:]+\])(->(\d+\.\d+\.\d+\.\d+|[A-Za-z0-9.-]+|\[[0-9A-fa-f:]+\]))?(:(\d+|[A-Za-z0-9-_]+))?\s+(.*)/;
const FORWARD_RE = /(\w+)(.*)/;
const WEIGHT_RE = /\s+(\d+)(.*)/;
const CHECK_PAIR_RE = /\s+"(.*)"[, ]\s*"(.*)"(.*)/;
const LOWER_RE = /\s+l:(\d+)(.*)/;
const UPPER_RE = /\s+u:(\d+)(.*)/;
/** One of ldir's per-real tunnel options, which end a real line: `tunnelport=N`, `tunnelflags=WORD`, in any order. */
const TUNNEL_OPTION_RE = /^tunnel(port|flags)=(\S*)$/;

/** Adds a leading `/` to a request that lacks one (as ldirectord does for per-real and virtual requests). */
export function normalizeRequest(request: string): string {
  return request.startsWith('/') ? request : `/${request}`;
}

/**
 * Splits the tunnel options off the end of a real line: the words after the last one that is not an option (a word
 * by word walk from the end). A line without them is left as it is, trailing white space included.
 */
function splitTunnelOptions(line: string): { readonly text: string; readonly options: readonly string[] } {
  let text = line.trimEnd();
  const options: string[] = [];
  for (;;) {
    const cut = Math.max(text.lastIndexOf(' '), text.lastIndexOf('\t'));
    const word = text.slice(cut + 1);
    if (cut < 0 || !TUNNEL_OPTION_RE.test(word))
      return options.length === 0 ? { text: line, options } : { text, options: options.reverse() };
    options.push(word);
    text = text.slice(0, cut).trimEnd();
  }
}

/** The tunnel options ending a real line (`tunnelport=N`, `tunnelflags=WORD`), each at most once. */
function parseTunnelOptions(words: readonly string[]): ValueResult<Pick<RealLine, 'tunnelPort' | 'tunnelFlags'>> {
  let tunnelPort: number | undefined;
  let tunnelFlags: TunnelFlags | undefined;
  for (const [, name, value] of words.map((w) => TUNNEL_OPTION_RE.exec(w) as RegExpExecArray)) {
    if ((name === 'port' ? tunnelPort : tunnelFlags) !== undefined)
      return fail(`tunnel${name}= is given twice on the real server line`);
    const read = name === 'port' ? readTunnelPort(value as string) : readTunnelFlags(value as string);
    if (!read.ok) return read;
    if (name === 'port') tunnelPort = read.value as number;
    else tunnelFlags = read.value as TunnelFlags;
  }
  return ok({
    ...(tunnelPort !== undefined ? { tunnelPort } : {}),
    ...(tunnelFlags !== undefined ? { tunnelFlags } : {}),
  });
}

/**
 * Parses `real=` text: `host[->host][:port] gate|masq|ipip|gue|gre [weight] ["request","receive"] [l:N] [u:N]`
 * `[tunnelport=N] [tunnelflags=WORD]` (the last two are ldir's and end the line).
 * Text that ldirectord's unanchored regexes skip is returned in `ignored` (the caller warns about it).
 */
export function parseRealLine(line: string): ValueResult<RealLine> {
  if (line.length > MAX_SERVER_LINE) return fail(`real server line is longer than ${MAX_SERVER_LINE} characters`);
  const { text, options } = splitTunnelOptions(line);
  if (/\stunnel(port|flags)=/.test(text))
    return fail('tunnelport= and tunnelflags= go at the end of a real server line, after the thresholds');
  const tunnel = parseTunnelOptions(options);
  if (!tunnel.ok) return tunnel;
  const m = REAL_RE.exec(text);
  if (!m) return fail(`invalid address for real server (wrong format): "${text}"`);
  const ignored: string[] = [];
  if (m.index > 0) ignored.push(text.slice(0, m.index));
  let flags = m[6] as string;
  const fm = FORWARD_RE.exec(flags);
  const forward = fm?.[1] as ForwardMethod | undefined;
  if (!fm || forward === undefined || !FORWARD_METHODS.includes(forward)) {
    return fail(`forward method must be ${listWords(FORWARD_METHODS, 'or')}, not "${flags.trim()}"`);
  }
  if (fm.index > 0) ignored.push(flags.slice(0, fm.index));
  flags = fm[2] as string;

  const take = (re: RegExp): RegExpExecArray | undefined => {
    const r = re.exec(flags);
    if (!r) return undefined;
    if (r.index > 0) ignored.push(flags.slice(0, r.index));
    return r;
  };
  let weight: number | undefined;
  const wm = take(WEIGHT_RE);
  if (wm) {
    weight = Number(wm[1]);
    flags = wm[2] as string;
  }
  let request: string | undefined;
  let receive: string | undefined;
  const cm = take(CHECK_PAIR_RE);
  if (cm) {
    request = normalizeRequest(cm[1] as string);
    receive = cm[2] as string;
    flags = cm[3] as string;
  }
  let lowerThreshold: number | undefined;
  const lm = take(LOWER_RE);
  if (lm) {
    lowerThreshold = Number(lm[1]);
    flags = lm[2] as string;
  }
  let upperThreshold: number | undefined;
  const um = take(UPPER_RE);
  if (um) {
    upperThreshold = Number(um[1]);
    flags = um[2] as string;
  }
  if (/\S/.test(flags)) return fail(`invalid real server line, around "${flags.trim()}"`);
  if (weight !== undefined && !Number.isSafeInteger(weight)) return fail(`real server weight is too large: ${wm?.[1]}`);
  const real: RealLine = {
    host: m[1] as string,
    ...(m[3] !== undefined ? { rangeEnd: m[3] } : {}),
    ...(m[5] !== undefined ? { port: m[5] } : {}),
    forward,
    ...(weight !== undefined ? { weight } : {}),
    ...(request !== undefined ? { request, receive: receive as string } : {}),
    ...(lowerThreshold !== undefined ? { lowerThreshold } : {}),
    ...(upperThreshold !== undefined ? { upperThreshold } : {}),
    ...tunnel.value,
  };
  return ok(
    real,
    ignored
      .map((s) => s.trim())
      .filter((s) => s !== '')
      .join(' '),
  );
}

/** Writes a {@link RealLine} back in ldirectord syntax (canonical token order). */
export function formatRealLine(r: RealLine): string {
  let s = r.host;
  if (r.rangeEnd !== undefined) s += `->${r.rangeEnd}`;
  if (r.port !== undefined) s += `:${r.port}`;
  s += ` ${r.forward}`;
  if (r.weight !== undefined) s += ` ${r.weight}`;
  if (r.request !== undefined) s += ` "${r.request}","${r.receive ?? ''}"`;
  if (r.lowerThreshold !== undefined) s += ` l:${r.lowerThreshold}`;
  if (r.upperThreshold !== undefined) s += ` u:${r.upperThreshold}`;
  if (r.tunnelPort !== undefined) s += ` tunnelport=${r.tunnelPort}`;
  if (r.tunnelFlags !== undefined) s += ` tunnelflags=${r.tunnelFlags}`;
  return s;
}
