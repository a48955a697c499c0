// The hand settings in force (`ldir drain`, `ldir weight`): hand drains and runtime weights by pair key.
import type { Logger } from '../log';
import type { Config } from '../model';
import { pairKey } from '../model/health';
import { isRuntimeWeight } from '../model/weight';
import { operatorSettingsOf, type OperatorSetting, type OperatorState } from './operator-settings';

/** The hand drains and runtime weights the engine keeps, by {@link pairKey}; decide reads them as they are. */
export class HandSettings implements OperatorState {
  readonly manualDrains = new Set<string>();
  readonly weights = new Map<string, number>();

  /** Drains the pair by hand (`on`) or ends its hand drain; true when that changed anything. */
  setDrained(pair: string, on: boolean): boolean {
    const changed = on ? !this.manualDrains.has(pair) : this.manualDrains.has(pair);
    if (on) this.manualDrains.add(pair);
    else this.manualDrains.delete(pair);
    return changed;
  }

  /** Sets the runtime weight of the pair (null: none, the configured weight again); returns the one before (null: none). */
  setWeight(pair: string, weight: number | null): number | null {
    const previous = this.weights.get(pair) ?? null;
    if (weight === null) this.weights.delete(pair);
    else this.weights.set(pair, weight);
    return previous;
  }

  /** Takes hand drains and runtime weights by pair key (a hand-over); a weight out of range is ignored. */
  adopt(manualDrains: readonly string[], weights: readonly { readonly pair: string; readonly weight: number }[]): void {
    for (const pair of manualDrains) this.manualDrains.add(pair);
    for (const { pair, weight } of weights) if (isRuntimeWeight(weight)) this.weights.set(pair, weight);
  }

  /** Takes settings that name their reals (the state file); a weight out of range is ignored. */
  importSettings(settings: readonly OperatorSetting[]): void {
    for (const s of settings) {
      const pk = pairKey(s.virtualId, s.realKey);
      if (s.drained) this.manualDrains.add(pk);
      if (isRuntimeWeight(s.weight)) this.weights.set(pk, s.weight);
    }
  }

  /** Forgets the hand drains and runtime weights of pairs not in `pairs`, logging each; true when any was dropped. */
  dropOutside(pairs: ReadonlySet<string>, log: Logger): boolean {
    let dropped = false;
    for (const k of [...this.manualDrains]) {
      if (pairs.has(k)) continue;
      this.manualDrains.delete(k);
      dropped = true;
      log.info({ pair: k }, `hand drain of ${k} dropped: the real is not in the configuration`);
    }
    for (const [k, weight] of [...this.weights]) {
      if (pairs.has(k)) continue;
      this.weights.delete(k);
      dropped = true;
      log.info({ pair: k, weight }, `runtime weight ${weight} of ${k} dropped: the real is not in the configuration`);
    }
    return dropped;
  }

  /** The settings for the reals of `config`, in its order ({@link operatorSettingsOf}). */
  settingsOf(config: Config): OperatorSetting[] {
    return operatorSettingsOf(config, this);
  }
}
