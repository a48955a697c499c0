// The composition root: builds config, checks, engine, kernel backend and control socket, and runs their lifecycle.
import { reverse } from 'node:dns/promises';
import * as path from 'node:path';
import { runCheck } from '../checks/dispatch';
import { jobsFromConfig, type CheckTarget } from '../checks/jobs';
import { MaintenanceDir, ReverseNames } from '../checks/maintenance';
import { defaultCheckers } from '../checks/registry';
import { CheckScheduler, type CheckRecord, type Health, type HealthTransition } from '../checks/scheduler';
import { openTcpProber, type TcpProber } from '../checks/tcp-prober';
import { systemClock, type Clock } from '../clock';
import { formatDiagnostic, type Diagnostic } from '../config/diagnostics';
import { loadConfigFile, type LoadOptions } from '../config/load';
import { Engine } from '../engine/engine';
import type { EngineEvent, EngineOptions, ShutdownReport } from '../engine/engine-types';
import { spawnRunner } from '../engine/fallback-command';
import { ErrorCodes, isLdirError, LdirError } from '../errors';
import { selectBackend, type BackendChoice, type BackendFactories } from '../ipvs/select';
import type { IpvsBackend } from '../ipvs/types';
import type { Logger } from '../log';
import type { Config, DaemonState, SyncRole } from '../model';
import { claimPidFile, pidFilePath, releasePidFile } from '../system/pid-file';
import { setupSysctls } from '../system/sysctl';
import { procSysStore, type SysctlStore } from '../system/sysctl-store';
import { ConfigWatcher } from './config-watcher';
import { ExecuteInstances, type InstanceRun } from './execute-instances';
import { startControlServer, type ControlServer, type ReloadOutcome } from './control-server';
import { controlSocketPath, type DrainResult, type PingResult, type RoleResult, type StatusReport } from './protocol';
import { buildStatusReport, stateSyncStatus } from './status-report';

/** Options of {@link Daemon.start}. */
export interface DaemonOptions {
  /** Absolute path of the configuration file. */
  readonly configPath: string;
  /** Configuration name (pid file and control socket are per name, as ldirectord's pid file). */
  readonly configName: string;
  readonly logger: Logger;
  /** `-d`: as ldirectord, the log file is not test-opened. */
  readonly debug?: boolean;
  /** Kernel backend; `memory` runs everything except the kernel (and says so). Default `auto`. */
  readonly ipvs?: BackendChoice;
  readonly clock?: Clock;
  readonly pid?: number;
  readonly runDirectory?: string;
  readonly socketDirectory?: string;
  readonly procRoot?: string;
  readonly sysctlStore?: SysctlStore;
  readonly backendFactories?: BackendFactories;
  readonly load?: LoadOptions;
  /** Engine settings (drain, resync, coalescing); backend, clock and logger are the daemon's. */
  readonly engine?: Omit<EngineOptions, 'backend' | 'clock' | 'logger' | 'onEvent'>;
  /** Milliseconds between looks at the configuration file for `autoreload`/`callback`. Default 1000. */
  readonly watchIntervalMs?: number;
  /** Receives engine events (alerts, metrics). */
  readonly onEngineEvent?: (event: EngineEvent) => void;
  /** Receives health transitions after the engine (alerts, metrics). */
  readonly onTransition?: (transition: HealthTransition) => void;
  /** Receives every finished check (metrics). */
  readonly onCheck?: (record: CheckRecord) => void;
  /** Receives daemon state changes (alerts' `emailalertstatus`). */
  readonly onState?: (state: DaemonState) => void;
  /** Receives the outcome of every reload (`at` in epoch milliseconds). */
  readonly onReload?: (ok: boolean, at: number) => void;
  /** Receives each configuration that comes into force (start and successful reloads). */
  readonly onConfig?: (config: Config) => void;
  /** Program and arguments that run `ldir` (for `execute=` instances). Default: this Node and dist/src/main.js. */
  readonly selfCommand?: readonly string[];
  /** Called once the daemon stopped (after `stop`, from a signal or the control socket). */
  readonly onStopped?: () => void;
}

