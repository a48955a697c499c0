// What a daemon hands to its successor on a restart, so that the successor continues where it stopped: the
// configuration in force (the successor's own is applied as a reload of it), drains, hand drains, runtime weights,
// fallback actions.
import type { Config, SyncRole } from '../model';
import type { ServiceKey } from '../ipvs/types';
import { drainId, type DrainEntry, type DrainState, type DrainTarget } from './drain';
import type { FallbackAction, FallbackCommands, QuorumCommands } from './fallback-command';
import type { HandSettings } from './hand-settings';
import type { DecidedQuorum } from './quorum';
import type { Ramp } from './slow-start';
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
  readonly drainInfo: readonly {
    readonly id: string;
    readonly info: ConfigTarget & { readonly health?: HealthRecord };
  }[];
  /** Pairs drained by hand (`ldir drain`), as engine pair keys. */
  readonly manualDrains: readonly string[];
  /** Runtime weights (`ldir weight`) by engine pair key (older daemons send none). */
  readonly weights?: readonly { readonly pair: string; readonly weight: number }[];
  /**
   * Per virtual: fallback mode as last decided (active ⇔ below the quorum), the last fallbackcommand action run, and
   * the last quorum command action (older daemons send none).
   */
  readonly fallback: readonly {
    readonly virtualId: string;
    readonly active: boolean;
    readonly lastAction?: FallbackAction;
    readonly quorumAction?: DecidedQuorum;
  }[];
  /** Slow-start ramps in progress, by engine pair key, with their age (ms); older daemons send none. */
  readonly ramps?: readonly {
    readonly pair: string;
    readonly ageMs: number;
    readonly from: number;
    readonly to: number;
  }[];
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
  return [...state.entries.values()].map(({ id: _id, since, ...target }) => ({
    target: target as DrainTarget,
    ageMs: Math.max(0, now - since),
  }));
}

/** The engine's state a carry-over is made from and taken into: collections the engine keeps for its lifetime. */
export interface CarriedState {
  readonly managed: Map<string, { key: ServiceKey; cleanstop: boolean }>;
  readonly drainInfo: Map<string, ConfigTarget & { health?: HealthRecord }>;
  readonly hand: HandSettings;
  readonly quorumDecided: Map<string, DecidedQuorum>;
  readonly commands: FallbackCommands;
  readonly quorumCommands: QuorumCommands;
}

/** What the engine stands on beside {@link CarriedState} when it hands over. */
export interface HandedOver {
  readonly config: Config;
  readonly drainState: DrainState;
  readonly ramps: ReadonlyMap<string, Ramp>;
  /** The sync role `ldir promote|demote` set, if any. */
  readonly syncRole: SyncRole | undefined;
}

/** The carry-over of an engine's state at `now` (monotonic ms). */
export function carryOverOf(state: CarriedState, handed: HandedOver, now: number): EngineCarryOver {
  const { managed, drainInfo, hand, quorumDecided, commands, quorumCommands } = state;
  return {
    config: handed.config,
    managed: [...managed].map(([id, m]) => ({ id, key: m.key, cleanstop: m.cleanstop })),
    drains: drainsOf(handed.drainState, now),
    drainInfo: [...drainInfo].map(([id, info]) => ({ id, info })),
    manualDrains: [...hand.manualDrains],
    weights: [...hand.weights].map(([pair, weight]) => ({ pair, weight })),
    fallback: [...quorumDecided].map(([virtualId, quorum]) => {
      const lastAction = commands.lastAction(virtualId);
      const quorumAction = quorumCommands.lastAction(virtualId);
      return {
        virtualId,
        active: quorum === 'down',
        ...(lastAction ? { lastAction } : {}),
        ...(quorumAction ? { quorumAction } : {}),
      };
    }),
    ...(handed.syncRole !== undefined ? { syncRole: handed.syncRole } : {}),
    ...(handed.ramps.size > 0
      ? {
          ramps: [...handed.ramps].map(([pair, r]) => ({
            pair,
            ageMs: Math.max(0, now - r.since),
            from: r.from,
            to: r.to,
          })),
        }
      : {}),
  };
}

/**
 * Takes a predecessor's carry-over into `state` at `now` (monotonic ms); returns its drain state and slow-start ramps,
 * their times moved into this process's clock.
 */
export function adoptCarryOver(
  carry: EngineCarryOver,
  state: CarriedState,
  now: number,
): { drainState: DrainState; ramps: Map<string, Ramp> } {
  for (const m of carry.managed) state.managed.set(m.id, { key: m.key, cleanstop: m.cleanstop });
  const drainState = drainStateOf(carry.drains, now);
  for (const { id, info } of carry.drainInfo) state.drainInfo.set(id, info);
  state.hand.adopt(carry.manualDrains, carry.weights ?? []);
  for (const f of carry.fallback) {
    state.quorumDecided.set(f.virtualId, f.active ? 'down' : 'up');
    if (f.lastAction) state.commands.adopt(f.virtualId, f.lastAction);
    // An older daemon ran no quorum command: its decided state stands for the last one (none is run again).
    state.quorumCommands.adopt(f.virtualId, f.quorumAction ?? (f.active ? 'down' : 'up'));
  }
  const ramps = new Map((carry.ramps ?? []).map((r) => [r.pair, { since: now - r.ageMs, from: r.from, to: r.to }]));
  return { drainState, ramps };
}
