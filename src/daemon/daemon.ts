// The daemon: its lifecycle (start, reload, hand settings, restart hand-over, stop) over the parts the
// composition root (src/app/compose-daemon.ts) made and injected (src/daemon/daemon-parts.ts).
import type { Clock } from '../clock';
import type { ConfigSourceFile } from '../config/config-sources';
import { formatDiagnostic } from '../config/diagnostics';
import type { ShutdownReport, SyncReport } from '../engine/engine-types';
import { ErrorCodes, errorMessage, isLdirError, LdirError } from '../errors';
import type { IpvsBackend } from '../ipvs/types';
import type { Logger } from '../log';
import type { Config, DaemonState, SyncRole } from '../model';
import { pidFilePath, type PidFile } from '../system/pid-file';
import { loadOrThrow, startError } from './config-load';
import type { ConfigWatcher } from './config-watcher';
import type { ControlServer, ReloadOutcome } from './control-server';
import type { DaemonParts } from './daemon-parts';
import { Director } from './director';
import type { DaemonOptions } from './daemon-options';
import { checkSocketDirectory, openIpvsBackend, openSettingsFile } from './daemon-start-steps';
import { DaemonReads } from './daemon-reads';
import { DaemonViews } from './daemon-views';
import { ExecuteInstances } from './execute-instances';
import type { HandoverState } from './handover';
import { claimPidFile, lockAfterPredecessor, openSuccessorPidFile } from './pid-claim';
import {
  controlSocketPath,
  type DrainResult,
  type ReloadPreviewResult,
  type RestartOptions,
  type RestartResult,
  type RoleResult,
  type WeightResult,
} from './protocol';
import { configFileChanged, Reloader } from './reloader';
import { ReloadQueue } from './reload-queue';
import { Restarts } from './restart';
import type { SettingsFile } from './settings-file';
import { stateSyncStatus } from './status-report';

export type { DaemonOptions } from './daemon-options';
export type { DaemonParts } from './daemon-parts';

/**
 * The daemon. {@link Daemon.start} locks the pid file, opens the kernel backend, makes the {@link Director} (engine,
 * checks, announcer; it sets the sysctls), opens the control socket, applies the configuration and starts the
 * checks; {@link Daemon.stop} undoes it all. A restart
 * hands the director to a successor without a gap ({@link Daemon.restart}, docs/design-notes.md). Everything it
 * opens comes from its {@link DaemonParts}; the composition root makes them (`startDaemon` in src/app/).
 */
export class Daemon extends DaemonReads {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly pid: number;
  private readonly pidPath: string;
  private readonly startedAt: number;
  private config!: Config;
  protected backend!: IpvsBackend;
  /** Runtime weights and hand drains kept across a stop and start (made in {@link boot}, once the backend is known). */
  private settings: SettingsFile | undefined;
  /** Engine, checks, announcer and kernel settings; made once the backend is open. */
  protected director: Director | undefined;
  private pidFile: PidFile | undefined;
  private control: ControlServer | undefined;
  private watcher: ConfigWatcher | undefined;
  private readonly reloader: Reloader;
  /** Reloads one at a time; one asked for during a reload runs right after it (SIGHUP, autoreload and the socket alike). */
  private readonly reloads = new ReloadQueue<ReloadOutcome>(() => this.reloader.run());
  protected readonly views: DaemonViews;
  private stopping: Promise<ShutdownReport | undefined> | undefined;
  /** Restarts: the hand-over under way, and the successor once it took over (this daemon then exits without cleanup). */
  private readonly restarts: Restarts;
  private closed = false;
  private readonly instances: ExecuteInstances;
  /** The files of the configuration in force with their digests as loaded (reported by `ping`). */
  private configFiles: readonly ConfigSourceFile[] | undefined;

