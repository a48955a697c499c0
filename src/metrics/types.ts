// Types of the metrics surface: the sources read at scrape time, build information, options and the Metrics handle.
import type { SliceYielder } from '../system/slice-yielder';
import type { AnnounceStatus } from '../announce/status';
import type { Registry } from 'prom-client';
import type { Clock } from '../clock';
import type { CheckRecord, IdentityStatus, QuietRounds } from '../checks/scheduler';
import type { HealthTransition } from '../model/health';
import type { HealthLevel, HealthVerdict } from '../daemon/health-verdict';
import type { WatchdogVerdict } from '../daemon/watchdog';
import type { EngineEvent, EngineSnapshotParts } from '../engine/engine-types';
import type { ObservedService } from '../ipvs/types';
import type { Logger } from '../log';

/** Counters the alerter keeps; all monotonic except `queueLength`. Optional fields are left out when absent. */
export interface AlertCounters {
  /** Mails handed over to the SMTP server or sendmail. */
  readonly mailsSent: number;
  /** Send attempts that failed (each retry counts). */
  readonly mailFailures: number;
  /** Mails given up (queue full, retries exhausted). */
  readonly mailsDropped: number;
  /** Mails waiting to be sent now. */
  readonly queueLength: number;
  /** Alert commands (`alert=`-style hooks) run. */
  readonly hooksRun?: number;
  /** Alert commands that failed or timed out. */
  readonly hookFailures?: number;
}

/**
 * What the metrics read at scrape time. Each function is called at most once per scrape; a throw is treated as
 * "not available" (logged at debug), never as a failed scrape.
 */
export interface MetricsSources {
  /**
   * The engine's status snapshot; undefined before the engine exists. Its virtual services are read once, at most,
   * per call (they may be made as they are read: `Engine.snapshotParts`).
   */
  readonly engine: () => EngineSnapshotParts | undefined;
  /**
   * The check scheduler's state (identities and the (virtual, real) pairs each serves): a list, or the scheduler's
   * statuses made one identity at a time as they are read (`CheckScheduler.statuses`), which a scrape reads in slices.
   */
  readonly checks: () => Iterable<IdentityStatus>;
  /**
   * Hands the checks' counted quiet rounds over (to `recordQuietRounds`) in slices of the yielder, before a scrape
   * reads {@link checks} (whose own hand-over then finds little left); absent: `checks` hands them over.
   */
  readonly flushQuiet?: (yielder: SliceYielder) => Promise<void>;
  /** Lists the kernel table with its 64-bit counters (`IpvsBackend.list`); bounded by `kernelTimeoutMs`. */
  readonly kernel: () => Promise<readonly ObservedService[]>;
  /** The alerter's counters, when there is an alerter. */
  readonly alerts?: () => AlertCounters | undefined;
  /** The checker watchdog's verdict (src/daemon/watchdog.ts); undefined before the daemon runs. */
  readonly watchdog?: () => WatchdogVerdict | undefined;
  /**
   * The daemon's health verdict (src/daemon/health-verdict.ts), cheap at any table size; without it (or undefined)
   * the metrics make it with the same function from `engine` and `watchdog`.
   */
  readonly health?: () => HealthVerdict | undefined;
  /** Route health injection (src/announce/announcer.ts); undefined when no virtual is announced. */
  readonly announce?: () => AnnounceStatus | undefined;
}

/** What `ldir_build_info` reports. */
export interface BuildInfo {
  /** ldir's version (package.json). */
  readonly version: string;
  /** Node.js version; default `process.version`. */
  readonly nodeVersion?: string;
}

/** Options of {@link createMetrics}. */
export interface CreateMetricsOptions {
  /** Registry to register into; default a new one owned by the metrics (never prom-client's global registry). */
  readonly registry?: Registry;
  readonly sources: MetricsSources;
  readonly buildInfo: BuildInfo;
  readonly logger?: Logger;
  /** Milliseconds one kernel read may take during a scrape before it counts as failed. Default 3 000. */
  readonly kernelTimeoutMs?: number;
  /** Times the kernel read and bounds it (`kernelTimeoutMs`); default the system clock. */
  readonly clock?: Clock;
  /**
   * Length of one slice of a scrape's work in milliseconds: reading the sources into the series and rendering the
   * exposition give the event loop a turn after each (a big table blocks checks and the control socket no longer
   * than a slice, issue 21). Default `DEFAULT_SLICE_MS` (10).
   */
  readonly sliceMs?: number;
  /** Also export prom-client's `process_*` and `nodejs_*` metrics. Default true. */
  readonly processMetrics?: boolean;
  /** Epoch milliseconds at which the configuration in force was first loaded (initial last-success reload time). */
  readonly configLoadedAt?: number;
}

/** A rendered exposition: the buffers to write, in order; `body` joins them into one string (for tests, small tables). */
export interface ScrapedExposition {
  readonly contentType: string;
  readonly chunks: readonly Buffer[];
  /** Total bytes of `chunks`. */
  readonly length: number;
  readonly body: string;
}

/** Outcome of {@link Metrics.health}, what `/healthz` answers. */
export interface MetricsHealth {
  /** 200 when true (the verdict is ok or degraded), else 503 (failing). */
  readonly ok: boolean;
  /** The health verdict's level. */
  readonly level: HealthLevel;
  /** One line for people: the verdict's summary (`ok`, `degraded: kernel-refused: ...`, `failing: ...`). */
  readonly reason: string;
}

/** The metrics of one daemon: feed it events, scrape it. Record methods never throw. */
export interface Metrics {
  /** The registry holding every ldir series. */
  readonly registry: Registry;
  /** Counts one finished check round (scheduler `onCheck`). Maintenance rounds run no probe and are not counted. */
  recordCheck(record: CheckRecord): void;
  /** Counts a batch of rounds of one check with one result (scheduler `onQuietRounds`), as many {@link recordCheck}. */
  recordQuietRounds(rounds: QuietRounds): void;
  /** Counts one health change (scheduler `onTransition`). */
  recordTransition(transition: HealthTransition): void;
  /** Counts what the engine did (engine `onEvent`). */
  recordEvent(event: EngineEvent): void;
  /** Counts one configuration reload and its outcome; `at` in epoch milliseconds. */
  recordReload(ok: boolean, at: number): void;
  /**
   * Reads every source (the kernel bounded in time) and renders the text exposition, both in slices that give the
   * event loop a turn (see {@link CreateMetricsOptions.sliceMs}).
   */
  scrape(): Promise<ScrapedExposition>;
  /**
   * What `/healthz` answers: the director's health verdict (src/daemon/health-verdict.ts), not ok when it is
   * failing (the kernel cannot be synced or refused every virtual, the engine is stopped, the checker watchdog fails).
   */
  health(): MetricsHealth;
}
