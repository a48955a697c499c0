// The control protocol's answers other than the status report: ping, reload and its preview, drain, weight, role,
// stop, restart; and the result type of every request.
import type { SyncRole, SyncStartRole } from '../model';
import type { IpvsOp, IpvsSyncDaemon } from '../ipvs/types';
import type { WatchdogStatus, HealthStatus, StateSyncStatus, StatusReport } from './protocol-status';

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
      readonly kind: 'sysctl';
      readonly key: string;
      readonly old: string | null;
      readonly new: string;
      readonly why: string;
      readonly status: 'would-change' | 'failed';
      readonly reason: string | null;
      readonly text: string;
    }
  | {
      readonly kind: 'ipvs-timeout';
      readonly timeout: 'tcp' | 'tcpfin' | 'udp';
      readonly old: number | null;
      readonly new: number;
      readonly status: 'would-change' | 'would-restore' | 'left' | 'failed';
      readonly why: string;
      readonly reason: string | null;
      readonly text: string;
    }
  | { readonly kind: 'drain-cancel'; readonly virtual: string; readonly real: string | null; readonly text: string }
  | {
      readonly kind: 'drain-begin';
      readonly virtual: string;
      readonly real: string | null;
      readonly timeoutSeconds: number;
      readonly text: string;
    }
  | {
      readonly kind: 'fallback-command';
      readonly virtual: string;
      readonly action: 'start' | 'stop';
      readonly argv: readonly string[];
      readonly text: string;
    }
  | {
      readonly kind: 'drain-end';
      readonly virtual: string;
      readonly real: string | null;
      readonly why: 'idle' | 'timeout' | 'gone';
      readonly text: string;
    }
  | {
      readonly kind: 'ipvs';
      readonly op: IpvsOp;
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
      readonly kind: 'quorum';
      readonly virtual: string;
      readonly state: 'up' | 'down';
      readonly serving: number;
      readonly quorum: number;
      readonly hysteresis: number;
      readonly text: string;
    }
  | {
      readonly kind: 'quorum-command';
      readonly virtual: string;
      readonly action: 'up' | 'down';
      readonly argv: readonly string[];
      readonly text: string;
    }
  | {
      readonly kind: 'sync-daemon';
      readonly action: 'start' | 'stop';
      readonly state: 'master' | 'backup';
      /** The daemon started; null for a stop. */
      readonly daemon: IpvsSyncDaemon | null;
      readonly text: string;
    }
  | {
      readonly kind: 'first-check';
      readonly virtual: string;
      readonly real: string;
      /** Weight in the table until the first check answers; null: not in the table. */
      readonly weightUntilChecked: number | null;
      /** Weight once checked up. */
      readonly weight: number;
      readonly text: string;
    }
  | {
      readonly kind: 'execute';
      readonly name: string;
      readonly action: 'start' | 'stop' | 'try-reload';
      readonly text: string;
    };

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
