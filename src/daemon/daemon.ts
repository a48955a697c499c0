// The composition root: builds config, checks, engine, kernel backend and control socket, and runs their lifecycle.
import { reverse } from 'node:dns/promises';
import { spawn } from 'node:child_process';
import { closeSync, openSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Announcer } from '../announce/announcer';
import { birdDriver } from '../announce/bird-driver';
import { connectGuard } from '../announce/guard-client';
import { runCheck } from '../checks/dispatch';
import type { CheckResult } from '../checks/types';
import { jobsFromConfig, type CheckTarget } from '../checks/jobs';
import { pairKey } from '../model/health';
import { MaintenanceDir, ReverseNames } from '../checks/maintenance';
import { checkLibraries, loadLibraries } from '../checks/libraries';
import { defaultCheckers } from '../checks/registry';
import { CheckScheduler } from '../checks/scheduler';
import { NONE_OVERDUE } from '../checks/overdue-checks';
import type { Health, HealthTransition } from '../model/health';
import { openTcpProber, type TcpProber } from '../checks/tcp-prober';
import { systemClock, type Clock } from '../clock';
import type { ConfigSourceFile, ConfigSources } from '../config/config-sources';
import { formatDiagnostic, type Diagnostic } from '../config/diagnostics';
import { loadConfigFile } from '../config/load';
import { ConfigLoadWorker } from '../config/load-off-thread';
import { Engine } from '../engine/engine';
import type { DrainPolicy, ShutdownReport, SyncReport } from '../engine/engine-types';
import { settingsKey, type OperatorSetting } from '../engine/operator-settings';
import { spawnRunner } from '../engine/fallback-command';
import { ErrorCodes, errorMessage, isLdirError, LdirError } from '../errors';
import { selectBackend } from '../ipvs/select';
import type { IpvsBackend } from '../ipvs/types';
import type { Logger } from '../log';
import type { Config, DaemonState, SyncRole } from '../model';
import { SecretRedactor } from '../secrets';
import { PidFile, pidFilePath } from '../system/pid-file';
import { IpvsTimeoutKeeper } from '../system/ipvs-timeouts';
import { previewSysctls, setupSysctls, type SysctlResult } from '../system/sysctl';
import { procSysStore, type SysctlStore } from '../system/sysctl-store';
import { ConfigWatcher } from './config-watcher';
import { ExecuteInstances, reloadRuns, spawnInstanceRunner } from './execute-instances';
import { startControlServer, type ControlServer, type ReloadOutcome } from './control-server';
import { HANDOVER_VERSION, type HandoverState, type PredecessorLink, type Successor } from './handover';
import { handOver } from './restart';
import {
  controlSocketPath, toWireDiagnostic, type AnnounceStatus, type DrainResult, type PingResult, type ReloadPreviewResult, type RestartOptions, type RestartResult,
  type RoleResult, type StatusReport, type StatusStreamPart, type WeightResult,
} from './protocol';
import { readStateFile, stateFilePath, writeStateFile } from './state-file';
import { previewSteps } from './reload-preview';
import { ReloadQueue } from './reload-queue';
import { ensureSocketDirectory } from './socket-directory';
import type { DaemonOptions } from './daemon-options';
import { buildStatusReport, stateSyncStatus, statusHead, statusParts, watchdogStatus, type DaemonFacts, type StatusExtras } from './status-report';
import { healthVerdict, type HealthVerdict } from './health-verdict';
import { trafficOfSliced, type TrafficIndex } from './status-traffic';
import { SliceYielder } from '../system/slice-yielder';
import { KernelReader } from '../metrics/kernel-series';
import { DEFAULT_KERNEL_TIMEOUT_MS } from '../metrics/metrics';
import { CHECK_OVERDUE_FACTOR, describeVerdict, watchdogVerdict, type WatchdogVerdict } from './watchdog';
import { awaitTurn, healthOfTarget, kernelWeightsOf } from './takeover';
import { selfCommand } from '../system/self-command';

/** How long a successor waits for its predecessor's lock (the predecessor exits right after the hand-over). */
const SUCCESSOR_LOCK_WAIT_MS = 120_000;
/** How long a fresh start waits for the pid file lock (a reader's momentary test lock); a daemon holding it stays. */
const START_LOCK_WAIT_MS = 2_000;

export type { DaemonOptions } from './daemon-options';

/** A refused reload logs at most this many of its errors (the control answer carries them all). */
export const LOGGED_RELOAD_ERRORS = 100;

/** A failed start: the error code, and the exit code `ldir start` reports (2 for a configuration error). */
export function startError(message: string, exitCode: number, diagnostics: readonly Diagnostic[] = [], sources?: ConfigSources): LdirError {
  return new LdirError(exitCode === 2 ? ErrorCodes.CONFIG_INVALID : ErrorCodes.DAEMON_START_FAILED, message, {
    details: { exitCode, diagnostics, ...(sources ? { sources } : {}) },
  });
}

/**
 * Loads a configuration (in `loader`'s worker thread when given, else on this thread); throws a config error (exit 2) carrying the diagnostics (and the files it read, `sources`)
 * when it has errors. The values of its credential directives go to `redactor` either way (the log and the control
 * answers hide them from then on).
 */
async function loadOrThrow(
  path: string, options: DaemonOptions, redactor: SecretRedactor, loader?: ConfigLoadWorker,
): Promise<{ config: Config; diagnostics: readonly Diagnostic[]; sources: ConfigSources }> {
  let result;
  const loadOptions = { ...options.load, debug: options.debug ?? false };
  try {
    result = loader ? await loader.load(path, loadOptions) : await loadConfigFile(path, loadOptions);
  } catch (err) {
    throw isLdirError(err) ? startError(err.message, 1) : err;
  }
  redactor.add(result.secrets);
  if (!result.config) {
    const errors = result.diagnostics.filter((d) => d.severity === 'error');
    throw startError(`${path}: ${errors.length} configuration error(s)`, 2, result.diagnostics, result.sources);
  }
  return { config: result.config, diagnostics: result.diagnostics, sources: result.sources };
}

