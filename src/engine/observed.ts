// Lookup of a kernel dump by service id and destination id, normalized the way plan() normalizes.
import {
  destinationKeyString,
  normalizeDestination,
  normalizeObservedDestination,
  normalizeService,
  serviceKeyOf,
  serviceKeyString,
} from '../ipvs/normalize';
import type { IpvsOp, IpvsService, IpvsStats, ObservedDestination, ObservedService } from '../ipvs/types';

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
      const normalized = normalizeObservedDestination(d, service.family);
      const did = destinationKeyString(normalized);
      if (!destinations.has(did)) destinations.set(did, normalized);
    }
    index.set(id, { service, destinations });
  }
  return index;
}

const NO_STATS: IpvsStats = {
  conns: 0n,
  inPackets: 0n,
  outPackets: 0n,
  inBytes: 0n,
  outBytes: 0n,
  cps: 0n,
  inPps: 0n,
  outPps: 0n,
  inBps: 0n,
  outBps: 0n,
};

/**
 * The index after `ops`, every one of them done: what the kernel would list (settings as the operations set them,
 * normalized as {@link indexObserved} does; an edited destination keeps its counters, a new one starts at zero). A
 * table pass whose operations all succeeded uses it instead of listing the kernel again; `index` is not changed.
 */
export function afterOps(
  index: ReadonlyMap<string, ObservedEntry>,
  ops: readonly IpvsOp[],
): Map<string, ObservedEntry> {
  const out = new Map(index);
  // Each service's destinations are copied once, at its first operation: a copy per operation made a pass that
  // writes k weights of one service O(k × its destinations).
  const copied = new Map<string, Map<string, ObservedDestination>>();
  const writable = (id: string, entry: ObservedEntry): Map<string, ObservedDestination> => {
    let destinations = copied.get(id);
    if (destinations === undefined || entry.destinations !== destinations) {
      destinations = new Map(entry.destinations);
      copied.set(id, destinations);
      out.set(id, { service: entry.service, destinations });
    }
    return destinations;
  };
  for (const op of ops) {
    const id = serviceKeyString(serviceKeyOf(op.service));
    const entry = out.get(id);
    switch (op.op) {
      case 'add-service':
        out.set(id, { service: normalizeService(op.service), destinations: new Map() });
        break;
      case 'edit-service':
        if (entry) out.set(id, { service: normalizeService(op.service), destinations: entry.destinations });
        break;
      case 'delete-service':
        out.delete(id);
        break;
      case 'add-destination':
      case 'edit-destination': {
        if (!entry) break;
        const spec = normalizeDestination(op.destination, entry.service.family);
        const did = destinationKeyString(spec);
        const was = op.op === 'edit-destination' ? entry.destinations.get(did) : undefined;
        writable(id, entry).set(did, {
          ...spec,
          activeConns: was?.activeConns ?? 0,
          inactiveConns: was?.inactiveConns ?? 0,
          persistentConns: was?.persistentConns ?? 0,
          stats: was?.stats ?? NO_STATS,
        });
        break;
      }
      case 'delete-destination': {
        if (!entry) break;
        writable(id, entry).delete(destinationKeyString(op.destination));
        break;
      }
    }
  }
  return out;
}

/** The kernel table as the engine last knew it: the last dump's index plus the operations done since. */
export class KnownTable {
  /** The table by service id ({@link indexObserved}). */
  index: ReadonlyMap<string, ObservedEntry> = new Map();
  /**
   * The index is the kernel table as the last dump showed it plus the operations done since (all of them done): a
   * health pass may plan from it without listing the kernel. False after a failed listing or write.
   */
  current = false;
  /** Epoch milliseconds of the last dump; null before the first. */
  listedAt: number | null = null;

  /** Takes a dump listed at `at` (epoch ms): indexes it, once, and returns the index. */
  listed(dump: readonly ObservedService[], at: number): Map<string, ObservedEntry> {
    const index = indexObserved(dump);
    this.index = index;
    this.current = true;
    this.listedAt = at;
    return index;
  }
}
