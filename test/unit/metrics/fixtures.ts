// Test helper: hand-made engine snapshots, check statuses and kernel listings for the metrics tests.
import type { AnnounceStatus } from '../../../src/daemon/protocol';
import type { IdentityStatus } from '../../../src/checks/scheduler';
import type { HealthVerdict } from '../../../src/daemon/health-verdict';
import type { WatchdogVerdict } from '../../../src/daemon/watchdog';
import type { EngineCounters, EngineSnapshot, RealSnapshot, VirtualSnapshot } from '../../../src/engine/engine-types';
import type { IpvsStats } from '../../../src/ipvs/types';
import { createMetrics } from '../../../src/metrics/metrics';
import type { CreateMetricsOptions, Metrics, MetricsSources } from '../../../src/metrics/types';
import { parseExposition, type Exposition } from './exposition';

/** A real server snapshot: up, weight 1, in the kernel, unless overridden. */
export function real(realKey: string, over: Partial<RealSnapshot> = {}): RealSnapshot {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(realKey);
  return {
    realKey,
    address: m?.[1] ?? realKey,
    port: Number(m?.[2] ?? 0),
    forward: 'gate',
    destination: realKey,
    health: 'up',
    configuredWeight: 1,
    weightOverride: null,
    desiredWeight: 1,
    kernelWeight: 1,
    inTable: true,
    inKernel: true,
    activeConns: 0,
    inactiveConns: 0,
    reason: 'up',
    since: 0,
    draining: false,
    manuallyDrained: false,
    ...over,
  };
}

/** A virtual service snapshot; reals up/total computed from `reals` unless overridden. */
export function virtual(
  id: string,
  reals: readonly RealSnapshot[],
  over: Partial<VirtualSnapshot> = {},
): VirtualSnapshot {
  const up = reals.filter((r) => r.health === 'up' && !r.manuallyDrained && !r.draining).length;
  return {
    id,
    protocol: 'tcp',
    family: id.includes('[') ? 'inet6' : 'inet',
    address: null,
    port: 80,
    fwmark: null,
    scheduler: 'wrr',
    persistent: null,
    persistenceEngine: null,
    inKernel: true,
    fallback: null,
    fallbackState: up > 0 ? 'inactive' : 'active',
    fallbackActive: up === 0,
    fallbackCommand: null,
    quorum: {
      state: up > 0 ? 'up' : 'down',
      serving: up,
      quorum: 1,
      hysteresis: 0,
      configured: false,
      lastCommand: null,
    },
    draining: false,
    realsUp: up,
    realsTotal: reals.filter((r) => !r.draining).length,
    reals,
    ...over,
  };
}

/** Engine counters, zero unless overridden. */
export function counters(over: Partial<EngineCounters> = {}): EngineCounters {
  return {
    syncs: 0,
    syncErrors: 0,
    opsApplied: {
      'add-service': 0,
      'edit-service': 0,
      'delete-service': 0,
      'add-destination': 0,
      'edit-destination': 0,
      'delete-destination': 0,
    },
    opsFailed: 0,
    driftRepairs: 0,
    retries: 0,
    fallbackCommands: 0,
    fallbackCommandFailures: 0,
    quorumCommands: 0,
    quorumCommandFailures: 0,
    lastSyncDurationMs: 0,
    ...over,
  };
}

/** An engine snapshot of `virtuals`, last sync ok. */
export function snapshot(virtuals: readonly VirtualSnapshot[], over: Partial<EngineSnapshot> = {}): EngineSnapshot {
  return {
    configFile: '/etc/ha.d/ldirectord.cf',
    stopped: false,
    lastSync: { at: 1_700_000_000_000, reason: 'config', ok: true, durationMs: 12, ops: 3, failed: 0 },
    listedAt: 1_700_000_000_000,
    virtuals,
    counters: counters(),
    ...over,
  };
}

/** A check identity serving `members` (`virtual real` strings). */
export function status(identity: string, ...members: string[]): IdentityStatus {
  return {
    identity,
    members: members.map((m) => {
      const [virtualId, realKey] = m.split(' ');
      return { virtualId: virtualId as string, realKey: realKey as string };
    }),
    health: 'up',
    reason: 'ok',
    since: 0,
    consecutiveFailures: 0,
    riseSuccesses: 0,
    riseCount: 1,
    checks: 0,
    running: false,
  };
}

/** Kernel stats with the given counters, zero elsewhere. */
export function stats(over: Partial<IpvsStats> = {}): IpvsStats {
  return {
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
    ...over,
  };
}

/** Mutable sources for a test: change `engine`, `checks`, `kernel` or `watchdog` between scrapes. */
export interface TestSources {
  engine: EngineSnapshot | undefined;
  checks: IdentityStatus[];
  kernel: MetricsSources['kernel'];
  checkReads: number;
  /** The checker watchdog's verdict; undefined: none (series absent, `/healthz` from the engine alone). */
  watchdog?: WatchdogVerdict;
  /** The daemon's own health verdict; undefined: none (the metrics make it from `engine` and `watchdog`). */
  health?: HealthVerdict;
  /** Route health injection; undefined: off (series absent). */
  announce?: AnnounceStatus;
}

/** Metrics over {@link TestSources} without process metrics; `scrape()` returns the parsed exposition and the text. */
export function testMetrics(
  initial: Partial<TestSources> = {},
  options: Partial<CreateMetricsOptions> = {},
): { metrics: Metrics; src: TestSources; scrape: () => Promise<Exposition & { text: string }> } {
  const src: TestSources = { engine: undefined, checks: [], kernel: async () => [], checkReads: 0, ...initial };
  const metrics = createMetrics({
    sources: {
      engine: () => src.engine,
      checks: () => {
        src.checkReads++;
        return src.checks;
      },
      kernel: () => src.kernel(),
      watchdog: () => src.watchdog,
      health: () => src.health,
      announce: () => src.announce,
    },
    buildInfo: { version: '9.9.9', nodeVersion: 'v20.0.0' },
    processMetrics: false,
    ...options,
  });
  return {
    metrics,
    src,
    scrape: async () => {
      const { body } = await metrics.scrape();
      return { ...parseExposition(body), text: body };
    },
  };
}
