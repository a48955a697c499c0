// Builds the engine's status snapshot (for `ldir status` and metrics) from its last decision and kernel dump.
import { pairKey, realKey, type Health } from '../model/health';
import { serviceKeyString } from '../ipvs/normalize';
import type { ObservedDestination } from '../ipvs/types';
import { quorumThresholds, type Config, type FallbackServer, type RealServer, type VirtualService } from '../model';
import type { Decision, RealDecision, VirtualDecision } from './decide';
import type { DrainEntry } from './drain';
import type {
  EngineCounters,
  EngineSnapshot,
  FallbackSnapshot,
  LastSync,
  QuorumSnapshot,
  RealSnapshot,
  VirtualSnapshot,
} from './engine-types';
import type { FallbackAction } from './fallback-command';
import type { ObservedEntry } from './observed';
import type { DecidedQuorum } from './quorum';
import type { ConfigTarget } from './targets';
import { destinationIdOf, fallbackDestination, realDestination, serviceOf } from './translate';

/** Health of one pair as the engine recorded it from transitions. */
export interface HealthRecord {
  readonly health: Health;
  readonly reason: string;
  /** Epoch milliseconds. */
  readonly since: number;
}

/** Everything {@link buildSnapshot} reads. */
export interface SnapshotInput {
  readonly config: Config | undefined;
  readonly decision: Decision | undefined;
  readonly observed: ReadonlyMap<string, ObservedEntry>;
  readonly listedAt: number | null;
  readonly health: ReadonlyMap<string, HealthRecord>;
  /** Epoch milliseconds since which each pair's decision (reason and weight) holds (a lookup: never copied). */
  readonly decidedSince: Pick<ReadonlyMap<string, number>, 'get'>;
  readonly draining: Iterable<DrainEntry>;
  /** Model objects of drain leftovers (from the config that had them), by drain id. */
  readonly drainInfo: ReadonlyMap<string, ConfigTarget & { readonly health?: HealthRecord }>;
  /** Converts a drain start (monotonic ms) into epoch ms. */
  readonly toEpoch: (monotonic: number) => number;
  readonly fallbackAction: (virtualId: string) => FallbackAction | undefined;
  readonly quorumAction: (virtualId: string) => DecidedQuorum | undefined;
  readonly manualDrains: ReadonlySet<string>;
  /** Runtime weights (`ldir weight`) by pair key. */
  readonly weights: ReadonlyMap<string, number>;
  readonly counters: EngineCounters;
  readonly lastSync: LastSync | null;
  readonly stopped: boolean;
}

/** The quorum part of a virtual's status: as decided, else (no pass yet, or draining) its thresholds, pending. */
function quorumSnapshot(
  v: VirtualService,
  decision: VirtualDecision | undefined,
  lastCommand: DecidedQuorum | undefined,
): QuorumSnapshot {
  const q = decision?.quorum ?? {
    ...quorumThresholds(v.quorum, v.reals.length),
    state: 'pending' as const,
    serving: 0,
  };
  return {
    state: q.state,
    serving: q.serving,
    quorum: q.quorum,
    hysteresis: q.hysteresis,
    configured: v.quorum !== undefined,
    lastCommand: lastCommand ?? null,
  };
}

function kernelOf(entry: ObservedEntry | undefined, destination: string): ObservedDestination | undefined {
  return entry?.destinations.get(destination);
}

function kernelFields(
  d: ObservedDestination | undefined,
): Pick<RealSnapshot, 'kernelWeight' | 'inKernel' | 'activeConns' | 'inactiveConns'> {
  return {
    kernelWeight: d?.weight ?? null,
    inKernel: d !== undefined,
    activeConns: d?.activeConns ?? null,
    inactiveConns: d?.inactiveConns ?? null,
  };
}

function fallbackSnapshot(
  v: VirtualService,
  f: FallbackServer,
  decision: VirtualDecision | undefined,
  entry: ObservedEntry | undefined,
): FallbackSnapshot {
  const destination = destinationIdOf(fallbackDestination(v, f));
  return {
    address: f.address,
    port: f.port,
    forward: f.forward,
    destination,
    inTable: decision?.fallback?.inTable ?? false,
    kernelWeight: kernelOf(entry, destination)?.weight ?? null,
  };
}

type VirtualBase =
  | 'id'
  | 'protocol'
  | 'family'
  | 'address'
  | 'port'
  | 'fwmark'
  | 'scheduler'
  | 'persistent'
  | 'persistenceEngine'
  | 'inKernel';

function virtualBase(v: VirtualService, entry: ObservedEntry | undefined): Pick<VirtualSnapshot, VirtualBase> {
  return {
    id: v.id,
    protocol: v.protocol,
    family: v.family,
    address: v.address ?? null,
    port: v.port,
    fwmark: v.fwmark ?? null,
    scheduler: v.scheduler,
    persistent: v.persistent ?? null,
    persistenceEngine: v.persistenceEngine ?? null,
    inKernel: entry !== undefined,
  };
}

/** The tunnel settings of a real as the status shows them (null where its method has none). */
function tunnelOf(r: RealServer): Pick<RealSnapshot, 'tunnelPort' | 'tunnelFlags'> {
  return { tunnelPort: r.tunnelPort ?? null, tunnelFlags: r.tunnelFlags ?? null };
}

