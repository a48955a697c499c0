// Types of connection sync as the engine reports it: the director's role and the kernel's sync daemons.
import type { IpvsSyncDaemon } from '../ipvs/types';
import type { SyncStartRole } from '../model';

/** Where the director's sync role came from: `syncrole` (start, or a reload that changed it), a sync daemon found running at start, or `ldir promote|demote`. */
export type SyncRoleSource = 'config' | 'adopted' | 'command';

/** One state (master or backup) of the kernel's connection sync daemon as ldir last saw it. */
export interface SyncDaemonSnapshot {
  readonly state: IpvsSyncDaemon['state'];
  /** ldir wants it running: it is the state of the director's role and sync is configured. */
  readonly wanted: boolean;
  /** The kernel runs a daemon of this state. */
  readonly running: boolean;
  /** It runs with the configured parameters (or, when not wanted, does not run). */
  readonly matches: boolean;
  /** The daemon as the kernel lists it; null when none runs. */
  readonly kernel: IpvsSyncDaemon | null;
}

/** Connection sync: the director's role and the kernel's sync daemons, for `ldir status` and the metrics. */
export interface StateSyncSnapshot {
  /** `syncinterface` is configured. */
  readonly configured: boolean;
  readonly role: SyncStartRole;
  readonly roleSource: SyncRoleSource;
  /** Epoch milliseconds since which the role holds; null before any role. */
  readonly roleSince: number | null;
  /** The daemon the role asks for, as configured (fields the kernel defaults left out); null when none. */
  readonly wanted: IpvsSyncDaemon | null;
  /** Both states once sync is configured or a daemon was seen; empty before the first look. */
  readonly daemons: readonly SyncDaemonSnapshot[];
  /** Epoch milliseconds of the last look at the kernel's sync daemons; null before the first. */
  readonly checkedAt: number | null;
  /** The kernel runs what ldir wants (nothing wanted counts as ok). */
  readonly ok: boolean;
  /** The last refusal or failure, until the kernel runs what ldir wants again. */
  readonly lastError: { readonly at: number; readonly message: string; readonly errno?: string } | null;
  readonly counters: {
    readonly starts: number;
    readonly stops: number;
    /** Starts that repaired a daemon stopped or changed outside ldir. */
    readonly repairs: number;
    readonly failures: number;
  };
}

/** Outcome of {@link Engine.setSyncRole}. */
export interface SyncRoleChange {
  readonly role: SyncStartRole;
  readonly previous: SyncStartRole;
  readonly changed: boolean;
  readonly stateSync: StateSyncSnapshot;
}
