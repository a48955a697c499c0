// Validators of a status report and its parts, tolerant of members added by newer daemons.
import { FORWARD_METHODS, TUNNEL_FLAGS } from '../model';
import type {
  AnnounceStatus,
  CheckOutcome,
  DaemonStatus,
  EventRecord,
  FallbackStatus,
  HealthStatus,
  IpvsTimeoutHeldStatus,
  KernelStatsStatus,
  QuorumStatus,
  RealStatus,
  StateSyncStatus,
  StatusEvent,
  StatusReport,
  SyncDaemonStatus,
  TrafficStatus,
  VirtualStatus,
  WatchdogStatus,
} from './protocol';
import { PORT, WEIGHT, TIMEOUT_NAME } from './protocol-schema-fields';
import { MAX_STATUS_EVENTS } from './recent-events';
import {
  arrayOf,
  bool,
  int,
  isoTime,
  literal,
  nonNegative,
  nullable,
  object,
  optional,
  str,
  type Check,
} from './validate';

const FORWARD = literal(...FORWARD_METHODS);

const eventRecord: Check<EventRecord> = object(
  { at: isoTime, ok: bool, message: optional(str({ max: 65536 })) },
  false,
);

const checkOutcome: Check<CheckOutcome> = object(
  { up: bool, reason: str({ max: 65536 }), durationMs: nonNegative, at: isoTime },
  false,
);

const traffic: Check<TrafficStatus> = object(
  {
    activeConns: nonNegative,
    inactiveConns: nonNegative,
    cps: nonNegative,
    inPps: nonNegative,
    outPps: nonNegative,
    inBps: nonNegative,
    outBps: nonNegative,
    conns: nonNegative,
  },
  false,
);

const kernelStats: Check<KernelStatsStatus> = object(
  { ok: bool, durationMs: nonNegative, error: optional(str({ max: 65536 })) },
  false,
);

const statusEvent: Check<StatusEvent> = object(
  {
    at: isoTime,
    kind: literal(
      'transition',
      'reload',
      'kernel-refused',
      'sync-failed',
      'fallback',
      'quorum',
      'drain',
      'command',
      'role',
      'sync-daemon',
      'alert',
      'announce',
    ),
    ok: bool,
    text: str({ max: 65536 }),
    virtual: optional(str({ max: 256 })),
    real: optional(str({ max: 256 })),
  },
  false,
);

/** One real server of a status report. */
export const realStatusSchema: Check<RealStatus> = object(
  {
    address: str({ min: 1, max: 64 }),
    port: PORT,
    forward: FORWARD,
    tunnelPort: optional(nullable(int({ min: 1, max: 65535 }))),
    tunnelFlags: optional(nullable(literal(...TUNNEL_FLAGS))),
    health: literal('up', 'down', 'unknown'),
    since: nullable(isoTime),
    weight: WEIGHT,
    override: optional(nullable(WEIGHT)),
    kernelWeight: nullable(WEIGHT),
    inKernel: bool,
    lastCheck: nullable(checkOutcome),
    draining: bool,
    drained: bool,
    maintenance: bool,
    rising: optional(nullable(object({ successes: int({ min: 1 }), needed: int({ min: 1 }) }, false))),
    slowStart: optional(nullable(object({ weight: WEIGHT, target: WEIGHT }, false))),
    checkWeight: optional(nullable(WEIGHT)),
    traffic: optional(nullable(traffic)),
  },
  false,
);

const fallbackStatus: Check<FallbackStatus> = object(
  { address: str({ min: 1, max: 64 }), port: PORT, forward: FORWARD },
  false,
);

const quorumStatus: Check<QuorumStatus> = object(
  {
    state: literal('up', 'down', 'pending'),
    serving: int({ min: 0 }),
    quorum: int({ min: 1 }),
    hysteresis: int({ min: 0 }),
    configured: bool,
  },
  false,
);

/** One virtual service of a status report. */
export const virtualStatusSchema: Check<VirtualStatus> = object(
  {
    id: str({ min: 1, max: 128 }),
    protocol: literal('tcp', 'udp', 'sctp', 'fwm'),
    family: literal('inet', 'inet6'),
    address: nullable(str({ min: 1, max: 64 })),
    port: PORT,
    fwmark: nullable(int({ min: 0, max: 0xffffffff })),
    scheduler: str({ max: 64 }),
    persistent: optional(nullable(int({ min: 0, max: 0xffffffff }))),
    persistenceEngine: optional(nullable(str({ min: 1, max: 64 }))),
    fallback: nullable(fallbackStatus),
    fallbackActive: bool,
    quorum: optional(quorumStatus),
    draining: bool,
    traffic: optional(nullable(traffic)),
    realsUp: int({ min: 0 }),
    realsTotal: int({ min: 0 }),
    reals: arrayOf(realStatusSchema),
  },
  false,
);

