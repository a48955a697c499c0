// What a running daemon shows without changing anything: status, health, ping, watchdog and the metrics' reads.
import type { CheckScheduler } from '../checks/scheduler';
import type { Engine } from '../engine/engine';
import { ErrorCodes, LdirError } from '../errors';
import type { IpvsBackend } from '../ipvs/types';
import type { SliceYielder } from '../system/slice-yielder';
import type { DaemonViews } from './daemon-views';
import type { Director } from './director';
import type { HealthVerdict } from './health-verdict';
import type { AnnounceStatus, PingResult, StatusReport, StatusStreamPart } from './protocol';
import type { TrafficIndex } from './status-traffic';
import type { WatchdogVerdict } from './watchdog';

/**
 * The reads of the daemon ({@link Daemon} extends it): the status and health views ({@link DaemonViews}) and what the
 * metrics read at scrape time, over the director and backend the daemon opened.
 */
export abstract class DaemonReads {
  /** The status, health and ping views. */
  protected abstract readonly views: DaemonViews;
  /** Engine, checks, announcer and kernel settings; made once the backend is open. */
  protected abstract director: Director | undefined;
  protected abstract backend: IpvsBackend;

  /** The engine's snapshot with its virtual services made as they are read (metrics: a scrape in slices). */
  engineSnapshotParts(): ReturnType<Engine['snapshotParts']> {
    return this.running().engine.snapshotParts();
  }

  /** The checks' state (for metrics). */
  checkSnapshot(): ReturnType<CheckScheduler['snapshot']> {
    return this.running().scheduler.snapshot();
  }

  /** Hands the offloaded checks' counted quiet rounds to the metrics in slices of `yielder` (before a scrape reads the statuses). */
  flushQuietChecks(yielder: SliceYielder): Promise<void> {
    return this.running().scheduler.flushQuietSliced(yielder);
  }

  /** The check scheduler's statuses made one identity at a time as they are read (a metrics scrape reads them in slices). */
  checkStatuses(): ReturnType<CheckScheduler['statuses']> {
    return this.running().scheduler.statuses();
  }

  /** Lists the kernel table (for metrics at scrape time). */
  listKernel(): ReturnType<IpvsBackend['list']> {
    return this.backend.list();
  }

  /** Route health injection for status and metrics; undefined when no virtual is announced. */
  announceStatus(): AnnounceStatus | undefined {
    return this.director?.announcer.status();
  }

  /** The status report without a kernel read ({@link DaemonViews.status}). */
  status(traffic?: TrafficIndex): StatusReport {
    return this.views.status(traffic);
  }

  /** What `ldir status` and `/status.json` show, with the traffic of one bounded kernel read ({@link DaemonViews.statusReport}). */
  statusReport(): Promise<StatusReport> {
    return this.views.statusReport();
  }

  /** {@link statusReport} as the parts of a streamed answer ({@link DaemonViews.statusParts}). */
  statusParts(): AsyncGenerator<StatusStreamPart> {
    return this.views.statusParts();
  }

  /** The director's one health verdict ({@link DaemonViews.health}). */
  health(watchdog?: WatchdogVerdict): HealthVerdict {
    return this.views.health(watchdog);
  }

  /** Cheap liveness for the OCF monitor, with the checker watchdog's verdict ({@link DaemonViews.ping}). */
  ping(): PingResult {
    return this.views.ping();
  }

  /** The checker watchdog's verdict now ({@link DaemonViews.watchdog}). */
  watchdog(): WatchdogVerdict {
    return this.views.watchdog();
  }

  /** The director, made at start (before the control socket opens: no request arrives earlier). */
  protected running(): Director {
    if (!this.director) throw new LdirError(ErrorCodes.INTERNAL, 'the daemon is starting');
    return this.director;
  }
}
