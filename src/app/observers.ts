// What watches the daemon from outside the control loop: e-mail alerts and alert commands, monitorfiles, and the
// Prometheus endpoint (moved when a reload changes its address); fed by hooks into checks, engine, reloads and state.
import * as os from 'node:os';
import { createAlerter, type Alerter } from '../alerts';
import type { AlertNote } from '../alerts/types';
import type { Clock } from '../clock';
import { ErrorCodes, isLdirError, LdirError } from '../errors';
import type { Logger } from '../log';
import { MonitorFiles } from '../logging/monitor-file';
import { createMetrics, readBuildInfo, startMetricsServer, type Metrics, type MetricsServer } from '../metrics';
import type { Config } from '../model';
import type { SecretRedactor } from '../secrets';
import type { Daemon, DaemonOptions } from '../daemon/daemon';
import type { StatusReport } from '../daemon/protocol';
import {
  describeAlert,
  describeEngineEvent,
  describeReload,
  describeTransition,
  RecentEvents,
} from '../daemon/recent-events';

/** The hooks {@link Observers} hands to the daemon's options. */
export type ObserverHooks = Pick<
  DaemonOptions,
  | 'onCheck'
  | 'onQuietRounds'
  | 'onTransition'
  | 'onEngineEvent'
  | 'onReload'
  | 'onConfig'
  | 'onState'
  | 'onTakeover'
  | 'recentEvents'
>;

/**
 * Options of {@link Observers}: clock and logger, and the alerter's maker (default: mail through nodemailer, commands
 * spawned), given the listener of the alerts that left or were given up (the recent events).
 */
export interface ObserversOptions {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly alerter?: (onAlert: (note: AlertNote) => void) => Alerter;
  /** The daemon's secret redactor: `/status.json` is redacted with it, as the control socket's answers are. */
  readonly redactor?: SecretRedactor;
  /** Bound of one scrape of the metrics endpoint (`MetricsServerOptions.scrapeTimeoutMs`); default its default. */
  readonly scrapeTimeoutMs?: number;
}

/**
 * Alerts, metrics and the recent events around a daemon: created before it starts (so no check or event is missed), attached once it
 * runs; the endpoint starts on `metrics=` (a port in use is logged, never fatal) and moves on reload; alerts follow
 * the daemon state (`emailalertstatus`) and every configuration; both close at stop (alerts flushed, bounded).
 */
