// Types of the engine's status snapshot: what `ldir status` and the metrics read of each virtual and real.
import type { Health } from '../model/health';
import type { AddressFamily, ForwardMethod, TunnelFlags, VirtualProtocol } from '../model';
import type { DecisionReason, FallbackState } from './decide';
import type { OpKind } from './engine-events';
import type { FallbackAction } from './fallback-command';
import type { DecidedQuorum, QuorumState } from './quorum';
import type { StateSyncSnapshot } from './state-sync-types';

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