/** A failed start: the error code, and the exit code `ldir start` reports (2 for a configuration error). */
export function startError(message: string, exitCode: number, diagnostics: readonly Diagnostic[] = []): LdirError {
  return new LdirError(exitCode === 2 ? ErrorCodes.CONFIG_INVALID : ErrorCodes.DAEMON_START_FAILED, message, { details: { exitCode, diagnostics } });
}

/** Loads a configuration; throws a config error (exit 2) carrying the diagnostics when it has errors. */
async function loadOrThrow(path: string, options: DaemonOptions): Promise<{ config: Config; diagnostics: readonly Diagnostic[] }> {
  let result;
  try {
    result = await loadConfigFile(path, { ...options.load, debug: options.debug ?? false });
  } catch (err) {
    throw isLdirError(err) ? startError(err.message, 1) : err;
  }
  if (!result.config) {
    const errors = result.diagnostics.filter((d) => d.severity === 'error');
    throw startError(`${path}: ${errors.length} configuration error(s)`, 2, result.diagnostics);
  }
  return { config: result.config, diagnostics: result.diagnostics };
}

/**
 * The running director. {@link Daemon.start} claims the pid file, opens the kernel backend, sets the sysctls,
 * opens the control socket, applies the configuration and starts the checks; {@link Daemon.stop} undoes it all.
 */
export class Daemon {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly pid: number;
  private readonly pidFile: string;
  private readonly startedAt: number;
  private config!: Config;
  private backend!: IpvsBackend;
  private engine!: Engine;
  private scheduler!: CheckScheduler;
  private prober: TcpProber | undefined;
  private control: ControlServer | undefined;
  private watcher: ConfigWatcher | undefined;
  private maintenance: MaintenanceDir | undefined;
  private names: ReverseNames;
  private lastReload: { at: number; ok: boolean; message?: string } | null = null;
  private reloading: Promise<ReloadOutcome> | undefined;
  private stopping: Promise<ShutdownReport | undefined> | undefined;
  private closed = false;
  private readonly runCommand = spawnRunner();
  private readonly instances: ExecuteInstances;

  private constructor(private readonly options: DaemonOptions) {
    this.clock = options.clock ?? systemClock();
    this.log = options.logger.child({ module: 'daemon' });
    this.pid = options.pid ?? process.pid;
    this.pidFile = pidFilePath(options.configName, options.runDirectory);
    this.startedAt = this.clock.now();
    this.names = new ReverseNames({ lookup: (a) => reverse(a), clock: this.clock });
    this.instances = new ExecuteInstances({
      self: options.selfCommand ?? [process.execPath, path.resolve(__dirname, '..', 'main.js')], logger: this.log, run: spawnRunner(60_000),
    });
  }

  /** Starts a daemon; on failure everything it had opened is closed again and the error says why (exit code in details). */
  static async start(options: DaemonOptions): Promise<Daemon> {
    const daemon = new Daemon(options);
    try {
      await daemon.boot();
    } catch (err) {
      await daemon.teardown();
      await daemon.closeControl();
      throw err;
    }
    return daemon;
  }

  /** The configuration in force. */
  currentConfig(): Config {
    return this.config;
  }

  /** The kernel backend in use. */
  backendKind(): IpvsBackend['kind'] {
    return this.backend.kind;
  }

  /** The engine (for alerts and metrics snapshots). */
  engineSnapshot(): ReturnType<Engine['snapshot']> {
    return this.engine.snapshot();
  }

  /** The checks' state (for metrics). */
  checkSnapshot(): ReturnType<CheckScheduler['snapshot']> {
    return this.scheduler.snapshot();
  }

  /** Lists the kernel table (for metrics at scrape time). */
  listKernel(): ReturnType<IpvsBackend['list']> {
    return this.backend.list();
  }

