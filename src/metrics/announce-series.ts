// Scrape-time series of route health injection: which virtuals' prefixes the routing daemon announces.
import type { AnnounceStatus } from '../announce/status';
import { clear, setFlag } from './convert';
import type { SeriesFactory } from './factory';

/**
 * `ldir_virtual_announced{virtual,prefix}` (1 while the routing daemon announces the virtual's prefix, 0 when not),
 * `ldir_announce_pending{virtual}` (1 while a change is held down by announcedelay/withdrawdelay) and
 * `ldir_announce_error` (1 while the last announcement was not taken). Absent when no virtual is announced.
 */
export class AnnounceSeries {
  private readonly announced;
  private readonly pending;
  private readonly error;

  constructor(series: SeriesFactory) {
    this.announced = series.gauge(
      'ldir_virtual_announced',
      'Whether the routing daemon announces the prefix of an announced virtual service (1) or not (0) (route health injection).',
      ['virtual', 'prefix'],
    );
    this.pending = series.gauge(
      'ldir_announce_pending',
      "Whether a change of a virtual service's announcement is held down by announcedelay or withdrawdelay (1) or not (0).",
      ['virtual'],
    );
    this.error = series.gauge(
      'ldir_announce_error',
      'Whether the last announcement was refused or could not reach the routing daemon (1) or not (0).',
    );
  }

  /** Rewrites every series from `status`. */
  refresh(status: AnnounceStatus | undefined): void {
    for (const m of [this.announced, this.pending, this.error]) clear(m);
    if (!status) return;
    for (const v of status.virtuals) {
      setFlag(this.announced, { virtual: v.virtualId, prefix: v.prefix }, v.prefixAnnounced);
      setFlag(this.pending, { virtual: v.virtualId }, v.state === 'pending-announce' || v.state === 'pending-withdraw');
    }
    setFlag(this.error, {}, status.lastError !== null);
  }
}
