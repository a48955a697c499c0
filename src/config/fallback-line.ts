// Parses the text of a `fallback=` line (before name resolution) as ldirectord's parse_fallback does.
import type { ForwardMethod } from '../model';
import { FALLBACK_FORWARD_METHODS } from '../model';
import { fail, ok, type ValueResult } from './cf-values';
import { MAX_SERVER_LINE } from './real-line';

/** A fallback server as written. */
export interface FallbackLine {
  readonly host: string;
  /** Port number or service name; undefined = the virtual service's port. */
  readonly port?: string;
  /** Forwarding method; undefined = gate. */
  readonly forward?: ForwardMethod;
}

/**
 * Parses `host[:port|:service] [gate|masq|ipip]`; leading words ldirectord skips are reported in `ignored`.
 * An empty host is allowed: ldirectord's getaddrinfo("") gives the local host.
 */
export function parseFallbackLine(text: string): ValueResult<FallbackLine> {
  if (text.length > MAX_SERVER_LINE) return fail(`fallback line is longer than ${MAX_SERVER_LINE} characters`);
  // ldirectord's unanchored /(\S+)(\s+(\S+))?\s*$/ takes the last two words (or the only one); earlier words are
  // skipped. Splitting gives the same answer in linear time.
  const words = text
    .trim()
    .split(/\s+/)
    .filter((w) => w !== '');
  let hostPort = text;
  let forwardText: string | undefined;
  let ignored = '';
  if (words.length === 1) {
    hostPort = words[0] as string;
  } else if (words.length > 1) {
    hostPort = words[words.length - 2] as string;
    forwardText = words[words.length - 1];
    ignored = words.slice(0, -2).join(' ');
  }
  const pm = /(:(\d+|[A-Za-z0-9-_]+))?$/.exec(hostPort);
  const port = pm?.[2];
  const host = pm ? hostPort.slice(0, pm.index) : hostPort;
  let forward: ForwardMethod | undefined;
  if (forwardText) {
    if (!FALLBACK_FORWARD_METHODS.includes(forwardText as ForwardMethod)) {
      const tunnel = forwardText === 'gue' || forwardText === 'gre' ? ` (${forwardText} is for real servers only)` : '';
      return fail(`forward method must be gate, masq or ipip, not "${forwardText}"${tunnel}`);
    }
    forward = forwardText as ForwardMethod;
  }
  return ok({ host, ...(port !== undefined ? { port } : {}), ...(forward ? { forward } : {}) }, ignored);
}