/**
 * The running director. {@link Daemon.start} locks the pid file, opens the kernel backend, sets the sysctls, opens
 * the control socket, applies the configuration and starts the checks; {@link Daemon.stop} undoes it all. A restart
 * hands the director to a successor without a gap ({@link Daemon.restart}, docs/design-notes.md).
 */
export class Daemon {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly pid: number;
  private readonly pidPath: string;
  /**
   * The state file: runtime weights and hand drains (see {@link saveSettings}); undefined for a trial run on the
   * memory backend without a state directory of its own (set in {@link boot}, once the backend is known).
   */
  private statePath: string | undefined;
  /** {@link settingsKey} of what the state file holds; undefined when not known (it is then written at once). */
  private savedSettings: string | undefined;
  /** Why the last write of the state file failed; undefined once it holds the settings in force. */
  private saveError: string | undefined;
  /** The state file found at start could not be used: it is kept beside the new one at the first write. */
  private unreadableState = false;
  private readonly startedAt: number;
  private config!: Config;
  private backend!: IpvsBackend;
  /** The bounded kernel read of {@link statusReport}, made at its first use. */
  private statusKernel: KernelReader | undefined;
  /** The kernel's IPVS connection timeouts ldir sets (`ipvstimeouts=`); undefined until the backend is open. */
  private timeouts: IpvsTimeoutKeeper | undefined;
  private engine!: Engine;
  /** Route health injection (src/announce/); idle while no virtual is announced. */
  private announcer!: Announcer;
  private scheduler!: CheckScheduler;
  /** Virtual services with a `monitorfile`: their checks report every round at once (it logs each one). */
  private monitored = new Set<string>();
  private pidFile: PidFile | undefined;
  private prober: TcpProber | undefined;
  private control: ControlServer | undefined;
  private watcher: ConfigWatcher | undefined;
  private maintenance: MaintenanceDir | undefined;
  private names: ReverseNames;
  private lastReload: { at: number; ok: boolean; message?: string } | null = null;
  /** Reloads one at a time; one asked for during a reload runs right after it (SIGHUP, autoreload and the socket alike). */
  private readonly reloads = new ReloadQueue<ReloadOutcome>(() => this.doReload());
  private stopping: Promise<ShutdownReport | undefined> | undefined;
  /** A restart under way: its outcome, and how to stop its successor (a stop that arrives meanwhile). */
  private restarting: { readonly done: Promise<RestartResult>; readonly killSuccessor: () => Promise<void> } | undefined;
  /** The successor's pid once it took over: this daemon then exits without cleanup. */
  private handedOverTo: number | undefined;
  /** Transitions held back from the observers until a successor has taken over (its first round). */
  private deferred: HealthTransition[] | undefined;
  private closed = false;
  /** The watchdog's codes at its last verdict (`ok` when none): a change is logged. */
  private watchdogCodes = 'ok';
  private healthKey = 'ok';
  private readonly runCommand = spawnRunner();
  private readonly instances: ExecuteInstances;
  /** Loads the configuration of reloads and previews off the event loop (the start loads on it: nothing runs yet). */
  private readonly loader: ConfigLoadWorker;
  /** The secrets of every configuration loaded, hidden from the log and from every control answer. */
  private readonly redactor: SecretRedactor;
  /** The files of the configuration in force with their digests as loaded (reported by `ping`). */
  private configFiles: readonly ConfigSourceFile[] | undefined;

  private constructor(private readonly options: DaemonOptions) {
    this.clock = options.clock ?? systemClock();
    this.log = options.logger.child({ module: 'daemon' });
    this.pid = options.pid ?? process.pid;
    this.pidPath = pidFilePath(options.configName, options.runDirectory);
    this.startedAt = this.clock.now();
    this.redactor = options.redactor ?? new SecretRedactor();
    this.names = new ReverseNames({ lookup: (a) => reverse(a), clock: this.clock });
    this.loader = new ConfigLoadWorker({ logger: this.log });
    this.instances = new ExecuteInstances({
      self: this.selfCommand(), logger: this.log, run: spawnInstanceRunner(),
      // The backend in use, not the one asked for: `auto` that found netlink gives netlink, and memory stays memory.
      flags: () => [`--ipvs=${this.backend?.kind ?? options.ipvs ?? 'auto'}`, ...(options.debug ? ['-d'] : [])],
    });
    if (options.predecessor) this.deferred = [];
  }

