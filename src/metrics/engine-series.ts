// Engine, reload, alert and build series: totals mirrored from the snapshot at scrape time, plus event-fed ones.
import type { EngineEvent, EngineSnapshot, OpKind } from '../engine/engine-types';
import { clear, errnoLabel, seconds, setCounter, setFlag } from './convert';
import type { SeriesFactory } from './factory';
import type { AlertCounters, BuildInfo } from './types';

/** Upper bounds (seconds) of the sync duration histogram. */
export const SYNC_DURATION_BUCKETS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

const OP_KINDS: readonly OpKind[] = [
  'add-service',
  'edit-service',
  'delete-service',
  'add-destination',
  'edit-destination',
  'delete-destination',
];

/** The engine's own series: mirrors of {@link EngineSnapshot.counters}, the last sync, and event-fed histograms. */
export class EngineSeries {
  private readonly syncs;
  private readonly syncErrors;
  private readonly opsApplied;
  private readonly opsFailed;
  private readonly driftRepairs;
  private readonly retries;
  private readonly fallbackCommands;
  private readonly fallbackCommandFailures;
  private readonly quorumCommands;
  private readonly quorumCommandFailures;
  private readonly lastSyncSuccess;
  private readonly lastSyncTime;
  private readonly lastSyncDuration;
  private readonly syncDuration;
  private readonly opErrors;
  private readonly drains;

  constructor(series: SeriesFactory) {
    this.syncs = series.counter(
      'ldir_engine_syncs_total',
      'Sync passes that compared the desired table with the kernel table.',
    );
    this.syncErrors = series.counter(
      'ldir_engine_sync_errors_total',
      'Sync passes that could not list or write the kernel table at all.',
    );
    this.opsApplied = series.counter(
      'ldir_engine_operations_applied_total',
      'Kernel operations applied (done, or found already done), by kind.',
      ['op'],
    );
    this.opsFailed = series.counter('ldir_engine_operations_failed_total', 'Kernel operations the kernel refused.');
    this.driftRepairs = series.counter(
      'ldir_engine_drift_repairs_total',
      'Kernel operations that repaired a table changed outside ldir.',
    );
    this.retries = series.counter(
      'ldir_engine_operation_retries_total',
      'Kernel operations that retried one refused in the previous pass.',
    );
    this.fallbackCommands = series.counter('ldir_engine_fallback_commands_total', 'fallbackcommand runs.');
    this.fallbackCommandFailures = series.counter(
      'ldir_engine_fallback_command_failures_total',
      'fallbackcommand runs that failed.',
    );
    this.quorumCommands = series.counter(
      'ldir_engine_quorum_commands_total',
      'quorumupcommand and quorumdowncommand runs.',
    );
    this.quorumCommandFailures = series.counter(
      'ldir_engine_quorum_command_failures_total',
      'Quorum command runs that failed.',
    );
    this.lastSyncSuccess = series.gauge(
      'ldir_engine_last_sync_success',
      'Whether the last sync pass could list and write the kernel table (1) or not (0).',
    );
    this.lastSyncTime = series.gauge(
      'ldir_engine_last_sync_timestamp_seconds',
      'Start time of the last sync pass (Unix seconds).',
    );
    this.lastSyncDuration = series.gauge('ldir_engine_last_sync_duration_seconds', 'Duration of the last sync pass.');
    this.syncDuration = series.histogram(
      'ldir_engine_sync_duration_seconds',
      'Duration of sync passes.',
      [],
      SYNC_DURATION_BUCKETS,
    );
    this.opErrors = series.counter(
      'ldir_kernel_operation_errors_total',
      'Kernel operations refused, by kind and errno name (`other` for anything that is not an errno name).',
      ['op', 'errno'],
    );
    this.drains = series.counter(
      'ldir_engine_drains_total',
      'Drain phases of removed real servers and virtual services (begin, cancel, end).',
      ['phase'],
    );
  }

  /** Counts an engine event: sync durations, refused operations by errno, drain phases. */
  record(e: EngineEvent): void {
    if (e.type === 'sync') {
      const s = seconds(e.durationMs);
      if (Number.isFinite(s) && s >= 0) this.syncDuration.observe(s);
    } else if (e.type === 'op' && !e.ok) {
      this.opErrors.inc({ op: e.op, errno: errnoLabel(e.errno) });
    } else if (e.type === 'drain') {
      this.drains.inc({ phase: e.phase });
    }
  }

