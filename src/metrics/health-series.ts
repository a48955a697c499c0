// Scrape-time series of the director's one health verdict (src/daemon/health-verdict.ts): its level and its reasons.
import { HEALTH_CODES, HEALTH_LEVELS, type HealthVerdict } from '../daemon/health-verdict';
import { clear, setFlag } from './convert';
import type { SeriesFactory } from './factory';

/**
 * `ldir_health{state}` (1 for the verdict's level, 0 for the other two: `ok`, `degraded`, `failing`) and
 * `ldir_health_reason{reason}` (1 for each reason of the verdict, 0 for the others), the verdict `/healthz`, `ldir
 * status` and `ldir ping` give. Absent without a verdict (no daemon yet).
 */
export class HealthSeries {
  private readonly level;
  private readonly reason;

  constructor(series: SeriesFactory) {
    this.level = series.gauge(
      'ldir_health',
      "The director's health verdict: 1 for its level (ok; degraded: running, part of the configuration not in force; failing: /healthz answers 503), 0 for the others.",
      ['state'],
    );
    this.reason = series.gauge(
      'ldir_health_reason',
      'Whether a reason of the health verdict holds (1) or not (0), by reason (engine-stopped, kernel-sync-failed, kernel-refused, checks-overdue, engine-stalled, sync-daemon).',
      ['reason'],
    );
  }

  /** Rewrites both series from `verdict`. */
  refresh(verdict: HealthVerdict | undefined): void {
    clear(this.level);
    clear(this.reason);
    if (!verdict) return;
    for (const level of HEALTH_LEVELS) setFlag(this.level, { state: level }, verdict.level === level);
    for (const reason of HEALTH_CODES)
      setFlag(
        this.reason,
        { reason },
        verdict.reasons.some((r) => r.code === reason),
      );
  }
}