  /** Starts a daemon; on failure everything it had opened is closed again and the error says why (exit code in details). */
  static async start(options: DaemonOptions): Promise<Daemon> {
    const daemon = new Daemon(options);
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

  /** The kernel backend in use. */
  backendKind(): IpvsBackend['kind'] {
    return this.backend.kind;
  }

  /** The engine (for alerts and metrics snapshots). */
  engineSnapshot(): ReturnType<Engine['snapshot']> {
    return this.engine.snapshot();
  }

  /** The engine's snapshot with its virtual services made as they are read (metrics: a scrape in slices). */
  engineSnapshotParts(): ReturnType<Engine['snapshotParts']> {
    return this.engine.snapshotParts();
  }

  /** The checks' state (for metrics). */
  checkSnapshot(): ReturnType<CheckScheduler['snapshot']> {
    return this.scheduler.snapshot();
  }

  /** The check scheduler's statuses made one identity at a time as they are read (a metrics scrape reads them in slices). */
  checkStatuses(): ReturnType<CheckScheduler['statuses']> {
    return this.scheduler.statuses();
  }

  /** Lists the kernel table (for metrics at scrape time). */
  listKernel(): ReturnType<IpvsBackend['list']> {
    return this.backend.list();
  }

  private selfCommand(): readonly string[] {
    return this.options.selfCommand ?? selfCommand();
  }

  private async boot(): Promise<void> {
    const o = this.options;
    this.setState('starting');
    const { config, diagnostics, sources } = await loadOrThrow(o.configPath, o, this.redactor);
    this.configFiles = sources.files;
    for (const d of diagnostics) this.log.warn(formatDiagnostic(d));
    this.config = config;
    this.monitored = monitoredVirtuals(config);
    // A socket directory another user could write refuses the start before anything is touched (the kernel, the pid file).
    try {
      ensureSocketDirectory(dirname(controlSocketPath(o.configName, o.socketDirectory)));
    } catch (err) {
      throw isLdirError(err) ? startError(err.message, 1) : err;
    }
    if (!o.predecessor) await this.claimPidFile();
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
    // A trial on the memory backend must not change what the director of this configuration finds at its next start.
    const trial = this.backend.kind === 'memory' && o.stateDirectory === undefined;
    this.statePath = trial ? undefined : stateFilePath(o.configName, o.stateDirectory);
    if (trial) this.log.info('memory backend: runtime weights and hand drains are kept in memory only (no state file unless LDIR_STATE_DIR names its directory)');
    this.timeouts = new IpvsTimeoutKeeper(this.backend, this.log.child({ module: 'ipvs-timeouts' }));
    if (!o.predecessor) {
      this.applySysctls(config);
      await this.timeouts.apply(config.globals.ipvsTimeouts);
    }
    this.prober = openTcpProber();
    if (!this.prober) this.log.warn('native addon not built: connect and http checks use Node sockets (more CPU per check)');
    const checkers = defaultCheckers(this.prober ? { tcpProber: this.prober } : {});
    // Connect and plain-http checks run their steady state on the engine's thread (no JS per round).
    const offload = (o.offloadChecks ?? o.clock === undefined) ? this.prober?.roundOffload?.(this.clock) : undefined;
    this.engine = new Engine({
      ...o.engine, backend: this.backend, clock: this.clock, logger: o.logger, runCommand: o.engine?.runCommand ?? this.runCommand,
      onEvent: (e) => {
        o.onEngineEvent?.(e);
        if (e.type === 'sync') this.announceQuorums();
      },
      onOperatorChange: (settings) => this.saveSettings(settings),
    });
    this.announcer = new Announcer({
      clock: this.clock, logger: o.logger, driverFor: (s) => birdDriver(s),
      guard: () => connectGuard({ path: this.guardPath(), clock: this.clock, spawn: () => this.spawnGuard() }),
      onChange: (c) => o.onEngineEvent?.({ type: 'announce', ...c }),
    });
    // Before a hand-over: the successor joins its predecessor's announce guard before the predecessor leaves.
    await this.announcer.configure(config);
    this.scheduler = new CheckScheduler({
      clock: this.clock, logger: o.logger,
      // A server may quote the password it refused: the reason is cleaned once, for status, log, monitorfile and mail.
      run: (job, kind, signal) => runCheck(job, kind, signal, checkers).then((r) => this.withoutSecrets(r)),
      maintenance: (address, port, hostnames) => this.maintenance?.probe(address, port, hostnames) ?? false,
      hostnames: (address) => (this.maintenance ? this.names.names(address) : []),
      maintenanceInUse: () => this.maintenance !== undefined,
      ...(offload ? { offload } : {}),
      everyRound: (target) => target.members.some((m) => this.monitored.has(m.virtualId)),
      onWeight: (r) => this.engine.onCheckWeight(r),
      onTransition: (t) => {
        this.engine.onTransition(t);
        if (this.deferred) this.deferred.push(t);
        else o.onTransition?.(t);
      },
      ...(o.onCheck ? { onCheck: o.onCheck } : {}),
      ...(o.onQuietRounds ? { onQuietRounds: o.onQuietRounds } : {}),
    });
    // Runtime weights and hand drains: from the predecessor when it handed them over, else from the state file, and
    // before the first kernel pass either way (a restarted director never serves a drained real at full weight).
    const carried = o.predecessor ? await this.takeOver(config, o.predecessor) : false;
    this.restoreSettings(!carried);
    try {
      this.control = await startControlServer({
        path: controlSocketPath(o.configName, o.socketDirectory), logger: o.logger, replace: o.predecessor !== undefined,
        redact: (line) => this.redactor.jsonLine(line), clock: this.clock,
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
    this.saveSettings(this.engine.operatorSettings()); // a hand-over's settings, when the file does not hold them yet
    // The `execute=` instances, with this daemon's backend and -d; one that does not start fails this start.
    await this.instances.start(config.globals.execute);
    this.watcher = new ConfigWatcher({
      path: o.configPath, sources, clock: this.clock, intervalMs: o.watchIntervalMs ?? 1000, onChange: () => this.onFileChanged(),
    });
    this.watcher.start();
    this.setState('running');
    this.log.info({ config: o.configPath, backend: this.backend.kind, pid: this.pid, successor: o.predecessor !== undefined }, 'ldir started');
    if (o.predecessor) void this.lockAfterPredecessor();
  }

  /**
   * Takes the pid file's lock (waiting a moment: a reader may be testing it) and writes our pid. Refuses with
   * LDIR_ERR_ALREADY_RUNNING while another daemon holds it. Without flock(1) the daemon runs unlocked (warned).
   */
  private async claimPidFile(): Promise<void> {
    const file = PidFile.open(this.pidPath);
    const outcome = await file.lock(START_LOCK_WAIT_MS);
    if (outcome === 'busy') {
      const holder = file.readPid();
      file.close();
      throw new LdirError(ErrorCodes.ALREADY_RUNNING, `ldir for ${this.options.configPath} is already running${holder ? ` with pid ${holder}` : ''} (${this.pidPath} is locked)`, {
        details: { exitCode: 1, path: this.pidPath, ...(holder ? { pid: holder } : {}) },
      });
    }
    if (outcome === 'unavailable') this.log.warn({ path: this.pidPath }, 'flock(1) cannot run (util-linux): the pid file is not locked; the control socket still refuses a second daemon');
    file.write(this.pid);
    this.pidFile = file;
  }

  /**
   * The successor's start: every real is checked once while the old daemon still serves (no gap in checking, no
   * kernel write), then the old daemon's state arrives and this daemon writes its pid; the table pass that follows
   * adopts what the kernel has. Without a state (the old daemon died meanwhile) it takes over as after `kill -9`.
   * True when the old daemon's state arrived.
   */
  private async takeOver(config: Config, link: PredecessorLink): Promise<boolean> {
    const observed = await this.backend.list().catch(() => []);
    const weights = kernelWeightsOf(config, observed);
    const jobs = jobsFromConfig(config);
    await this.followMaintenanceDir(config);
    this.loadCheckLibraries(jobs);
    this.scheduler.sync(jobs, { initialHealth: (t) => this.initialHealth(t, weights) });
    const state = await awaitTurn({
      scheduler: this.scheduler, jobs, link, clock: this.clock, log: this.log,
      ...(this.options.abortTakeover ? { abort: this.options.abortTakeover } : {}),
    });
    this.pidFile = PidFile.open(this.pidPath);
    this.pidFile.write(this.pid);
    // The predecessor has stopped announcing (it froze): what BIRD announces now is what this daemon goes on from.
    this.announcer.reread();
    if (state) {
      this.engine.importCarryOver(state.engine);
      this.timeouts?.importClaims(state.ipvsTimeouts);
      this.options.onTakeover?.(state.health);
    }
    const held = this.deferred ?? [];
    this.deferred = undefined;
    for (const t of held) this.options.onTransition?.(t);
    this.applySysctls(config);
    await this.timeouts?.apply(config.globals.ipvsTimeouts);
    return state !== undefined;
  }

  /**
   * Reads the state file and, with `apply` (a start without a hand-over), gives its runtime weights and hand drains
   * to the engine (before its first pass; those of reals the configuration lacks are dropped there, and the file
   * written again). A missing file is a director with nothing set by hand; a file that cannot be used is logged and
   * otherwise ignored: the start goes on, and the file stays as it is until the next change of a weight or drain,
   * which keeps it as `<file>.bad`. Without `apply` (the predecessor handed its settings over) it only notes what the
   * file holds, so that it is written once if it differs.
   */
  private restoreSettings(apply: boolean): void {
    if (this.statePath === undefined) {
      this.savedSettings = settingsKey([]);
      return;
    }
    const read = readStateFile(this.statePath);
    switch (read.state) {
      case 'absent':
        this.savedSettings = settingsKey([]);
        return;
      case 'unreadable':
        this.unreadableState = true;
        if (!apply) return; // the settings handed over are written at once, the unusable file kept as .bad
        this.savedSettings = settingsKey([]);
        this.log.error({ path: this.statePath, reason: read.reason },
          `state file ${this.statePath} cannot be used (${read.reason}): starting without runtime weights and hand drains; `
          + 'the file is left as it is until the next weight, drain or undrain (then kept as .bad)');
        return;
      case 'read': {
        this.savedSettings = settingsKey(read.settings);
        if (!apply) return;
        this.engine.importOperatorSettings(read.settings);
        const weights = read.settings.filter((s) => s.weight !== undefined).length;
        const drains = read.settings.filter((s) => s.drained).length;
        if (read.settings.length > 0) this.log.info({ path: this.statePath, weights, drains }, `runtime weights and hand drains restored from ${this.statePath}`);
      }
    }
  }

  /**
   * Writes the state file when `settings` differ from what it holds (atomically: a crash leaves the old file or the
   * new one). A failure is logged and remembered: the settings stay in force, the answers to `weight`, `drain` and
   * `undrain` say they are not saved, and the next change tries again.
   */
  private saveSettings(settings: readonly OperatorSetting[]): void {
    const key = settingsKey(settings);
    if (key === this.savedSettings || this.statePath === undefined) return;
    try {
      if (this.unreadableState) {
        this.unreadableState = false;
        try {
          renameSync(this.statePath, `${this.statePath}.bad`);
          this.log.warn({ path: `${this.statePath}.bad` }, `the state file that could not be used is kept as ${this.statePath}.bad`);
        } catch {
          // gone or not renameable: nothing to keep
        }
      }
      writeStateFile(this.statePath, settings, { configFile: this.options.configPath, savedAt: this.clock.now() });
      this.savedSettings = key;
      this.saveError = undefined;
      this.log.debug({ path: this.statePath, reals: settings.length }, 'state file written');
    } catch (err) {
      this.saveError = errorMessage(err);
      this.log.error({ path: this.statePath, err: this.saveError },
        `cannot write the state file ${this.statePath}: runtime weights and hand drains are in force but would be lost at a stop and start`);
    }
  }

  /** `result`, with why the state file does not hold the settings in force when it does not. */
  private withSaveState<T extends DrainResult | WeightResult>(result: T): T {
    return this.saveError === undefined ? result : { ...result, saveError: `${this.statePath ?? '-'}: ${this.saveError}` };
  }

  /** The successor's lock: taken once the old daemon has exited (right after it saw our ready report). */
  private async lockAfterPredecessor(): Promise<void> {
    const outcome = await this.pidFile?.lock(SUCCESSOR_LOCK_WAIT_MS);
    if (outcome === 'locked') this.log.info({ path: this.pidPath }, 'pid file locked (the previous daemon has exited)');
    else if (outcome === 'busy' && !this.stopping) this.log.error({ path: this.pidPath, waitedMs: SUCCESSOR_LOCK_WAIT_MS }, 'the previous daemon still holds the pid file lock');
    else if (outcome === 'unavailable') this.log.warn({ path: this.pidPath }, 'flock(1) cannot run (util-linux): the pid file is not locked');
  }

  /** A check result whose reason repeats none of the configuration's secrets. */
  private withoutSecrets(result: CheckResult): CheckResult {
    const reason = this.redactor.text(result.reason);
    return reason === result.reason ? result : { ...result, reason };
  }

  /**
   * Puts a configuration in force: maintenance directory, kernel table (adopting what is there), then the checks.
   * Resolves with the report of the kernel pass that applied it.
   */
  private async bring(config: Config): Promise<SyncReport> {
    this.config = config;
    this.monitored = monitoredVirtuals(config);
    await this.followMaintenanceDir(config);
    const policy = this.drainPolicyFor(config);
    if (policy) this.engine.setDrainPolicy(policy);
    const report = await this.engine.applyConfig(config);
    if (!report.ok) this.log.error({ error: report.error }, 'kernel sync failed; it is retried on the next pass');
    await this.announcer.configure(config);
    const snapshot = this.engine.snapshot();
    const kernelWeight = new Map<string, number | null>();
    for (const v of snapshot.virtuals) for (const r of v.reals) kernelWeight.set(pairKey(v.id, r.realKey), r.kernelWeight);
    const jobs = jobsFromConfig(config);
    this.loadCheckLibraries(jobs);
    this.scheduler.sync(jobs, { initialHealth: (t) => this.initialHealth(t, kernelWeight) });
    this.options.onConfig?.(config);
    return report;
  }

  /** The drain policy a configuration brings (`drain=`, `draintimeout=`); undefined when the daemon's options set it. */
  private drainPolicyFor(config: Config): DrainPolicy | undefined {
    const fixed = this.options.engine?.drainEnabled !== undefined || this.options.engine?.drainTimeoutMs !== undefined;
    return fixed ? undefined : { enabled: config.globals.drain.enabled, timeoutMs: config.globals.drain.timeout * 1000 };
  }

  /** Loads what the configuration's checks need before they run (never inside a check's time; nothing else). */
  private loadCheckLibraries(targets: readonly CheckTarget[]): void {
    const { loaded, failed } = loadLibraries(checkLibraries(targets.map((t) => t.job), { nativeHttp: this.prober !== undefined }));
    if (loaded.length > 0) this.log.debug({ loaded }, 'check libraries loaded');
    if (failed.length > 0) this.log.warn({ failed }, 'check libraries cannot be loaded: their checks will fail with the reason');
  }

  /** Watches the configuration's `maintenancedir` (read at once: the first check round already honours it). */
  private async followMaintenanceDir(config: Config): Promise<void> {
    const dir = config.globals.maintenanceDir;
    if (dir === this.maintenanceDirPath()) return;
    this.maintenance = dir ? new MaintenanceDir({ dir, clock: this.clock, logger: this.log }) : undefined;
    await this.maintenance?.refresh();
    this.scheduler?.maintenanceChanged();
  }

  /** `checktype=off` runs no check: its reals keep what the kernel says (weight > 0 up, else down), as ldirectord. */
  private initialHealth(target: CheckTarget, kernelWeight: ReadonlyMap<string, number | null>): Health | undefined {
    if (target.job.type !== 'off') return undefined;
    const weights = target.members.map((m) => kernelWeight.get(pairKey(m.virtualId, m.realKey)) ?? null);
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
    setupSysctls(config, this.sysctlStore(), this.log.child({ module: 'sysctl' }));
  }

  /** What {@link applySysctls} would write (or fail to write), reading only; unchanged values left out. */
  private previewSysctls(config: Config): SysctlResult[] {
    if (this.backend.kind === 'memory' || !config.globals.sysctl.enabled) return [];
    return previewSysctls(config, this.sysctlStore()).filter((r) => r.status !== 'unchanged');
  }

  private sysctlStore(): SysctlStore {
    return this.options.sysctlStore ?? procSysStore();
  }

  /** Refuses a request that would change the director while it stops or hands over to a successor. */
  private refuseWhileBusy(what: string): void {
    if (this.stopping) throw new LdirError(ErrorCodes.DAEMON_STOPPING, `ldir is stopping: ${what} refused`);
    if (this.restarting || this.handedOverTo !== undefined) {
      throw new LdirError(ErrorCodes.RESTART_IN_PROGRESS, `a restart is handing the director to a new daemon: ${what} refused (retry once it runs)`);
    }
  }

  /**
   * Re-reads the configuration. A configuration with errors changes nothing (the old one keeps running) and the
   * outcome carries its diagnostics; a good one is applied as a difference (unchanged checks keep their state).
   * Asked for while a reload runs (a SIGHUP, autoreload or `ldir reload` meanwhile), it runs once that one is done,
   * with the files as they are then, and the outcome is that run's: never the one of a reload that had already read
   * the files before the request (requests that wait together share one run).
   */
  reload(): Promise<ReloadOutcome> {
    return this.reloads.request((turn) => {
      if (turn === 'queued') this.log.info({ file: this.options.configPath }, 'reload requested while a reload runs: it runs again right after it, with the file as it is then');
    });
  }

  private async doReload(): Promise<ReloadOutcome> {
    const file = this.options.configPath;
    if (this.stopping) return { applied: false, file, message: 'ldir is stopping', diagnostics: [], code: ErrorCodes.DAEMON_STOPPING };
    if (this.restarting || this.handedOverTo !== undefined) {
      return { applied: false, file, message: 'a restart is handing the director to a new daemon (it loads the file itself)', diagnostics: [], code: ErrorCodes.RESTART_IN_PROGRESS };
    }
    this.setState('reloading');
    let loaded;
    try {
      loaded = await loadOrThrow(file, this.options, this.redactor, this.loader);
    } catch (err) {
      // The files the refused configuration was read from are watched: fixing the one with the error reloads again.
      this.watcher?.accept(isLdirError(err) ? (err.details['sources'] as ConfigSources | undefined) : undefined);
      const diagnostics = (isLdirError(err) ? (err.details['diagnostics'] as Diagnostic[] | undefined) : undefined) ?? [];
      const message = errorMessage(err);
      this.lastReload = { at: this.clock.now(), ok: false, message };
      // The events name the first error (`FILE:LINE: ...`), which says more than the count in `message`.
      const errors = diagnostics.filter((d) => d.severity === 'error');
      const why = errors[0] ? `${formatDiagnostic(errors[0])}${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ''}` : message;
      this.options.onReload?.(false, this.lastReload.at, why);
      // The first errors only: a file of 40,000 bad lines made one log record of megabytes (`ldir check` lists all).
      const logged = errors.slice(0, LOGGED_RELOAD_ERRORS).map(formatDiagnostic);
      if (errors.length > logged.length) logged.push(`... and ${errors.length - logged.length} more (ldir check ${file} lists them all)`);
      this.log.error({ file, errors: logged },
        'reload refused: the configuration has errors; the running configuration stays in force');
      this.setState('running');
      return { applied: false, file, message, diagnostics };
    }
    this.watcher?.accept(loaded.sources);
    for (const d of loaded.diagnostics) this.log.warn(formatDiagnostic(d));
    const previous = this.config;
    const before = previous.globals.execute;
    const after = loaded.config.globals.execute;
    this.applySysctls(loaded.config);
    await this.timeouts?.apply(loaded.config.globals.ipvsTimeouts);
    const report = await this.bring(loaded.config);
    if (report.newlyRefused !== undefined) return this.rollBack(previous, report.newlyRefused, loaded.diagnostics);
    this.configFiles = loaded.sources.files;
    await this.instances.run(reloadRuns(before, after));
    this.lastReload = { at: this.clock.now(), ok: true };
    this.options.onReload?.(true, this.lastReload.at);
    this.log.info({ file }, 'configuration reloaded');
    this.setState('running');
    return { applied: true, file, diagnostics: loaded.diagnostics };
  }

  /**
   * Puts `previous` back after the kernel refused operations a reload brought (a value `ldir check` cannot know the
   * kernel refuses): the table, checks and timeouts of the previous configuration are in force again, and the reload
   * is answered `LDIR_ERR_RELOAD_REFUSED_BY_KERNEL` with the kernel's reasons (`ldir reload` exits 2). Operations the
   * kernel already refused before the reload (retried every pass) do not count: they would refuse every reload.
   */
  private async rollBack(previous: Config, refused: readonly string[], diagnostics: readonly Diagnostic[]): Promise<ReloadOutcome> {
    const file = this.options.configPath;
    const reasons = refused.join('; ');
    this.log.error({ file, refused }, `reload refused by the kernel (${reasons}): the previous configuration is put back`);
    await this.timeouts?.apply(previous.globals.ipvsTimeouts);
    const back = await this.bring(previous);
    if (!back.ok) this.log.error({ error: back.error, failed: back.failed }, 'the previous configuration did not go back in whole; it is retried on the next pass');
    const message = `the kernel refused what the reload brought (${reasons}); the previous configuration is in force again`;
    this.lastReload = { at: this.clock.now(), ok: false, message };
    this.options.onReload?.(false, this.lastReload.at, message);
    this.setState('running');
    return { applied: false, file, message, diagnostics, code: ErrorCodes.RELOAD_REFUSED_BY_KERNEL };
  }

  /**
   * What {@link reload} would do now, in the order it would do it, doing none of it (`ldir reload --dry-run`): the
   * file is loaded as a reload loads it; the sysctls, drains, kernel operations, fallback commands, sync daemons,
   * first checks and `execute=` runs are computed by the functions a reload uses, from this daemon's state and fresh
   * listings of the kernel. Nothing changes: no kernel or sysctl write, no configuration swap, no event or alert, no
   * command run, and the file is not marked as seen (autoreload still loads it). A configuration with errors throws
   * `LDIR_ERR_CONFIG_INVALID` with its diagnostics, as a refused reload answers.
   */
  async previewReload(): Promise<ReloadPreviewResult> {
    this.refuseWhileBusy('reload preview');
    await this.reloads.idle(); // the reloads under way or queued (SIGHUP, autoreload) first: never one half done
    const file = this.options.configPath;
    const current = this.config;
    let loaded;
    try {
      loaded = await loadOrThrow(file, this.options, this.redactor, this.loader);
    } catch (err) {
      const diagnostics = (isLdirError(err) ? (err.details['diagnostics'] as Diagnostic[] | undefined) : undefined) ?? [];
      throw new LdirError(ErrorCodes.CONFIG_INVALID, errorMessage(err), { cause: err, details: { diagnostics } });
    }
    const { config, diagnostics } = loaded;
    const steps = previewSteps({
      sysctls: this.previewSysctls(config),
      ipvsTimeouts: (await this.timeouts?.preview(config.globals.ipvsTimeouts)) ?? [],
      engine: await this.engine.previewConfig(config, this.drainPolicyFor(config)),
      execute: reloadRuns(current.globals.execute, config.globals.execute),
    });
    this.log.info({ file, steps: steps.length }, 'reload preview: nothing was changed');
    return { file, diagnostics: diagnostics.map(toWireDiagnostic), steps };
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

  /** Drains a real by hand (weight 0 until undrained; kept in the state file). */
  async drain(virtual: string, real: string): Promise<DrainResult> {
    this.refuseWhileBusy('drain');
    return this.withSaveState(await this.engine.drain(virtual, real));
  }

  /** Ends a hand drain. */
  async undrain(virtual: string, real: string): Promise<DrainResult> {
    this.refuseWhileBusy('undrain');
    return this.withSaveState(await this.engine.undrain(virtual, real));
  }

  /** Sets a real's runtime weight, or `reset` to the configured one (kept in the state file). */
  async weight(virtual: string, real: string, weight: number | 'reset'): Promise<WeightResult> {
    this.refuseWhileBusy('weight');
    return this.withSaveState(await this.engine.setWeight(virtual, real, weight === 'reset' ? null : weight));
  }

  /** Sets the director's sync role: the kernel's sync daemons follow at once (`ldir promote|demote`). */
  async setRole(role: SyncRole): Promise<RoleResult> {
    this.refuseWhileBusy(`the ${role} role`);
    const change = await this.engine.setSyncRole(role);
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
    if (!this.options.canHandOver) {
      throw new LdirError(ErrorCodes.RESTART_UNSUPPORTED, `this daemon runs in the foreground (a supervisor restarts its process): a restart cannot hand over without a gap`);
    }
    this.refuseWhileBusy('restart');
    let successor: Successor | undefined;
    const done = handOver({ freeze: () => this.freeze(), thaw: () => this.thaw() }, {
      request, selfCommand: this.selfCommand(), configPath: this.options.configPath, ipvs: this.options.ipvs ?? 'auto',
      debug: this.options.debug ?? false, pid: this.pid, clock: this.clock, log: this.log, onSpawned: (s) => { successor = s; },
    }).then((result) => {
      this.handedOverTo = result.pid;
      return result;
    }).finally(() => {
      if (this.restarting?.done === done) this.restarting = undefined;
    });
    this.restarting = { done, killSuccessor: async () => { await successor?.kill(); } };
    return done;
  }

  /** Stops everything that writes or watches (kernel passes, checks, autoreload, metrics) and returns the state. */
  private async freeze(): Promise<HandoverState> {
    this.watcher?.stop();
    await this.engine.pause();
    await this.announcer.hold();
    const snapshot = this.engine.snapshot();
    this.scheduler.stop();
    await this.options.onHandover?.('release');
    const carry = this.engine.exportCarryOver();
    if (!carry) throw new LdirError(ErrorCodes.INTERNAL, 'no configuration in force to hand over');
    const health = snapshot.virtuals.flatMap((v) => v.reals.map((r) => ({ virtualId: v.id, realKey: r.realKey, health: r.health })));
    return { version: HANDOVER_VERSION, pid: this.pid, engine: carry, health, ipvsTimeouts: this.timeouts?.exportClaims() ?? {} };
  }

  /** Undoes {@link freeze} after a failed hand-over: socket and pid file ours again, checks, kernel passes, watcher. */
  private async thaw(): Promise<void> {
    try {
      await this.control?.republish();
    } catch (err) {
      this.log.error({ err: errorMessage(err) }, 'restart: cannot publish the control socket again');
    }
    if (this.pidFile && this.pidFile.readPid() !== this.pid) this.pidFile.write(this.pid);
    const health = new Map<string, Health>();
    for (const v of this.engine.snapshot().virtuals) for (const r of v.reals) health.set(pairKey(v.id, r.realKey), r.health);
    this.scheduler.sync(jobsFromConfig(this.config), { initialHealth: (t) => healthOfTarget(t, health) });
    await this.options.onHandover?.('reclaim');
    this.watcher?.start();
    this.announcer.resume();
    await this.engine.resume();
  }

  /** Route health injection for status and metrics; undefined when no virtual is announced. */
  announceStatus(): AnnounceStatus | undefined {
    return this.announcer?.status();
  }

  /** Gives the announcer the virtuals' quorum states after an engine pass. */
  private announceQuorums(): void {
    const states = this.engine.quorumStates();
    this.announcer?.update((id) => states.get(id) ?? 'pending');
  }

  /** The announce guard's socket, beside the control socket. */
  private guardPath(): string {
    return join(dirname(controlSocketPath(this.options.configName, this.options.socketDirectory)), `${this.options.configName}.announce.sock`);
  }

  /** Starts `ldir announce-guard` detached (it outlives this daemon by design); its log goes to `SOCKET.log`. */
  private spawnGuard(): void {
    const [command, ...args] = this.selfCommand();
    const path = this.guardPath();
    let log: number | 'ignore' = 'ignore';
    try {
      log = openSync(`${path}.log`, 'a', 0o600);
    } catch {
      // no log then
    }
    const child = spawn(command as string, [...args, 'announce-guard', path], { detached: true, stdio: ['ignore', 'ignore', log] });
    child.unref();
    if (typeof log === 'number') closeSync(log);
    this.log.info({ pid: child.pid, path }, 'announce guard started');
  }

  /**
   * The status report from the daemon's state alone (no kernel read: no `traffic`), with the recent events. For
   * callers that cannot wait; `ldir status` and the status page use {@link statusReport}.
   */
  status(traffic?: TrafficIndex): StatusReport {
    const watchdog = this.watchdog();
    return buildStatusReport(this.statusFacts(), this.engine.snapshot(), this.scheduler.snapshot(), this.clock.now(), watchdog, this.statusExtras(watchdog, traffic));
  }

  /**
   * What `ldir status` shows (and the status page's `/status.json`): {@link status} plus each service's and
   * destination's connections and rates from one kernel read, bounded in time (a read that fails or takes longer is
   * reported in `daemon.kernelStats`, and the report goes out without traffic); concurrent reports share one read.
   */
  async statusReport(): Promise<StatusReport> {
    return this.status(await this.statusTraffic());
  }

  /**
   * {@link statusReport} as the parts of a streamed answer (`ldir status`): the reals are turned into their report
   * one line at a time.
   */
  async *statusParts(): AsyncGenerator<StatusStreamPart> {
    const traffic = await this.statusTraffic();
    const watchdog = this.watchdog();
    const engine = this.engine.snapshotParts();
    const head = statusHead(this.statusFacts(), engine, this.clock.now(), watchdog, this.statusExtras(watchdog, traffic));
    yield* statusParts(head, engine.virtuals, this.scheduler.statuses(), traffic);
  }

  /** One kernel read with the destinations' stats, bounded in time; concurrent reports share it. */
  private async statusTraffic(): Promise<TrafficIndex> {
    this.statusKernel ??= new KernelReader(() => this.backend.list(), this.options.statusKernelTimeoutMs ?? DEFAULT_KERNEL_TIMEOUT_MS, this.clock);
    return trafficOfSliced(await this.statusKernel.read(), new SliceYielder());
  }

  private statusFacts(): DaemonFacts {
    return {
      pid: this.pid, configFile: this.options.configPath, includedFiles: this.config.includedFiles ?? [], startedAt: this.startedAt,
      backend: this.backend.kind, lastReload: this.lastReload, ipvsTimeouts: this.timeouts?.held() ?? [],
      announce: this.announcer.status(),
    };
  }

  /** The recent events, the traffic when read, and the health verdict, for a report. */
  private statusExtras(watchdog: WatchdogVerdict, traffic: TrafficIndex | undefined): StatusExtras {
    const events = this.options.recentEvents?.();
    return { ...(events ? { events } : {}), ...(traffic ? { traffic } : {}), health: this.health(watchdog) };
  }

  /**
   * The director's one health verdict (src/daemon/health-verdict.ts): what `status`, `ping`, `/healthz` and the
   * metrics say. Cheap at any table size (no status of every real). A change of level or reasons is logged.
   */
  health(watchdog: WatchdogVerdict = this.watchdog()): HealthVerdict {
    const verdict = healthVerdict({ engine: this.engine?.healthFacts(), watchdog });
    const key = [verdict.level, ...verdict.reasons.map((r) => r.code)].join(' ');
    if (key !== this.healthKey) {
      this.healthKey = key;
      if (verdict.level === 'ok') this.log.info('health ok again');
      else this.log[verdict.level === 'failing' ? 'error' : 'warn']({ health: verdict.level, reasons: verdict.reasons.map((r) => r.code) }, `health ${verdict.summary}`);
    }
    return verdict;
  }

  /** Cheap liveness for the OCF monitor, with the checker watchdog's verdict. */
  ping(): PingResult {
    const snapshot = this.engine.healthFacts();
    const last = snapshot.lastSync;
    const watchdog = this.watchdog();
    return {
      pid: this.pid, configFile: this.options.configPath, startedAt: new Date(this.startedAt).toISOString(),
      uptimeSeconds: Math.round((this.clock.now() - this.startedAt) / 1000), lastSyncOk: last ? last.ok : null,
      ...(snapshot.stateSync ? { role: snapshot.stateSync.role } : {}),
      watchdog: watchdogStatus(watchdog), health: this.health(watchdog),
      ...(this.configFiles !== undefined ? { configFiles: this.configFiles.map((f) => ({ path: f.path, ...(f.digest !== undefined ? { digest: f.digest } : {}) })) } : {}),
    };
  }

  /**
   * The checker watchdog's verdict now (src/daemon/watchdog.ts): are the reals' check results and the engine's
   * passes recent enough? Asked by `ping`, `status`, `/healthz` and metrics scrapes; a change of verdict is logged.
   */
  watchdog(): WatchdogVerdict {
    const now = this.clock.monotonic();
    const verdict = watchdogVerdict({
      now, checks: [], overdue: this.scheduler?.overdue(now, CHECK_OVERDUE_FACTOR) ?? NONE_OVERDUE, engine: this.engine?.liveness(),
    });
    const codes = verdict.ok ? 'ok' : verdict.reasons.map((r) => r.code).join('+');
    if (codes !== this.watchdogCodes) {
      this.watchdogCodes = codes;
      if (verdict.ok) this.log.info('watchdog ok again: check results and kernel sync passes are recent');
      else this.log.error({ watchdog: codes }, describeVerdict(verdict));
    }
    return verdict;
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
        const restarting = this.restarting;
        if (restarting && this.handedOverTo === undefined) {
          // A stop during a hand-over: the successor goes, this daemon stops as usual (a failed hand-over thaws first).
          this.log.info('stop during a restart: the new daemon is stopped first');
          await restarting.killSuccessor();
          await restarting.done.catch(() => undefined);
        }
        if (this.handedOverTo !== undefined) {
          this.log.info({ successor: this.handedOverTo }, 'ldir exiting: the new daemon runs the director (no cleanup)');
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
    if (clean) await this.announcer?.withdrawAll();
    else await this.announcer?.release();
    this.watcher?.stop();
    this.scheduler?.stop();
    let report: ShutdownReport | undefined;
    if (this.engine) report = await this.engine.shutdown({ clean });
    if (clean) await this.timeouts?.release();
    this.prober?.close();
    await this.loader.close();
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

/** Ids of the virtual services that have a `monitorfile` (it logs every check round). */
function monitoredVirtuals(config: Config): Set<string> {
  return new Set(config.virtualServices.filter((v) => v.monitorFile !== undefined).map((v) => v.id));
}
