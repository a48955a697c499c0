// Types of the engine's surface: options, events for alerts and metrics, the status snapshot, and reports.
import type { Health } from '../model/health';
import type { Clock } from '../clock';
import type { IpvsBackend, IpvsOp, IpvsSyncDaemon } from '../ipvs/types';
import type { Logger } from '../log';
import type { AddressFamily, ForwardMethod, SyncStartRole, TunnelFlags, VirtualProtocol } from '../model';
import type { DecisionReason, FallbackState } from './decide';
import type { DrainEnd, DrainTarget } from './drain';
import type { CommandRunner, FallbackAction } from './fallback-command';
import type { OperatorSetting } from './operator-settings';
import type { DecidedQuorum, QuorumState } from './quorum';
import type { OpRecord } from './op-report';
import type { SyncDaemonOp } from './state-sync-plan';

/** Kinds of kernel operations, for counters. */
export type OpKind = IpvsOp['op'];

/** Something the engine did, for alerts and metrics. Listeners must not throw (errors are logged and ignored). */
export type EngineEvent =
  | {
    readonly type: 'sync';
    /** Epoch milliseconds at which the pass started. */
    readonly at: number;
    /** What asked for it: `config`, `health`, `resync`, `drain`, `manual`, several joined with `+`. */
    readonly reason: string;
    readonly ok: boolean;
    readonly durationMs: number;
    readonly ops: number;
    readonly failed: number;
    /** Operations that repaired a table changed outside ldir. */
    readonly drift: number;
    readonly error?: string;
  }
  | {
    readonly type: 'op';
    readonly at: number;
    readonly op: OpKind;
    /** Kernel service id (`tcp:10.0.0.1:80`), equal to the VirtualService id of a configured virtual. */
    readonly virtualId: string;
    /** Destination id (`10.0.0.2:80`) for destination operations. */
    readonly destination?: string;
    /** What the destination is to ldir: a real server, the fallback, a drain leftover, or not in the config. */
    readonly role?: 'real' | 'fallback' | 'draining' | 'stale';
    /** {@link realKey} when the destination is a configured real server. */
    readonly realKey?: string;
    /** Decision behind it, for real servers. */
    readonly reason?: DecisionReason;
    /** Weight set by an add or edit of a destination. */
    readonly weight?: number;
    readonly ok: boolean;
    readonly errno?: string;
    readonly drift: boolean;
  }
  | { readonly type: 'fallback'; readonly at: number; readonly virtualId: string; readonly active: boolean }
  | {
    /** A prefix announced or withdrawn by the routing daemon (route health injection: src/announce/announcer.ts). */
    readonly type: 'announce'; readonly at: number; readonly prefix: string; readonly announced: boolean;
    readonly virtualIds: readonly string[];
  }
  | {
    readonly type: 'fallback-command'; readonly at: number; readonly virtualId: string; readonly action: FallbackAction;
    readonly exitCode: number | null; readonly error?: string;
  }
  | {
    /** The virtual gained or lost its quorum (a decided state; `previous` undefined for the first one). */
    readonly type: 'quorum'; readonly at: number; readonly virtualId: string; readonly state: DecidedQuorum;
    readonly previous?: DecidedQuorum; readonly serving: number; readonly quorum: number; readonly hysteresis: number;
  }
  | {
    readonly type: 'quorum-command'; readonly at: number; readonly virtualId: string; readonly action: DecidedQuorum;
    readonly exitCode: number | null; readonly error?: string;
  }
  | { readonly type: 'drain'; readonly at: number; readonly id: string; readonly phase: 'begin' | 'cancel' | 'end'; readonly why?: DrainEnd }
  | {
    /** A start or stop of a kernel connection sync daemon. */
    readonly type: 'sync-daemon'; readonly at: number; readonly action: 'start' | 'stop'; readonly state: IpvsSyncDaemon['state'];
    readonly ok: boolean; readonly errno?: string;
    /** It repaired a sync daemon stopped or changed outside ldir. */
    readonly drift: boolean;
  }
  | { readonly type: 'sync-role'; readonly at: number; readonly role: SyncStartRole; readonly previous: SyncStartRole; readonly source: SyncRoleSource };

