// Validators of the control protocol's messages: strict for requests, tolerant of extra members in responses.
import type { DestinationKey, IpvsDestination, IpvsFamily, IpvsOp, IpvsService, IpvsSyncDaemon, ServiceKey } from '../ipvs/types';
import type {
  AnnounceStatus, CheckOutcome, ControlRequest, DaemonStatus, KernelStatsStatus, StatusEvent, TrafficStatus, DrainResult, EventRecord, FallbackStatus, HealthStatus, IpvsTimeoutHeldStatus, PingResult, PreviewStep, QuorumStatus, RealStatus,
  ReloadPreviewResult, ReloadResult, RequestId, RequestType, RestartResult, ResultMap, RoleResult, StateSyncStatus, StatusReport,
  StopResult, SyncDaemonStatus, VirtualStatus, WatchdogStatus, WeightResult, WireDiagnostic, WireError,
} from './protocol';
import { MAX_STATUS_EVENTS } from './recent-events';
import { FORWARD_METHODS, TUNNEL_FLAGS } from '../model';
import { MAX_RUNTIME_WEIGHT } from '../model/weight';
import {
  arrayOf, bool, int, isoTime, literal, nonNegative, nullable, object, optional, SchemaError, str, type Check,
} from './validate';

const PORT = int({ min: 0, max: 65535 });
const WEIGHT = int({ min: 0 });
const TARGET = str({ min: 1, max: 256, printable: true });
const FORWARD = literal(...FORWARD_METHODS);

/** A request id: 1..64 printable characters, or an integer >= 0. */
export const idSchema: Check<RequestId> = (value, path) => {
  if (typeof value === 'number') return int({ min: 0 })(value, path);
  if (typeof value === 'string') return str({ min: 1, max: 64, printable: true })(value, path);
  throw new SchemaError(path, 'expected a string of 1..64 characters or an integer >= 0');
};

/** The request type member. */
export const requestTypeSchema: Check<RequestType> = literal('status', 'reload', 'reload-preview', 'drain', 'undrain', 'weight', 'stop', 'ping', 'role', 'restart');

/** A runtime weight the kernel takes (0..2147483647), or `reset`. */
const RUNTIME_WEIGHT: Check<number | 'reset'> = (value, path) => (value === 'reset' ? 'reset' : int({ min: 0, max: MAX_RUNTIME_WEIGHT })(value, path));

/** The program a restart runs: an absolute path first (the node binary), then its arguments (the entry script). */
const PROGRAM: Check<string[]> = (value, path) => {
  const argv = arrayOf(str({ min: 1, max: 4096, printable: true }), 8)(value, path);
  if (argv.length === 0 || !(argv[0] as string).startsWith('/')) throw new SchemaError(`${path}[0]`, 'expected the absolute path of a program');
  return argv;
};

function simpleRequest<T extends 'reload' | 'reload-preview' | 'stop' | 'ping'>(type: T): Check<ControlRequest> {
  return object({ v: int(), id: idSchema, type: literal(type) }, true);
}

function targetRequest<T extends 'drain' | 'undrain'>(type: T): Check<ControlRequest> {
  return object({ v: int(), id: idSchema, type: literal(type), virtual: TARGET, real: TARGET }, true);
}

/** Strict request validators by type: no unknown member is accepted. */
export const requestSchemas: { readonly [T in RequestType]: Check<ControlRequest> } = {
  status: object({ v: int(), id: idSchema, type: literal('status'), stream: optional(bool) }, true),
  reload: simpleRequest('reload'),
  'reload-preview': simpleRequest('reload-preview'),
  stop: simpleRequest('stop'),
  ping: simpleRequest('ping'),
  drain: targetRequest('drain'),
  undrain: targetRequest('undrain'),
  weight: object({ v: int(), id: idSchema, type: literal('weight'), virtual: TARGET, real: TARGET, weight: RUNTIME_WEIGHT }, true),
  role: object({ v: int(), id: idSchema, type: literal('role'), role: literal('master', 'backup') }, true),
  restart: object({
    v: int(), id: idSchema, type: literal('restart'), program: optional(PROGRAM),
    ipvs: optional(literal('auto', 'netlink', 'ipvsadm', 'memory')), debug: optional(bool), timeoutMs: optional(int({ min: 100, max: 3_600_000 })),
  }, true),
};

