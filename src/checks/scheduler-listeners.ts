// Hands the scheduler's news to its listeners: health transitions, reported weights and finished rounds, each logged.
import type { Logger } from '../log';
import type { HealthTransition } from '../model/health';
import { reasonOf } from './guard';
import type { CheckMember, CheckTarget } from './jobs';
import type { CheckKind, SchedulerOptions } from './scheduler-types';
import type { CheckResult } from './types';

/** The listeners of {@link SchedulerOptions} the scheduler tells one event at a time; one that throws is logged. */
export class SchedulerListeners {
  constructor(
    private readonly options: Pick<SchedulerOptions, 'onTransition' | 'onWeight' | 'onCheck'>,
    private readonly log: Logger | undefined,
  ) {}

  /** Logs a change of health of one pair and hands it to `onTransition`. */
  transition(t: HealthTransition): void {
    this.log?.info({ vs: t.virtualId, rs: t.realKey, from: t.from, to: t.to, reason: t.reason }, 'health transition');
    if (!this.options.onTransition) return;
    try {
      this.options.onTransition(t);
    } catch (err) {
      this.log?.error({ err: reasonOf(err) }, 'transition listener failed');
    }
  }

  /** Hands one pair's reported weight to `onWeight`. */
  weight(m: CheckMember, weight: number | undefined, at: number): void {
    if (!this.options.onWeight) return;
    try {
      this.options.onWeight({ virtualId: m.virtualId, realKey: m.realKey, weight, at });
    } catch (err) {
      this.log?.error({ err: reasonOf(err) }, 'weight listener failed');
    }
  }

  /** Logs a finished round of `target` and hands it to `onCheck`. */
  round(
    target: CheckTarget,
    kind: CheckKind | 'maintenance',
    scheduledAt: number,
    startedAt: number,
    result: CheckResult,
  ): void {
    this.log?.debug(
      { identity: target.identity, kind, up: result.up, reason: result.reason, ms: result.durationMs },
      'check',
    );
    if (!this.options.onCheck) return;
    try {
      this.options.onCheck({
        identity: target.identity,
        members: target.members,
        kind,
        scheduledAt,
        startedAt,
        result,
      });
    } catch (err) {
      this.log?.error({ err: reasonOf(err) }, 'check listener failed');
    }
  }
}