/** Dependencies and settings of the {@link Engine}. */
export interface EngineOptions {
  readonly backend: IpvsBackend;
  readonly clock: Clock;
  readonly logger?: Logger;
  /** Drain removed reals and virtuals (weight 0 until idle or timeout) instead of deleting them at once. Default true. */
  readonly drainEnabled?: boolean;
  /** Milliseconds after which a drain ends even with active connections. Default 30 000. */
  readonly drainTimeoutMs?: number;
  /** Milliseconds between kernel dumps while something drains. Default 1 000. */
  readonly drainPollMs?: number;
  /** Milliseconds between periodic resyncs that repair drift and retry failed operations. Default 10 000. */
  readonly resyncIntervalMs?: number;
  /** Milliseconds a health transition waits so that a burst of them makes one sync. Default 20. */
  readonly coalesceMs?: number;
  /** Upper bound of {@link Engine.shutdown} in milliseconds. Default 10 000. */
  readonly shutdownTimeoutMs?: number;
  /** Runs `fallbackcommand`; without one the command is logged as not run. */
  readonly runCommand?: CommandRunner;
  /** Receives every {@link EngineEvent}. */
  readonly onEvent?: (event: EngineEvent) => void;
  /**
   * Receives the hand settings (runtime weights, hand drains) of the configuration in force each time they change: a
   * drain, undrain or weight, and a configuration that drops those of reals it no longer has. Called synchronously,
   * before the kernel pass that applies the change (the daemon writes its state file there, so a director killed
   * during that pass comes back with the change). Must not throw (errors are logged and ignored).
   */
  readonly onOperatorChange?: (settings: readonly OperatorSetting[]) => void;
}

/** Outcome of one sync pass. */
export interface SyncReport {
  /** False when the kernel could not be listed or written at all, or the pass was skipped (`skipped`). */
  readonly ok: boolean;
  readonly skipped?: 'no-config' | 'stopped' | 'paused';
  readonly reason: string;
  readonly ops: readonly IpvsOp[];
  readonly failed: number;
  readonly drift: number;
  readonly durationMs: number;
  readonly error?: string;
  /**
   * Operations the kernel refused in this pass that it had not refused in the one before (`add-service ...: EINVAL`):
   * what a reload brought and the kernel would not take.
   */
  readonly newlyRefused?: readonly string[];
}

/** Outcome of {@link Engine.shutdown}. */
export interface ShutdownReport {
  readonly clean: boolean;
  /** Services deleted (cleanstop=yes). */
  readonly removed: number;
  /** Services that could not be deleted. */
  readonly failed: number;
  /** Services left in place (cleanstop=no, or a shutdown that was not clean). */
  readonly kept: number;
  /** True when the bound was reached before everything finished. */
  readonly timedOut: boolean;
}

/** Result of {@link Engine.drain} and {@link Engine.undrain}: canonical names and whether anything changed. */
export interface ManualDrainResult {
  readonly virtual: string;
  readonly real: string;
  readonly changed: boolean;
}

/** Result of {@link Engine.setWeight}: canonical names, the weights, and whether anything changed. */
export interface WeightResult {
  readonly virtual: string;
  readonly real: string;
  /** The real's weight in the configuration. */
  readonly configuredWeight: number;
  /** The runtime weight in force now; null after a reset (the configured weight applies). */
  readonly weight: number | null;
  /** The runtime weight before; null when there was none. */
  readonly previous: number | null;
  readonly changed: boolean;
}

/** Counters for metrics; monotonic except `lastSyncDurationMs`. */
export interface EngineCounters {
  readonly syncs: number;
  /** Passes that could not list or write the kernel at all. */
  readonly syncErrors: number;
  /** Operations applied (done or converged), by kind. */
  readonly opsApplied: Readonly<Record<OpKind, number>>;
  /** Operations the kernel refused. */
  readonly opsFailed: number;
  /** Operations that repaired a table changed outside ldir. */
  readonly driftRepairs: number;
  /** Operations that retried one refused in the previous pass. */
  readonly retries: number;
  readonly fallbackCommands: number;
  readonly fallbackCommandFailures: number;
  readonly quorumCommands: number;
  readonly quorumCommandFailures: number;
  readonly lastSyncDurationMs: number;
}

