// Types of the engine's surface: options and reports; the events, the status snapshot, connection sync and the
// reload preview have files of their own, re-exported here (the one import path of the engine's types).
import type { SliceYielder } from '../system/slice-yielder';
import type { Clock } from '../clock';
import type { IpvsBackend, IpvsOp } from '../ipvs/types';
import type { Logger } from '../log';
import type { EngineEvent } from './engine-events';
import type { CommandRunner } from './fallback-command';
import type { OperatorSetting } from './operator-settings';

export * from './engine-events';
export * from './engine-preview-types';
export * from './engine-snapshot-types';
export * from './state-sync-types';

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
  /**
   * The slices of each table pass (one yielder per pass; default a {@link SliceYielder} of its default slice): a pass
   * over a big table gives the event loop a turn whenever one is used up. Tests count the turns with their own.
   */
  readonly passYielder?: () => SliceYielder;
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

/** What happens to what a reload removes: drained (weight 0 until idle or `timeoutMs`) or, disabled, deleted at once. */
export interface DrainPolicy {
  readonly enabled: boolean;
  readonly timeoutMs: number;
}
