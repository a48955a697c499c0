// Pure diff of the desired IPVS table against the observed one: the minimal ordered list of kernel operations.
import { ErrorCodes, LdirError } from '../errors';
import {
  compareServiceKeys,
  destinationKeyString,
  normalizeDesired,
  sameDestinationSettings,
  sameServiceSettings,
  serviceKeyOf,
  serviceKeyString,
} from '../ipvs/normalize';
import type { DesiredService, IpvsDestination, IpvsOp, ObservedService, ServiceKey } from '../ipvs/types';
import { indexObserved, type ObservedEntry } from './observed';

/** Refuses a service desired twice, or a destination desired twice in it (decide() must never produce one). */
function assertUnique(id: string, destinations: readonly IpvsDestination[], seen: Set<string>): void {
  if (seen.has(id)) throw new LdirError(ErrorCodes.INTERNAL, `plan: service ${id} desired twice`);
  seen.add(id);
  const dests = new Set<string>();
  for (const d of destinations) {
    const did = destinationKeyString(d);
    if (dests.has(did)) throw new LdirError(ErrorCodes.INTERNAL, `plan: destination ${did} desired twice in ${id}`);
    dests.add(did);
  }
}

/** Operations that bring the destinations of one existing service (`byId`, by destination id) to `wanted`. */
function planDestinations(
  key: ServiceKey,
  wanted: readonly IpvsDestination[],
  byId: ReadonlyMap<string, IpvsDestination>,
): IpvsOp[] {
  const wantedIds = new Set<string>();
  const changes: IpvsOp[] = [];
  for (const destination of wanted) {
    const id = destinationKeyString(destination);
    wantedIds.add(id);
    const present = byId.get(id);
    if (present === undefined) {
      changes.push({ op: 'add-destination', service: key, destination });
    } else if (present.family !== destination.family) {
      changes.push(
        {
          op: 'delete-destination',
          service: key,
          destination: { address: present.address, port: present.port, family: present.family },
        },
        { op: 'add-destination', service: key, destination },
      );
    } else if (!sameDestinationSettings(destination, present)) {
      changes.push({ op: 'edit-destination', service: key, destination });
    }
  }
  const deletions: IpvsOp[] = [...byId]
    .filter(([id]) => !wantedIds.has(id))
    .map(([, d]) => ({
      op: 'delete-destination',
      service: key,
      destination: { address: d.address, port: d.port, family: d.family },
    }));
  return [...changes, ...deletions];
}

/**
 * The minimal ordered list of operations that turns the `observed` kernel table into the `desired` one, touching
 * only what ldir owns. Both tables are normalized first, so an unchanged table (whatever the order of destinations,
 * the flag order or the address spelling) plans to `[]`.
 *
 * Ownership: a desired service is always owned (desired wins), even when `owned(key)` says no for its key: its
 * settings and all its destinations are made to match, and destinations it does not desire are deleted. A service
 * present in the kernel but not desired is deleted only when `owned(key)` is true; otherwise it is never touched.
 *
 * Minimal: a service whose key is present but whose scheduler, flags, persistence, netmask or persistence engine
 * differ gets one `edit-service` (SET_SERVICE changes them all); a destination whose forwarding method, weight,
 * thresholds or tunnel settings differ gets one `edit-destination` (SET_DEST changes them all, forwarding method
 * included); only a destination whose address family changes is deleted and added again. A service that goes is
 * deleted with one `delete-service`: the kernel removes its destinations with it.
 *
 * Order (deterministic: services by key, destinations by family, address, port):
 * 1. for each desired service, in key order: its `add-service` or `edit-service`; then its destination adds and
 *    edits (a family change as delete immediately followed by add); then deletes of its unwanted destinations, so
 *    capacity never dips below what both the old and the new set provide;
 * 2. last, `delete-service` of each owned service that is no longer desired.
 *
 * Throws LDIR_ERR_INTERNAL when `desired` repeats a service key or a destination key within a service.
 */
export function plan(
  desired: readonly DesiredService[],
  observed: readonly ObservedService[],
  owned: (key: ServiceKey) => boolean,
): IpvsOp[] {
  return planFrom(normalizeDesired(desired), indexObserved(observed), owned);
}

/**
 * {@link plan} over inputs a table pass already has: `want` as {@link normalizeDesired} returns it, `have` as
 * {@link indexObserved} does (the observed side is only looked up by key, so it is normalized without sorting; first
 * entry of a key wins). Same contract and result as `plan(desired, observed, owned)`.
 */
export function planFrom(
  want: readonly DesiredService[],
  have: ReadonlyMap<string, ObservedEntry>,
  owned: (key: ServiceKey) => boolean,
): IpvsOp[] {
  const progress = planBegin();
  for (const wanted of want) planServiceInto(progress, wanted, have);
  return planEnd(progress, have, owned);
}

/**
 * What {@link planFrom} has planned so far, one desired service at a time: {@link planBegin}, then
 * {@link planServiceInto} for each service of `want` in order, then {@link planEnd}. A caller that gives the event
 * loop a turn between services (a table pass over a big table) gets exactly the operations `planFrom` returns.
 */
export interface PlanProgress {
  readonly ops: IpvsOp[];
  /** Ids of the desired services planned so far. */
  readonly wantedIds: Set<string>;
}

/** The start of {@link planFrom}: nothing planned yet. */
export function planBegin(): PlanProgress {
  return { ops: [], wantedIds: new Set() };
}

/**
 * Plans the next desired service of `want` (normalized) against `have` into `progress`. Throws LDIR_ERR_INTERNAL when
 * its key was planned before or it repeats a destination.
 */
export function planServiceInto(
  progress: PlanProgress,
  { service, destinations }: DesiredService,
  have: ReadonlyMap<string, ObservedEntry>,
): void {
  const { ops, wantedIds } = progress;
  const id = serviceKeyString(service);
  assertUnique(id, destinations, wantedIds);
  const key = serviceKeyOf(service);
  const present = have.get(id);
  if (present === undefined) {
    ops.push({ op: 'add-service', service });
    for (const destination of destinations) ops.push({ op: 'add-destination', service: key, destination });
    return;
  }
  if (!sameServiceSettings(service, present.service)) ops.push({ op: 'edit-service', service });
  for (const op of planDestinations(key, destinations, present.destinations)) ops.push(op);
}

/** The end of {@link planFrom}: the deletes of owned services no longer desired, after everything planned. */
export function planEnd(
  progress: PlanProgress,
  have: ReadonlyMap<string, ObservedEntry>,
  owned: (key: ServiceKey) => boolean,
): IpvsOp[] {
  const { ops, wantedIds } = progress;
  const gone = [...have.entries()]
    .filter(([id, present]) => !wantedIds.has(id) && owned(serviceKeyOf(present.service)))
    .map(([, present]) => serviceKeyOf(present.service))
    .sort(compareServiceKeys);
  for (const key of gone) ops.push({ op: 'delete-service', service: key });
  return ops;
}
