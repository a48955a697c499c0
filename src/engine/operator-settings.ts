// What an operator set by hand on real servers (`ldir weight`, `ldir drain`), in a form that names each real: for
// the state file that keeps it across a stop and start or a kill -9, and for the restart hand-over.
import { pairKey, realKey } from '../model/health';
import type { Config } from '../model';

/** Hand settings of one real server of one virtual: a runtime weight, a hand drain, or both. */
export interface OperatorSetting {
  /** Virtual service id (`tcp:192.0.2.1:80`). */
  readonly virtualId: string;
  /** The real in its virtual, `ADDRESS:PORT` ({@link realKey}). */
  readonly realKey: string;
  /** Runtime weight (`ldir weight`), in force while the real is up and not drained; absent: the configured one. */
  readonly weight?: number;
  /** Drained by hand (`ldir drain`): weight 0 until `ldir undrain`. */
  readonly drained?: true;
}

/** The hand settings in force, as the engine keeps them: hand drains and runtime weights by pair key. */
export interface OperatorState {
  readonly manualDrains: ReadonlySet<string>;
  readonly weights: ReadonlyMap<string, number>;
}

/**
 * The settings of `state` for the reals of `config`, in the configuration's order (virtuals, then reals); pairs
 * that are not in the configuration are left out. Pure.
 */
export function operatorSettingsOf(config: Config, state: OperatorState): OperatorSetting[] {
  const out: OperatorSetting[] = [];
  const seen = new Set<string>();
  for (const v of config.virtualServices) {
    for (const r of v.reals) {
      const key = realKey(r.address, r.port);
      const pk = pairKey(v.id, key);
      if (seen.has(pk)) continue;
      seen.add(pk);
      const weight = state.weights.get(pk);
      const drained = state.manualDrains.has(pk);
      if (weight === undefined && !drained) continue;
      out.push({
        virtualId: v.id,
        realKey: key,
        ...(weight !== undefined ? { weight } : {}),
        ...(drained ? { drained: true as const } : {}),
      });
    }
  }
  return out;
}

/**
 * A text that is the same for two lists of settings exactly when they set the same things (whatever their order):
 * to tell whether a state file must be written again.
 */
export function settingsKey(settings: readonly OperatorSetting[]): string {
  const rows = settings.map((s) => [s.virtualId, s.realKey, s.weight ?? null, s.drained === true] as const);
  rows.sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0) : a[0] < b[0] ? -1 : 1));
  return JSON.stringify(rows);
}
