// Event-fed series per real server: checks by result, check durations, health transitions; pruned to the config.
import { pairKey, type Health, type HealthTransition } from '../model/health';
import { CHECK_DURATION_BUCKETS } from '../checks/duration-buckets';
import type { CheckRecord, QuietRounds } from '../checks/scheduler';
import { seconds } from './convert';
import type { SeriesFactory } from './factory';
import type { SliceYielder } from '../system/slice-yielder';

export { CHECK_DURATION_BUCKETS };

const RESULTS = ['success', 'failure'] as const;
const HEALTH_STATES: readonly Health[] = ['up', 'down', 'unknown'];

type PairLabels = { virtual: string; real: string };

/**
 * Counts check rounds and transitions per (virtual, real) pair: a check record and a batch of quiet rounds name the
 * pairs their check serves as it stands (`members`), so nothing is looked up or indexed per record, and a reload
 * rebuilds nothing (at 100,000 reals, an index of every check rebuilt after a reload held the event loop about half
 * a second). Pairs that left the configuration lose their series at the next scrape.
 */
export class CheckSeries {
  private readonly checks;
  private readonly durations;
  private readonly transitions;
  private readonly lastTransition;
  /** Pairs that have event-fed series, for pruning. */
  private readonly pairs = new Map<string, PairLabels>();

  constructor(series: SeriesFactory) {
    this.checks = series.rowCounter(
      'ldir_real_server_checks_total',
      'Check rounds finished for a real server of a virtual service, by result (a check shared by several virtuals counts in each).',
      ['virtual', 'real', 'result'],
    );
    this.durations = series.bulkHistogram(
      'ldir_real_server_check_duration_seconds',
      'Duration of check rounds of a real server of a virtual service.',
      ['virtual', 'real'],
      CHECK_DURATION_BUCKETS,
    );
    this.transitions = series.rowCounter(
      'ldir_real_server_transitions_total',
      'Health changes of a real server of a virtual service, by the state it changed to.',
      ['virtual', 'real', 'to'],
    );
    this.lastTransition = series.rowGauge(
      'ldir_real_server_last_transition_timestamp_seconds',
      'Time of the last health change of a real server of a virtual service (Unix seconds).',
      ['virtual', 'real'],
    );
  }

  /** Counts one finished round for every pair its identity serves. */
  recordCheck(record: CheckRecord): void {
    if (record.kind === 'maintenance') return;
    const { members } = record;
    if (members.length === 0) return;
    const result = record.result.up ? 'success' : 'failure';
    const duration = Math.max(0, seconds(record.result.durationMs));
    for (const m of members) {
      const labels = this.track(m.virtualId, m.realKey);
      this.checks.inc({ ...labels, result });
      if (Number.isFinite(duration)) this.durations.observe(labels, duration);
    }
  }

  /** Counts the quiet rounds of one offloaded check (already counted per duration bucket), as many {@link recordCheck}. */
  recordQuietRounds(rounds: QuietRounds): void {
    if (rounds.passed + rounds.failed === 0) return;
    for (const m of rounds.members) {
      const labels = this.track(m.virtualId, m.realKey);
      if (rounds.passed > 0) this.checks.inc({ ...labels, result: 'success' }, rounds.passed);
      if (rounds.failed > 0) this.checks.inc({ ...labels, result: 'failure' }, rounds.failed);
      this.durations.addCounts(labels, rounds.durationBuckets, rounds.durationSumMs / 1000);
    }
  }

  /** Counts one health change and sets its time. */
  recordTransition(t: HealthTransition): void {
    const labels = this.track(t.virtualId, t.realKey);
    this.transitions.inc({ ...labels, to: t.to });
    if (Number.isFinite(t.at)) this.lastTransition.set(labels, seconds(t.at));
  }

  /**
   * At scrape time: removes the series of every pair not in `current` (undefined = the sources could not say; nothing
   * is removed); with a `yielder`, in slices of pairs.
   */
  async refresh(current: ReadonlySet<string> | undefined, yielder?: SliceYielder): Promise<void> {
    if (!current) return;
    for (const [key, labels] of [...this.pairs]) {
      const pause = yielder?.maybeYield();
      if (pause) await pause;
      if (current.has(key)) continue;
      for (const result of RESULTS) this.checks.remove({ ...labels, result });
      for (const to of HEALTH_STATES) this.transitions.remove({ ...labels, to });
      this.durations.remove(labels);
      this.lastTransition.remove(labels);
      this.pairs.delete(key);
    }
  }

  private track(virtual: string, real: string): PairLabels {
    const key = pairKey(virtual, real);
    let labels = this.pairs.get(key);
    if (!labels) {
      labels = { virtual, real };
      this.pairs.set(key, labels);
      // Both results start at 0, so that rate() and absent-series alerts see a complete set from the first round.
      for (const result of RESULTS) this.checks.inc({ ...labels, result }, 0);
    }
    return labels;
  }
}