  private async boot(): Promise<void> {
    const o = this.options;
    this.setState('starting');
    const { config, diagnostics } = await loadOrThrow(o.configPath, o);
    for (const d of diagnostics) this.log.warn(formatDiagnostic(d));
    this.config = config;
    try {
      claimPidFile(this.pidFile, this.pid, o.procRoot);
    } catch (err) {
      throw isLdirError(err) ? startError(err.message, 1) : err;
    }
    try {
      const selection = await selectBackend(o.ipvs ?? 'auto', o.backendFactories);
      this.backend = selection.backend;
      for (const why of selection.passedOver) this.log.warn({ why }, 'IPVS backend passed over');
    } catch (err) {
      throw isLdirError(err) ? startError(err.message, 1) : err;
    }
    if (this.backend.kind === 'memory') {
      this.log.warn('IPVS backend is "memory": the kernel table is NOT changed; checks and decisions run, nothing is load balanced');
    }
    this.applySysctls(config);
    this.prober = openTcpProber();
    if (!this.prober) this.log.warn('native addon not built: connect and http checks use Node sockets (more CPU per check)');
    const checkers = defaultCheckers(this.prober ? { tcpProber: this.prober } : {});
    this.engine = new Engine({
      ...o.engine, backend: this.backend, clock: this.clock, logger: o.logger, runCommand: o.engine?.runCommand ?? this.runCommand,
      onEvent: (e) => o.onEngineEvent?.(e),
    });
    this.scheduler = new CheckScheduler({
      clock: this.clock, logger: o.logger,
      run: (job, kind, signal) => runCheck(job, kind, signal, checkers),
      maintenance: (address, port, hostnames) => this.maintenance?.probe(address, port, hostnames) ?? false,
      hostnames: (address) => (this.maintenance ? this.names.names(address) : []),
      onTransition: (t) => {
        this.engine.onTransition(t);
        o.onTransition?.(t);
      },
      ...(o.onCheck ? { onCheck: o.onCheck } : {}),
    });
    try {
      this.control = await startControlServer({
        path: controlSocketPath(o.configName, o.socketDirectory), logger: o.logger,
        handlers: {
          status: () => this.status(),
          reload: () => this.reload(),
          drain: (v, r) => this.drain(v, r),
          undrain: (v, r) => this.undrain(v, r),
          // The control socket's own stop: cleanup first, the socket closes once the answer is written.
          stop: async () => {
            await this.stopCore();
          },
          ping: () => this.ping(),
          role: (role) => this.setRole(role),
        },
        afterStop: () => {
          void this.stop();
        },
      });
    } catch (err) {
      throw isLdirError(err) ? startError(err.message, 1) : err;
    }
    await this.bring(config);
    this.watcher = new ConfigWatcher({
      path: o.configPath, clock: this.clock, intervalMs: o.watchIntervalMs ?? 1000, onChange: () => this.onFileChanged(),
    });
    this.watcher.start();
    this.setState('running');
    this.log.info({ config: o.configPath, backend: this.backend.kind, pid: this.pid }, 'ldir started');
    await this.instances.run(config.globals.execute.map((name) => [name, 'start']));
  }

  /** Puts a configuration in force: maintenance directory, kernel table (adopting what is there), then the checks. */
  private async bring(config: Config): Promise<void> {
    this.config = config;
    const dir = config.globals.maintenanceDir;
    if (dir !== this.maintenanceDirPath()) {
      this.maintenance = dir ? new MaintenanceDir({ dir, clock: this.clock, logger: this.log }) : undefined;
      await this.maintenance?.refresh();
    }
    if (!this.options.engine || (this.options.engine.drainEnabled === undefined && this.options.engine.drainTimeoutMs === undefined)) {
      this.engine.setDrainPolicy({ enabled: config.globals.drain.enabled, timeoutMs: config.globals.drain.timeout * 1000 });
    }
    const report = await this.engine.applyConfig(config);
    if (!report.ok) this.log.error({ error: report.error }, 'kernel sync failed; it is retried on the next pass');
    const snapshot = this.engine.snapshot();
    const kernelWeight = new Map<string, number | null>();
    for (const v of snapshot.virtuals) for (const r of v.reals) kernelWeight.set(`${v.id}\u0000${r.realKey}`, r.kernelWeight);
    this.scheduler.sync(jobsFromConfig(config), { initialHealth: (t) => this.initialHealth(t, kernelWeight) });
    this.options.onConfig?.(config);
  }