const eventRecord: Check<EventRecord> = object({ at: isoTime, ok: bool, message: optional(str({ max: 65536 })) }, false);

const checkOutcome: Check<CheckOutcome> = object({ up: bool, reason: str({ max: 65536 }), durationMs: nonNegative, at: isoTime }, false);

const traffic: Check<TrafficStatus> = object({
  activeConns: nonNegative, inactiveConns: nonNegative, cps: nonNegative, inPps: nonNegative, outPps: nonNegative,
  inBps: nonNegative, outBps: nonNegative, conns: nonNegative,
}, false);

const kernelStats: Check<KernelStatsStatus> = object({ ok: bool, durationMs: nonNegative, error: optional(str({ max: 65536 })) }, false);

const statusEvent: Check<StatusEvent> = object({
  at: isoTime,
  kind: literal('transition', 'reload', 'kernel-refused', 'sync-failed', 'fallback', 'quorum', 'drain', 'command', 'role', 'sync-daemon', 'alert', 'announce'),
  ok: bool, text: str({ max: 65536 }), virtual: optional(str({ max: 256 })), real: optional(str({ max: 256 })),
}, false);

/** One real server of a status report. */
export const realStatusSchema: Check<RealStatus> = object({
  address: str({ min: 1, max: 64 }), port: PORT, forward: FORWARD,
  tunnelPort: optional(nullable(int({ min: 1, max: 65535 }))), tunnelFlags: optional(nullable(literal(...TUNNEL_FLAGS))), health: literal('up', 'down', 'unknown'),
  since: nullable(isoTime), weight: WEIGHT, override: optional(nullable(WEIGHT)), kernelWeight: nullable(WEIGHT), inKernel: bool, lastCheck: nullable(checkOutcome),
  draining: bool, drained: bool, maintenance: bool,
  rising: optional(nullable(object({ successes: int({ min: 1 }), needed: int({ min: 1 }) }, false))),
  slowStart: optional(nullable(object({ weight: WEIGHT, target: WEIGHT }, false))),
  checkWeight: optional(nullable(WEIGHT)), traffic: optional(nullable(traffic)),
}, false);

const fallbackStatus: Check<FallbackStatus> = object({ address: str({ min: 1, max: 64 }), port: PORT, forward: FORWARD }, false);

const quorumStatus: Check<QuorumStatus> = object({
  state: literal('up', 'down', 'pending'), serving: int({ min: 0 }), quorum: int({ min: 1 }), hysteresis: int({ min: 0 }), configured: bool,
}, false);

/** One virtual service of a status report. */
export const virtualStatusSchema: Check<VirtualStatus> = object({
  id: str({ min: 1, max: 128 }), protocol: literal('tcp', 'udp', 'sctp', 'fwm'), family: literal('inet', 'inet6'),
  address: nullable(str({ min: 1, max: 64 })), port: PORT, fwmark: nullable(int({ min: 0, max: 0xffffffff })),
  scheduler: str({ max: 64 }), persistent: optional(nullable(int({ min: 0, max: 0xffffffff }))),
  persistenceEngine: optional(nullable(str({ min: 1, max: 64 }))), fallback: nullable(fallbackStatus), fallbackActive: bool, quorum: optional(quorumStatus), draining: bool,
  traffic: optional(nullable(traffic)), realsUp: int({ min: 0 }), realsTotal: int({ min: 0 }), reals: arrayOf(realStatusSchema),
}, false);

const syncDaemonStatus: Check<SyncDaemonStatus> = object({
  state: literal('master', 'backup'), wanted: bool, running: bool, matches: bool, interface: nullable(str({ min: 1, max: 16 })),
  syncId: nullable(int({ min: 0, max: 0xffffffff })), group: nullable(str({ min: 1, max: 64 })), port: nullable(PORT),
  ttl: nullable(int({ min: 0, max: 255 })), maxLength: nullable(int({ min: 0, max: 65535 })),
}, false);

/** The connection sync part of a status report (and of a `role` answer). */
export const stateSyncStatusSchema: Check<StateSyncStatus> = object({
  configured: bool, role: literal('none', 'master', 'backup'), roleSource: literal('config', 'adopted', 'command'),
  since: nullable(isoTime), ok: bool, checkedAt: nullable(isoTime),
  lastError: nullable(object({ at: isoTime, message: str({ max: 65536 }), errno: nullable(str({ max: 64 })) }, false)),
  daemons: arrayOf(syncDaemonStatus),
}, false);

