// One virtual service: its address, reals, fallback and settings resolved into a VirtualService.
import type { AddressFamily, AlertSpec, FallbackServer, VirtualService } from '../model';
import { DAEMON_STATES } from '../model';
import { flatString } from '../model/flat-string';
import { DEFAULTS } from './defaults';
import { alertExtras } from './directives-alerts';
import { virtualAnnounce } from './directives-announce';
import { servicePort } from './resolver';
import { checkVirtualStrictly } from './strict';
import type { GlobalDraft, VirtualDraft } from './settings';

import type { BuildContext } from './build-context';
import { dedupeReals, resolveReal } from './build-reals';
import { resolveFallback } from './build-fallbacks';
import { checkSpec, checkWeightSettings } from './build-check';
import { quorumSettings } from './build-quorum';

/** Identity of a virtual service as ldirectord builds it (`get_virtual_id_str`). */
export function virtualId(
  protocol: string,
  family: AddressFamily,
  address: string | undefined,
  port: number,
  mark: number | undefined,
): string {
  if (protocol === 'fwm') return flatString(`fwm${family === 'inet6' ? '6' : ''}:${mark}`);
  return flatString(`${protocol}:${family === 'inet6' ? `[${address}]` : address}:${port}`);
}

/** Mail settings of a virtual: its own values, else the global ones. */
function alertSpec(v: VirtualDraft, g: GlobalDraft): AlertSpec {
  const smtp = v.smtp ?? g.smtp;
  return {
    emailAlert: v.emailalert ?? g.emailalert ?? [],
    ...(g.emailalertfrom !== undefined ? { emailAlertFrom: g.emailalertfrom } : {}),
    emailAlertFreq: v.emailalertfreq ?? g.emailalertfreq ?? DEFAULTS.emailAlertFreq,
    emailAlertStatus: v.emailalertstatus ?? g.emailalertstatus ?? [...DAEMON_STATES],
    ...(smtp !== undefined ? { smtp } : {}),
    ...alertExtras(v, g),
  };
}
/** Resolves a virtual draft into a VirtualService, or undefined when it has errors. */
export async function buildVirtual(
  v: VirtualDraft,
  g: GlobalDraft,
  globalFallbacks: Map<string, FallbackServer | undefined>,
  ctx: BuildContext,
  budget: { left: number },
): Promise<VirtualService | undefined> {
  const a = v.address;
  if (a === undefined) return undefined;
  let address: string | undefined;
  let port = 0;
  let bad = false;
  if (a.kind === 'address') {
    address = await ctx.resolver.resolveHost(a.host, v.family);
    const p = servicePort(ctx.resolver, a.port, v.protocol === 'fwm' ? 'tcp' : v.protocol);
    if (address === undefined) {
      ctx.sink.error(
        'unresolvable',
        v.pos,
        `invalid address for virtual service: could not resolve ${a.host} as ${v.family === 'inet' ? 'IPv4' : 'IPv6'}`,
        v.family === 'inet' ? 'virtual' : 'virtual6',
      );
      bad = true;
    } else if (p === undefined) {
      ctx.sink.error(
        'unresolvable',
        v.pos,
        `invalid address for virtual service: unknown port or service "${a.port}" for ${v.protocol}`,
        v.family === 'inet' ? 'virtual' : 'virtual6',
      );
      bad = true;
    } else {
      port = p;
    }
  }
  const fallbackPromise = v.fallback
    ? resolveFallback(v.fallback, v.family, v.protocol, port, ctx)
    : Promise.resolve(undefined);
  const realLists = await Promise.all(v.reals.map((r) => resolveReal(r, v, ctx, budget)));
  const ownFallback = await fallbackPromise;
  if (bad || (v.fallback && !ownFallback)) return undefined;
  let fallback = ownFallback;
  if (!fallback && v.protocol !== 'fwm') {
    const global = globalFallbacks.get(`${v.family}/${v.protocol}`);
    if (global) fallback = global.port === 0 ? { ...global, port } : global;
  }
  const fallbackCommand = v.fallbackcommand ?? g.fallbackcommand;
  const quiescent = v.quiescent ?? g.quiescent ?? DEFAULTS.quiescent;
  const cleanstop = v.cleanstop ?? g.cleanstop ?? DEFAULTS.cleanstop;
  const reals = dedupeReals(realLists.flat(), ctx);
  const quorum = quorumSettings(v, g, reals.length, ctx);
  if (quorum === null) return undefined;
  const check = checkSpec(v, g, port, ctx.hostname);
  const checkWeight = checkWeightSettings(v, g, check, ctx);
  if (checkWeight === null) return undefined;
  const announce = virtualAnnounce(v, g, address !== undefined && a.kind !== 'fwmark', ctx.sink);
  if (announce === null) return undefined;
  const vs: VirtualService = {
    id: virtualId(v.protocol, v.family, address, port, a.kind === 'fwmark' ? a.mark : undefined),
    family: v.family,
    protocol: v.protocol,
    ...(address !== undefined ? { address } : {}),
    port,
    ...(a.kind === 'fwmark' ? { fwmark: a.mark } : {}),
    scheduler: v.scheduler,
    ...(v.schedflags !== undefined ? { schedFlags: v.schedflags } : {}),
    ...(v.persistent !== undefined ? { persistent: v.persistent } : {}),
    ...(v.netmask !== undefined ? { netmask: v.netmask } : {}),
    ...(v.persistenceengine !== undefined ? { persistenceEngine: v.persistenceengine } : {}),
    ops: v.ops,
    reals,
    ...(fallback ? { fallback } : {}),
    ...(fallbackCommand !== undefined ? { fallbackCommand } : {}),
    ...(quorum !== undefined ? { quorum } : {}),
    ...(checkWeight !== undefined ? { checkWeight } : {}),
    ...((v.slowstart ?? g.slowstart ?? 0) > 0 ? { slowStart: v.slowstart ?? g.slowstart } : {}),
    ...(announce !== undefined ? { announce } : {}),
    check,
    quiescent,
    cleanstop,
    alerts: alertSpec(v, g),
    ...(v.monitorfile !== undefined ? { monitorFile: v.monitorfile } : {}),
    ...(v.servicename !== undefined ? { serviceName: v.servicename } : {}),
    ...(v.comment !== undefined ? { comment: v.comment } : {}),
    source: v.pos,
  };
  checkVirtualStrictly({ draft: v, virtual: vs }, ctx.sink);
  return vs;
}
