// What a config puts in the kernel (services, destinations) for reload diffs, and name lookup for drain/undrain.
import { realKey } from '../model/health';
import { ErrorCodes, LdirError } from '../errors';
import { canonicalAddress, serviceKeyOf } from '../ipvs/normalize';
import type { ServiceKey } from '../ipvs/types';
import type { Config, FallbackServer, RealServer, VirtualService } from '../model';
import { drainId, type DrainTarget } from './drain';
import { fallbackDestination, familyOfAddress, realDestination, serviceOf } from './translate';

/** One entry a config may put in the kernel, with the model objects it comes from. */
export interface ConfigTarget {
  readonly target: DrainTarget;
  readonly virtual: VirtualService;
  readonly real?: RealServer;
  readonly fallback?: FallbackServer;
}

/** Every service and destination a config may put in the kernel, by {@link drainId}. */
export type ConfigTargets = ReadonlyMap<string, ConfigTarget>;

/** The services and destinations (reals and fallback) of a config, by {@link drainId}. */
export function configTargets(config: Config): ConfigTargets {
  const out = new Map<string, ConfigTarget>();
  for (const v of config.virtualServices) {
    const service: ServiceKey = serviceKeyOf(serviceOf(v));
    const add = (t: ConfigTarget): void => {
      const id = drainId(t.target);
      if (!out.has(id)) out.set(id, t);
    };
    add({ target: { kind: 'service', service }, virtual: v });
    for (const r of v.reals) {
      const d = realDestination(v, r, r.weight);
      add({
        target: { kind: 'destination', service, destination: { address: d.address, port: d.port, family: d.family } },
        virtual: v,
        real: r,
      });
    }
    if (v.fallback) {
      const d = fallbackDestination(v, v.fallback);
      add({
        target: { kind: 'destination', service, destination: { address: d.address, port: d.port, family: d.family } },
        virtual: v,
        fallback: v.fallback,
      });
    }
  }
  return out;
}

/**
 * What going from `before` to `after` removes: whole services that are gone, and destinations that are gone from
 * services that stay (the destinations of a service that goes go with it).
 */
export function removedTargets(before: ConfigTargets, after: ConfigTargets): ConfigTarget[] {
  const removed: ConfigTarget[] = [];
  for (const [id, t] of before) {
    if (after.has(id)) continue;
    if (t.target.kind === 'service') removed.push(t);
    else if (after.has(drainId({ kind: 'service', service: t.target.service }))) removed.push(t);
  }
  return removed;
}

/** `proto:addr:port` with a canonical address, or the text unchanged when it is not of that form. */
function canonicalVirtualText(text: string): string {
  const m = /^(tcp|udp|sctp):(?:\[([^\]]+)\]|([^:]+)):(\d+)$/i.exec(text.trim());
  if (!m) return text.trim().toLowerCase();
  const v6 = m[2];
  const address = v6 !== undefined ? canonicalAddress(v6, 'inet6') : canonicalAddress(m[3] ?? '', 'inet');
  return `${(m[1] ?? '').toLowerCase()}:${v6 !== undefined ? `[${address}]` : address}:${Number(m[4])}`;
}

/** Address and optional port of a real server named as `addr`, `addr:port`, `[v6]`, `[v6]:port` or a bare IPv6. */
function parseRealText(text: string): { address: string; port?: number } | undefined {
  const t = text.trim();
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(t);
  if (bracket)
    return {
      address: canonicalAddress(bracket[1] ?? '', 'inet6'),
      ...(bracket[2] !== undefined ? { port: Number(bracket[2]) } : {}),
    };
  if ((t.match(/:/g) ?? []).length > 1) return { address: canonicalAddress(t, 'inet6') };
  const v4 = /^([^:]+)(?::(\d+))?$/.exec(t);
  if (!v4) return undefined;
  return { address: canonicalAddress(v4[1] ?? '', 'inet'), ...(v4[2] !== undefined ? { port: Number(v4[2]) } : {}) };
}

/**
 * Finds the (virtual, real) pair an operator names, as `ldir drain VIRTUAL REAL` does: the virtual by id (address
 * spelling free; `VIP:PORT` without protocol when only one of tcp/udp/sctp has it), the real as `ADDRESS[:PORT]` (the port may be left out when the address is unique in the virtual).
 * Throws LDIR_ERR_UNKNOWN_TARGET when nothing or more than one real matches.
 */
export function resolvePair(
  config: Config,
  virtualText: string,
  realText: string,
): { virtual: VirtualService; realKey: string } {
  const wanted = canonicalVirtualText(virtualText);
  let virtual =
    config.virtualServices.find((v) => v.id === virtualText) ??
    config.virtualServices.find((v) => canonicalVirtualText(v.id) === wanted);
  if (!virtual && !/^(tcp|udp|sctp|fwm6?):/i.test(virtualText.trim())) {
    // `VIP:PORT` without a protocol, as operators write it: the one TCP, UDP or SCTP virtual service with that address.
    const candidates = ['tcp', 'udp', 'sctp']
      .map((p) => canonicalVirtualText(`${p}:${virtualText.trim()}`))
      .flatMap((c) => config.virtualServices.filter((v) => canonicalVirtualText(v.id) === c));
    if (candidates.length > 1) {
      const say = candidates.map((v) => `${v.protocol}:${virtualText}`).join(' or ');
      throw new LdirError(ErrorCodes.UNKNOWN_TARGET, `${virtualText} is ambiguous: say ${say}`, {
        details: { virtual: virtualText },
      });
    }
    virtual = candidates[0];
  }
  if (!virtual)
    throw new LdirError(ErrorCodes.UNKNOWN_TARGET, `no virtual service ${virtualText} in the running configuration`, {
      details: { virtual: virtualText },
    });
  const exact = virtual.reals.find((r) => realKey(r.address, r.port) === realText);
  if (exact) return { virtual, realKey: realKey(exact.address, exact.port) };
  const parsed = parseRealText(realText);
  const matches =
    parsed === undefined
      ? []
      : virtual.reals.filter((r) => {
          const address = canonicalAddress(r.address, familyOfAddress(r.address));
          return address === parsed.address && (parsed.port === undefined || parsed.port === r.port);
        });
  const [only] = matches;
  if (only === undefined || matches.length > 1) {
    const why = matches.length > 1 ? 'is ambiguous (give the port)' : 'is not a real server of it';
    throw new LdirError(ErrorCodes.UNKNOWN_TARGET, `${realText} ${why}: virtual service ${virtual.id}`, {
      details: { virtual: virtual.id, real: realText },
    });
  }
  return { virtual, realKey: realKey(only.address, only.port) };
}