/** A real server that is draining (removed from the config, or its whole virtual removed). */
function drainingReal(
  v: VirtualService,
  r: RealServer,
  entry: ObservedEntry | undefined,
  since: number,
  health: HealthRecord | undefined,
): RealSnapshot {
  const destination = destinationIdOf(realDestination(v, r, 0));
  return {
    realKey: realKey(r.address, r.port),
    address: r.address,
    port: r.port,
    forward: r.forward,
    ...tunnelOf(r),
    destination,
    health: health?.health ?? 'unknown',
    ...(health ? { healthReason: health.reason, healthSince: health.since } : {}),
    configuredWeight: r.weight,
    weightOverride: null,
    desiredWeight: kernelOf(entry, destination) ? 0 : null,
    ...kernelFields(kernelOf(entry, destination)),
    inTable: kernelOf(entry, destination) !== undefined,
    reason: 'draining',
    since,
    draining: true,
    manuallyDrained: false,
  };
}

/** One configured real server. */
function configuredReal(
  v: VirtualService,
  r: RealServer,
  d: RealDecision | undefined,
  input: SnapshotInput,
  entry: ObservedEntry | undefined,
): RealSnapshot {
  const key = realKey(r.address, r.port);
  const pk = pairKey(v.id, key);
  const destination = d?.destinationId ?? destinationIdOf(realDestination(v, r, r.weight));
  const h = input.health.get(pk);
  return {
    realKey: key,
    address: r.address,
    port: r.port,
    forward: r.forward,
    ...tunnelOf(r),
    destination,
    health: h?.health ?? 'unknown',
    ...(h ? { healthReason: h.reason, healthSince: h.since } : {}),
    configuredWeight: r.weight,
    weightOverride: input.weights.get(pk) ?? null,
    desiredWeight: d?.desiredWeight ?? null,
    ...kernelFields(kernelOf(entry, destination)),
    inTable: d?.inTable ?? false,
    reason: d?.reason ?? 'unknown-waiting',
    since: input.decidedSince.get(pk) ?? null,
    draining: false,
    manuallyDrained: input.manualDrains.has(pk),
    rampTo: d?.rampTo ?? null,
    checkWeight: d?.checkWeight ?? null,
  };
}

/** The snapshot without its virtual services. */
export function snapshotHead(input: SnapshotInput): Omit<EngineSnapshot, 'virtuals'> {
  return {
    configFile: input.config?.file ?? null,
    stopped: input.stopped,
    lastSync: input.lastSync,
    listedAt: input.listedAt,
    counters: input.counters,
  };
}

/**
 * The status of every configured virtual and every draining leftover, one virtual service at a time: each is built
 * when it is asked for, from the state as it is then (a status of a big table is built a virtual per turn of the
 * event loop, issue 21).
 */
export function* snapshotVirtuals(input: SnapshotInput): Generator<VirtualSnapshot> {
  const decisions = new Map((input.decision?.virtuals ?? []).map((d) => [d.virtualId, d]));
  const drains = [...input.draining];
  const configured = new Set<string>();
  for (const v of input.config?.virtualServices ?? []) configured.add(serviceKeyString(serviceOf(v)));
  for (const v of input.config?.virtualServices ?? []) {
    const serviceId = serviceKeyString(serviceOf(v));
    const entry = input.observed.get(serviceId);
    const decision = decisions.get(v.id);
    const byKey = new Map((decision?.reals ?? []).map((d) => [d.realKey, d]));
    const reals = v.reals.map((r) => configuredReal(v, r, byKey.get(realKey(r.address, r.port)), input, entry));
    for (const e of drains) {
      const info = input.drainInfo.get(e.id);
      if (e.kind !== 'destination' || serviceKeyString(e.service) !== serviceId || !info?.real) continue;
      reals.push(drainingReal(info.virtual, info.real, entry, input.toEpoch(e.since), info.health));
    }
    const state = decision?.fallbackState ?? 'pending';
    yield {
      ...virtualBase(v, entry),
      fallback: v.fallback ? fallbackSnapshot(v, v.fallback, decision, entry) : null,
      fallbackState: state,
      fallbackActive: state === 'active' && v.fallback !== undefined,
      fallbackCommand: input.fallbackAction(v.id) ?? null,
      quorum: quorumSnapshot(v, decision, input.quorumAction(v.id)),
      draining: false,
      realsUp: reals.filter((r) => !r.draining && r.health === 'up').length,
      realsTotal: v.reals.length,
      reals,
    };
  }
  for (const e of drains) {
    const info = input.drainInfo.get(e.id);
    if (e.kind !== 'service' || !info || configured.has(serviceKeyString(e.service))) continue;
    const v = info.virtual;
    const entry = input.observed.get(serviceKeyString(e.service));
    const since = input.toEpoch(e.since);
    const reals = v.reals.map((r) =>
      drainingReal(
        v,
        r,
        entry,
        since,
        input.drainInfo.get(`${e.id} ${destinationIdOf(realDestination(v, r, 0))}`)?.health,
      ),
    );
    yield {
      ...virtualBase(v, entry),
      fallback: null,
      fallbackState: 'inactive',
      fallbackActive: false,
      fallbackCommand: null,
      quorum: { ...quorumSnapshot(v, undefined, undefined), state: 'down' },
      draining: true,
      realsUp: 0,
      realsTotal: v.reals.length,
      reals,
    };
  }
}

/** The status of every configured virtual and every draining leftover. */
export function buildSnapshot(input: SnapshotInput): EngineSnapshot {
  return { ...snapshotHead(input), virtuals: [...snapshotVirtuals(input)] };
}