/** The checker watchdog's verdict (in a status report and a ping answer). */
export const watchdogStatusSchema: Check<WatchdogStatus> = object({
  ok: bool,
  reasons: arrayOf(object({
    code: str({ min: 1, max: 64 }), message: str({ max: 4096 }), ageSeconds: nonNegative, limitSeconds: nonNegative,
    reals: optional(int({ min: 0 })), worst: optional(object({ virtual: str({ max: 256 }), real: str({ max: 256 }) }, false)),
  }, false), 16),
}, false);

/** The director's health verdict (in a status report and a ping answer). */
export const healthStatusSchema: Check<HealthStatus> = object({
  level: literal('ok', 'degraded', 'failing'),
  reasons: arrayOf(object({
    code: str({ min: 1, max: 64 }), level: literal('degraded', 'failing'), message: str({ max: 4096 }),
    virtuals: optional(arrayOf(str({ max: 256 }), 64)),
  }, false), 16),
  summary: str({ max: 4096 }),
}, false);

const TIMEOUT_NAME = literal('tcp', 'tcpfin', 'udp');

const ipvsTimeoutHeld: Check<IpvsTimeoutHeldStatus> = object({
  timeout: TIMEOUT_NAME, value: int({ min: 0, max: 0xffffffff }), found: int({ min: 0, max: 0xffffffff }), restore: bool,
}, false);

const announceStatus: Check<AnnounceStatus> = object({
  driver: str({ max: 8192 }), announced: arrayOf(str({ max: 64 }), 100_000), lastError: nullable(str({ max: 65536 })),
  guard: literal('connected', 'none'),
  virtuals: arrayOf(object({
    virtualId: str({ max: 256 }), prefix: str({ max: 64 }),
    state: literal('announced', 'withdrawn', 'pending-announce', 'pending-withdraw'),
    reason: literal('serving', 'not-serving', 'announce-delay', 'withdraw-delay', 'not-decided'),
    dueInS: optional(int({ min: 0 })), prefixAnnounced: bool,
  }, false), 100_000),
}, false);

const daemonStatus: Check<DaemonStatus> = object({
  pid: int({ min: 1 }), configFile: str({ max: 4096 }), includedFiles: optional(arrayOf(str({ max: 4096 }), 100_000)), startedAt: isoTime,
  backend: object({ name: str({ min: 1, max: 32 }), inMemory: bool }, false),
  lastSync: nullable(eventRecord), lastReload: nullable(eventRecord),
  kernelOps: optional(object({ syncs: int({ min: 0 }), applied: int({ min: 0 }), failed: int({ min: 0 }), driftRepairs: int({ min: 0 }) }, false)),
  stateSync: optional(stateSyncStatusSchema), watchdog: optional(watchdogStatusSchema), health: optional(healthStatusSchema), ipvsTimeouts: optional(arrayOf(ipvsTimeoutHeld, 3)),
  announce: optional(announceStatus),
  kernelStats: optional(kernelStats),
}, false);

/** A status report (tolerates members added by newer daemons). */
export const statusReportSchema: Check<StatusReport> = object({
  generatedAt: isoTime, daemon: daemonStatus, virtualServices: arrayOf(virtualStatusSchema), events: optional(arrayOf(statusEvent, MAX_STATUS_EVENTS)),
}, false);

/** A configuration diagnostic on the wire. */
export const wireDiagnosticSchema: Check<WireDiagnostic> = object({
  file: str({ max: 4096 }), line: int({ min: 0 }), column: optional(int({ min: 0 })), severity: literal('error', 'warning'),
  code: str({ max: 64 }), message: str({ max: 65536 }),
}, false);

/** The error member of a failed response. */
export const wireErrorSchema: Check<WireError> = object({
  code: str({ min: 1, max: 64 }), message: str({ max: 65536 }), diagnostics: optional(arrayOf(wireDiagnosticSchema)),
}, false);

const pingResult: Check<PingResult> = object({
  pid: int({ min: 1 }), configFile: str({ max: 4096 }), startedAt: isoTime, uptimeSeconds: nonNegative, lastSyncOk: nullable(bool),
  role: optional(literal('none', 'master', 'backup')), watchdog: optional(watchdogStatusSchema), health: optional(healthStatusSchema),
  configFiles: optional(arrayOf(object({ path: str({ max: 4096 }), digest: optional(str({ max: 64 })) }, false))),
}, false);

