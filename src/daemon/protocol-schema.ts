// Validators of the control protocol's messages: strict for requests, tolerant of extra members in responses.
import type {
  CheckOutcome, ControlRequest, DaemonStatus, DrainResult, EventRecord, FallbackStatus, PingResult, QuorumStatus, RealStatus, ReloadResult,
  RequestId, RequestType, RestartResult, ResultMap, RoleResult, StateSyncStatus, StatusReport, StopResult, SyncDaemonStatus, VirtualStatus,
  WatchdogStatus, WireDiagnostic, WireError,
} from './protocol';
import {
  arrayOf, bool, int, isoTime, literal, nonNegative, nullable, object, optional, SchemaError, str, type Check,
} from './validate';

const PORT = int({ min: 0, max: 65535 });
const WEIGHT = int({ min: 0 });
const TARGET = str({ min: 1, max: 256, printable: true });
const FORWARD = literal('gate', 'masq', 'ipip');

/** A request id: 1..64 printable characters, or an integer >= 0. */
export const idSchema: Check<RequestId> = (value, path) => {
  if (typeof value === 'number') return int({ min: 0 })(value, path);
  if (typeof value === 'string') return str({ min: 1, max: 64, printable: true })(value, path);
  throw new SchemaError(path, 'expected a string of 1..64 characters or an integer >= 0');
};

/** The request type member. */
export const requestTypeSchema: Check<RequestType> = literal('status', 'reload', 'drain', 'undrain', 'stop', 'ping', 'role', 'restart');

/** The program a restart runs: an absolute path first (the node binary), then its arguments (the entry script). */
const PROGRAM: Check<string[]> = (value, path) => {
  const argv = arrayOf(str({ min: 1, max: 4096, printable: true }), 8)(value, path);
  if (argv.length === 0 || !(argv[0] as string).startsWith('/')) throw new SchemaError(`${path}[0]`, 'expected the absolute path of a program');
  return argv;
};

function simpleRequest<T extends 'status' | 'reload' | 'stop' | 'ping'>(type: T): Check<ControlRequest> {
  return object({ v: int(), id: idSchema, type: literal(type) }, true);
}

function targetRequest<T extends 'drain' | 'undrain'>(type: T): Check<ControlRequest> {
  return object({ v: int(), id: idSchema, type: literal(type), virtual: TARGET, real: TARGET }, true);
}

/** Strict request validators by type: no unknown member is accepted. */
export const requestSchemas: { readonly [T in RequestType]: Check<ControlRequest> } = {
  status: simpleRequest('status'),
  reload: simpleRequest('reload'),
  stop: simpleRequest('stop'),
  ping: simpleRequest('ping'),
  drain: targetRequest('drain'),
  undrain: targetRequest('undrain'),
  role: object({ v: int(), id: idSchema, type: literal('role'), role: literal('master', 'backup') }, true),
  restart: object({
    v: int(), id: idSchema, type: literal('restart'), program: optional(PROGRAM),
    ipvs: optional(literal('auto', 'netlink', 'ipvsadm', 'memory')), debug: optional(bool), timeoutMs: optional(int({ min: 100, max: 3_600_000 })),
  }, true),
};

const eventRecord: Check<EventRecord> = object({ at: isoTime, ok: bool, message: optional(str({ max: 65536 })) }, false);

const checkOutcome: Check<CheckOutcome> = object({ up: bool, reason: str({ max: 65536 }), durationMs: nonNegative, at: isoTime }, false);

const realStatus: Check<RealStatus> = object({
  address: str({ min: 1, max: 64 }), port: PORT, forward: FORWARD, health: literal('up', 'down', 'unknown'),
  since: nullable(isoTime), weight: WEIGHT, kernelWeight: nullable(WEIGHT), inKernel: bool, lastCheck: nullable(checkOutcome),
  draining: bool, drained: bool, maintenance: bool,
  rising: optional(nullable(object({ successes: int({ min: 1 }), needed: int({ min: 1 }) }, false))),
}, false);

const fallbackStatus: Check<FallbackStatus> = object({ address: str({ min: 1, max: 64 }), port: PORT, forward: FORWARD }, false);

const quorumStatus: Check<QuorumStatus> = object({
  state: literal('up', 'down', 'pending'), serving: int({ min: 0 }), quorum: int({ min: 1 }), hysteresis: int({ min: 0 }), configured: bool,
}, false);

const virtualStatus: Check<VirtualStatus> = object({
  id: str({ min: 1, max: 128 }), protocol: literal('tcp', 'udp', 'fwm'), family: literal('inet', 'inet6'),
  address: nullable(str({ min: 1, max: 64 })), port: PORT, fwmark: nullable(int({ min: 0, max: 0xffffffff })),
  scheduler: str({ max: 64 }), fallback: nullable(fallbackStatus), fallbackActive: bool, quorum: optional(quorumStatus), draining: bool,
  realsUp: int({ min: 0 }), realsTotal: int({ min: 0 }), reals: arrayOf(realStatus),
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

const daemonStatus: Check<DaemonStatus> = object({
  pid: int({ min: 1 }), configFile: str({ max: 4096 }), startedAt: isoTime,
  backend: object({ name: str({ min: 1, max: 32 }), inMemory: bool }, false),
  lastSync: nullable(eventRecord), lastReload: nullable(eventRecord),
  kernelOps: optional(object({ syncs: int({ min: 0 }), applied: int({ min: 0 }), failed: int({ min: 0 }), driftRepairs: int({ min: 0 }) }, false)),
  stateSync: optional(stateSyncStatusSchema), watchdog: optional(watchdogStatusSchema),
}, false);

/** A status report (tolerates members added by newer daemons). */
export const statusReportSchema: Check<StatusReport> = object({
  generatedAt: isoTime, daemon: daemonStatus, virtualServices: arrayOf(virtualStatus),
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
  role: optional(literal('none', 'master', 'backup')), watchdog: optional(watchdogStatusSchema),
}, false);

const roleResult: Check<RoleResult> = object({
  role: literal('master', 'backup'), previous: literal('none', 'master', 'backup'), changed: bool, stateSync: stateSyncStatusSchema,
}, false);

const reloadResult: Check<ReloadResult> = object({ file: str({ max: 4096 }), diagnostics: arrayOf(wireDiagnosticSchema) }, false);

const drainResult: Check<DrainResult> = object({ virtual: str({ min: 1, max: 256 }), real: str({ min: 1, max: 256 }), changed: bool }, false);

const stopResult: Check<StopResult> = (value, path) => {
  if (!object({ stopped: bool }, false)(value, path).stopped) throw new SchemaError(`${path}.stopped`, 'expected true');
  return { stopped: true };
};

const restartResult: Check<RestartResult> = object({ pid: int({ min: 1 }), previousPid: int({ min: 1 }), durationMs: nonNegative }, false);

/** Result validators by request type. */
export const resultSchemas: { readonly [T in RequestType]: Check<ResultMap[T]> } = {
  status: statusReportSchema,
  reload: reloadResult,
  drain: drainResult,
  undrain: drainResult,
  stop: stopResult,
  ping: pingResult,
  role: roleResult,
  restart: restartResult,
};

/** The members every response has. */
export const responseEnvelopeSchema = object({ v: int(), id: nullable(idSchema), ok: bool }, false);
