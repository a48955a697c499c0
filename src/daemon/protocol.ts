// The control socket protocol (version 1): newline-delimited JSON requests and responses between `ldir` and the daemon.
import type { AnnounceStatus } from '../announce/status';
import { join } from 'node:path';
import type { Diagnostic } from '../config/diagnostics';
import { ErrorCodes, type ErrorCode } from '../errors';
import type { IpvsOp, IpvsSyncDaemon } from '../ipvs/types';
import type { AddressFamily, ForwardMethod, Health, SyncRole, SyncStartRole, TunnelFlags, VirtualProtocol } from '../model';
import type { HealthVerdict } from './health-verdict';
import { requestSchemas, requestTypeSchema, resultSchemas, responseEnvelopeSchema, idSchema, wireErrorSchema } from './protocol-schema';
import { SchemaError } from './validate';

/** Version of this protocol; every message carries it as `v`. */
export const PROTOCOL_VERSION = 1;
/** Longest request line the daemon reads (bytes, newline excluded); longer lines get a `CONTROL_TOO_LARGE` error. */
export const MAX_REQUEST_BYTES = 64 * 1024;
/** Longest response line the client reads (bytes); a status report of thousands of reals fits easily. */
export const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;
/** Directory of control sockets (one per configuration name). */
export const CONTROL_DIRECTORY = '/run/ldir';
/** Longest unix socket path the kernel accepts (`sun_path` is 108 bytes with its terminating NUL). */
export const MAX_SOCKET_PATH_BYTES = 107;

/** Path of the control socket of the daemon running configuration `configName` (as the pid file, one per name). */
export function controlSocketPath(configName: string, directory: string = CONTROL_DIRECTORY): string {
  return join(directory, `${configName}.sock`);
}

// ---------------------------------------------------------------------------------------------------- status report

/** Health of a real server as its checks see it; `unknown` until the first result (the model's word, on the wire). */
export type { Health };

/** The result of the most recent check of a real server. */
export interface CheckOutcome {
  readonly up: boolean;
  /** Why, for people (`HTTP 200`, `connect: ECONNREFUSED`); never contains secrets. */
  readonly reason: string;
  readonly durationMs: number;
  /** ISO 8601 time the check finished. */
  readonly at: string;
}

/** A down real server on its way up: its successful checks in a row, of the `risecount` it needs. */
export interface RiseProgress {
  /** Successful checks in a row so far (at least 1). */
  readonly successes: number;
  /** `risecount`: the real is up again at this many. */
  readonly needed: number;
}

/** One real server of a virtual service as the daemon sees it. */
export interface RealStatus {
  /** Numeric address (IPv6 without brackets). */
  readonly address: string;
  readonly port: number;
  readonly forward: ForwardMethod;
  /** GUE port of a gue real server (`tunnelport`); null otherwise (absent from older daemons). */
  readonly tunnelPort?: number | null;
  /** Tunnel checksums of a gue or gre real server (`tunnelflags`); null otherwise (absent from older daemons). */
  readonly tunnelFlags?: TunnelFlags | null;
  readonly health: Health;
  /** ISO 8601 time the real entered its current health state; null when not known. */
  readonly since: string | null;
  /** Weight in the configuration. */
  readonly weight: number;
  /**
   * Runtime weight set by `ldir weight` (the real's weight while up, instead of `weight`); null when the configured
   * weight applies (absent from older daemons).
   */
  readonly override?: number | null;
  /** Weight in the kernel table; null when the real is not in the kernel table. */
  readonly kernelWeight: number | null;
  readonly inKernel: boolean;
  readonly lastCheck: CheckOutcome | null;
  /** Removed from the configuration and kept at weight 0 until its connections end (or the drain timeout). */
  readonly draining: boolean;
  /** Drained by hand (`ldir drain`): weight 0 until `ldir undrain`. */
  readonly drained: boolean;
  /** Forced down by a file in `maintenancedir`. */
  readonly maintenance: boolean;
  /** Down, with successful checks in a row towards `risecount`; null otherwise (absent from older daemons). */
  readonly rising?: RiseProgress | null;
  /** Slow start in progress (`slowstart=`): the step ldir wants now and the weight it ends at; null otherwise. */
  readonly slowStart?: { readonly weight: number; readonly target: number } | null;
  /** The weight its check reports (`weightheader`, an external `weight=N`), within bounds; null when none applies. */
  readonly checkWeight?: number | null;
  /**
   * Connections and rates of its kernel destination, read when the report was made; null when it has no destination
   * or the kernel could not be read (absent from `status` reports made without a kernel read, and older daemons).
   */
  readonly traffic?: TrafficStatus | null;
}