const roleResult: Check<RoleResult> = object({
  role: literal('master', 'backup'), previous: literal('none', 'master', 'backup'), changed: bool, stateSync: stateSyncStatusSchema,
}, false);

const reloadResult: Check<ReloadResult> = object({ file: str({ max: 4096 }), diagnostics: arrayOf(wireDiagnosticSchema) }, false);

const drainResult: Check<DrainResult> = object({
  virtual: str({ min: 1, max: 256 }), real: str({ min: 1, max: 256 }), changed: bool, saveError: optional(str({ max: 65536 })),
}, false);

const weightResult: Check<WeightResult> = object({
  virtual: str({ min: 1, max: 256 }), real: str({ min: 1, max: 256 }), configuredWeight: WEIGHT, weight: nullable(WEIGHT),
  previous: nullable(WEIGHT), changed: bool, saveError: optional(str({ max: 65536 })),
}, false);

const stopResult: Check<StopResult> = (value, path) => {
  if (!object({ stopped: bool }, false)(value, path).stopped) throw new SchemaError(`${path}.stopped`, 'expected true');
  return { stopped: true };
};

const restartResult: Check<RestartResult> = object({ pid: int({ min: 1 }), previousPid: int({ min: 1 }), durationMs: nonNegative }, false);

const FAMILY: Check<IpvsFamily> = literal('inet', 'inet6');
const ADDRESS = str({ min: 1, max: 64 });
const U32 = int({ min: 0, max: 0xffffffff });

/** A service identity: a firewall mark, or protocol, address and port. */
const serviceKey: Check<ServiceKey> = (value, path) => {
  const record = object({ family: FAMILY }, false)(value, path);
  if (value !== null && typeof value === 'object' && 'fwmark' in value) return { ...record, ...object({ fwmark: U32 }, false)(value, path) };
  return { ...record, ...object({ protocol: literal('tcp', 'udp', 'sctp'), address: ADDRESS, port: PORT }, false)(value, path) };
};

/** A service with its settings. */
const ipvsService: Check<IpvsService> = (value, path) => ({
  ...serviceKey(value, path),
  ...object({
    scheduler: str({ min: 1, max: 64 }), persistent: optional(U32), netmask: optional(str({ min: 1, max: 64 })), onePacket: bool,
    schedulerFlags: arrayOf(literal('flag-1', 'flag-2', 'flag-3'), 3), persistenceEngine: optional(str({ min: 1, max: 64 })),
  }, false)(value, path),
});

const destinationKey: Check<DestinationKey & { readonly family: IpvsFamily }> = object({ address: ADDRESS, port: PORT, family: FAMILY }, false);

const ipvsDestination: Check<IpvsDestination> = object({
  address: ADDRESS, family: FAMILY, port: PORT, forward: literal('masq', 'local', 'tunnel', 'route'), weight: WEIGHT,
  upperThreshold: WEIGHT, lowerThreshold: WEIGHT, tunnelType: optional(literal('ipip', 'gue', 'gre')), tunnelPort: optional(PORT),
  tunnelChecksum: optional(literal('nocsum', 'csum', 'remcsum')),
}, false);

/** One kernel operation as the engine applies it. */
export const ipvsOpSchema: Check<IpvsOp> = (value, path) => {
  const { op } = object({ op: literal('add-service', 'edit-service', 'delete-service', 'add-destination', 'edit-destination', 'delete-destination') }, false)(value, path);
  switch (op) {
    case 'add-service':
    case 'edit-service':
      return { op, ...object({ service: ipvsService }, false)(value, path) };
    case 'delete-service':
      return { op, ...object({ service: serviceKey }, false)(value, path) };
    case 'add-destination':
    case 'edit-destination':
      return { op, ...object({ service: serviceKey, destination: ipvsDestination }, false)(value, path) };
    case 'delete-destination':
      return { op, ...object({ service: serviceKey, destination: destinationKey }, false)(value, path) };
  }
};

const syncDaemon: Check<IpvsSyncDaemon> = object({
  state: literal('master', 'backup'), interface: str({ min: 1, max: 16 }), syncId: U32, maxLength: optional(int({ min: 0, max: 65535 })),
  group: optional(str({ min: 1, max: 64 })), port: optional(PORT), ttl: optional(int({ min: 0, max: 255 })),
}, false);

