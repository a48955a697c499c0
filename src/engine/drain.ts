// Pure state machine of draining: entries removed from the config keep weight 0 until idle or timed out, then go.
import { destinationKeyString, serviceKeyString } from '../ipvs/normalize';
import type { DestinationKey, IpvsFamily, ServiceKey } from '../ipvs/types';
import type { ObservedEntry } from './observed';

/** Something a reload removed that is drained instead of deleted at once: a whole service, or one destination. */
export type DrainTarget =
  | { readonly kind: 'service'; readonly service: ServiceKey }
  | {
      readonly kind: 'destination';
      readonly service: ServiceKey;
      readonly destination: DestinationKey & { readonly family: IpvsFamily };
    };

/** A target being drained, since `since` (in the caller's time base, e.g. monotonic milliseconds). */
export type DrainEntry = DrainTarget & {
  /** {@link drainId} of the target. */
  readonly id: string;
  readonly since: number;
};

/** Everything being drained, by {@link drainId}. Never mutated: every function returns a new state. */
export interface DrainState {
  readonly entries: ReadonlyMap<string, DrainEntry>;
}

/**
 * Why a drain ended: nothing left on it (`idle`: no active nor inactive connection, no persistence template), the
 * timeout passed, or the kernel no longer has the entry.
 */
export type DrainEnd = 'idle' | 'timeout' | 'gone';

/** A drain that ended in {@link stepDrain}: the entry is no longer protected and the next plan deletes it. */
export interface FinishedDrain {
  readonly entry: DrainEntry;
  readonly why: DrainEnd;
}

/** Options of {@link stepDrain}. */
export interface DrainOptions {
  /** Milliseconds after which a drain ends even with active connections. */
  readonly timeoutMs: number;
}

/** The state with nothing draining. */
export const EMPTY_DRAIN: DrainState = { entries: new Map() };

/** Stable id of a drain target: `tcp:10.0.0.1:80` for a service, `tcp:10.0.0.1:80 10.0.0.2:80` for a destination. */
export function drainId(target: DrainTarget): string {
  const service = serviceKeyString(target.service);
  return target.kind === 'service' ? service : `${service} ${destinationKeyString(target.destination)}`;
}

/** True when the state has nothing draining. */
export function isDrainIdle(state: DrainState): boolean {
  return state.entries.size === 0;
}

/**
 * Starts draining `targets` at `now`. A target already draining keeps its start time (draining is not restarted by a
 * second reload that removes it again).
 */
export function beginDrain(state: DrainState, targets: readonly DrainTarget[], now: number): DrainState {
  if (targets.length === 0) return state;
  const entries = new Map(state.entries);
  for (const target of targets) {
    const id = drainId(target);
    if (!entries.has(id)) entries.set(id, { ...target, id, since: now });
  }
  return { entries };
}

/**
 * Keeps draining only the entries for which `stillRemoved` is true (the target is still absent from the
 * configuration). Entries that came back (a real re-added by a later reload) stop draining and are managed by the
 * configuration again.
 */
export function cancelDrain(state: DrainState, stillRemoved: (entry: DrainEntry) => boolean): DrainState {
  let changed = false;
  const entries = new Map<string, DrainEntry>();
  for (const [id, entry] of state.entries) {
    if (stillRemoved(entry)) entries.set(id, entry);
    else changed = true;
  }
  return changed ? { entries } : state;
}

/**
 * What still flows to a destination: active connections, inactive ones (UDP flows are never "active" to IPVS, nor
 * are TCP connections closing), and persistence templates (clients pinned to it by `persistent=`, which a new
 * connection of theirs would still follow). A drain that ended at zero active connections cut all of these.
 */
function inFlight(d: {
  readonly activeConns: number;
  readonly inactiveConns: number;
  readonly persistentConns: number;
}): number {
  return Math.max(0, d.activeConns) + Math.max(0, d.inactiveConns) + Math.max(0, d.persistentConns);
}

/**
 * One step of the drain state machine against a fresh kernel dump at `now`, indexed as {@link indexObserved} makes
 * it (the pass's one index of the dump: the drain step does not normalize it again): an entry ends when the kernel no longer
 * has it (`gone`), when nothing flows to it any more (`idle`: no active or inactive connection and no persistence
 * template; for a service: on none of its destinations), or when `timeoutMs` has passed since it began (`timeout`).
 * Returns the remaining state and the entries that ended.
 */
export function stepDrain(
  state: DrainState,
  index: ReadonlyMap<string, ObservedEntry>,
  now: number,
  options: DrainOptions,
): { state: DrainState; finished: FinishedDrain[] } {
  if (state.entries.size === 0) return { state, finished: [] };
  const entries = new Map<string, DrainEntry>();
  const finished: FinishedDrain[] = [];
  for (const [id, entry] of state.entries) {
    const dests = index.get(serviceKeyString(entry.service))?.destinations;
    let left: number | undefined;
    if (dests !== undefined) {
      if (entry.kind === 'service') left = [...dests.values()].reduce((sum, d) => sum + inFlight(d), 0);
      else {
        const d = dests.get(destinationKeyString(entry.destination));
        left = d === undefined ? undefined : inFlight(d);
      }
    }
    if (left === undefined) finished.push({ entry, why: 'gone' });
    else if (left <= 0) finished.push({ entry, why: 'idle' });
    else if (now - entry.since >= options.timeoutMs) finished.push({ entry, why: 'timeout' });
    else entries.set(id, entry);
  }
  return { state: finished.length === 0 ? state : { entries }, finished };
}
