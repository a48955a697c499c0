// Builds the `ldir status` report from the engine's snapshot and the check scheduler's state.
import { memberKey } from '../checks/jobs';
import type { IdentityStatus } from '../checks/scheduler';
import type { EngineSnapshot, StateSyncSnapshot } from '../engine/engine-types';
import type { IpvsTimeoutHeld } from '../system/ipvs-timeouts';
import type { AnnounceStatus, CheckOutcome, EventRecord, RiseProgress, StateSyncStatus, StatusEvent, StatusReport, WatchdogStatus } from './protocol';
import type { TrafficIndex } from './status-traffic';
import type { HealthVerdict } from './health-verdict';
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

const iso = (ms: number): string => new Date(ms).toISOString();

/** The last check result of every (virtual, real) pair, from the scheduler's identities. */
function lastChecks(checks: readonly IdentityStatus[]): Map<string, CheckOutcome> {
  const byPair = new Map<string, CheckOutcome>();
  for (const c of checks) {
    if (!c.lastResult || c.lastCheckAt === undefined) continue;
    const outcome: CheckOutcome = {
      up: c.lastResult.up, reason: c.lastResult.reason, durationMs: c.lastResult.durationMs,
      at: iso(c.lastCheckAt + c.lastResult.durationMs),
    };
    for (const m of c.members) byPair.set(memberKey(m.virtualId, m.realKey), outcome);
  }
  return byPair;
}

/** The rise of every (virtual, real) pair that is down with successes in a row towards its `risecount`. */
function risingPairs(checks: readonly IdentityStatus[]): Map<string, RiseProgress> {
  const byPair = new Map<string, RiseProgress>();
  for (const c of checks) {
    if (c.health !== 'down' || c.riseSuccesses === 0) continue;
    const rising: RiseProgress = { successes: c.riseSuccesses, needed: c.riseCount };
    for (const m of c.members) byPair.set(memberKey(m.virtualId, m.realKey), rising);
  }
  return byPair;
}

/** The wire form of the engine's connection sync snapshot. */
export function stateSyncStatus(s: StateSyncSnapshot): StateSyncStatus {
  return {
    configured: s.configured, role: s.role, roleSource: s.roleSource, since: s.roleSince === null ? null : iso(s.roleSince), ok: s.ok,
    checkedAt: s.checkedAt === null ? null : iso(s.checkedAt),
    lastError: s.lastError ? { at: iso(s.lastError.at), message: s.lastError.message, errno: s.lastError.errno ?? null } : null,
    daemons: s.daemons.map((d) => ({
      state: d.state, wanted: d.wanted, running: d.running, matches: d.matches, interface: d.kernel?.interface ?? null,
      syncId: d.kernel?.syncId ?? null, group: d.kernel?.group ?? null, port: d.kernel?.port ?? null, ttl: d.kernel?.ttl ?? null,
      maxLength: d.kernel?.maxLength ?? null,
    })),
  };
}

