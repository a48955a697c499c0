// Parses the text of a `fallback=` line (before name resolution) as ldirectord's parse_fallback does.
import type { ForwardMethod } from '../model';
import { FORWARD_METHODS } from '../model';
import { fail, ok, type ValueResult } from './cf-values';

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
  let hostPort = text;
  let forwardText: string | undefined;
  let ignored = '';
  const m = /(\S+)(\s+(\S+))?\s*$/.exec(text);
  if (m) {
    forwardText = m[3];
    hostPort = m[1] as string;
    ignored = text.slice(0, m.index);
  }
  const pm = /(:(\d+|[A-Za-z0-9-_]+))?$/.exec(hostPort);
  const port = pm?.[2];
  const host = pm ? hostPort.slice(0, pm.index) : hostPort;
  let forward: ForwardMethod | undefined;
  if (forwardText) {
    if (!FORWARD_METHODS.includes(forwardText as ForwardMethod)) {
      return fail(`forward method must be gate, masq or ipip, not "${forwardText}"`);
    }
    forward = forwardText as ForwardMethod;
  }
  return ok({ host, ...(port !== undefined ? { port } : {}), ...(forward ? { forward } : {}) }, ignored);
}

/** Writes a {@link FallbackLine} back in ldirectord syntax. */
export function formatFallbackLine(f: FallbackLine): string {
  return `${f.host}${f.port !== undefined ? `:${f.port}` : ''}${f.forward ? ` ${f.forward}` : ''}`;
}
