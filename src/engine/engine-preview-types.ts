// Types of the reload preview: what applying a configuration would do now, nothing of it done.
import type { DecisionReason } from './decide';
import type { DrainEnd, DrainTarget } from './drain';
import type { FallbackAction } from './fallback-command';
import type { OpRecord } from './op-report';
import type { DecidedQuorum } from './quorum';
import type { SyncDaemonOp } from './state-sync-plan';

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
    readonly virtualId: string;
    readonly active: boolean;
    readonly edge: boolean;
    readonly command?: FallbackCommandPreview;
    readonly quorum?: {
      readonly state: DecidedQuorum;
      readonly serving: number;
      readonly quorum: number;
      readonly hysteresis: number;
    };
    readonly quorumCommand?: QuorumCommandPreview;
  }[];
  /** Stops and starts of the kernel's connection sync daemons after the pass. */
  readonly syncDaemons: readonly SyncDaemonOp[];
  /** Real servers new to the configuration, without a check result at the pass. */
  readonly awaitingCheck: readonly AwaitingCheck[];
}