/**
 * Traffic of a kernel service or destination: connection counts (destinations only) and the kernel estimator's rates
 * (averaged over about two seconds by the kernel), plus the totals since the entry was added. Counters above 2^53 lose
 * precision (JSON numbers).
 */
export interface TrafficStatus {
  /** Established connections (destinations; 0 for a service). */
  readonly activeConns: number;
  /** Other connections (SYN_RECV, TIME_WAIT, ...; UDP entries). */
  readonly inactiveConns: number;
  /** Connections per second. */
  readonly cps: number;
  /** Packets per second, client to director and back. */
  readonly inPps: number;
  readonly outPps: number;
  /** Bytes per second, client to director and back. */
  readonly inBps: number;
  readonly outBps: number;
  /** Connections scheduled since the entry was added. */
  readonly conns: number;
}

/** The fallback ("sorry") server of a virtual service. */
export interface FallbackStatus {
  readonly address: string;
  readonly port: number;
  readonly forward: ForwardMethod;
}

/** A virtual's quorum: `up`, `down` (below: the fallback, if any, takes new connections) or `pending` (not decided yet). */
export interface QuorumStatus {
  readonly state: 'up' | 'down' | 'pending';
  /** Real servers that count: up and not drained by hand. */
  readonly serving: number;
  /** Serving real servers needed; gained at quorum + hysteresis, lost below quorum − hysteresis. */
  readonly quorum: number;
  readonly hysteresis: number;
  /** The virtual has quorum settings of its own (`quorum=`...); else quorum 1, the fallback rule. */
  readonly configured: boolean;
}

/** One virtual service as the daemon sees it. */
export interface VirtualStatus {
  /** Identity as in the configuration model: `tcp:192.0.2.1:80`, `udp:[2001:db8::1]:53`, `fwm:100`. */
  readonly id: string;
  readonly protocol: VirtualProtocol;
  readonly family: AddressFamily;
  /** Numeric address; null for fwmark services. */
  readonly address: string | null;
  /** Port; 0 for fwmark services. */
  readonly port: number;
  /** Firewall mark; null for address services. */
  readonly fwmark: number | null;
  readonly scheduler: string;
  /** Persistence timeout in seconds (`persistent=`); null when not persistent (absent from older daemons). */
  readonly persistent?: number | null;
  /** Persistence engine (`persistenceengine=`, e.g. `sip`); null when none (absent from older daemons). */
  readonly persistenceEngine?: string | null;
  readonly fallback: FallbackStatus | null;
  /** The fallback server is in the kernel table because no real is up (below the quorum). */
  readonly fallbackActive: boolean;
  /** The quorum (daemons before it was added send none). */
  readonly quorum?: QuorumStatus;
  /** Removed from the configuration and being drained. */
  readonly draining: boolean;
  /** Traffic of its kernel service (see {@link RealStatus.traffic}). */
  readonly traffic?: TrafficStatus | null;
  readonly realsUp: number;
  readonly realsTotal: number;
  readonly reals: readonly RealStatus[];
}

/** When something last happened in the daemon, and whether it worked. */
export interface EventRecord {
  /** ISO 8601 time. */
  readonly at: string;
  readonly ok: boolean;
  /** What went wrong (or a summary), for people. */
  readonly message?: string;
}

/** What the daemon did to the kernel table since it started. */
export interface KernelOpsCounters {
  readonly syncs: number;
  readonly applied: number;
  readonly failed: number;
  readonly driftRepairs: number;
}

/** One reason the checker watchdog fails (src/daemon/watchdog.ts). */
export interface WatchdogReasonStatus {
  /** Stable code: `checks-overdue` or `engine-stalled` (a newer daemon may add codes). */
  readonly code: string;
  /** One line for people, starting with the code. */
  readonly message: string;
  /** Seconds since the last check result of the worst real, or since the last finished kernel sync pass. */
  readonly ageSeconds: number;
  /** The limit that age went past, in seconds. */
  readonly limitSeconds: number;
  /** `checks-overdue`: how many (virtual, real) pairs are overdue. */
  readonly reals?: number;
  /** `checks-overdue`: the pair longest without a result (virtual id, real as `ADDRESS:PORT`). */
  readonly worst?: { readonly virtual: string; readonly real: string };
}