  private constructor(
    private readonly options: DaemonOptions,
    private readonly parts: DaemonParts,
  ) {
    super();
    this.clock = parts.clock;
    this.log = options.logger.child({ module: 'daemon' });
    this.pid = parts.pid;
    this.pidPath = pidFilePath(options.configName, options.runDirectory);
    this.startedAt = this.clock.now();
    this.instances = new ExecuteInstances({
      self: parts.selfCommand,
      logger: this.log,
      run: parts.instanceRunner,
      // The backend in use, not the one asked for: `auto` that found netlink gives netlink, and memory stays memory.
      flags: () => [`--ipvs=${this.backend?.kind ?? options.ipvs ?? 'auto'}`, ...(options.debug ? ['-d'] : [])],
    });
    this.reloader = new Reloader({
      options,
      clock: this.clock,
      log: this.log,
      redactor: parts.redactor,
      loader: parts.loader,
      refusal: () => {
        if (this.stopping) return { message: 'ldir is stopping', code: ErrorCodes.DAEMON_STOPPING };
        if (this.restarts.busy()) {
          return {
            message: 'a restart is handing the director to a new daemon (it loads the file itself)',
            code: ErrorCodes.RESTART_IN_PROGRESS,
          };
        }
        return undefined;
      },
      current: () => this.config,
      watch: (sources) => this.watcher?.accept(sources),
      applyKernelSettings: (config) => this.running().applyKernelSettings(config),
      applyTimeouts: async (config) => {
        await this.running().timeouts.apply(config.globals.ipvsTimeouts);
      },
      bring: (config) => this.bring(config),
      inForce: (files) => {
        this.configFiles = files;
      },
      runInstances: (runs) => this.instances.run(runs),
      setState: (state) => this.setState(state),
      preview: (config) => this.running().preview(config),
    });
    this.restarts = new Restarts({
      party: { freeze: () => this.freeze(), thaw: () => this.thaw() },
      canHandOver: options.canHandOver ?? false,
      selfCommand: parts.selfCommand,
      configPath: options.configPath,
      ipvs: options.ipvs ?? 'auto',
      debug: options.debug ?? false,
      pid: this.pid,
      clock: this.clock,
      log: this.log,
    });
    this.views = new DaemonViews({
      clock: this.clock,
      log: this.log,
      configPath: options.configPath,
      pid: this.pid,
      startedAt: this.startedAt,
      engine: () => this.director?.engine,
      scheduler: () => this.director?.scheduler,
      listKernel: () => this.backend.list(),
      configFiles: () => this.configFiles,
      facts: () => ({
        pid: this.pid,
        configFile: options.configPath,
        includedFiles: this.config.includedFiles ?? [],
        startedAt: this.startedAt,
        backend: this.backend.kind,
        lastReload: this.reloader.last,
        ipvsTimeouts: this.director?.timeouts.held() ?? [],
        announce: this.director?.announcer.status(),
      }),
      ...(options.recentEvents ? { recentEvents: options.recentEvents } : {}),
      ...(options.statusKernelTimeoutMs !== undefined ? { statusKernelTimeoutMs: options.statusKernelTimeoutMs } : {}),
    });
  }

  /**
   * Starts a daemon made of `parts`; on failure everything it had opened is closed again and the error says why
   * (exit code in details).
   */
  static async start(options: DaemonOptions, parts: DaemonParts): Promise<Daemon> {
    const daemon = new Daemon(options, parts);
    try {
      await daemon.boot();
    } catch (err) {
      // A successor's failed start never cleans up: the table is still (or again) its predecessor's.
      await daemon.teardown(!options.predecessor);
      await daemon.closeControl();
      // A successor leaves the file to its predecessor, which goes on and writes its own pid again.
      if (!options.predecessor) daemon.pidFile?.remove(daemon.pid);
      daemon.pidFile?.close();
      throw err;
    }
    return daemon;
  }

  /** The configuration in force. */
  currentConfig(): Config {
    return this.config;
  }

