// Pure policy: the desired IPVS table from the config, pair health, hand drains, runtime weights, drain leftovers and
// the kernel table.
import { pairKey, realKey, type Health } from '../model/health';
import { destinationKeyString, destinationSpec, serviceKeyString } from '../ipvs/normalize';
import type { DesiredService, IpvsDestination, IpvsService, ObservedDestination, ObservedService } from '../ipvs/types';
import type { Config, VirtualService } from '../model';
import type { DrainTarget } from './drain';
import { drainId } from './drain';
import { quorumThresholds } from '../model';
import { indexObserved, type ObservedEntry } from './observed';
import { nextQuorumState, type DecidedQuorum, type QuorumDecision } from './quorum';
import { rampFor, rampWeight, type Ramp } from './slow-start';
import { fallbackDestination, realDestination, serviceOf } from './translate';

/**
 * Why a real server has the place it has in the desired table:
 * - `up`: checked up, its target weight: the runtime weight set by hand (`ldir weight`) when there is one, else the
 *   weight its check reports (`weightheader`, external `weight=N`, within bounds), else the configured weight (a
 *   runtime or reported weight of 0 keeps it `up` but not serving: it gets no new connections);
 * - `drained`: drained by hand (`ldir drain`), weight 0, kept in the table;
 * - `down-quiescent`: down with `quiescent=yes` and present: weight 0, existing connections keep flowing;
 * - `down-readded`: down with `quiescent=yes`, absent, `readdquiescent=yes`: added back with weight 0;
 * - `down-left-out`: down with `quiescent=yes`, absent, `readdquiescent=no`: left out (an admin deleted it by hand);
 * - `down-removed`: down with `quiescent=no`: not in the table;
 * - `unknown-adopted`: first check not finished, present in the kernel: its kernel weight is kept;
 * - `unknown-quiescent`: first check not finished, absent, `quiescent=yes`: present with weight 0;
 * - `unknown-waiting`: first check not finished, absent, `quiescent=no`: not added until known up;
 * - `below-quorum`: serving, but the virtual is below its quorum and has a fallback server, which takes new
 *   connections: weight 0, kept in the table so established connections go on;
 * - `fallback`: its destination is also the virtual's fallback server, which is active and takes the entry;
 * - `duplicate`: another real server of the same virtual maps to the same destination and takes the entry.
 */
export type DecisionReason =
  | 'up'
  | 'drained'
  | 'down-quiescent'
  | 'down-readded'
  | 'down-left-out'
  | 'down-removed'
  | 'unknown-adopted'
  | 'unknown-quiescent'
  | 'unknown-waiting'
  | 'below-quorum'
  | 'fallback'
  | 'duplicate';

/** The decision for one (virtual, real) pair. */
export interface RealDecision {
  /** {@link realKey} of the real server in its virtual. */
  readonly realKey: string;
  /** Id of its destination in the kernel service (the port can differ from the real's: see `destinationPort`). */
  readonly destinationId: string;
  readonly health: Health;
  readonly configuredWeight: number;
  /**
   * Weight it has when up and serving: its runtime weight (`ldir weight`) when it has one, else the weight its check
   * reports (`checkWeight`), else `configuredWeight`; during a slow start `desiredWeight` is a step towards it.
   * What the table gets from it is `desiredWeight` (a drain, a down health or the quorum set 0, or leave it out).
   */
  readonly targetWeight: number;
  /** It has a runtime weight (`ldir weight`): `targetWeight` is that, not the configured weight. */
  readonly overridden: boolean;
  /** Weight wanted in the kernel; undefined when the entry is not wanted. */
  readonly desiredWeight?: number;
  readonly inTable: boolean;
  readonly reason: DecisionReason;
  readonly manuallyDrained: boolean;
  /**
   * Counts as "a real server is up" for the quorum and the fallback: up, not drained by hand and not at a runtime
   * weight of 0 (it takes no new connection, as a drained one; a configured weight of 0 counts, as in ldirectord).
   */
  readonly serving: boolean;
  /** Slow start in progress (`slowstart=`): `desiredWeight` is a step of the ramp towards `rampTo`. */
  readonly rampTo?: number;
  /** The weight its check reports, within the virtual's bounds, when that is the weight it gets once up. */
  readonly checkWeight?: number;
}