/**
 * The checker watchdog: not ok when a real's checks have given no result for more than 2 × (interval + timeout), or
 * the engine has not finished a kernel sync pass for more than 3 × the resync interval.
 */
export interface WatchdogStatus {
  readonly ok: boolean;
  /** What fails (empty when ok). */
  readonly reasons: readonly WatchdogReasonStatus[];
}

/**
 * The director's one health verdict on the wire (src/daemon/health-verdict.ts): `ok`, `degraded` (running, part of
 * the configuration not in force) or `failing`, with named reasons and a one-line summary.
 */
export interface HealthStatus {
  readonly level: HealthVerdict['level'];
  /** Codes are a {@link HealthVerdict}'s (`kernel-refused`, ...); a newer daemon may send codes this one lacks. */
  readonly reasons: readonly {
    readonly code: string;
    readonly level: 'degraded' | 'failing';
    readonly message: string;
    readonly virtuals?: readonly string[];
  }[];
  readonly summary: string;
}

/** A kernel IPVS connection timeout ldir holds (`ipvstimeouts=`). */
export interface IpvsTimeoutHeldStatus {
  /** As ipvsadm names it. */
  readonly timeout: 'tcp' | 'tcpfin' | 'udp';
  /** The value ldir set, in seconds. */
  readonly value: number;
  /** The kernel's value before ldir first set it. */
  readonly found: number;
  /** `ipvstimeoutsrestore=yes`: `found` is written back when ldir stops setting it (stop, or a reload without it). */
  readonly restore: boolean;
}

export type { AnnounceStatus, VirtualAnnounceStatus } from '../announce/status';

/** The daemon itself. */
export interface DaemonStatus {
  readonly pid: number;
  /** Absolute path of the configuration file in force. */
  readonly configFile: string;
  /**
   * The files its `include` directives read, in reading order (absolute paths; what autoreload watches besides
   * `configFile`); absent when it includes none, and from daemons before issue 15.
   */
  readonly includedFiles?: readonly string[];
  /** ISO 8601 time the daemon started. */
  readonly startedAt: string;
  /** Kernel backend: `netlink`, `ipvsadm` or `memory`; `inMemory` says the kernel table is not touched at all. */
  readonly backend: { readonly name: string; readonly inMemory: boolean };
  /** Last kernel sync (desired vs kernel table); null before the first. */
  readonly lastSync: EventRecord | null;
  /** Last reload; null when the daemon has not reloaded since it started. */
  readonly lastReload: EventRecord | null;
  /** Kernel work since the start: sync passes, operations applied and refused, repairs of outside changes. */
  readonly kernelOps?: KernelOpsCounters;
  /** Connection sync: the director's role and the kernel's sync daemons (absent from daemons before issue 7). */
  readonly stateSync?: StateSyncStatus;
  /** The checker watchdog's verdict (absent from daemons before issue 14). */
  readonly watchdog?: WatchdogStatus;
  /** The director's health verdict (what `/healthz` and the metrics say too); absent from daemons before issue 21. */
  readonly health?: HealthStatus;
  /** The IPVS connection timeouts ldir holds (`ipvstimeouts=`); empty when none (absent from older daemons). */
  readonly ipvsTimeouts?: readonly IpvsTimeoutHeldStatus[];
  /** Route health injection (`announce=bird|frr`); absent when no virtual is announced (and from older daemons). */
  readonly announce?: AnnounceStatus;
  /** The kernel read behind the `traffic` members: absent when the report was made without one. */
  readonly kernelStats?: KernelStatsStatus;
}

/** How the kernel read for a report's traffic went. */
export interface KernelStatsStatus {
  readonly ok: boolean;
  readonly durationMs: number;
  /** Why it failed (`timeout` or the error's message); absent when ok. */
  readonly error?: string;
}