  private async boot(): Promise<void> {
    const o = this.options;
    const parts = this.parts;
    this.setState('starting');
    const { config, diagnostics, sources } = await loadOrThrow(o.configPath, o, parts.redactor);
    this.configFiles = sources.files;
    for (const d of diagnostics) this.log.warn(formatDiagnostic(d));
    this.config = config;
    // A socket directory another user could write refuses the start before anything is touched (the kernel, the pid file).
    checkSocketDirectory(o);
    if (!o.predecessor) this.pidFile = await claimPidFile(this.pidPath, this.pid, o.configPath, this.log);
    this.backend = await openIpvsBackend(parts, this.log);
    this.settings = openSettingsFile(o, this.backend, this.clock, this.log);
    const director = new Director({
      parts,
      options: o,
      log: this.log,
      backend: this.backend,
      onOperatorChange: (settings) => this.settings?.save(settings),
    });
    this.director = director;
    if (!o.predecessor) await director.applyKernelSettings(config);
    // Before a hand-over: the successor joins its predecessor's announce guard before the predecessor leaves.
    await director.announcer.configure(config);
    // Runtime weights and hand drains: from the predecessor when it handed them over, else from the state file, and
    // before the first kernel pass either way (a restarted director never serves a drained real at full weight).
    const carried = o.predecessor
      ? await director.takeOver(config, o.predecessor, () => {
          this.pidFile = openSuccessorPidFile(this.pidPath, this.pid);
        })
      : false;
    this.settings.restore(!carried, (s) => director.engine.importOperatorSettings(s));
    try {
      this.control = await parts.startControl({
        path: controlSocketPath(o.configName, o.socketDirectory),
        replace: o.predecessor !== undefined,
        redact: (line) => parts.redactor.jsonLine(line),
        handlers: {
          status: () => this.statusReport(),
          statusParts: () => this.statusParts(),
          reload: () => this.reload(),
          reloadPreview: () => this.previewReload(),
          drain: (v, r) => this.drain(v, r),
          undrain: (v, r) => this.undrain(v, r),
          weight: (v, r, w) => this.weight(v, r, w),
          // The control socket's own stop: cleanup first, the socket closes once the answer is written.
          stop: async () => {
            await this.stopCore();
          },
          ping: () => this.ping(),
          role: (role) => this.setRole(role),
          restart: (request) => this.restart(request),
        },
        afterStop: () => {
          void this.stop();
        },
      });
    } catch (err) {
      throw isLdirError(err) ? startError(err.message, 1) : err;
    }
    await this.bring(config);
    this.settings.save(director.engine.operatorSettings()); // a hand-over's settings, when the file does not hold them yet
    // The `execute=` instances, with this daemon's backend and -d; one that does not start fails this start.
    await this.instances.start(config.globals.execute);
    this.watcher = parts.createWatcher({
      path: o.configPath,
      sources,
      intervalMs: o.watchIntervalMs ?? 1000,
      onChange: () =>
        configFileChanged(this.config, o.configPath, this.log, () => void this.reload(), parts.runCommand),
    });
    this.watcher.start();
    this.setState('running');
    this.log.info(
      { config: o.configPath, backend: this.backend.kind, pid: this.pid, successor: o.predecessor !== undefined },
      'ldir started',
    );
    if (o.predecessor)
      void lockAfterPredecessor(this.pidFile, this.pidPath, this.log, () => this.stopping !== undefined);
  }

  /** Puts a configuration in force ({@link Director.bring}); the daemon's own copy follows. */
  private bring(config: Config): Promise<SyncReport> {
    this.config = config;
    return this.running().bring(config);
  }

  /** Refuses a request that would change the director while it stops or hands over to a successor. */
  private refuseWhileBusy(what: string): void {
    if (this.stopping) throw new LdirError(ErrorCodes.DAEMON_STOPPING, `ldir is stopping: ${what} refused`);
    if (this.restarts.busy()) {
      throw new LdirError(
        ErrorCodes.RESTART_IN_PROGRESS,
        `a restart is handing the director to a new daemon: ${what} refused (retry once it runs)`,
      );
    }
  }

  /**
   * Re-reads the configuration ({@link Reloader.run}: a configuration with errors changes nothing). Asked for while
   * a reload runs (a SIGHUP, autoreload or `ldir reload` meanwhile), it runs once that one is done, with the files as
   * they are then, and the outcome is that run's: never the one of a reload that had already read the files before
   * the request (requests that wait together share one run).
   */
  reload(): Promise<ReloadOutcome> {
    return this.reloads.request((turn) => {
      if (turn === 'queued')
        this.log.info(
          { file: this.options.configPath },
          'reload requested while a reload runs: it runs again right after it, with the file as it is then',
        );
    });
  }

  /** What {@link reload} would do now, doing none of it (`ldir reload --dry-run`; {@link Reloader.preview}). */
  async previewReload(): Promise<ReloadPreviewResult> {
    this.refuseWhileBusy('reload preview');
    await this.reloads.idle(); // the reloads under way or queued (SIGHUP, autoreload) first: never one half done
    return this.reloader.preview();
  }

  /** Drains a real by hand (weight 0 until undrained; kept in the state file). */
  async drain(virtual: string, real: string): Promise<DrainResult> {
    this.refuseWhileBusy('drain');
    return this.withSaveState(await this.running().engine.drain(virtual, real));
  }

  /** Ends a hand drain. */
  async undrain(virtual: string, real: string): Promise<DrainResult> {
    this.refuseWhileBusy('undrain');
    return this.withSaveState(await this.running().engine.undrain(virtual, real));
  }

