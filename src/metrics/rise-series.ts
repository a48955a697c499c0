// Scrape-time series of the rise count: how far a down real server has come towards `risecount`.
import type { IdentityStatus } from '../checks/scheduler';
import type { SeriesFactory } from './factory';
import type { SliceYielder } from '../system/slice-yielder';

/**
 * `ldir_real_server_rise_successes` per (virtual, real) pair served by a check, rewritten from the scheduler's
 * snapshot at every scrape: a pair whose check stopped simply is not written again.
 */
export class RiseSeries {
  private readonly successes;

  constructor(series: SeriesFactory) {
    this.successes = series.rowGauge(
      'ldir_real_server_rise_successes',
      'Successful checks in a row of a real server that is down, towards its risecount (0 when up, unknown or not rising).',
      ['virtual', 'real'],
    );
  }

  /** Rewrites the series from `statuses` (undefined: the scheduler could not be read; nothing is written), in slices with a `yielder`. */
  async refresh(statuses: readonly IdentityStatus[] | undefined, yielder?: SliceYielder): Promise<void> {
    this.successes.rewrite();
    for (const s of statuses ?? []) {
      for (const m of s.members) this.successes.set({ virtual: m.virtualId, real: m.realKey }, s.riseSuccesses);
      const pause = yielder?.maybeYield();
      if (pause) await pause;
    }
    await this.successes.dropStale(yielder);
  }
}