export class Observers {
  readonly metrics: Metrics;
  readonly alerter: Alerter;
  /** The last events (transitions, reloads, refusals, alerts sent) for `ldir status` and the status page. */
  readonly events = new RecentEvents();
  private readonly monitorFiles: MonitorFiles;
  private daemon: Daemon | undefined;
  private server: MetricsServer | undefined;
  private serving: string | undefined;
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly options: ObserversOptions) {
    const onAlert = (note: AlertNote): void => this.events.add(describeAlert(note));
    this.alerter =
      options.alerter?.(onAlert) ??
      createAlerter({
        clock: options.clock,
        logger: options.logger,
        hostname: process.env['HOSTNAME'] || os.hostname(),
        onAlert,
      });
    this.monitorFiles = new MonitorFiles({ logger: options.logger });
    this.metrics = createMetrics({
      sources: {
        engine: () => this.daemon?.engineSnapshotParts(),
        checks: () => this.daemon?.checkStatuses() ?? [],
        flushQuiet: async (yielder) => this.daemon?.flushQuietChecks(yielder),
        kernel: () => (this.daemon ? this.daemon.listKernel() : Promise.resolve([])),
        watchdog: () => this.daemon?.watchdog(),
        health: () => this.daemon?.health(),
        announce: () => this.daemon?.announceStatus(),
        alerts: () => {
          const c = this.alerter.counters();
          return {
            mailsSent: c.mail.sent,
            mailFailures: c.mail.retries + c.mail.failed,
            mailsDropped: c.mail.dropped + c.mail.failed,
            queueLength: c.mail.queued,
            hooksRun: c.commands.started,
            hookFailures: c.commands.failed,
          };
        },
      },
      buildInfo: readBuildInfo(),
      logger: options.logger,
      configLoadedAt: options.clock.now(),
      clock: options.clock,
    });
  }

  /** Hooks for the daemon's options. */
  hooks(): ObserverHooks {
    return {
      onCheck: (r) => {
        this.metrics.recordCheck(r);
        this.monitorFiles.record(r);
      },
      // Quiet rounds are passing rounds of checks whose every round is not needed at once (no monitorfile): counted.
      onQuietRounds: (q) => this.metrics.recordQuietRounds(q),
      onTransition: (t) => {
        this.metrics.recordTransition(t);
        this.alerter.onTransition(t);
        this.events.add(describeTransition(t));
      },
      onEngineEvent: (e) => {
        this.metrics.recordEvent(e);
        this.alerter.onEngineEvent(e);
        this.events.add(describeEngineEvent(e));
      },
      onReload: (ok, at, message) => {
        this.metrics.recordReload(ok, at);
        this.events.add(describeReload(ok, at, message));
      },
      recentEvents: () => this.events.list(),
      onState: (state) => this.alerter.setDaemonState(state),
      onConfig: (config) => {
        this.alerter.applyConfig(config);
        this.monitorFiles.apply(config);
        void this.follow(config);
      },
      onTakeover: (health) => this.alerter.seedHealth(health),
    };
  }

  /**
   * Restart hand-over: `release` closes the endpoint (the successor binds the same address), `reclaim` opens it again
   * for the attached daemon's configuration (the successor failed and this daemon goes on).
   */
  async handover(phase: 'release' | 'reclaim'): Promise<void> {
    if (phase === 'reclaim') return this.daemon ? this.follow(this.daemon.currentConfig()) : undefined;
    this.chain = this.chain.then(async () => {
      await this.server?.close();
      this.server = undefined;
      this.serving = undefined;
    });
    return this.chain;
  }

  /** The running daemon, whose snapshots the endpoint reads. */
  attach(daemon: Daemon): void {
    this.daemon = daemon;
  }

  /** Starts, moves or stops the endpoint to match `metrics=` of the configuration now in force. */
  follow(config: Config): Promise<void> {
    const wanted = config.globals.metrics;
    const key = wanted ? `${wanted.host}:${wanted.port}` : undefined;
    this.chain = this.chain.then(async () => {
      if (key === this.serving) return;
      await this.server?.close();
      this.server = undefined;
      this.serving = undefined;
      if (!wanted) return;
      try {
        this.server = await startMetricsServer({
          host: wanted.host,
          port: wanted.port,
          metrics: this.metrics,
          logger: this.options.logger,
          status: {
            report: () => this.statusReport(),
            ...(this.options.redactor ? { redact: redactJson(this.options.redactor) } : {}),
          },
          ...(this.options.scrapeTimeoutMs !== undefined ? { scrapeTimeoutMs: this.options.scrapeTimeoutMs } : {}),
        });
        this.serving = key;
        this.options.logger.info({ address: key }, 'metrics endpoint listening');
      } catch (err) {
        this.options.logger.error(
          { address: key, err: isLdirError(err) ? err.message : String(err) },
          'metrics endpoint not started',
        );
      }
    });
    return this.chain;
  }

  /** The attached daemon's status report (`/status.json`); rejects before a daemon is attached. */
  private statusReport(): Promise<StatusReport> {
    if (!this.daemon)
      return Promise.reject(new LdirError(ErrorCodes.INTERNAL, 'the daemon is starting: no status yet'));
    return this.daemon.statusReport();
  }

  /** The endpoint's bound address, if it runs. */
  address(): { readonly host: string; readonly port: number } | undefined {
    return this.server?.address();
  }

  /** Sends what alerts are pending (bounded) and closes the endpoint. */
  async close(): Promise<void> {
    await this.alerter.close(10_000).catch(() => undefined);
    this.monitorFiles.close();
    await this.chain;
    await this.server?.close();
    this.server = undefined;
    this.serving = undefined;
  }
}

/** The redaction of `/status.json`: every secret value replaced inside the JSON's strings. */
function redactJson(redactor: SecretRedactor): (json: string) => string {
  return (json) => redactor.jsonLine(json);
}