/** The wire form of the checker watchdog's verdict. */
export function watchdogStatus(verdict: WatchdogVerdict): WatchdogStatus {
  return {
    ok: verdict.ok,
    reasons: verdict.reasons.map((r) => ({
      code: r.code, message: r.message, ageSeconds: r.ageSeconds, limitSeconds: r.limitSeconds,
      ...(r.code === 'checks-overdue' ? { reals: r.reals, worst: { virtual: r.worst.virtualId, real: r.worst.realKey } } : {}),
    })),
  };
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

/**
 * The {@link StatusReport} for `now` (epoch milliseconds), with the watchdog's verdict when there is one, and the
 * recent events and kernel traffic when given.
 */
export function buildStatusReport(
  facts: DaemonFacts, engine: EngineSnapshot, checks: readonly IdentityStatus[], now: number, watchdog?: WatchdogVerdict, extras: StatusExtras = {},
): StatusReport {
  const traffic = extras.traffic;
  const outcomes = lastChecks(checks);
  const rising = risingPairs(checks);
  const lastSync: EventRecord | null = engine.lastSync
    ? {
      at: iso(engine.lastSync.at), ok: engine.lastSync.ok,
      message: engine.lastSync.error ?? `${engine.lastSync.ops} operation(s), ${engine.lastSync.failed} failed (${engine.lastSync.reason})`,
    }
    : null;
  return {
    generatedAt: iso(now),
    daemon: {
      pid: facts.pid, configFile: facts.configFile,
      ...(facts.includedFiles !== undefined && facts.includedFiles.length > 0 ? { includedFiles: [...facts.includedFiles] } : {}),
      startedAt: iso(facts.startedAt),
      backend: { name: facts.backend, inMemory: facts.backend === 'memory' },
      lastSync,
      kernelOps: {
        syncs: engine.counters.syncs, applied: Object.values(engine.counters.opsApplied).reduce((a, b) => a + b, 0),
        failed: engine.counters.opsFailed, driftRepairs: engine.counters.driftRepairs,
      },
      lastReload: facts.lastReload
        ? { at: iso(facts.lastReload.at), ok: facts.lastReload.ok, ...(facts.lastReload.message !== undefined ? { message: facts.lastReload.message } : {}) }
        : null,
      ...(engine.stateSync ? { stateSync: stateSyncStatus(engine.stateSync) } : {}),
      ...(watchdog ? { watchdog: watchdogStatus(watchdog) } : {}),
      ...(extras.health ? { health: extras.health } : {}),
      ipvsTimeouts: (facts.ipvsTimeouts ?? []).map((t) => ({ timeout: t.timeout, value: t.value, found: t.found, restore: t.restore })),
      ...(facts.announce ? { announce: facts.announce } : {}),
      ...(traffic ? { kernelStats: traffic.status } : {}),
    },
    virtualServices: engine.virtuals.map((v) => ({
      id: v.id, protocol: v.protocol, family: v.family, address: v.address, port: v.port, fwmark: v.fwmark, scheduler: v.scheduler,
      persistent: v.persistent, persistenceEngine: v.persistenceEngine,
      fallback: v.fallback ? { address: v.fallback.address, port: v.fallback.port, forward: v.fallback.forward } : null,
      fallbackActive: v.fallbackActive,
      quorum: { state: v.quorum.state, serving: v.quorum.serving, quorum: v.quorum.quorum, hysteresis: v.quorum.hysteresis, configured: v.quorum.configured },
      draining: v.draining, ...(traffic ? { traffic: traffic.virtuals.get(v.id) ?? null } : {}), realsUp: v.realsUp, realsTotal: v.realsTotal,
      reals: v.reals.map((r) => ({
        address: r.address, port: r.port, forward: r.forward, tunnelPort: r.tunnelPort ?? null, tunnelFlags: r.tunnelFlags ?? null, health: r.health,
        since: r.healthSince !== undefined ? iso(r.healthSince) : null,
        weight: r.configuredWeight, override: r.weightOverride, kernelWeight: r.kernelWeight, inKernel: r.inKernel,
        lastCheck: outcomes.get(memberKey(v.id, r.realKey)) ?? null,
        draining: r.draining, drained: r.manuallyDrained, maintenance: r.healthReason === 'maintenance',
        rising: r.health === 'down' ? rising.get(memberKey(v.id, r.realKey)) ?? null : null,
        slowStart: r.rampTo != null && r.desiredWeight !== null ? { weight: r.desiredWeight, target: r.rampTo } : null,
        checkWeight: r.checkWeight ?? null,
        // Keyed by the kernel destination (a gate real's port is the virtual's in the kernel).
        ...(traffic ? { traffic: traffic.reals.get(memberKey(v.id, r.destination)) ?? null } : {}),
      })),
    })),
    ...(extras.events ? { events: [...extras.events] } : {}),
  };
}