const syncDaemonStatus: Check<SyncDaemonStatus> = object(
  {
    state: literal('master', 'backup'),
    wanted: bool,
    running: bool,
    matches: bool,
    interface: nullable(str({ min: 1, max: 16 })),
    syncId: nullable(int({ min: 0, max: 0xffffffff })),
    group: nullable(str({ min: 1, max: 64 })),
    port: nullable(PORT),
    ttl: nullable(int({ min: 0, max: 255 })),
    maxLength: nullable(int({ min: 0, max: 65535 })),
  },
  false,
);

/** The connection sync part of a status report (and of a `role` answer). */
export const stateSyncStatusSchema: Check<StateSyncStatus> = object(
  {
    configured: bool,
    role: literal('none', 'master', 'backup'),
    roleSource: literal('config', 'adopted', 'command'),
    since: nullable(isoTime),
    ok: bool,
    checkedAt: nullable(isoTime),
    lastError: nullable(
      object({ at: isoTime, message: str({ max: 65536 }), errno: nullable(str({ max: 64 })) }, false),
    ),
    daemons: arrayOf(syncDaemonStatus),
  },
  false,
);

/** The checker watchdog's verdict (in a status report and a ping answer). */
export const watchdogStatusSchema: Check<WatchdogStatus> = object(
  {
    ok: bool,
    reasons: arrayOf(
      object(
        {
          code: str({ min: 1, max: 64 }),
          message: str({ max: 4096 }),
          ageSeconds: nonNegative,
          limitSeconds: nonNegative,
          reals: optional(int({ min: 0 })),
          worst: optional(object({ virtual: str({ max: 256 }), real: str({ max: 256 }) }, false)),
        },
        false,
      ),
      16,
    ),
  },
  false,
);

/** The director's health verdict (in a status report and a ping answer). */
export const healthStatusSchema: Check<HealthStatus> = object(
  {
    level: literal('ok', 'degraded', 'failing'),
    reasons: arrayOf(
      object(
        {
          code: str({ min: 1, max: 64 }),
          level: literal('degraded', 'failing'),
          message: str({ max: 4096 }),
          virtuals: optional(arrayOf(str({ max: 256 }), 64)),
        },
        false,
      ),
      16,
    ),
    summary: str({ max: 4096 }),
  },
  false,
);

const ipvsTimeoutHeld: Check<IpvsTimeoutHeldStatus> = object(
  {
    timeout: TIMEOUT_NAME,
    value: int({ min: 0, max: 0xffffffff }),
    found: int({ min: 0, max: 0xffffffff }),
    restore: bool,
  },
  false,
);

const announceStatus: Check<AnnounceStatus> = object(
  {
    driver: str({ max: 8192 }),
    announced: arrayOf(str({ max: 64 }), 100_000),
    lastError: nullable(str({ max: 65536 })),
    guard: literal('connected', 'none'),
    virtuals: arrayOf(
      object(
        {
          virtualId: str({ max: 256 }),
          prefix: str({ max: 64 }),
          state: literal('announced', 'withdrawn', 'pending-announce', 'pending-withdraw'),
          reason: literal('serving', 'not-serving', 'announce-delay', 'withdraw-delay', 'not-decided'),
          dueInS: optional(int({ min: 0 })),
          prefixAnnounced: bool,
        },
        false,
      ),
      100_000,
    ),
  },
  false,
);

const daemonStatus: Check<DaemonStatus> = object(
  {
    pid: int({ min: 1 }),
    configFile: str({ max: 4096 }),
    includedFiles: optional(arrayOf(str({ max: 4096 }), 100_000)),
    startedAt: isoTime,
    backend: object({ name: str({ min: 1, max: 32 }), inMemory: bool }, false),
    lastSync: nullable(eventRecord),
    lastReload: nullable(eventRecord),
    kernelOps: optional(
      object(
        { syncs: int({ min: 0 }), applied: int({ min: 0 }), failed: int({ min: 0 }), driftRepairs: int({ min: 0 }) },
        false,
      ),
    ),
    stateSync: optional(stateSyncStatusSchema),
    watchdog: optional(watchdogStatusSchema),
    health: optional(healthStatusSchema),
    ipvsTimeouts: optional(arrayOf(ipvsTimeoutHeld, 3)),
    announce: optional(announceStatus),
    kernelStats: optional(kernelStats),
  },
  false,
);

/** A status report (tolerates members added by newer daemons). */
export const statusReportSchema: Check<StatusReport> = object(
  {
    generatedAt: isoTime,
    daemon: daemonStatus,
    virtualServices: arrayOf(virtualStatusSchema),
    events: optional(arrayOf(statusEvent, MAX_STATUS_EVENTS)),
  },
  false,
);