  /** `checktype=off` runs no check: its reals keep what the kernel says (weight > 0 up, else down), as ldirectord. */
  private initialHealth(target: CheckTarget, kernelWeight: ReadonlyMap<string, number | null>): Health | undefined {
    if (target.job.type !== 'off') return undefined;
    const weights = target.members.map((m) => kernelWeight.get(`${m.virtualId}\u0000${m.realKey}`) ?? null);
    return weights.some((w) => w !== null && w > 0) ? 'up' : 'down';
  }

  private maintenanceDirPath(): string | undefined {
    return this.maintenance ? this.config.globals.maintenanceDir : undefined;
  }

  private applySysctls(config: Config): void {
    if (this.backend.kind === 'memory') {
      this.log.info('sysctl setup skipped: the memory backend touches nothing in the kernel');
      return;
    }
    setupSysctls(config, this.options.sysctlStore ?? procSysStore(), this.log.child({ module: 'sysctl' }));
  }

  /**
   * Re-reads the configuration. A configuration with errors changes nothing (the old one keeps running) and the
   * outcome carries its diagnostics; a good one is applied as a difference (unchanged checks keep their state).
   */
  reload(): Promise<ReloadOutcome> {
    if (this.reloading) return this.reloading;
    this.reloading = this.doReload().finally(() => {
      this.reloading = undefined;
    });
    return this.reloading;
  }

