// What a daemon hands to its successor on a restart, so that the successor continues where it stopped: the
// configuration in force (the successor's own is applied as a reload of it), drains, hand drains, runtime weights,
// fallback actions.
import type { Config, SyncRole } from '../model';
import type { ServiceKey } from '../ipvs/types';
import { drainId, type DrainEntry, type DrainState, type DrainTarget } from './drain';
import type { FallbackAction } from './fallback-command';
import type { DecidedQuorum } from './quorum';
import type { HealthRecord } from './status';
import type { ConfigTarget } from './targets';

/**
 * The engine's state that a restart must not forget. Plain JSON: it travels from the old daemon to its successor
 * over their IPC channel.
 */
export interface EngineCarryOver {
  /** The configuration the old daemon had in force. The successor applies its own as a reload of this one. */
  readonly config: Config;
  /** Services the old daemon managed (declared by a configuration it applied, until gone), with their cleanstop. */
  readonly managed: readonly { readonly id: string; readonly key: ServiceKey; readonly cleanstop: boolean }[];
  /** What was draining after a reload removed it, and for how long already (ms). */
  readonly drains: readonly { readonly target: DrainTarget; readonly ageMs: number }[];
  /** What `ldir status` shows of the drained entries: the virtual and real they were, and their last health. */
  readonly drainInfo: readonly { readonly id: string; readonly info: ConfigTarget & { readonly health?: HealthRecord } }[];
  /** Pairs drained by hand (`ldir drain`), as engine pair keys. */
  readonly manualDrains: readonly string[];
  /** Runtime weights (`ldir weight`) by engine pair key (older daemons send none). */
  readonly weights?: readonly { readonly pair: string; readonly weight: number }[];
  /**
   * Per virtual: fallback mode as last decided (active ⇔ below the quorum), the last fallbackcommand action run, and
   * the last quorum command action (older daemons send none).
   */
  readonly fallback: readonly {
    readonly virtualId: string; readonly active: boolean; readonly lastAction?: FallbackAction; readonly quorumAction?: DecidedQuorum;
  }[];
  /** Slow-start ramps in progress, by engine pair key, with their age (ms); older daemons send none. */
  readonly ramps?: readonly { readonly pair: string; readonly ageMs: number; readonly from: number; readonly to: number }[];
  /** The sync role when `ldir promote|demote` set it (a role from the configuration or the kernel is found again). */
  readonly syncRole?: SyncRole;
}

/** Drain entries of a carry-over, their start times moved into this process's clock (`now` monotonic ms). */
export function drainStateOf(drains: EngineCarryOver['drains'], now: number): DrainState {
  const entries = new Map<string, DrainEntry>();
  for (const { target, ageMs } of drains) {
    const id = drainId(target);
    entries.set(id, { ...target, id, since: now - Math.max(0, ageMs) });
  }
  return { entries };
}

/** The carry-over form of a drain state at `now` (monotonic ms). */
export function drainsOf(state: DrainState, now: number): EngineCarryOver['drains'] {
  return [...state.entries.values()].map(({ id: _id, since, ...target }) => ({ target: target as DrainTarget, ageMs: Math.max(0, now - since) }));
}
