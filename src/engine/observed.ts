// Lookup of a kernel dump by service id and destination id, normalized the way plan() normalizes.
import { destinationKeyString, normalizeDestination, normalizeService, serviceKeyString } from '../ipvs/normalize';
import type { IpvsService, ObservedDestination, ObservedService } from '../ipvs/types';

/** One service of a kernel dump, normalized, with its destinations by destination id. */
export interface ObservedEntry {
  readonly service: IpvsService;
  readonly destinations: ReadonlyMap<string, ObservedDestination>;
}

/** The kernel table by service id, destinations by destination id, all normalized as plan() needs them (first of a repeated key wins). */
export function indexObserved(observed: readonly ObservedService[]): Map<string, ObservedEntry> {
  const index = new Map<string, ObservedEntry>();
  for (const o of observed) {
    const service = normalizeService(o.service);
    const id = serviceKeyString(service);
    if (index.has(id)) continue;
    const destinations = new Map<string, ObservedDestination>();
    for (const d of o.destinations) {
      // The settings exactly as plan() compares them (no field the kernel reports that the settings leave out), then
      // what the kernel counts.
      const normalized: ObservedDestination = {
        ...normalizeDestination(d, service.family), activeConns: d.activeConns, inactiveConns: d.inactiveConns,
        persistentConns: d.persistentConns, ...(d.stats !== undefined ? { stats: d.stats } : {}),
      };
      const did = destinationKeyString(normalized);
      if (!destinations.has(did)) destinations.set(did, normalized);
    }
    index.set(id, { service, destinations });
  }
  return index;
}