/**
 * Whether the virtual is in fallback mode (below its quorum: by default, no real server up): `active` and `inactive`
 * are decided; `pending` while the quorum is not met but reals without a check result yet could meet it (the fallback
 * keeps whatever presence it has in the kernel).
 */
export type FallbackState = 'active' | 'inactive' | 'pending';

/** The decision for one virtual service. */
export interface VirtualDecision {
  readonly virtualId: string;
  /** Id of its kernel service (`tcp:10.0.0.1:80`, `fwm:7`). */
  readonly serviceId: string;
  readonly service: IpvsService;
  readonly fallbackState: FallbackState;
  /** The quorum: `up` ⇔ fallback `inactive`, `down` ⇔ `active`, `pending` ⇔ `pending`. */
  readonly quorum: QuorumDecision;
  /** The fallback server's entry, when the virtual has one. */
  readonly fallback?: { readonly destinationId: string; readonly inTable: boolean };
  readonly reals: readonly RealDecision[];
}

/** Whether a drain leftover is kept in the desired table (weight 0) or has nothing left in the kernel. */
export interface DrainDecision {
  /** {@link drainId}. */
  readonly id: string;
  readonly inTable: boolean;
}

/** Inputs of {@link decide}. */
export interface DecideInput {
  readonly config: Config;
  /** Health by {@link pairKey}; a missing pair is `unknown`. */
  readonly health: ReadonlyMap<string, Health>;
  /** Pairs drained by hand, by {@link pairKey}. */
  readonly manualDrains?: ReadonlySet<string>;
  /**
   * Runtime weights set by hand (`ldir weight`), by {@link pairKey}: an up real gets this weight instead of its
   * configured one. Independent of `manualDrains` (a drained real stays at 0 and keeps its runtime weight for later).
   */
  readonly weightOverrides?: ReadonlyMap<string, number>;
  /** Services and destinations removed from the config that are still draining. */
  readonly draining?: Iterable<DrainTarget>;
  /** The kernel table as last listed (or, instead, {@link observedIndex}). */
  readonly observed?: readonly ObservedService[];
  /** The kernel table as {@link indexObserved} makes it, when the caller has it already (it wins over `observed`). */
  readonly observedIndex?: ReadonlyMap<string, ObservedEntry>;
  /** Each virtual's quorum state as last decided (not `pending`), by virtual id: the hysteresis works from it. */
  readonly quorum?: ReadonlyMap<string, DecidedQuorum>;
  /**
   * Weights the reals' checks report, by {@link pairKey} (`weightheader`, an external `weight=N`): an up real of a
   * virtual with `checkWeight` settings gets it, bounded by `minweight`..`maxweight` (default 0..its configured weight).
   */
  readonly checkWeights?: ReadonlyMap<string, number>;
  /** Slow start: the ramps in progress by {@link pairKey} and the time of the pass, in the ramps' time base. */
  readonly slowStart?: { readonly now: number; readonly ramps: ReadonlyMap<string, Ramp> };
}

/** Output of {@link decide}: the desired table and the facts behind it. */
export interface Decision {
  /** Never repeats a service, nor a destination within a service. */
  readonly desired: DesiredService[];
  readonly virtuals: VirtualDecision[];
  readonly draining: DrainDecision[];
  /** Slow-start ramps in progress after this decision, by {@link pairKey} (the next pass's `slowStart.ramps`). */
  readonly ramps: ReadonlyMap<string, Ramp>;
}

type RealPlace = Pick<RealDecision, 'desiredWeight' | 'reason' | 'serving'>;

/**
 * Place of one real server from its health, the hand drain, its target weight (runtime or configured), its kernel
 * presence and the quiescent settings.
 */