/** What a {@link StatusEvent} reports. */
export type StatusEventKind =
  | 'transition' | 'reload' | 'kernel-refused' | 'sync-failed' | 'fallback' | 'quorum' | 'drain' | 'command' | 'role' | 'sync-daemon' | 'alert' | 'announce';

/** One of the director's recent events (health changes, reloads, refusals, alerts sent), newest last. */
export interface StatusEvent {
  /** ISO 8601 time. */
  readonly at: string;
  readonly kind: StatusEventKind;
  /** False for what went wrong or lost service (a real down, a refusal, a failed alert). */
  readonly ok: boolean;
  /** One line for people (`real 10.0.0.2:80 of tcp:10.0.0.1:80 down (refused)`). */
  readonly text: string;
  /** The virtual service concerned, when one is. */
  readonly virtual?: string;
  /** The real server concerned, when one is. */
  readonly real?: string;
}

/** One state of the kernel's connection sync daemon. */
export interface SyncDaemonStatus {
  readonly state: 'master' | 'backup';
  /** ldir wants it running (the state of the director's role, sync configured). */
  readonly wanted: boolean;
  /** The kernel runs it (at the last look). */
  readonly running: boolean;
  /** It runs as configured, or (not wanted) does not run. */
  readonly matches: boolean;
  /** As the kernel reports it; null when it does not run. */
  readonly interface: string | null;
  readonly syncId: number | null;
  readonly group: string | null;
  readonly port: number | null;
  readonly ttl: number | null;
  readonly maxLength: number | null;
}

/** The director's sync role and the kernel's connection sync daemons. */
export interface StateSyncStatus {
  /** `syncinterface` is configured (without it no sync daemon is touched; the role is still kept). */
  readonly configured: boolean;
  /** `master` sends the connection table, `backup` receives it; `none` runs no sync daemon. */
  readonly role: SyncStartRole;
  /** Where the role came from: `config` (syncrole), `adopted` (a daemon found running at start), `command` (promote/demote). */
  readonly roleSource: 'config' | 'adopted' | 'command';
  /** ISO 8601 time since which the role holds; null before any role. */
  readonly since: string | null;
  /** The kernel runs what the role asks for. */
  readonly ok: boolean;
  /** ISO 8601 time of the last look at the kernel's sync daemons; null before the first. */
  readonly checkedAt: string | null;
  /** The last refusal, until the kernel runs what ldir wants again. */
  readonly lastError: { readonly at: string; readonly message: string; readonly errno: string | null } | null;
  /** Both states once sync is configured (or a daemon ldir manages was seen). */
  readonly daemons: readonly SyncDaemonStatus[];
}

/** What `ldir status` shows: plain JSON, no secrets. */
export interface StatusReport {
  /** ISO 8601 time the report was made; durations in the human view are relative to it. */
  readonly generatedAt: string;
  readonly daemon: DaemonStatus;
  readonly virtualServices: readonly VirtualStatus[];
  /** The last events, oldest first (at most 50: `MAX_STATUS_EVENTS` in recent-events.ts); absent from older daemons. */
  readonly events?: readonly StatusEvent[];
}

/**
 * Reals per line of a streamed status answer: a line stays near 150 KB, and the daemon builds it in a few
 * milliseconds, so a status of any size never holds the daemon's event loop for long (issue 21).
 */
export const STATUS_STREAM_REALS = 500;

/**
 * One part of a streamed status answer (`status` with `stream: true`), in this order: `head` (the report with no
 * virtual services), then for each virtual service `virtual` (with its first reals) and as many `reals` as it needs
 * (more reals of the virtual before it), then `end` with the counts sent, which the client checks. Each is one line
 * `{"v":1,"id":...,"ok":true,"type":"status","part":...}`; an error line (`ok` false) ends the answer early.
 * Virtual services are each read in one piece; between them, time passes (`generatedAt` is the head's time).
 */
export type StatusStreamPart =
  | { readonly part: 'head'; readonly result: StatusReport }
  | { readonly part: 'virtual'; readonly virtual: VirtualStatus }
  | { readonly part: 'reals'; readonly reals: readonly RealStatus[] }
  | { readonly part: 'end'; readonly virtuals: number; readonly reals: number };

/** A line of a streamed status answer as it travels. */
export type StatusStreamLine = StatusStreamPart & { readonly v: number; readonly id: RequestId; readonly ok: true; readonly type: 'status' };