const TEXT = str({ max: 65536 });
const VIRTUAL = str({ min: 1, max: 256 });
const REAL = nullable(str({ min: 1, max: 256 }));

/** Validators of each kind of preview step. */
const previewSteps: { readonly [K in PreviewStep['kind']]: Check<Extract<PreviewStep, { kind: K }>> } = {
  sysctl: object({
    kind: literal('sysctl'), key: str({ min: 1, max: 512 }), old: nullable(TEXT), new: TEXT, why: TEXT,
    status: literal('would-change', 'failed'), reason: nullable(TEXT), text: TEXT,
  }, false),
  'ipvs-timeout': object({
    kind: literal('ipvs-timeout'), timeout: TIMEOUT_NAME, old: nullable(int({ min: 0, max: 0xffffffff })), new: int({ min: 0, max: 0xffffffff }),
    status: literal('would-change', 'would-restore', 'left', 'failed'), why: TEXT, reason: nullable(TEXT), text: TEXT,
  }, false),
  'drain-cancel': object({ kind: literal('drain-cancel'), virtual: VIRTUAL, real: REAL, text: TEXT }, false),
  'drain-begin': object({ kind: literal('drain-begin'), virtual: VIRTUAL, real: REAL, timeoutSeconds: nonNegative, text: TEXT }, false),
  'fallback-command': object({
    kind: literal('fallback-command'), virtual: VIRTUAL, action: literal('start', 'stop'), argv: arrayOf(TEXT, 1024), text: TEXT,
  }, false),
  'drain-end': object({ kind: literal('drain-end'), virtual: VIRTUAL, real: REAL, why: literal('idle', 'timeout', 'gone'), text: TEXT }, false),
  ipvs: object({
    kind: literal('ipvs'), op: ipvsOpSchema, role: nullable(literal('real', 'fallback', 'draining', 'stale')), real: REAL,
    reason: nullable(str({ min: 1, max: 64 })), repair: bool, text: TEXT,
  }, false),
  fallback: object({ kind: literal('fallback'), virtual: VIRTUAL, active: bool, text: TEXT }, false),
  quorum: object({
    kind: literal('quorum'), virtual: VIRTUAL, state: literal('up', 'down'), serving: int({ min: 0 }), quorum: int({ min: 1 }),
    hysteresis: int({ min: 0 }), text: TEXT,
  }, false),
  'quorum-command': object({
    kind: literal('quorum-command'), virtual: VIRTUAL, action: literal('up', 'down'), argv: arrayOf(TEXT, 1024), text: TEXT,
  }, false),
  'sync-daemon': object({
    kind: literal('sync-daemon'), action: literal('start', 'stop'), state: literal('master', 'backup'), daemon: nullable(syncDaemon), text: TEXT,
  }, false),
  'first-check': object({
    kind: literal('first-check'), virtual: VIRTUAL, real: str({ min: 1, max: 256 }), weightUntilChecked: nullable(WEIGHT), weight: WEIGHT, text: TEXT,
  }, false),
  execute: object({ kind: literal('execute'), name: str({ min: 1, max: 4096 }), action: literal('start', 'stop', 'try-reload'), text: TEXT }, false),
};

/** One preview step, by its kind. */
export const previewStepSchema: Check<PreviewStep> = (value, path) => {
  const { kind } = object({ kind: literal(...(Object.keys(previewSteps) as PreviewStep['kind'][])) }, false)(value, path);
  return previewSteps[kind](value, path);
};

const reloadPreviewResult: Check<ReloadPreviewResult> = object({
  file: str({ max: 4096 }), diagnostics: arrayOf(wireDiagnosticSchema), steps: arrayOf(previewStepSchema),
}, false);

/** Result validators by request type. */
export const resultSchemas: { readonly [T in RequestType]: Check<ResultMap[T]> } = {
  status: statusReportSchema,
  reload: reloadResult,
  'reload-preview': reloadPreviewResult,
  drain: drainResult,
  undrain: drainResult,
  weight: weightResult,
  stop: stopResult,
  ping: pingResult,
  role: roleResult,
  restart: restartResult,
};

/** The members every response has. */
export const responseEnvelopeSchema = object({ v: int(), id: nullable(idSchema), ok: bool }, false);