function placeReal(
  health: Health,
  drained: boolean,
  target: { weight: number /** set by hand or reported by the check, not configured */; runtime: boolean },
  present: ObservedDestination | undefined,
  quiescent: boolean,
  readdQuiescent: boolean,
): RealPlace {
  if (health === 'up') {
    if (drained) return { desiredWeight: 0, reason: 'drained', serving: false };
    // A runtime or reported weight of 0 is a softer drain; a configured weight of 0 serves, as it always did (ldirectord's rule).
    return { desiredWeight: target.weight, reason: 'up', serving: !(target.runtime && target.weight === 0) };
  }
  if (health === 'down') {
    if (!quiescent) return { reason: 'down-removed', serving: false };
    if (present) return { desiredWeight: 0, reason: 'down-quiescent', serving: false };
    return readdQuiescent
      ? { desiredWeight: 0, reason: 'down-readded', serving: false }
      : { reason: 'down-left-out', serving: false };
  }
  if (present) {
    if (drained) return { desiredWeight: 0, reason: 'drained', serving: false };
    return { desiredWeight: present.weight, reason: 'unknown-adopted', serving: present.weight > 0 };
  }
  return quiescent
    ? { desiredWeight: 0, reason: 'unknown-quiescent', serving: false }
    : { reason: 'unknown-waiting', serving: false };
}

/** A reported weight within `min`..`max` (a maximum below the minimum gives the minimum). */
function boundedWeight(weight: number, min: number, max: number): number {
  return Math.max(min, Math.min(weight, max));
}

/** True when candidate `a` should take a destination shared with `b`: in the table first, then the higher weight. */
function beats(a: RealPlace, b: RealPlace): boolean {
  if ((a.desiredWeight === undefined) !== (b.desiredWeight === undefined)) return a.desiredWeight !== undefined;
  return (a.desiredWeight ?? 0) > (b.desiredWeight ?? 0);
}