/** Serializes one part of a streamed status answer as one line. */
export function encodeStatusPart(id: RequestId, part: StatusStreamPart): string {
  return `${JSON.stringify({ v: PROTOCOL_VERSION, id, ok: true, type: 'status', ...part })}\n`;
}

// ---------------------------------------------------------------------------------------------------- other results

/** Configuration diagnostic as it travels on the wire (see `config/diagnostics`). */
export interface WireDiagnostic {
  readonly file: string;
  readonly line: number;
  readonly column?: number;
  readonly severity: 'error' | 'warning';
  /** Diagnostic code (`unknown-directive`, ...). */
  readonly code: string;
  readonly message: string;
}

/** Answer to `ping`: cheap liveness for the OCF monitor (no config parse, no kernel dump). */
export interface PingResult {
  readonly pid: number;
  readonly configFile: string;
  readonly startedAt: string;
  readonly uptimeSeconds: number;
  /** Whether the last kernel sync succeeded; null before the first sync. */
  readonly lastSyncOk: boolean | null;
  /** The director's sync role (OCF monitor: master = promoted); absent from daemons before issue 7. */
  readonly role?: SyncStartRole;
  /** The checker watchdog's verdict; absent from daemons before issue 14 (read as ok). */
  readonly watchdog?: WatchdogStatus;
  /** The director's health verdict (what `/healthz` and the metrics say too); absent from daemons before issue 21. */
  readonly health?: HealthStatus;
  /**
   * The files of the configuration in force (the main one first, then each included one) with the SHA-256 (hex) of
   * their content as the daemon loaded it (start or reload; no digest: an include that could not be read): `ldir
   * ping` reads the configuration only when one of them differs, to warn that it is broken. Absent from daemons
   * before issue 19.
   */
  readonly configFiles?: readonly ConfigFileDigest[];
}

/** One file of the configuration in force, in a `ping` answer. */
export interface ConfigFileDigest {
  readonly path: string;
  readonly digest?: string;
}

/** Answer to a successful `reload`: the file now in force and its warnings. */
export interface ReloadResult {
  readonly file: string;
  readonly diagnostics: readonly WireDiagnostic[];
}

/**
 * One thing a reload would do, as `reload-preview` (`ldir reload --dry-run`) reports it: its data by `kind`, and
 * `text`, its line for people. Kinds, in the order a reload does them:
 * - `sysctl`: a sysctl written (`status` `would-change`), or one that cannot be set (`failed`, with `reason`);
 * - `ipvs-timeout`: an IPVS connection timeout written (`would-change`), given back (`would-restore`), no longer set
 *   by ldir and left as it is (`left`), or one that cannot be read (`failed`, with `reason`);
 * - `drain-cancel`: a drain that stops, its target being back in the configuration;
 * - `drain-begin`: a virtual service (`real` null) or a real server removed by the configuration (or left in the
 *   kernel) that drains: weight 0 until idle or `timeoutSeconds`;
 * - `fallback-command`: `fallbackcommand` run (`argv`), for a removed virtual or a fallback edge;
 * - `drain-end`: a drain that ends at the reload's table pass (`idle`, `timeout`, `gone`): what it kept is deleted;
 * - `ipvs`: one kernel operation (`op`, as the engine applies it), with what its destination is to ldir;
 * - `fallback`: a virtual that goes into (`active`) or out of fallback mode;
 * - `sync-daemon`: a kernel connection sync daemon stopped or started;
 * - `first-check`: a real server new to the configuration: its place until its first check answers, and its weight
 *   once up (the check runs after the table pass);
 * - `execute`: an `execute=` instance started, stopped or reloaded.
 */
