// The control protocol's status report (`ldir status`, `/status.json`): the daemon, its virtual and real servers.
import type { AddressFamily, ForwardMethod, Health, SyncStartRole, TunnelFlags, VirtualProtocol } from '../model';
import type { HealthVerdict } from './health-verdict';
import type { AnnounceStatus } from '../announce/status';

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
  | 'transition'
  | 'reload'
  | 'kernel-refused'
  | 'sync-failed'
  | 'fallback'
  | 'quorum'
  | 'drain'
  | 'command'
  | 'role'
  | 'sync-daemon'
  | 'alert'
  | 'announce';

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