  private async doReload(): Promise<ReloadOutcome> {
    const file = this.options.configPath;
    if (this.stopping) return { applied: false, file, message: 'ldir is stopping', diagnostics: [], code: ErrorCodes.DAEMON_START_FAILED };
    this.setState('reloading');
    this.watcher?.accept();
    let loaded;
    try {
      loaded = await loadOrThrow(file, this.options);
    } catch (err) {
      const diagnostics = (isLdirError(err) ? (err.details['diagnostics'] as Diagnostic[] | undefined) : undefined) ?? [];
      const message = err instanceof Error ? err.message : String(err);
      this.lastReload = { at: this.clock.now(), ok: false, message };
      this.options.onReload?.(false, this.lastReload.at);
      this.log.error({ file, errors: diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic) },
        'reload refused: the configuration has errors; the running configuration stays in force');
      this.setState('running');
      return { applied: false, file, message, diagnostics };
    }
    for (const d of loaded.diagnostics) this.log.warn(formatDiagnostic(d));
    const before = this.config.globals.execute;
    const after = loaded.config.globals.execute;
    this.applySysctls(loaded.config);
    await this.bring(loaded.config);
    // `execute=` instances as ldirectord's ld_cmd_children: stop the removed ones, reload (or start) kept ones, start new ones.
    await this.instances.run([
      ...before.filter((n) => !after.includes(n)).map((n): InstanceRun => [n, 'stop']),
      ...after.map((n): InstanceRun => [n, before.includes(n) ? 'try-reload' : 'start']),
    ]);
    this.lastReload = { at: this.clock.now(), ok: true };
    this.options.onReload?.(true, this.lastReload.at);
    this.log.info({ file }, 'configuration reloaded');
    this.setState('running');
    return { applied: true, file, diagnostics: loaded.diagnostics };
  }

  private onFileChanged(): void {
    const g = this.config.globals;
    this.log.info({ file: this.options.configPath }, 'configuration file has changed on disk');
    if (g.autoreload) void this.reload();
    else this.log.info('autoreload is off: the new configuration is not loaded');
    if (g.callback) {
      const argv = [...g.callback.trim().split(/\s+/), this.options.configPath];
      this.runCommand(argv).then(
        (r) => { if (r.exitCode !== 0) this.log.warn({ argv, exitCode: r.exitCode }, 'callback failed'); },
        (err: unknown) => this.log.warn({ argv, err: String(err) }, 'callback could not run'),
      );
    }
  }

  /** Drains a real by hand (weight 0 until undrained). */
  drain(virtual: string, real: string): Promise<DrainResult> {
    return this.engine.drain(virtual, real);
  }

  /** Ends a hand drain. */
  undrain(virtual: string, real: string): Promise<DrainResult> {
    return this.engine.undrain(virtual, real);
  }

  /** Sets the director's sync role: the kernel's sync daemons follow at once (`ldir promote|demote`). */
  async setRole(role: SyncRole): Promise<RoleResult> {
    const change = await this.engine.setSyncRole(role);
    return { role, previous: change.previous, changed: change.changed, stateSync: stateSyncStatus(change.stateSync) };
  }

  /** What `ldir status` shows. */
  status(): StatusReport {
    return buildStatusReport({
      pid: this.pid, configFile: this.options.configPath, startedAt: this.startedAt, backend: this.backend.kind, lastReload: this.lastReload,
    }, this.engine.snapshot(), this.scheduler.snapshot(), this.clock.now());
  }

  /** Cheap liveness for the OCF monitor. */
  ping(): PingResult {
    const snapshot = this.engine.snapshot();
    const last = snapshot.lastSync;
    return {
      pid: this.pid, configFile: this.options.configPath, startedAt: new Date(this.startedAt).toISOString(),
      uptimeSeconds: Math.round((this.clock.now() - this.startedAt) / 1000), lastSyncOk: last ? last.ok : null,
      ...(snapshot.stateSync ? { role: snapshot.stateSync.role } : {}),
    };
  }

  /**
   * Stops: checks first, then the kernel cleanup (`cleanstop=yes` virtuals are removed, bounded), backend and pid
   * file, then the control socket; `onStopped` last. Idempotent; resolves when done.
   */
  async stop(): Promise<ShutdownReport | undefined> {
    const report = await this.stopCore();
    if (!this.closed) {
      this.closed = true;
      await this.closeControl();
      this.options.onStopped?.();
    }
    return report;
  }

  /** Everything of {@link stop} except closing the control socket (which may be serving the stop request). */
  private stopCore(): Promise<ShutdownReport | undefined> {
    if (!this.stopping) {
      this.stopping = (async () => {
        this.setState('stopping');
        this.log.info('ldir stopping');
        if (this.config) await this.instances.run(this.config.globals.execute.map((n) => [n, 'stop']));
        const report = await this.teardown();
        this.log.info({ ...report }, 'ldir stopped');
        return report;
      })();
    }
    return this.stopping;
  }

  /** Closes whatever is open except the control socket; used by stop and by a start that failed half way. */
  private async teardown(): Promise<ShutdownReport | undefined> {
    this.watcher?.stop();
    this.scheduler?.stop();
    let report: ShutdownReport | undefined;
    if (this.engine) report = await this.engine.shutdown({ clean: true });
    this.prober?.close();
    if (this.backend) await this.backend.close().catch(() => undefined);
    releasePidFile(this.pidFile, this.pid);
    return report;
  }

  private async closeControl(): Promise<void> {
    const control = this.control;
    this.control = undefined;
    if (control) await control.close().catch(() => undefined);
  }

  private setState(state: DaemonState): void {
    try {
      this.options.onState?.(state);
    } catch (err) {
      this.log.error({ err: String(err) }, 'state listener failed');
    }
  }
}