export type PreviewStep =
  | {
    readonly kind: 'sysctl'; readonly key: string; readonly old: string | null; readonly new: string; readonly why: string;
    readonly status: 'would-change' | 'failed'; readonly reason: string | null; readonly text: string;
  }
  | {
    readonly kind: 'ipvs-timeout'; readonly timeout: 'tcp' | 'tcpfin' | 'udp'; readonly old: number | null; readonly new: number;
    readonly status: 'would-change' | 'would-restore' | 'left' | 'failed'; readonly why: string; readonly reason: string | null; readonly text: string;
  }
  | { readonly kind: 'drain-cancel'; readonly virtual: string; readonly real: string | null; readonly text: string }
  | { readonly kind: 'drain-begin'; readonly virtual: string; readonly real: string | null; readonly timeoutSeconds: number; readonly text: string }
  | { readonly kind: 'fallback-command'; readonly virtual: string; readonly action: 'start' | 'stop'; readonly argv: readonly string[]; readonly text: string }
  | { readonly kind: 'drain-end'; readonly virtual: string; readonly real: string | null; readonly why: 'idle' | 'timeout' | 'gone'; readonly text: string }
  | {
    readonly kind: 'ipvs'; readonly op: IpvsOp;
    /** What the destination is to ldir; null for service operations. */
    readonly role: 'real' | 'fallback' | 'draining' | 'stale' | null;
    /** The configured real server (`ADDRESS:PORT`) the operation is for; null otherwise. */
    readonly real: string | null;
    /** The engine's decision for that real (`up`, `down-quiescent`, ...); null otherwise. */
    readonly reason: string | null;
    /** The desired table has not changed since a pass that converged: the kernel was changed outside ldir. */
    readonly repair: boolean;
    readonly text: string;
  }
  | { readonly kind: 'fallback'; readonly virtual: string; readonly active: boolean; readonly text: string }
  | {
    readonly kind: 'quorum'; readonly virtual: string; readonly state: 'up' | 'down'; readonly serving: number; readonly quorum: number;
    readonly hysteresis: number; readonly text: string;
  }
  | { readonly kind: 'quorum-command'; readonly virtual: string; readonly action: 'up' | 'down'; readonly argv: readonly string[]; readonly text: string }
  | {
    readonly kind: 'sync-daemon'; readonly action: 'start' | 'stop'; readonly state: 'master' | 'backup';
    /** The daemon started; null for a stop. */
    readonly daemon: IpvsSyncDaemon | null;
    readonly text: string;
  }
  | {
    readonly kind: 'first-check'; readonly virtual: string; readonly real: string;
    /** Weight in the table until the first check answers; null: not in the table. */
    readonly weightUntilChecked: number | null;
    /** Weight once checked up. */
    readonly weight: number;
    readonly text: string;
  }
  | { readonly kind: 'execute'; readonly name: string; readonly action: 'start' | 'stop' | 'try-reload'; readonly text: string };

/** Answer to `reload-preview`: what a `reload` would do now, in order; nothing has been done. */
export interface ReloadPreviewResult {
  /** The file the daemon loaded (the one a reload loads). */
  readonly file: string;
  /** Its warnings. */
  readonly diagnostics: readonly WireDiagnostic[];
  /** In the order the reload would do them; empty when it would change nothing. */
  readonly steps: readonly PreviewStep[];
}

/** Answer to `drain`/`undrain`: the canonical names of the target and whether anything changed. */
export interface DrainResult {
  /** Virtual service id (`tcp:192.0.2.1:80`). */
  readonly virtual: string;
  /** Real server as `ADDRESS:PORT` (`[ADDRESS]:PORT` for IPv6). */
  readonly real: string;
  /** False when it already was (un)drained. */
  readonly changed: boolean;
  /**
   * Present when the state file does not hold the hand settings now in force (it could not be written): the change
   * is in force but would be lost at a stop and start. Says why.
   */
  readonly saveError?: string;
}

/** Answer to `weight`: the canonical names of the target, its weights, and whether anything changed. */
export interface WeightResult {
  /** Virtual service id (`tcp:192.0.2.1:80`). */
  readonly virtual: string;
  /** Real server as `ADDRESS:PORT` (`[ADDRESS]:PORT` for IPv6). */
  readonly real: string;
  /** Its weight in the configuration. */
  readonly configuredWeight: number;
  /** The runtime weight now in force; null after `reset` (the configured weight applies). */
  readonly weight: number | null;
  /** The runtime weight before; null when there was none. */
  readonly previous: number | null;
  /** False when it already had this runtime weight (or none, for `reset`). */
  readonly changed: boolean;
  /** As {@link DrainResult.saveError}. */
  readonly saveError?: string;
}

/** Answer to `role` (`ldir promote|demote`), once the kernel's sync daemons were brought in line (or refused). */
export interface RoleResult {
  readonly role: SyncRole;
  readonly previous: SyncStartRole;
  /** False when the director already had this role. */
  readonly changed: boolean;
  readonly stateSync: StateSyncStatus;
}

