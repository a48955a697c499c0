// What the daemon says about itself: the status report (whole or streamed), `ping`, the health verdict and the
// checker watchdog's verdict, each read from the engine and the checks when asked; a change of verdict is logged.
import type { CheckScheduler, IdentityStatus } from '../checks/scheduler';
import { NONE_OVERDUE } from '../checks/overdue-checks';
import type { Clock } from '../clock';
import type { ConfigSourceFile } from '../config/config-sources';
import type { Engine } from '../engine/engine';
import { ErrorCodes, LdirError } from '../errors';
import type { IpvsBackend } from '../ipvs/types';
import type { Logger } from '../log';
import { KernelReader } from '../metrics/kernel-series';
import { DEFAULT_KERNEL_TIMEOUT_MS } from '../metrics/metrics';
import { healthVerdict, type HealthVerdict } from './health-verdict';
import type { PingResult, StatusEvent, StatusReport, StatusStreamPart } from './protocol';
import {
  buildStatusReport,
  statusHead,
  statusParts,
  watchdogStatus,
  type DaemonFacts,
  type StatusExtras,
} from './status-report';
import { trafficOfSliced, type TrafficIndex } from './status-traffic';
import { CHECK_OVERDUE_FACTOR, describeVerdict, watchdogVerdict, type WatchdogVerdict } from './watchdog';
import { SliceYielder } from '../system/slice-yielder';

/** Where {@link DaemonViews} read: the daemon's parts as they are now (undefined before they exist). */
export interface ViewSources {
  readonly clock: Clock;
  readonly log: Logger;
  readonly configPath: string;
  readonly pid: number;
  /** Epoch milliseconds of the start. */
  readonly startedAt: number;
  readonly engine: () => Engine | undefined;
  readonly scheduler: () => CheckScheduler | undefined;
  /** The kernel table with its stats (a status report's traffic). */
  readonly listKernel: IpvsBackend['list'];
  /** The daemon's own facts for a report (pid, files, backend, last reload, timeouts, announce). */
  readonly facts: () => DaemonFacts;
  /** The files of the configuration in force with their digests (`ping`); undefined when not known. */
  readonly configFiles: () => readonly ConfigSourceFile[] | undefined;
  /** The director's recent events, oldest first (the observers keep them). */
  readonly recentEvents?: () => readonly StatusEvent[];
  /** Bound of the kernel read behind a status report's traffic, in milliseconds. Default 3 000 (as a scrape's). */
  readonly statusKernelTimeoutMs?: number;
}

/** The daemon's reports of itself; see {@link ViewSources} for what they read. */
export class DaemonViews {
  /** The bounded kernel read of {@link statusReport}, made at its first use. */
  private statusKernel: KernelReader | undefined;
  /** The watchdog's codes at its last verdict (`ok` when none): a change is logged. */
  private watchdogCodes = 'ok';
  /** The health verdict's level and codes at its last reading: a change is logged. */
  private healthKey = 'ok';

  constructor(private readonly s: ViewSources) {}

  /**
   * The status report from the daemon's state alone (no kernel read: no `traffic`), with the recent events. For
   * callers that cannot wait; `ldir status` and the status page use {@link statusReport}.
   */
  status(traffic?: TrafficIndex): StatusReport {
    const engine = this.need(this.s.engine());
    const scheduler = this.need(this.s.scheduler());
    const watchdog = this.watchdog();
    return buildStatusReport(
      this.s.facts(),
      engine.snapshot(),
      scheduler.snapshot(),
      this.s.clock.now(),
      watchdog,
      this.extras(watchdog, traffic),
    );
  }

  /**
   * What `ldir status` shows (and the status page's `/status.json`): {@link status} plus each service's and
   * destination's connections and rates from one kernel read, bounded in time (a read that fails or takes longer is
   * reported in `daemon.kernelStats`, and the report goes out without traffic); concurrent reports share one read.
   */
  async statusReport(): Promise<StatusReport> {
    return this.status(await this.traffic());
  }