/** Decisions and desired destinations of one virtual service. */
function decideVirtual(
  v: VirtualService,
  input: DecideInput,
  observed: ObservedEntry | undefined,
  readdQuiescent: boolean,
  ramps: Map<string, Ramp>,
): { decision: VirtualDecision; desired: DesiredService } {
  const service = serviceOf(v);
  const serviceId = serviceKeyString(service);
  const places = v.reals.map((r) => {
    const key = realKey(r.address, r.port);
    const pk = pairKey(v.id, key);
    const spec = realDestination(v, r, r.weight);
    const destinationId = destinationKeyString(spec);
    const health = input.health.get(pk) ?? 'unknown';
    const drained = input.manualDrains?.has(pk) ?? false;
    const override = input.weightOverrides?.get(pk);
    const reported = v.checkWeight ? input.checkWeights?.get(pk) : undefined;
    const checkWeight =
      reported === undefined || !v.checkWeight
        ? undefined
        : boundedWeight(reported, v.checkWeight.min, v.checkWeight.max ?? r.weight);
    // A runtime weight (ldir weight) wins over the one the check reports, which wins over the configured one.
    const target = {
      weight: override ?? checkWeight ?? r.weight,
      runtime: override !== undefined || checkWeight !== undefined,
    };
    const place = placeReal(
      health,
      drained,
      target,
      observed?.destinations.get(destinationId),
      v.quiescent,
      readdQuiescent,
    );
    return {
      r,
      key,
      spec,
      destinationId,
      health,
      drained,
      target,
      place,
      checkWeight,
      overridden: override !== undefined,
    };
  });
  const thresholds = quorumThresholds(v.quorum, v.reals.length);
  const serving = places.filter((p) => p.place.serving).length;
  const unknown = places.filter((p) => p.health === 'unknown' && !p.place.serving).length;
  const quorum: QuorumDecision = {
    ...thresholds,
    state: nextQuorumState(input.quorum?.get(v.id), serving, unknown, thresholds),
    serving,
    unknown,
  };
  const fallbackState: FallbackState =
    quorum.state === 'up' ? 'inactive' : quorum.state === 'pending' ? 'pending' : 'active';
  // Below the quorum the fallback takes new connections; the reals that still serve keep their established ones.
  if (fallbackState === 'active' && v.fallback) {
    for (const p of places) if (p.place.serving) p.place = { desiredWeight: 0, reason: 'below-quorum', serving: true };
  }
  // Slow start: a real up with a weight above the kernel's gets it in steps (rampFor).
  const slow = input.slowStart;
  const seconds = v.slowStart ?? 0;
  const rampTo = new Map<string, number>();
  if (slow && seconds > 0) {
    for (const p of places) {
      const target = p.place.desiredWeight;
      const pk = pairKey(v.id, p.key);
      // Not checked yet, in the kernel (a successor taking over): a ramp handed over waits for the first result.
      if (p.place.reason === 'unknown-adopted' && slow.ramps.has(pk)) ramps.set(pk, slow.ramps.get(pk) as Ramp);
      if (p.place.reason !== 'up' || target === undefined) continue;
      const ramp = rampFor(
        slow.ramps.get(pk),
        target,
        observed?.destinations.get(p.destinationId)?.weight ?? 0,
        seconds,
        slow.now,
      );
      if (!ramp) continue;
      ramps.set(pk, ramp);
      rampTo.set(p.key, target);
      p.place = { ...p.place, desiredWeight: rampWeight(ramp, slow.now - ramp.since, seconds) };
    }
  }
  // One entry per destination: the best candidate takes it; the others are reported as duplicates.
  const owner = new Map<string, (typeof places)[number]>();
  for (const p of places) {
    const current = owner.get(p.destinationId);
    if (!current || beats(p.place, current.place)) owner.set(p.destinationId, p);
  }
  const destinations = new Map<string, IpvsDestination>();
  for (const [did, p] of owner) {
    if (p.place.desiredWeight !== undefined) destinations.set(did, realDestination(v, p.r, p.place.desiredWeight));
  }
  let fallback: VirtualDecision['fallback'];
  let fallbackTook = false;
  if (v.fallback) {
    const spec = fallbackDestination(v, v.fallback);
    const destinationId = destinationKeyString(spec);
    const keep =
      fallbackState === 'active' ||
      (fallbackState === 'pending' &&
        !destinations.has(destinationId) &&
        observed?.destinations.has(destinationId) === true);
    if (keep) {
      fallbackTook = owner.has(destinationId);
      destinations.set(destinationId, spec);
    }
    fallback = { destinationId, inTable: keep };
  }
  const fallbackId = fallback?.inTable ? fallback.destinationId : undefined;
  const reals = places.map((p): RealDecision => {
    let place = p.place;
    if (fallbackTook && p.destinationId === fallbackId)
      place = { desiredWeight: 1, reason: 'fallback', serving: p.place.serving };
    else if (owner.get(p.destinationId) !== p) {
      const winner = owner.get(p.destinationId)?.place;
      place = {
        ...(winner?.desiredWeight !== undefined ? { desiredWeight: winner.desiredWeight } : {}),
        reason: 'duplicate',
        serving: p.place.serving,
      };
    }
    const to = place.reason === 'up' ? rampTo.get(p.key) : undefined;
    return {
      ...(p.checkWeight !== undefined ? { checkWeight: p.checkWeight } : {}),
      realKey: p.key,
      destinationId: p.destinationId,
      health: p.health,
      configuredWeight: p.r.weight,
      targetWeight: p.target.weight,
      overridden: p.overridden,
      ...(place.desiredWeight !== undefined ? { desiredWeight: place.desiredWeight } : {}),
      inTable: place.desiredWeight !== undefined,
      reason: place.reason,
      manuallyDrained: p.drained,
      serving: place.serving,
      ...(to !== undefined ? { rampTo: to } : {}),
    };
  });
  return {
    decision: { virtualId: v.id, serviceId, service, fallbackState, quorum, ...(fallback ? { fallback } : {}), reals },
    desired: { service, destinations: [...destinations.values()] },
  };
}