/** Answer to `stop`, sent once shutdown cleanup has finished. */
export interface StopResult {
  readonly stopped: true;
}

/** Answer to `restart`, sent once the successor daemon runs and this one is about to exit without cleanup. */
export interface RestartResult {
  /** The successor's pid (the daemon of record from now on). */
  readonly pid: number;
  /** The pid of the daemon that answered and now exits. */
  readonly previousPid: number;
  /** Milliseconds from the request to the successor's ready report. */
  readonly durationMs: number;
}

/** Result payload by request type. */
export interface ResultMap {
  status: StatusReport;
  reload: ReloadResult;
  'reload-preview': ReloadPreviewResult;
  drain: DrainResult;
  undrain: DrainResult;
  weight: WeightResult;
  stop: StopResult;
  ping: PingResult;
  role: RoleResult;
  restart: RestartResult;
}

// ---------------------------------------------------------------------------------------------------- messages

/** Every request type. */
export const REQUEST_TYPES = ['status', 'reload', 'reload-preview', 'drain', 'undrain', 'weight', 'stop', 'ping', 'role', 'restart'] as const;
/** One of {@link REQUEST_TYPES}. */
export type RequestType = (typeof REQUEST_TYPES)[number];

/** Request id chosen by the client and echoed in the response: 1..64 printable characters or an integer >= 0. */
export type RequestId = string | number;

/** What a request asks, without the envelope. */
export type RequestBody =
  /** `stream`: the answer comes as a sequence of lines ({@link StatusStreamLine}), for tables of any size. */
  | { readonly type: 'status'; readonly stream?: boolean }
  | { readonly type: 'reload' | 'reload-preview' | 'stop' | 'ping' }
  | { readonly type: 'drain' | 'undrain'; readonly virtual: string; readonly real: string }
  /** A runtime weight (0..2147483647), or `reset` to the configured weight. */
  | { readonly type: 'weight'; readonly virtual: string; readonly real: string; readonly weight: number | 'reset' }
  | { readonly type: 'role'; readonly role: SyncRole }
  | ({ readonly type: 'restart' } & RestartOptions);

/**
 * How `restart` starts the successor: the program that runs `ldir` (absolute paths: the node binary and the entry
 * script of the installation that asks, so that a restart after an upgrade runs the new version), the kernel backend
 * and debug logging it should use, and how long it may take to be ready.
 */
export interface RestartOptions {
  readonly program?: readonly string[];
  readonly ipvs?: 'auto' | 'netlink' | 'ipvsadm' | 'memory';
  readonly debug?: boolean;
  readonly timeoutMs?: number;
}

/** A request line: `{"v":1,"id":"c1","type":"drain","virtual":"tcp:192.0.2.1:80","real":"10.0.0.1:80"}`. */
export type ControlRequest = RequestBody & { readonly v: number; readonly id: RequestId };

/** Error part of a failed response: a stable `LDIR_ERR_*` code, a message, and for `reload` the diagnostics. */
export interface WireError {
  readonly code: string;
  readonly message: string;
  readonly diagnostics?: readonly WireDiagnostic[];
}

/** A successful response line: `{"v":1,"id":"c1","ok":true,"type":"status","result":{...}}`. */
export interface OkResponse<T extends RequestType = RequestType> {
  readonly v: number;
  readonly id: RequestId;
  readonly ok: true;
  readonly type: T;
  readonly result: ResultMap[T];
}

/** A failed response line; `id` is null when the request's id could not be read. */
export interface ErrorResponse {
  readonly v: number;
  readonly id: RequestId | null;
  readonly ok: false;
  readonly error: WireError;
}

/** A response line for a request of type `T`. */
export type ControlResponse<T extends RequestType = RequestType> = OkResponse<T> | ErrorResponse;

/** A diagnostic of the configuration loader in its wire form. */
export function toWireDiagnostic(d: Diagnostic): WireDiagnostic {
  return {
    file: d.pos.file, line: d.pos.line, ...(d.pos.column !== undefined ? { column: d.pos.column } : {}),
    severity: d.severity, code: d.code, message: d.message,
  };
}

