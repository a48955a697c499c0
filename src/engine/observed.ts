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
import type { SliceYielder } from '../system/slice-yielder';

/** One service of a kernel dump, normalized, with its destinations by destination id. */
export interface ObservedEntry {
  readonly service: IpvsService;
  readonly destinations: ReadonlyMap<string, ObservedDestination>;
}

/** What gives the event loop its turns: a {@link SliceYielder}, or a test's fake. */
type Yielder = Pick<SliceYielder, 'maybeYield'>;

/** The entry `o` starts in `index` (its destinations still to add), or undefined when its key is there already. */
function startEntry(
  index: Map<string, ObservedEntry>,
  o: ObservedService,
): { service: IpvsService; destinations: Map<string, ObservedDestination> } | undefined {
  const service = normalizeService(o.service);
  const id = serviceKeyString(service);
  if (index.has(id)) return undefined;
  const entry = { service, destinations: new Map<string, ObservedDestination>() };
  index.set(id, entry);
  return entry;
}

/** Adds destination `d` of a dump to its service's entry (normalized; the first of a repeated key wins). */
function addDestination(
  entry: { service: IpvsService; destinations: Map<string, ObservedDestination> },
  d: ObservedDestination,
): void {
  // The settings exactly as plan() compares them (no field the kernel reports that the settings leave out), then
  // what the kernel counts.
  const normalized = normalizeObservedDestination(d, entry.service.family);
  const did = destinationKeyString(normalized);
  if (!entry.destinations.has(did)) entry.destinations.set(did, normalized);
}

/** The kernel table by service id, destinations by destination id, all normalized as plan() needs them (first of a repeated key wins). */
export function indexObserved(observed: readonly ObservedService[]): Map<string, ObservedEntry> {
  const index = new Map<string, ObservedEntry>();
  for (const o of observed) {
    const entry = startEntry(index, o);
    if (entry) for (const d of o.destinations) addDestination(entry, d);
  }
  return index;
}

/** {@link indexObserved}, giving the event loop a turn when `yielder`'s slice is used up (between destinations). */
export async function indexObservedSliced(
  observed: readonly ObservedService[],
  yielder: Yielder,
): Promise<Map<string, ObservedEntry>> {
  const index = new Map<string, ObservedEntry>();
  for (const o of observed) {
    const entry = startEntry(index, o);
    if (!entry) continue;
    for (const d of o.destinations) {
      addDestination(entry, d);
      const turn = yielder.maybeYield();
      if (turn) await turn;
    }
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
  const copied = new Set<string>();
  for (const op of ops) applyOp(out, copied, op);
  return out;
}

/** {@link afterOps}, giving the event loop a turn when `yielder`'s slice is used up (between operations). */
export async function afterOpsSliced(
  index: ReadonlyMap<string, ObservedEntry>,
  ops: readonly IpvsOp[],
  yielder: Yielder,
): Promise<Map<string, ObservedEntry>> {
  const out = new Map(index);
  const copied = new Set<string>();
  for (const op of ops) {
    applyOp(out, copied, op);
    const turn = yielder.maybeYield();
    if (turn) await turn;
  }
  return out;
}

/**
 * One operation of {@link afterOps} on `out`. A service's destinations are copied once, at the first operation on
 * them (`copied`: the services whose map in `out` is its own already), never once per operation: the index given to
 * afterOps is not changed, and 1,000 edits in a service of 1,000 destinations copy it once, not 1,000 times.
 */
function applyOp(out: Map<string, ObservedEntry>, copied: Set<string>, op: IpvsOp): void {
  const id = serviceKeyString(serviceKeyOf(op.service));
  const entry = out.get(id);
  const ownDestinations = (e: ObservedEntry): Map<string, ObservedDestination> => {
    if (copied.has(id)) return e.destinations as Map<string, ObservedDestination>;
    copied.add(id);
    return new Map(e.destinations);
  };
  switch (op.op) {
    case 'add-service':
      out.set(id, { service: normalizeService(op.service), destinations: new Map() });
      copied.add(id);
      break;
    case 'edit-service':
      if (entry) out.set(id, { service: normalizeService(op.service), destinations: entry.destinations });
      break;
    case 'delete-service':
      out.delete(id);
      copied.delete(id);
      break;
    case 'add-destination':
    case 'edit-destination': {
      if (!entry) break;
      const spec = normalizeDestination(op.destination, entry.service.family);
      const did = destinationKeyString(spec);
      const was = op.op === 'edit-destination' ? entry.destinations.get(did) : undefined;
      const destinations = ownDestinations(entry);
      destinations.set(did, {
        ...spec,
        activeConns: was?.activeConns ?? 0,
        inactiveConns: was?.inactiveConns ?? 0,
        persistentConns: was?.persistentConns ?? 0,
        stats: was?.stats ?? NO_STATS,
      });
      out.set(id, { service: entry.service, destinations });
      break;
    }
    case 'delete-destination': {
      if (!entry) break;
      const destinations = ownDestinations(entry);
      destinations.delete(destinationKeyString(op.destination));
      out.set(id, { service: entry.service, destinations });
      break;
    }
  }
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
    return this.took(indexObserved(dump), at);
  }

  /** {@link listed}, the dump indexed in slices ({@link indexObservedSliced}). */
  async listedSliced(
    dump: readonly ObservedService[],
    at: number,
    yielder: Yielder,
  ): Promise<Map<string, ObservedEntry>> {
    return this.took(await indexObservedSliced(dump, yielder), at);
  }

  private took(index: Map<string, ObservedEntry>, at: number): Map<string, ObservedEntry> {
    this.index = index;
    this.current = true;
    this.listedAt = at;
    return index;
  }
}