/**
 * Computes the desired IPVS table. Rules (ldirectord's, with the differences listed in the project's compatibility
 * notes): an up real has its configured weight, or the runtime weight set by hand (`weightOverrides`) when it has one
 * (at runtime weight 0 it does not count as serving for the quorum); a down real has weight 0 with `quiescent=yes` (kept if present,
 * re-added only with `readdquiescent=yes`) and is removed with `quiescent=no`; a real with no check result yet keeps
 * its kernel weight when present (adoption) and is otherwise not added (or added with weight 0 with
 * `quiescent=yes`, the state ldirectord reaches at start), so no server is ever briefly added and removed; a real
 * drained by hand has weight 0. The fallback server (weight 1, never quiesced) is in the table only while the virtual
 * is below its quorum (by default: no real is up), and takes the entry of a real with the same destination; the reals
 * that still serve then have weight 0 (`below-quorum`). Draining leftovers keep their kernel settings with
 * weight 0 unless the config wants the same entry. Pure: no I/O, no clock.
 */
export function decide(input: DecideInput): Decision {
  const progress = decideBegin(input);
  for (const v of input.config.virtualServices) decideVirtualInto(progress, v);
  return decideEnd(progress);
}

/**
 * What {@link decide} has built so far, one virtual service at a time: {@link decideBegin}, then
 * {@link decideVirtualInto} for each of the configuration's virtual services in order, then {@link decideEnd}. A caller
 * that gives the event loop a turn between virtual services (a table pass over a big table) decides exactly what
 * `decide` does from the same input.
 */
export interface DecideProgress {
  readonly input: DecideInput;
  readonly observed: ReadonlyMap<string, ObservedEntry>;
  readonly desired: Map<string, { service: IpvsService; destinations: Map<string, IpvsDestination> }>;
  readonly virtuals: VirtualDecision[];
  readonly ramps: Map<string, Ramp>;
}

/** The start of {@link decide}: nothing decided yet. */
export function decideBegin(input: DecideInput): DecideProgress {
  return {
    input,
    observed: input.observedIndex ?? indexObserved(input.observed ?? []),
    desired: new Map(),
    virtuals: [],
    ramps: new Map(),
  };
}

/** Decides virtual service `v` (the next one of the configuration, in order) into `progress`. */
export function decideVirtualInto(progress: DecideProgress, v: VirtualService): void {
  const { input, observed, desired } = progress;
  const id = serviceKeyString(serviceOf(v));
  if (desired.has(id)) return; // the config loader refuses duplicate virtuals; never emit a service twice
  const readdQuiescent = input.config.globals.readdQuiescent;
  const { decision, desired: d } = decideVirtual(v, input, observed.get(id), readdQuiescent, progress.ramps);
  progress.virtuals.push(decision);
  desired.set(id, {
    service: d.service,
    destinations: new Map(d.destinations.map((x) => [destinationKeyString(x), x])),
  });
}

/** The end of {@link decide}, once every virtual service is decided: the drain leftovers, then the decision. */
export function decideEnd(progress: DecideProgress): Decision {
  const { input, observed, desired, virtuals, ramps } = progress;
  const targets = [...(input.draining ?? [])];
  const draining: DrainDecision[] = [];
  const configured = new Set(desired.keys());
  // Whole services first, so a destination drained inside a service that is drained as a whole is covered by it.
  targets.sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'service' ? -1 : 1));
  for (const t of targets) {
    const sid = serviceKeyString(t.service);
    const o = observed.get(sid);
    let inTable = false;
    if (t.kind === 'service') {
      if (o && !configured.has(sid)) {
        const destinations = new Map<string, IpvsDestination>();
        for (const [did, d] of o.destinations) destinations.set(did, { ...destinationSpec(d), weight: 0 });
        desired.set(sid, { service: o.service, destinations });
        inTable = true;
      }
    } else {
      const did = destinationKeyString(t.destination);
      const present = o?.destinations.get(did);
      const target = desired.get(sid);
      if (present && target) {
        inTable = true;
        if (!target.destinations.has(did)) target.destinations.set(did, { ...destinationSpec(present), weight: 0 });
      }
    }
    draining.push({ id: drainId(t), inTable });
  }
  return {
    desired: [...desired.values()].map((d) => ({ service: d.service, destinations: [...d.destinations.values()] })),
    virtuals,
    draining,
    ramps,
  };
}
