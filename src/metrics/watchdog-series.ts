// Scrape-time series of the checker watchdog: whether it is ok, which of its reasons fail, how many reals are overdue.
import { WATCHDOG_CODES, type WatchdogVerdict } from '../daemon/watchdog';
import { clear, setFlag } from './convert';
import type { SeriesFactory } from './factory';

/**
 * `ldir_watchdog_ok` (1 ok, 0 failing), `ldir_watchdog_failing{reason}` (1 for each failing reason, 0 for the
 * others: `checks-overdue`, `engine-stalled`) and `ldir_checks_overdue` (reals without a check result for more than
 * 2 × (interval + timeout)), from the daemon's verdict at scrape time. Absent without a verdict (no daemon yet).
 */
export class WatchdogSeries {
  private readonly ok;
  private readonly failing;
  private readonly overdue;

  constructor(series: SeriesFactory) {
    this.ok = series.gauge(
      'ldir_watchdog_ok',
      'Whether the checker watchdog is ok (1): every real has a recent check result and the engine passes; 0 when not.',
    );
    this.failing = series.gauge(
      'ldir_watchdog_failing',
      'Whether a reason of the checker watchdog holds (1) or not (0), by reason (checks-overdue, engine-stalled).',
      ['reason'],
    );
    this.overdue = series.gauge(
      'ldir_checks_overdue',
      'Real servers (pairs of a virtual service and a real) without a check result for more than 2 x (interval + timeout).',
    );
  }

  /** Rewrites every series from `verdict`. */
  refresh(verdict: WatchdogVerdict | undefined): void {
    for (const m of [this.ok, this.failing, this.overdue]) clear(m);
    if (!verdict) return;
    setFlag(this.ok, {}, verdict.ok);
    for (const reason of WATCHDOG_CODES)
      setFlag(
        this.failing,
        { reason },
        verdict.reasons.some((r) => r.code === reason),
      );
    this.overdue.set(verdict.checksOverdue);
  }
}
