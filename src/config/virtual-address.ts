// Parses the value of `virtual=` / `virtual6=` (before name resolution) with ldirectord's patterns.
import { isIPv6 } from 'node:net';
import { fail, ok, type ValueResult } from './cf-values';

/** A virtual service address as written. */
export type VirtualAddress =
  | { readonly kind: 'address'; readonly host: string; readonly port: string }
  | { readonly kind: 'fwmark'; readonly mark: number };

/**
 * Parses `ip:port`, `host:port` (port may be a service name), `[ipv6]:port` (virtual6 only) or a firewall mark.
 * Like ldirectord the patterns are anchored only at the start: trailing text is reported in `ignored`.
 */
export function parseVirtualAddress(text: string, v6: boolean): ValueResult<VirtualAddress> {
  let m: RegExpExecArray | null;
  if (!v6 && (m = /^(\d+\.\d+\.\d+\.\d+):([0-9A-Za-z-_]+)/.exec(text))) {
    return ok({ kind: 'address', host: m[1] as string, port: m[2] as string }, text.slice(m[0].length));
  }
  if ((m = /^([0-9A-Za-z._+-]+):([0-9A-Za-z-_]+)/.exec(text))) {
    return ok({ kind: 'address', host: m[1] as string, port: m[2] as string }, text.slice(m[0].length));
  }
  if ((m = /^(\d+)/.exec(text))) {
    const mark = Number(m[1]);
    if (!Number.isSafeInteger(mark) || mark > 0xffffffff) return fail(`firewall mark out of range: ${m[1]}`);
    return ok({ kind: 'fwmark', mark }, text.slice(m[0].length));
  }
  if ((m = /^\[([0-9A-Fa-f:]+)\]:([0-9A-Za-z-_]+)/.exec(text))) {
    if (!v6) return fail('cannot specify an IPv6 address here, please use "virtual6" instead');
    if (!isIPv6(m[1] as string)) return fail(`invalid IPv6 address for virtual server: ${m[1]}`);
    return ok({ kind: 'address', host: `[${m[1]}]`, port: m[2] as string }, text.slice(m[0].length));
  }
  return fail(`invalid address for virtual server: "${text}"`);
}