/** Formats a wire diagnostic as `PATH:LINE: message` (`PATH:LINE:COL:`; `warning: ` before warnings), as `ldir check`. */
export function formatWireDiagnostic(d: WireDiagnostic): string {
  const where = d.column === undefined ? `${d.file}:${d.line}` : `${d.file}:${d.line}:${d.column}`;
  return `${where}: ${d.severity === 'warning' ? 'warning: ' : ''}${d.message}`;
}

/** Builds a successful response. */
export function okResponse<T extends RequestType>(id: RequestId, type: T, result: ResultMap[T]): OkResponse<T> {
  return { v: PROTOCOL_VERSION, id, ok: true, type, result };
}

/** Builds a failed response. */
export function errorResponse(id: RequestId | null, code: ErrorCode | string, message: string, diagnostics?: readonly WireDiagnostic[]): ErrorResponse {
  return { v: PROTOCOL_VERSION, id, ok: false, error: { code, message, ...(diagnostics !== undefined ? { diagnostics } : {}) } };
}

/** Serializes a request or response as one line (JSON escapes every newline inside strings). */
export function encodeMessage(message: ControlRequest | ControlResponse): string {
  return `${JSON.stringify(message)}\n`;
}

/** Outcome of {@link parseRequest}: the request, or the error response to send back. */
export type ParsedRequest = { readonly ok: true; readonly request: ControlRequest } | { readonly ok: false; readonly response: ErrorResponse };

/**
 * Parses and strictly validates one request line (newline removed). Never throws: a line that is too long, not JSON,
 * of another protocol version, of an unknown type or with missing, extra or ill-typed members gives the error
 * response to send, echoing the request id when it could be read.
 */
export function parseRequest(line: string): ParsedRequest {
  const fail = (id: RequestId | null, code: ErrorCode, message: string): ParsedRequest => ({ ok: false, response: errorResponse(id, code, message) });
  if (Buffer.byteLength(line, 'utf8') > MAX_REQUEST_BYTES) return fail(null, ErrorCodes.CONTROL_TOO_LARGE, `request longer than ${MAX_REQUEST_BYTES} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    return fail(null, ErrorCodes.CONTROL_BAD_REQUEST, `request is not JSON: ${(err as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return fail(null, ErrorCodes.CONTROL_BAD_REQUEST, 'request is not a JSON object');
  const record = value as Record<string, unknown>;
  let id: RequestId | null = null;
  try {
    id = idSchema(record['id'], '$.id');
  } catch (err) {
    return fail(null, ErrorCodes.CONTROL_BAD_REQUEST, `bad request: ${(err as Error).message}`);
  }
  const v = record['v'];
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) return fail(id, ErrorCodes.CONTROL_BAD_REQUEST, 'bad request: $.v: missing or not an integer');
  if (v !== PROTOCOL_VERSION) {
    return fail(id, ErrorCodes.CONTROL_VERSION, `protocol version ${v} is not supported (this daemon speaks ${PROTOCOL_VERSION})`);
  }
  try {
    const type = requestTypeSchema(record['type'], '$.type');
    return { ok: true, request: requestSchemas[type](value, '$') };
  } catch (err) {
    if (!(err instanceof SchemaError)) throw err;
    return fail(id, ErrorCodes.CONTROL_BAD_REQUEST, `bad request: ${err.message}`);
  }
}

/**
 * Parses and validates one response line for a request of type `type`. Unknown members (from a newer daemon) are
 * dropped. Throws a {@link SchemaError} when the line is not a valid response.
 */
export function parseResponse<T extends RequestType>(line: string, type: T): ControlResponse<T> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    throw new SchemaError('$', `response is not JSON: ${(err as Error).message}`);
  }
  const envelope = responseEnvelopeSchema(value, '$');
  const record = value as Record<string, unknown>;
  if (envelope.ok === false) {
    return { v: envelope.v, id: envelope.id, ok: false, error: wireErrorSchema(record['error'], '$.error') };
  }
  if (envelope.id === null) throw new SchemaError('$.id', 'a successful response needs the request id');
  if (record['type'] !== type) throw new SchemaError('$.type', `expected a "${type}" response, got ${JSON.stringify(record['type'])}`);
  const result = resultSchemas[type](record['result'], '$.result') as ResultMap[T];
  return { v: envelope.v, id: envelope.id, ok: true, type, result };
}
