// Builds the `ldir status` report from the engine's snapshot and the check scheduler's state.
import { pairKey } from '../model/health';
import type { IdentityStatus } from '../checks/scheduler';
import type {
  EngineSnapshot,
  EngineSnapshotParts,
  RealSnapshot,
  StateSyncSnapshot,
  VirtualSnapshot,
} from '../engine/engine-types';
import type { IpvsTimeoutHeld } from '../system/ipvs-timeouts';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { SliceYielder } from '../system/slice-yielder';
import {
  STATUS_STREAM_REALS,
  type AnnounceStatus,
  type CheckOutcome,
  type EventRecord,
  type RealStatus,
  type RiseProgress,
  type StateSyncStatus,
  type StatusEvent,
  type StatusReport,
  type StatusStreamPart,
  type VirtualStatus,
  type WatchdogStatus,
} from './protocol';
import type { HealthVerdict } from './health-verdict';
import type { TrafficIndex } from './status-traffic';
import type { WatchdogVerdict } from './watchdog';

/** What the daemon knows about itself for the report. */
export interface DaemonFacts {
  readonly pid: number;
  readonly configFile: string;
  /** Files read through `include` (none: empty or absent). */
  readonly includedFiles?: readonly string[];
  /** Epoch milliseconds. */
  readonly startedAt: number;
  readonly backend: string;
  readonly lastReload: { readonly at: number; readonly ok: boolean; readonly message?: string } | null;
  /** The IPVS connection timeouts the daemon holds (`ipvstimeouts=`). */
  readonly ipvsTimeouts?: readonly IpvsTimeoutHeld[];
  /** Route health injection; undefined when no virtual is announced. */
  readonly announce?: AnnounceStatus | undefined;
}

