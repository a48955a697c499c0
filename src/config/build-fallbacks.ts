// Fallback servers: a virtual's own, and the global ones ldirectord keeps per protocol.
import type { AddressFamily, FallbackServer } from '../model';
import { servicePort } from './resolver';
import type { FallbackEntry, GlobalDraft } from './settings';

import type { BuildContext } from './build-context';

/** Resolves a fallback line; `defaultPort` is the virtual's port text (undefined for a global fallback). */
export async function resolveFallback(
  entry: FallbackEntry,
  family: AddressFamily,
  protocol: 'tcp' | 'udp' | 'sctp' | 'fwm',
  defaultPort: number,
  ctx: BuildContext,
): Promise<FallbackServer | undefined> {
  const empty = entry.line.host === '';
  if (empty) {
    ctx.sink.warn(
      'ignored-setting',
      entry.pos,
      `an empty fallback server means the local host (${family === 'inet' ? '127.0.0.1' : '::1'}), as getaddrinfo("") gives ldirectord`,
      'fallback',
    );
  }
  const address = empty
    ? family === 'inet'
      ? '127.0.0.1'
      : '::1'
    : await ctx.resolver.resolveHost(entry.line.host, family);
  if (address === undefined) {
    ctx.sink.error(
      'unresolvable',
      entry.pos,
      `invalid ${family === 'inet' ? 'IPv4' : 'IPv6'} address or could not resolve for fallback server: ${entry.line.host}`,
    );
    return undefined;
  }
  let port = defaultPort;
  if (entry.line.port !== undefined && entry.line.port !== '0' && entry.line.port !== '') {
    // ldirectord looks service names up for the virtual's protocol, so an fwmark virtual accepts numbers only.
    const p =
      protocol === 'fwm'
        ? /^\d+$/.test(entry.line.port)
          ? ctx.resolver.resolvePort(entry.line.port, '')
          : undefined
        : servicePort(ctx.resolver, entry.line.port, protocol);
    if (p === undefined) {
      ctx.sink.error('unresolvable', entry.pos, `invalid port for fallback server: ${entry.line.port}`);
      return undefined;
    }
    port = p;
  } else if (entry.line.port !== undefined) {
    port = 0;
  }
  return { address, port, forward: entry.line.forward ?? 'gate', source: entry.pos };
}

/**
 * Resolves the global fallbacks. ldirectord keeps one per protocol (tcp and udp) and resolves the port for both,
 * so a service name known only for tcp is an error there too.
 */
export async function globalFallbackTable(
  g: GlobalDraft,
  ctx: BuildContext,
): Promise<Map<string, FallbackServer | undefined>> {
  const table = new Map<string, FallbackServer | undefined>();
  for (const [entry, family] of [
    [g.fallback, 'inet'],
    [g.fallback6, 'inet6'],
  ] as const) {
    if (!entry) continue;
    const tcp = await resolveFallback(entry, family, 'tcp', 0, ctx);
    if (!tcp) continue;
    const port = entry.line.port;
    const noPort = port === undefined || port === '0' || port === '';
    const udpPort = noPort ? 0 : ctx.resolver.resolvePort(port, 'udp');
    if (udpPort === undefined) {
      ctx.sink.error(
        'unresolvable',
        entry.pos,
        `invalid port for fallback server: ${port} is not a udp service (ldirectord resolves a global fallback for tcp and udp)`,
      );
      continue;
    }
    table.set(`${family}/tcp`, tcp);
    table.set(`${family}/udp`, { ...tcp, port: udpPort });
    // SCTP virtual services (an ldir extension) take it too; a name is looked up for sctp, then tcp (servicePort).
    table.set(`${family}/sctp`, { ...tcp, port: noPort ? 0 : (servicePort(ctx.resolver, port, 'sctp') ?? tcp.port) });
  }
  return table;
}