/** One real server (or draining leftover destination) as `ldir status` shows it. */
export interface RealSnapshot {
  readonly realKey: string;
  readonly address: string;
  readonly port: number;
  readonly forward: ForwardMethod;
  /** GUE port of a gue real (`tunnelport`); null otherwise. */
  readonly tunnelPort?: number | null;
  /** Tunnel checksums of a gue or gre real (`tunnelflags`); null otherwise. */
  readonly tunnelFlags?: TunnelFlags | null;
  /** Destination id in the kernel service (its port can be the virtual's: gate/ipip). */
  readonly destination: string;
  readonly health: Health;
  /** Reason of the last health change (`refused`, `maintenance`, `checktype on`, ...). */
  readonly healthReason?: string;
  /** Epoch milliseconds of the last health change. */
  readonly healthSince?: number;
  readonly configuredWeight: number;
  /** Runtime weight set by hand (`ldir weight`); null when the configured weight applies. */
  readonly weightOverride: number | null;
  /** Weight ldir wants; null when it wants no entry. */
  readonly desiredWeight: number | null;
  /** Weight in the kernel at the last dump; null when absent. */
  readonly kernelWeight: number | null;
  readonly inTable: boolean;
  readonly inKernel: boolean;
  readonly activeConns: number | null;
  readonly inactiveConns: number | null;
  /** Why it has its place; `draining` for a leftover of a reload. */
  readonly reason: DecisionReason | 'draining';
  /** Epoch milliseconds since which the reason and desired weight are what they are. */
  readonly since: number | null;
  /** Removed from the config and kept at weight 0 until idle or timeout. */
  readonly draining: boolean;
  readonly manuallyDrained: boolean;
  /** Slow start in progress: the weight the ramp ends at (`desiredWeight` is its current step); null otherwise. */
  readonly rampTo?: number | null;
  /** The weight its check reports, within bounds, when it applies (`weightheader`, external `weight=N`); null otherwise. */
  readonly checkWeight?: number | null;
}

/** The fallback server of a virtual as `ldir status` shows it. */
export interface FallbackSnapshot {
  readonly address: string;
  readonly port: number;
  readonly forward: ForwardMethod;
  readonly destination: string;
  readonly inTable: boolean;
  readonly kernelWeight: number | null;
}

/** The quorum of a virtual as `ldir status` shows it. */
export interface QuorumSnapshot {
  readonly state: QuorumState;
  /** Serving reals, the quorum in reals and the hysteresis (see {@link QuorumThresholds}). */
  readonly serving: number;
  readonly quorum: number;
  readonly hysteresis: number;
  /** True when the virtual has quorum settings of its own (else quorum 1: the fallback rule). */
  readonly configured: boolean;
  /** Last quorum command action (`up`/`down`) started; null when none. */
  readonly lastCommand: DecidedQuorum | null;
}

/** One virtual service as `ldir status` shows it. */
export interface VirtualSnapshot {
  readonly id: string;
  readonly protocol: VirtualProtocol;
  readonly family: AddressFamily;
  readonly address: string | null;
  readonly port: number;
  readonly fwmark: number | null;
  readonly scheduler: string;
  /** Persistence timeout in seconds; null when not persistent. */
  readonly persistent: number | null;
  /** Persistence engine (`sip`); null when none. */
  readonly persistenceEngine: string | null;
  readonly inKernel: boolean;
  readonly fallback: FallbackSnapshot | null;
  readonly fallbackState: FallbackState;
  /**
   * The fallback server is in force: the virtual is in fallback mode (`fallbackState` active: no real up, or below
   * its quorum) and it has a fallback server. A virtual without one is never "active" here (its `fallbackcommand`, if
   * any, is told by `fallbackState`).
   */
  readonly fallbackActive: boolean;
  /** Last fallbackcommand action run. */
  readonly fallbackCommand: FallbackAction | null;
  readonly quorum: QuorumSnapshot;
  /** Removed from the config and being drained. */
  readonly draining: boolean;
  readonly realsUp: number;
  readonly realsTotal: number;
  readonly reals: readonly RealSnapshot[];
}

/** One operation of a pass that the kernel refused (see {@link LastSync.refused}). */
export interface RefusedOp {
  readonly op: OpKind;
  /** Kernel service id (`tcp:10.0.0.1:80`), equal to the VirtualService id of a configured virtual. */
  readonly virtualId: string;
  /** Destination id (`10.0.0.2:80`) for destination operations. */
  readonly destination?: string;
  /** The kernel's errno name (`EINVAL`). */
  readonly errno: string;
}

/** At most this many refused operations are kept in {@link LastSync.refused} (the count is `failed`). */
export const LAST_SYNC_REFUSED_KEPT = 32;

/** Last sync pass, for status and liveness. */
export interface LastSync {
  readonly at: number;
  readonly reason: string;
  readonly ok: boolean;
  readonly durationMs: number;
  readonly ops: number;
  readonly failed: number;
  readonly error?: string;
  /** The operations the kernel refused, the first {@link LAST_SYNC_REFUSED_KEPT} (absent when none was). */
  readonly refused?: readonly RefusedOp[];
  /** Configured virtual services the pass wrote (absent from a pass that could not list or write the kernel). */
  readonly virtuals?: number;
  /** Of those, how many the kernel refused to add (their `add-service` was refused; absent when none was). */
  readonly virtualsRefused?: number;
}

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

