// Pure: what starts and stops draining when a configuration comes into force (a reload, or a start on a used table).
import { beginDrain, cancelDrain, drainId, type DrainEntry, type DrainState, type DrainTarget } from './drain';
import type { ObservedEntry } from './observed';
import { removedTargets, type ConfigTargets } from './targets';

/** Inputs of {@link configDrains}. */
export interface ConfigDrainsInput {
  /** What the configuration in force puts in the kernel (empty before the first one). */
  readonly before: ConfigTargets;
  /** What the configuration coming into force puts in the kernel. */
  readonly after: ConfigTargets;
  /** Everything draining now. */
  readonly state: DrainState;
  /**
   * What the change removes drains (`drain=yes`, and a configuration was in force: the first one removes nothing).
   * When false, removals are deleted by the next table pass and only cancellations happen.
   */
  readonly drainRemoved: boolean;
  /** The kernel table as last listed: the destinations of a service that stops draining are looked up in it. */
  readonly observed: ReadonlyMap<string, ObservedEntry>;
  /** Start time of the new drains, in the drain state's time base (monotonic milliseconds). */
  readonly now: number;
}

/** Outcome of {@link configDrains}. */
export interface ConfigDrains {
  readonly state: DrainState;
  /** Drains that stop: their target is in the new configuration again. */
  readonly cancelled: readonly DrainEntry[];
  /** Targets that begin draining (none of them was draining already), in order: removed services and destinations first. */
  readonly begun: readonly DrainTarget[];
}

/**
 * Destinations of services that stop draining (their virtual is back) that the new configuration does not want:
 * they drain in turn rather than being deleted under their connections.
 */
function leftoversOf(
  cancelled: readonly DrainEntry[],
  after: ConfigTargets,
  observed: ReadonlyMap<string, ObservedEntry>,
): DrainTarget[] {
  const out: DrainTarget[] = [];
  for (const e of cancelled) {
    if (e.kind !== 'service') continue;
    for (const d of observed.get(e.id)?.destinations.values() ?? []) {
      const t: DrainTarget = {
        kind: 'destination',
        service: e.service,
        destination: { address: d.address, port: d.port, family: d.family },
      };
      if (!after.has(drainId(t))) out.push(t);
    }
  }
  return out;
}

/**
 * The drain state after a configuration change from `before` to `after`: drains whose target is back stop; what
 * the change removes (whole services, destinations of services that stay) and what a service that stops draining
 * has in the kernel but the new configuration lacks begin draining at `now` (a target already draining keeps its
 * start). The engine applies it on {@link Engine.applyConfig}; a reload preview computes it the same way.
 */
export function configDrains(input: ConfigDrainsInput): ConfigDrains {
  const { before, after, observed, now } = input;
  const cancelled = [...input.state.entries.values()].filter((e) => after.has(e.id));
  const state = cancelDrain(input.state, (e) => !after.has(e.id));
  if (!input.drainRemoved) return { state, cancelled, begun: [] };
  const removed = [...removedTargets(before, after).map((t) => t.target), ...leftoversOf(cancelled, after, observed)];
  const seen = new Set<string>();
  const begun = removed.filter((t) => {
    const id = drainId(t);
    if (state.entries.has(id) || seen.has(id)) return false;
    seen.add(id);
    return true;
  });
  return { state: beginDrain(state, removed, now), cancelled, begun };
}

/**
 * At a fresh start (not a hand-over, which brings its drains along): destinations in the configured services
 * (`targets`) that the configuration does not want, found in the kernel (`observed`), were left by a daemon that was
 * killed or stopped with `cleanstop=no` while they drained (or by a configuration edited meanwhile). They drain as a
 * reload's removals do; those already draining in `state` are left out.
 */
export function leftoverTargets(
  targets: ConfigTargets,
  observed: ReadonlyMap<string, ObservedEntry>,
  state: DrainState,
): DrainTarget[] {
  const leftovers: DrainTarget[] = [];
  for (const [id, t] of targets) {
    if (t.target.kind !== 'service') continue;
    for (const d of observed.get(id)?.destinations.values() ?? []) {
      const target: DrainTarget = {
        kind: 'destination',
        service: t.target.service,
        destination: { address: d.address, port: d.port, family: d.family },
      };
      if (!targets.has(drainId(target)) && !state.entries.has(drainId(target))) leftovers.push(target);
    }
  }
  return leftovers;
}
