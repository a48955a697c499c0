// The operator's commands on one real (`ldir drain|undrain|weight`): resolved by name, kept, logged, heard, synced.
import { ErrorCodes, errorMessage, LdirError } from '../errors';
import type { Logger } from '../log';
import type { Config } from '../model';
import { pairKey, realKey } from '../model/health';
import { isRuntimeWeight, MAX_RUNTIME_WEIGHT } from '../model/weight';
import type { ManualDrainResult, WeightResult } from './engine-types';
import type { HandSettings } from './hand-settings';
import type { OperatorSetting } from './operator-settings';
import { resolvePair } from './targets';

/** What {@link HandCommands} works with. */
export interface HandCommandsDeps {
  readonly hand: HandSettings;
  /** The configuration in force, if any. */
  readonly config: () => Config | undefined;
  readonly log: Logger;
  /** Hears the hand settings in force after each change (see {@link EngineOptions.onOperatorChange}). */
  readonly onOperatorChange?: ((settings: readonly OperatorSetting[]) => void) | undefined;
  /** Runs a table pass for the change. */
  readonly sync: () => Promise<unknown>;
}

/** Carries out the operator's hand drains and runtime weights; each change is logged, heard and synced at once. */
export class HandCommands {
  constructor(private readonly deps: HandCommandsDeps) {}

  /** Drains a pair by hand (`on`) or ends its hand drain, and syncs. Throws LDIR_ERR_UNKNOWN_TARGET for unknown names. */
  async setDrained(virtual: string, real: string, on: boolean): Promise<ManualDrainResult> {
    const pair = this.resolve(virtual, real);
    const changed = this.deps.hand.setDrained(pairKey(pair.virtual.id, pair.realKey), on);
    if (changed) {
      this.deps.log.info(
        { vs: pair.virtual.id, rs: pair.realKey },
        on ? 'real server drained by hand' : 'hand drain ended',
      );
      this.changed();
      await this.deps.sync();
    }
    return { virtual: pair.virtual.id, real: pair.realKey, changed };
  }

  /**
   * Sets the runtime weight of a pair (null: the configured one again), and syncs. Throws LDIR_ERR_UNKNOWN_TARGET for
   * unknown names, LDIR_ERR_USAGE for a weight outside 0..{@link MAX_RUNTIME_WEIGHT}.
   */
  async setWeight(virtual: string, real: string, weight: number | null): Promise<WeightResult> {
    if (weight !== null && !isRuntimeWeight(weight)) {
      throw new LdirError(
        ErrorCodes.USAGE,
        `a weight is an integer from 0 to ${MAX_RUNTIME_WEIGHT}, not ${String(weight)}`,
      );
    }
    const pair = this.resolve(virtual, real);
    const previous = this.deps.hand.setWeight(pairKey(pair.virtual.id, pair.realKey), weight);
    const changed = previous !== weight;
    const configuredWeight = pair.virtual.reals.find((r) => realKey(r.address, r.port) === pair.realKey)?.weight ?? 0;
    if (changed) {
      const fields = { vs: pair.virtual.id, rs: pair.realKey, weight, previous, configured: configuredWeight };
      this.deps.log.info(
        fields,
        weight === null
          ? `runtime weight reset: configured weight ${configuredWeight} again`
          : `runtime weight set to ${weight}`,
      );
      this.changed();
      await this.deps.sync();
    }
    return { virtual: pair.virtual.id, real: pair.realKey, configuredWeight, weight, previous, changed };
  }

  /** Tells `onOperatorChange` the hand settings now in force (a listener that throws is logged). */
  changed(): void {
    const { onOperatorChange, config, hand, log } = this.deps;
    if (!onOperatorChange) return;
    try {
      const c = config();
      onOperatorChange(c ? hand.settingsOf(c) : []);
    } catch (err) {
      log.warn({ err: errorMessage(err) }, 'hand settings listener threw');
    }
  }

  private resolve(virtual: string, real: string): ReturnType<typeof resolvePair> {
    const config = this.deps.config();
    if (!config)
      throw new LdirError(ErrorCodes.UNKNOWN_TARGET, `no configuration in force: no virtual service ${virtual}`);
    return resolvePair(config, virtual, real);
  }
}