/** Everything `ldir status` and the metrics need, as plain JSON-able data. */
export interface EngineSnapshot {
  readonly configFile: string | null;
  readonly stopped: boolean;
  readonly lastSync: LastSync | null;
  /** Epoch milliseconds of the last kernel dump. */
  readonly listedAt: number | null;
  readonly virtuals: readonly VirtualSnapshot[];
  readonly counters: EngineCounters;
  /** Connection sync (absent from snapshots made without an engine, such as test fixtures). */
  readonly stateSync?: StateSyncSnapshot;
}

/** What the health verdict reads of the engine ({@link Engine.healthFacts}; a whole {@link EngineSnapshot} has it too). */
export type EngineHealth = Pick<EngineSnapshot, 'stopped' | 'lastSync' | 'stateSync'>;

/**
 * An {@link EngineSnapshot} whose virtual services may be made one by one as they are read (`Engine.snapshotParts`):
 * read them once, in a loop that may give the event loop a turn between them (a big table, issue 21).
 */
export type EngineSnapshotParts = Omit<EngineSnapshot, 'virtuals'> & { readonly virtuals: Iterable<VirtualSnapshot> };

/** What happens to what a reload removes: drained (weight 0 until idle or `timeoutMs`) or, disabled, deleted at once. */
export interface DrainPolicy {
  readonly enabled: boolean;
  readonly timeoutMs: number;
}

/** A `fallbackcommand` run, as a preview shows it (not run). */
export interface FallbackCommandPreview {
  readonly virtualId: string;
  readonly action: FallbackAction;
  readonly argv: readonly string[];
}

/** A quorum command run, as a preview shows it (not run). */
export interface QuorumCommandPreview {
  readonly virtualId: string;
  readonly action: DecidedQuorum;
  readonly argv: readonly string[];
}

/** A real server new to a configuration: its first check has not answered when the configuration's pass runs. */
export interface AwaitingCheck {
  readonly virtualId: string;
  readonly realKey: string;
  /** Its destination id in the kernel service. */
  readonly destinationId: string;
  /** Its weight once checked up. */
  readonly configuredWeight: number;
  /** Its place at the pass (`unknown-waiting`: not in the table; `unknown-quiescent`: weight 0; `unknown-adopted`: kernel weight kept). */
  readonly reason: DecisionReason;
  /** Its weight in the table at the pass; absent when it is not in the table. */
  readonly desiredWeight?: number;
}

/**
 * What applying a configuration would do now ({@link Engine.previewConfig}), in the order it would do it: drains
 * that stop and begin, `fallbackcommand stop` of removed virtuals, then the table pass (drains that end, kernel
 * operations, fallback edges and commands), then the look at the sync daemons. Nothing of it has been done.
 */
export interface EnginePreview {
  /** What stops draining: its target is back in the configuration. */
  readonly drainsCancelled: readonly DrainTarget[];
  /** What begins draining: removed by the configuration (or left in the kernel by a previous daemon). */
  readonly drainsBegun: readonly DrainTarget[];
  /** The drain timeout after the change, in milliseconds. */
  readonly drainTimeoutMs: number;
  /** `fallbackcommand stop` of virtuals the configuration removes while their last action was `start`. */
  readonly retiredCommands: readonly FallbackCommandPreview[];
  /** `quorumdowncommand` of virtuals the configuration removes while their last quorum action was `up`. */
  readonly retiredQuorumCommands: readonly QuorumCommandPreview[];
  /** Drains that end at the pass (idle, timed out, gone from the kernel); the pass deletes what they protected. */
  readonly drainsEnded: readonly { readonly target: DrainTarget; readonly why: DrainEnd }[];
  /** The pass's kernel operations in apply order, with what each means (never `failed`). */
  readonly ops: readonly OpRecord[];
  /**
   * Virtuals whose fallback mode changes (`edge`), whose quorum (when configured) is gained or lost (`quorum`), or
   * whose `fallbackcommand` or quorum command runs at the pass.
   */
  readonly fallback: readonly {
    readonly virtualId: string; readonly active: boolean; readonly edge: boolean; readonly command?: FallbackCommandPreview;
    readonly quorum?: { readonly state: DecidedQuorum; readonly serving: number; readonly quorum: number; readonly hysteresis: number };
    readonly quorumCommand?: QuorumCommandPreview;
  }[];
  /** Stops and starts of the kernel's connection sync daemons after the pass. */
  readonly syncDaemons: readonly SyncDaemonOp[];
  /** Real servers new to the configuration, without a check result at the pass. */
  readonly awaitingCheck: readonly AwaitingCheck[];
}