  /** Mirrors the snapshot's totals and last sync; with no snapshot the mirrored series are absent. */
  refresh(snapshot: Omit<EngineSnapshot, 'virtuals'> | undefined): void {
    const mirrored = [
      this.syncs,
      this.syncErrors,
      this.opsApplied,
      this.opsFailed,
      this.driftRepairs,
      this.retries,
      this.fallbackCommands,
      this.fallbackCommandFailures,
      this.quorumCommands,
      this.quorumCommandFailures,
    ];
    for (const m of [...mirrored, this.lastSyncSuccess, this.lastSyncTime, this.lastSyncDuration]) clear(m);
    if (!snapshot) return;
    const c = snapshot.counters;
    setCounter(this.syncs, {}, c.syncs);
    setCounter(this.syncErrors, {}, c.syncErrors);
    for (const op of OP_KINDS) setCounter(this.opsApplied, { op }, c.opsApplied[op] ?? 0);
    setCounter(this.opsFailed, {}, c.opsFailed);
    setCounter(this.driftRepairs, {}, c.driftRepairs);
    setCounter(this.retries, {}, c.retries);
    setCounter(this.fallbackCommands, {}, c.fallbackCommands);
    setCounter(this.fallbackCommandFailures, {}, c.fallbackCommandFailures);
    setCounter(this.quorumCommands, {}, c.quorumCommands);
    setCounter(this.quorumCommandFailures, {}, c.quorumCommandFailures);
    const last = snapshot.lastSync;
    if (last) {
      setFlag(this.lastSyncSuccess, {}, last.ok);
      this.lastSyncTime.set(seconds(last.at));
      this.lastSyncDuration.set(seconds(last.durationMs));
    }
  }
}

/** Configuration reloads: totals by result and the last outcome. */
export class ReloadSeries {
  private readonly reloads;
  private readonly lastOk;
  private readonly lastSuccess;

  constructor(series: SeriesFactory, configLoadedAt: number | undefined) {
    this.reloads = series.counter('ldir_config_reloads_total', 'Configuration reloads, by result (success, failure).', [
      'result',
    ]);
    this.lastOk = series.gauge(
      'ldir_config_last_reload_successful',
      'Whether the last configuration reload succeeded (1) or not (0); 1 before any reload.',
    );
    this.lastSuccess = series.gauge(
      'ldir_config_last_reload_success_timestamp_seconds',
      'Time the configuration in force was loaded: start, or the last successful reload (Unix seconds).',
    );
    for (const result of ['success', 'failure']) this.reloads.inc({ result }, 0);
    this.lastOk.set(1);
    if (configLoadedAt !== undefined) this.lastSuccess.set(seconds(configLoadedAt));
    else clear(this.lastSuccess);
  }

  /** Counts one reload. */
  record(ok: boolean, at: number): void {
    this.reloads.inc({ result: ok ? 'success' : 'failure' });
    setFlag(this.lastOk, {}, ok);
    if (ok) this.lastSuccess.set(seconds(at));
  }
}

/** `ldir_build_info` and the alerter's counters. */
export class InfoSeries {
  private readonly mailsSent;
  private readonly mailFailures;
  private readonly mailsDropped;
  private readonly queueLength;
  private readonly hooksRun;
  private readonly hookFailures;

  constructor(series: SeriesFactory, build: BuildInfo) {
    const info = series.gauge('ldir_build_info', 'ldir version and the Node.js version it runs on; always 1.', [
      'version',
      'nodejs',
    ]);
    info.set({ version: build.version, nodejs: build.nodeVersion ?? process.version }, 1);
    this.mailsSent = series.counter(
      'ldir_alert_mails_sent_total',
      'Alert mails handed over to the SMTP server or sendmail.',
    );
    this.mailFailures = series.counter(
      'ldir_alert_mail_failures_total',
      'Alert mail send attempts that failed (each retry counts).',
    );
    this.mailsDropped = series.counter(
      'ldir_alert_mails_dropped_total',
      'Alert mails given up (queue full, retries exhausted).',
    );
    this.queueLength = series.gauge('ldir_alert_mail_queue_length', 'Alert mails waiting to be sent.');
    this.hooksRun = series.counter('ldir_alert_commands_total', 'Alert commands run.');
    this.hookFailures = series.counter('ldir_alert_command_failures_total', 'Alert commands that failed or timed out.');
    this.refresh(undefined);
  }

  /** Mirrors the alerter's counters; without an alerter the alert series are absent. */
  refresh(a: AlertCounters | undefined): void {
    for (const m of [
      this.mailsSent,
      this.mailFailures,
      this.mailsDropped,
      this.hooksRun,
      this.hookFailures,
      this.queueLength,
    ])
      clear(m);
    if (!a) return;
    setCounter(this.mailsSent, {}, a.mailsSent);
    setCounter(this.mailFailures, {}, a.mailFailures);
    setCounter(this.mailsDropped, {}, a.mailsDropped);
    this.queueLength.set(a.queueLength);
    if (a.hooksRun !== undefined) setCounter(this.hooksRun, {}, a.hooksRun);
    if (a.hookFailures !== undefined) setCounter(this.hookFailures, {}, a.hookFailures);
  }
}