  /** Sets a real's runtime weight, or `reset` to the configured one (kept in the state file). */
  async weight(virtual: string, real: string, weight: number | 'reset'): Promise<WeightResult> {
    this.refuseWhileBusy('weight');
    return this.withSaveState(await this.running().engine.setWeight(virtual, real, weight === 'reset' ? null : weight));
  }

  /** `result`, with why the state file does not hold the settings in force when it does not. */
  private withSaveState<T extends DrainResult | WeightResult>(result: T): T {
    return this.settings ? this.settings.withSaveState(result) : result;
  }

  /** Sets the director's sync role: the kernel's sync daemons follow at once (`ldir promote|demote`). */
  async setRole(role: SyncRole): Promise<RoleResult> {
    this.refuseWhileBusy(`the ${role} role`);
    const change = await this.running().engine.setSyncRole(role);
    return { role, previous: change.previous, changed: change.changed, stateSync: stateSyncStatus(change.stateSync) };
  }

  /**
   * Hands the director to a successor daemon (`ldir restart`): starts it (the program of the request: the
   * installation that asks, so an upgrade runs the new version), lets it check every real once while this daemon
   * goes on, then stops writing the kernel and hands over; resolves once the successor runs. This daemon then exits
   * without cleanup (the control socket's `afterStop`). When the successor fails, this daemon goes on as before
   * and the error says why (a configuration error with its diagnostics).
   */
  restart(request: RestartOptions): Promise<RestartResult> {
    this.restarts.assertSupported();
    this.refuseWhileBusy('restart');
    return this.restarts.start(request);
  }

  /** Stops everything that writes or watches (kernel passes, checks, autoreload, metrics) and returns the state. */
  private freeze(): Promise<HandoverState> {
    this.watcher?.stop();
    return this.running().freeze(this.pid, async () => {
      await this.options.onHandover?.('release');
    });
  }

  /** Undoes {@link freeze} after a failed hand-over: socket and pid file ours again, checks, kernel passes, watcher. */
  private async thaw(): Promise<void> {
    try {
      await this.control?.republish();
    } catch (err) {
      this.log.error({ err: errorMessage(err) }, 'restart: cannot publish the control socket again');
    }
    if (this.pidFile && this.pidFile.readPid() !== this.pid) this.pidFile.write(this.pid);
    await this.running().thaw(async () => {
      await this.options.onHandover?.('reclaim');
      this.watcher?.start();
    });
  }

  /**
   * Stops: checks first, then the kernel cleanup (`cleanstop=yes` virtuals are removed, bounded), backend, control
   * socket, pid file (removed, then its lock released: whoever waits for it finds everything closed); `onStopped`
   * last. After a hand-over to a successor nothing is cleaned up: the table, the pid file and the sync daemons are
   * the successor's. Idempotent; resolves when done.
   */
  async stop(): Promise<ShutdownReport | undefined> {
    const report = await this.stopCore();
    if (!this.closed) {
      this.closed = true;
      await this.closeControl();
      this.pidFile?.remove(this.pid);
      this.pidFile?.close();
      this.options.onStopped?.();
    }
    return report;
  }

  /** Everything of {@link stop} except closing the control socket (which may be serving the stop request). */
  private stopCore(): Promise<ShutdownReport | undefined> {
    if (!this.stopping) {
      this.stopping = (async () => {
        // A stop during a hand-over: the successor goes, this daemon stops as usual (a failed hand-over thaws first).
        await this.restarts.cancel();
        const successor = this.restarts.handedOverTo();
        if (successor !== undefined) {
          this.log.info({ successor }, 'ldir exiting: the new daemon runs the director (no cleanup)');
          return this.teardown(false);
        }
        this.setState('stopping');
        this.log.info('ldir stopping');
        if (this.config) await this.instances.run(this.config.globals.execute.map((n) => [n, 'stop']));
        const report = await this.teardown(true);
        this.log.info({ ...report }, 'ldir stopped');
        return report;
      })();
    }
    return this.stopping;
  }

  /**
   * Closes whatever is open except the control socket and the pid file; used by stop and by a start that failed half
   * way. `clean`: the kernel cleanup of `cleanstop=yes` and the IPVS timeouts given back where
   * `ipvstimeoutsrestore=yes` (neither after a hand-over: they are the successor's).
   */
  private async teardown(clean: boolean): Promise<ShutdownReport | undefined> {
    // Withdrawn first: the routers stop sending this director traffic before its table goes.
    await this.director?.withdraw(clean);
    this.watcher?.stop();
    const report = await this.director?.close(clean);
    await this.parts.loader.close();
    if (this.backend) await this.backend.close().catch(() => undefined);
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