/** What a report adds when the daemon has it: the recent events, the traffic of one kernel read, the health verdict. */
export interface StatusExtras {
  /** Oldest first. */
  readonly events?: readonly StatusEvent[];
  /** Without it the report has no `traffic` members and no `kernelStats`. */
  readonly traffic?: TrafficIndex;
  /** The director's health verdict (src/daemon/health-verdict.ts); without it the report has no `daemon.health`. */
  readonly health?: HealthVerdict;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** Adds one identity's last result and rise to the per-pair maps of a report. */
function addCheckFacts(
  c: IdentityStatus,
  outcomes: Map<string, CheckOutcome>,
  rising: Map<string, RiseProgress>,
): void {
  if (c.lastResult && c.lastCheckAt !== undefined) {
    const outcome: CheckOutcome = {
      up: c.lastResult.up,
      reason: c.lastResult.reason,
      durationMs: c.lastResult.durationMs,
      at: iso(c.lastCheckAt + c.lastResult.durationMs),
    };
    for (const m of c.members) outcomes.set(pairKey(m.virtualId, m.realKey), outcome);
  }
  if (c.health === 'down' && c.riseSuccesses > 0) {
    const rise: RiseProgress = { successes: c.riseSuccesses, needed: c.riseCount };
    for (const m of c.members) rising.set(pairKey(m.virtualId, m.realKey), rise);
  }
}

/** The wire form of the engine's connection sync snapshot. */
export function stateSyncStatus(s: StateSyncSnapshot): StateSyncStatus {
  return {
    configured: s.configured,
    role: s.role,
    roleSource: s.roleSource,
    since: s.roleSince === null ? null : iso(s.roleSince),
    ok: s.ok,
    checkedAt: s.checkedAt === null ? null : iso(s.checkedAt),
    lastError: s.lastError
      ? { at: iso(s.lastError.at), message: s.lastError.message, errno: s.lastError.errno ?? null }
      : null,
    daemons: s.daemons.map((d) => ({
      state: d.state,
      wanted: d.wanted,
      running: d.running,
      matches: d.matches,
      interface: d.kernel?.interface ?? null,
      syncId: d.kernel?.syncId ?? null,
      group: d.kernel?.group ?? null,
      port: d.kernel?.port ?? null,
      ttl: d.kernel?.ttl ?? null,
      maxLength: d.kernel?.maxLength ?? null,
    })),
  };
}

/** The wire form of the checker watchdog's verdict. */
export function watchdogStatus(verdict: WatchdogVerdict): WatchdogStatus {
  return {
    ok: verdict.ok,
    reasons: verdict.reasons.map((r) => ({
      code: r.code,
      message: r.message,
      ageSeconds: r.ageSeconds,
      limitSeconds: r.limitSeconds,
      ...(r.code === 'checks-overdue'
        ? { reals: r.reals, worst: { virtual: r.worst.virtualId, real: r.worst.realKey } }
        : {}),
    })),
  };
}

/** The per-pair facts of the check scheduler a status report shows: last results and rises. */
export interface CheckFacts {
  readonly outcomes: ReadonlyMap<string, CheckOutcome>;
  readonly rising: ReadonlyMap<string, RiseProgress>;
}

/** Indexes the scheduler's identities by (virtual, real) pair, once per report. */
export function checkFacts(checks: Iterable<IdentityStatus>): CheckFacts {
  const outcomes = new Map<string, CheckOutcome>();
  const rising = new Map<string, RiseProgress>();
  for (const c of checks) addCheckFacts(c, outcomes, rising);
  return { outcomes, rising };
}

/**
 * The report without its virtual services: the daemon part as of `now` (epoch milliseconds), with the watchdog's
 * verdict when there is one, and the health verdict, the kernel read's outcome and the recent events when given.
 */
export function statusHead(
  facts: DaemonFacts,
  engine: Omit<EngineSnapshot, 'virtuals'> | EngineSnapshotParts,
  now: number,
  watchdog?: WatchdogVerdict,
  extras: StatusExtras = {},
): StatusReport {
  const lastSync: EventRecord | null = engine.lastSync
    ? {
        at: iso(engine.lastSync.at),
        ok: engine.lastSync.ok,
        message:
          engine.lastSync.error ??
          `${engine.lastSync.ops} operation(s), ${engine.lastSync.failed} failed (${engine.lastSync.reason})`,
      }
    : null;
  return {
    generatedAt: iso(now),
    daemon: {
      pid: facts.pid,
      configFile: facts.configFile,
      ...(facts.includedFiles !== undefined && facts.includedFiles.length > 0
        ? { includedFiles: [...facts.includedFiles] }
        : {}),
      startedAt: iso(facts.startedAt),
      backend: { name: facts.backend, inMemory: facts.backend === 'memory' },
      lastSync,
      kernelOps: {
        syncs: engine.counters.syncs,
        applied: Object.values(engine.counters.opsApplied).reduce((a, b) => a + b, 0),
        failed: engine.counters.opsFailed,
        driftRepairs: engine.counters.driftRepairs,
      },
      lastReload: facts.lastReload
        ? {
            at: iso(facts.lastReload.at),
            ok: facts.lastReload.ok,
            ...(facts.lastReload.message !== undefined ? { message: facts.lastReload.message } : {}),
          }
        : null,
      ...(engine.stateSync ? { stateSync: stateSyncStatus(engine.stateSync) } : {}),
      ...(watchdog ? { watchdog: watchdogStatus(watchdog) } : {}),
      ...(extras.health ? { health: extras.health } : {}),
      ipvsTimeouts: (facts.ipvsTimeouts ?? []).map((t) => ({
        timeout: t.timeout,
        value: t.value,
        found: t.found,
        restore: t.restore,
      })),
      ...(facts.announce ? { announce: facts.announce } : {}),
      ...(extras.traffic ? { kernelStats: extras.traffic.status } : {}),
    },
    virtualServices: [],
    ...(extras.events ? { events: [...extras.events] } : {}),
  };
}

/** How often a streamed status sends a `wait` line while it indexes the checks' facts (the client's timeout is 10 s). */
export const STATUS_WAIT_PART_MS = 1_000;

/** One real server of virtual `v` as the report shows it, with its kernel traffic when `traffic` is given. */
export function realStatus(
  v: VirtualSnapshot,
  r: RealSnapshot,
  checks: CheckFacts,
  traffic?: TrafficIndex,
): RealStatus {
  return {
    address: r.address,
    port: r.port,
    forward: r.forward,
    tunnelPort: r.tunnelPort ?? null,
    tunnelFlags: r.tunnelFlags ?? null,
    health: r.health,
    since: r.healthSince !== undefined ? iso(r.healthSince) : null,
    weight: r.configuredWeight,
    override: r.weightOverride,
    kernelWeight: r.kernelWeight,
    inKernel: r.inKernel,
    lastCheck: checks.outcomes.get(pairKey(v.id, r.realKey)) ?? null,
    draining: r.draining,
    drained: r.manuallyDrained,
    maintenance: r.healthReason === 'maintenance',
    rising: r.health === 'down' ? (checks.rising.get(pairKey(v.id, r.realKey)) ?? null) : null,
    slowStart: r.rampTo != null && r.desiredWeight !== null ? { weight: r.desiredWeight, target: r.rampTo } : null,
    checkWeight: r.checkWeight ?? null,
    // Keyed by the kernel destination (a gate real's port is the virtual's in the kernel).
    ...(traffic ? { traffic: traffic.reals.get(pairKey(v.id, r.destination)) ?? null } : {}),
  };
}

/** One virtual service as the report shows it, with `reals` (all of its reals, or a slice of them when streamed). */
export function virtualStatus(v: VirtualSnapshot, reals: readonly RealStatus[], traffic?: TrafficIndex): VirtualStatus {
  return {
    id: v.id,
    protocol: v.protocol,
    family: v.family,
    address: v.address,
    port: v.port,
    fwmark: v.fwmark,
    scheduler: v.scheduler,
    persistent: v.persistent,
    persistenceEngine: v.persistenceEngine,
    fallback: v.fallback ? { address: v.fallback.address, port: v.fallback.port, forward: v.fallback.forward } : null,
    fallbackActive: v.fallbackActive,
    quorum: {
      state: v.quorum.state,
      serving: v.quorum.serving,
      quorum: v.quorum.quorum,
      hysteresis: v.quorum.hysteresis,
      configured: v.quorum.configured,
    },
    draining: v.draining,
    ...(traffic ? { traffic: traffic.virtuals.get(v.id) ?? null } : {}),
    realsUp: v.realsUp,
    realsTotal: v.realsTotal,
    reals,
  };
}

/**
 * The {@link StatusReport} for `now` (epoch milliseconds), with the watchdog's verdict when there is one, and the
 * recent events, kernel traffic and health verdict when given.
 */
export function buildStatusReport(
  facts: DaemonFacts,
  engine: EngineSnapshot,
  checks: readonly IdentityStatus[],
  now: number,
  watchdog?: WatchdogVerdict,
  extras: StatusExtras = {},
): StatusReport {
  const indexed = checkFacts(checks);
  const { traffic } = extras;
  return {
    ...statusHead(facts, engine, now, watchdog, extras),
    virtualServices: engine.virtuals.map((v) =>
      virtualStatus(
        v,
        v.reals.map((r) => realStatus(v, r, indexed, traffic)),
        traffic,
      ),
    ),
  };
}

/**
 * The report as a streamed answer (`status` with `stream: true`): the head, then each virtual service with its reals
 * in lines of at most `realsPerLine`, then the counts. Each line is built in its own turn of the event loop, so a
 * table of any size holds the daemon for one line at a time. The head goes first, before `identities` is called and
 * the checks' facts are indexed (in slices, one look at every check: seconds at 100,000 reals on a loaded host, more
 * beside a scrape), with a `wait` line every `waitPartMs` meanwhile, so the client sees progress within its timeout.
 */
export async function* statusParts(
  head: StatusReport,
  virtuals: Iterable<VirtualSnapshot>,
  identities: () => Iterable<IdentityStatus> | Promise<Iterable<IdentityStatus>>,
  traffic?: TrafficIndex,
  realsPerLine: number = STATUS_STREAM_REALS,
  waitPartMs: number = STATUS_WAIT_PART_MS,
): AsyncGenerator<StatusStreamPart> {
  yield { part: 'head', result: head };
  const outcomes = new Map<string, CheckOutcome>();
  const rising = new Map<string, RiseProgress>();
  const yielder = new SliceYielder();
  // identities() may take the checks' quiet counts first (in slices: seconds beside a scrape at 100,000 checks)
  const ready = Promise.resolve().then(identities);
  let list: Iterable<IdentityStatus> | undefined;
  while (list === undefined) {
    list = await settledWithin(ready, waitPartMs);
    if (list === undefined) yield { part: 'wait' };
  }
  let lastLine = performance.now();
  for (const c of list) {
    addCheckFacts(c, outcomes, rising);
    const pause = yielder.maybeYield();
    if (pause) await pause;
    if (performance.now() - lastLine >= waitPartMs) {
      yield { part: 'wait' }; // the client's timeout is on progress: this phase takes seconds at 100,000 checks
      lastLine = performance.now();
    }
  }
  const checks: CheckFacts = { outcomes, rising };
  yield* sliced(
    virtuals,
    (v) => v.reals,
    (v, r) => realStatus(v, r, checks, traffic),
    (v, reals) => virtualStatus(v, reals, traffic),
    realsPerLine,
  );
}

/** `promise`'s value when it settles within `ms`, else undefined (a rejection is passed on). */
async function settledWithin<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** A report already built, cut into the parts of a streamed answer (a daemon without {@link statusParts}). */
export async function* reportParts(
  report: StatusReport,
  realsPerLine: number = STATUS_STREAM_REALS,
): AsyncGenerator<StatusStreamPart> {
  yield { part: 'head', result: { ...report, virtualServices: [] } };
  yield* sliced(
    report.virtualServices,
    (v) => v.reals,
    (_v, r) => r,
    (v, reals) => ({ ...v, reals }),
    realsPerLine,
  );
}

/** The `virtual`, `reals` and `end` parts of `virtuals`, one line of at most `size` reals per turn of the event loop. */
async function* sliced<V, R>(
  virtuals: Iterable<V>,
  realsOf: (v: V) => readonly R[],
  real: (v: V, r: R) => RealStatus,
  virtual: (v: V, reals: RealStatus[]) => VirtualStatus,
  size: number,
): AsyncGenerator<StatusStreamPart> {
  let reals = 0;
  let count = 0;
  await nextTurn();
  for (const v of virtuals) {
    count++;
    const all = realsOf(v);
    for (let i = 0; i === 0 || i < all.length; i += size) {
      if (i > 0) await nextTurn();
      const slice = all.slice(i, i + size).map((r) => real(v, r));
      reals += slice.length;
      yield i === 0 ? { part: 'virtual', virtual: virtual(v, slice) } : { part: 'reals', reals: slice };
    }
    await nextTurn(); // the next virtual service is built from the engine's state in a turn of its own
  }
  yield { part: 'end', virtuals: count, reals };
}