  /**
   * {@link statusReport} as the parts of a streamed answer (`ldir status`): the reals are turned into their report
   * one line at a time.
   */
  async *statusParts(): AsyncGenerator<StatusStreamPart> {
    const traffic = await this.traffic();
    const watchdog = this.watchdog();
    const engine = this.need(this.s.engine()).snapshotParts();
    const head = statusHead(this.s.facts(), engine, this.s.clock.now(), watchdog, this.extras(watchdog, traffic));
    const scheduler = this.need(this.s.scheduler());
    const checks = async (): Promise<Iterable<IdentityStatus>> => {
      await scheduler.flushQuietSliced(new SliceYielder()); // statuses() then finds little left to hand over
      return scheduler.statuses();
    };
    yield* statusParts(head, engine.virtuals, checks, traffic);
  }

  /**
   * The director's one health verdict (src/daemon/health-verdict.ts): what `status`, `ping`, `/healthz` and the
   * metrics say. Cheap at any table size (no status of every real). A change of level or reasons is logged.
   */
  health(watchdog: WatchdogVerdict = this.watchdog()): HealthVerdict {
    const verdict = healthVerdict({ engine: this.s.engine()?.healthFacts(), watchdog });
    const key = [verdict.level, ...verdict.reasons.map((r) => r.code)].join(' ');
    if (key !== this.healthKey) {
      this.healthKey = key;
      const log = this.s.log;
      if (verdict.level === 'ok') log.info('health ok again');
      else
        log[verdict.level === 'failing' ? 'error' : 'warn'](
          { health: verdict.level, reasons: verdict.reasons.map((r) => r.code) },
          `health ${verdict.summary}`,
        );
    }
    return verdict;
  }

  /** Cheap liveness for the OCF monitor, with the checker watchdog's verdict. */
  ping(): PingResult {
    const snapshot = this.need(this.s.engine()).healthFacts();
    const last = snapshot.lastSync;
    const watchdog = this.watchdog();
    const files = this.s.configFiles();
    return {
      pid: this.s.pid,
      configFile: this.s.configPath,
      startedAt: new Date(this.s.startedAt).toISOString(),
      uptimeSeconds: Math.round((this.s.clock.now() - this.s.startedAt) / 1000),
      lastSyncOk: last ? last.ok : null,
      ...(snapshot.stateSync ? { role: snapshot.stateSync.role } : {}),
      watchdog: watchdogStatus(watchdog),
      health: this.health(watchdog),
      ...(files !== undefined
        ? { configFiles: files.map((f) => ({ path: f.path, ...(f.digest !== undefined ? { digest: f.digest } : {}) })) }
        : {}),
    };
  }

  /**
   * The checker watchdog's verdict now (src/daemon/watchdog.ts): are the reals' check results and the engine's
   * passes recent enough? Asked by `ping`, `status`, `/healthz` and metrics scrapes; a change of verdict is logged.
   */
  watchdog(): WatchdogVerdict {
    const now = this.s.clock.monotonic();
    const verdict = watchdogVerdict({
      now,
      checks: [],
      overdue: this.s.scheduler()?.overdue(now, CHECK_OVERDUE_FACTOR) ?? NONE_OVERDUE,
      engine: this.s.engine()?.liveness(),
    });
    const codes = verdict.ok ? 'ok' : verdict.reasons.map((r) => r.code).join('+');
    if (codes !== this.watchdogCodes) {
      this.watchdogCodes = codes;
      if (verdict.ok) this.s.log.info('watchdog ok again: check results and kernel sync passes are recent');
      else this.s.log.error({ watchdog: codes }, describeVerdict(verdict));
    }
    return verdict;
  }

  /** One kernel read with the destinations' stats, bounded in time; concurrent reports share it. */
  private async traffic(): Promise<TrafficIndex> {
    this.statusKernel ??= new KernelReader(
      () => this.s.listKernel(),
      this.s.statusKernelTimeoutMs ?? DEFAULT_KERNEL_TIMEOUT_MS,
      this.s.clock,
    );
    return trafficOfSliced(await this.statusKernel.read(), new SliceYielder());
  }

  /** The recent events, the traffic when read, and the health verdict, for a report. */
  private extras(watchdog: WatchdogVerdict, traffic: TrafficIndex | undefined): StatusExtras {
    const events = this.s.recentEvents?.();
    return { ...(events ? { events } : {}), ...(traffic ? { traffic } : {}), health: this.health(watchdog) };
  }

  /** A part the daemon made at its start (its views are served only once it runs). */
  private need<T>(part: T | undefined): T {
    if (part === undefined) throw new LdirError(ErrorCodes.INTERNAL, 'the daemon is starting: no report yet');
    return part;
  }
}
