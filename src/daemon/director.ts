// The director the daemon runs: engine, checks, announcer and kernel settings over one backend, and how a
// configuration is put in force, taken over from a predecessor, frozen for a hand-over and closed.
import type { Announcer } from '../announce/announcer';
import { healthOfTarget, initialHealthFromKernel } from '../checks/initial-health';
import { jobsFromConfig, type CheckTarget } from '../checks/jobs';
import { checkLibraries, loadLibraries } from '../checks/libraries';
import { MaintenanceDir } from '../checks/maintenance';
import type { CheckScheduler } from '../checks/scheduler';
import type { CheckResult } from '../checks/types';
import type { Clock } from '../clock';
import type { Engine } from '../engine/engine';
import type { DrainPolicy, EngineEvent, EnginePreview, ShutdownReport, SyncReport } from '../engine/engine-types';
import { ErrorCodes, LdirError } from '../errors';
import type { IpvsBackend } from '../ipvs/types';
import type { Logger } from '../log';
import type { Config } from '../model';
import { pairKey, type Health, type HealthTransition } from '../model/health';
import { IpvsTimeoutKeeper, type IpvsTimeoutResult } from '../system/ipvs-timeouts';
import { previewSysctls, setupSysctls, type SysctlResult } from '../system/sysctl';
import type { CheckRuntime, DaemonParts } from './daemon-parts';
import type { DaemonOptions } from './daemon-options';
import { HANDOVER_VERSION, type HandoverState, type PredecessorLink } from './handover';
import { awaitTurn, kernelWeightsOf } from './takeover';

/** What a {@link Director} is made with: the daemon's parts and options, its log, and the backend it opened. */
export interface DirectorOptions {
  readonly parts: DaemonParts;
  readonly options: DaemonOptions;
  readonly log: Logger;
  readonly backend: IpvsBackend;
  /** Receives the engine's runtime weights and hand drains when they change (the state file). */
  readonly onOperatorChange: Parameters<DaemonParts['createEngine']>[0]['onOperatorChange'];
}

/**
 * The running director: the engine (the only writer of the table), the check scheduler, the announcer, the IPVS
 * connection timeouts and sysctls, and the configuration in force. Made once the backend is open; the daemon around
 * it holds the process (pid file, control socket, reloads, stop).
 */
export class Director {
  readonly engine: Engine;
  readonly scheduler: CheckScheduler;
  /** Route health injection (src/announce/); idle while no virtual is announced. */
  readonly announcer: Announcer;
  /** The kernel's IPVS connection timeouts ldir sets (`ipvstimeouts=`). */
  readonly timeouts: IpvsTimeoutKeeper;
  private readonly checks: CheckRuntime;
  private readonly clock: Clock;
  private config: Config | undefined;
  /** Virtual services with a `monitorfile`: their checks report every round at once (it logs each one). */
  private monitored = new Set<string>();
  private maintenance: MaintenanceDir | undefined;
  /** Transitions held back from the observers until a successor has taken over (its first round). */
  private deferred: HealthTransition[] | undefined;

  constructor(private readonly o: DirectorOptions) {
    const { parts, options, log, backend } = o;
    this.clock = parts.clock;
    if (options.predecessor) this.deferred = [];
    this.timeouts = new IpvsTimeoutKeeper(backend, log.child({ module: 'ipvs-timeouts' }));
    const checks = parts.openChecks();
    this.checks = checks;
    this.engine = parts.createEngine({
      backend,
      onEvent: (e: EngineEvent) => {
        options.onEngineEvent?.(e);
        if (e.type === 'sync') this.announceQuorums();
      },
      onOperatorChange: o.onOperatorChange,
    });
    this.announcer = parts.createAnnouncer((c) => options.onEngineEvent?.({ type: 'announce', ...c }));
    this.scheduler = parts.createScheduler({
      // A server may quote the password it refused: the reason is cleaned once, for status, log, monitorfile and mail.
      run: (job, kind, signal) => checks.run(job, kind, signal).then((r) => this.withoutSecrets(r)),
      maintenance: (address, port, hostnames) => this.maintenance?.probe(address, port, hostnames) ?? false,
      hostnames: (address) => (this.maintenance ? parts.names.names(address) : []),
      maintenanceInUse: () => this.maintenance !== undefined,
      ...(checks.offload ? { offload: checks.offload } : {}),
      everyRound: (target) => target.members.some((m) => this.monitored.has(m.virtualId)),
      onWeight: (r) => this.engine.onCheckWeight(r),
      onTransition: (t) => {
        this.engine.onTransition(t);
        if (this.deferred) this.deferred.push(t);
        else options.onTransition?.(t);
      },
      ...(options.onCheck ? { onCheck: options.onCheck } : {}),
      ...(options.onQuietRounds ? { onQuietRounds: options.onQuietRounds } : {}),
    });
  }

  /** The sysctls and IPVS connection timeouts of `config` (before its table). */
  async applyKernelSettings(config: Config): Promise<void> {
    this.applySysctls(config);
    await this.timeouts.apply(config.globals.ipvsTimeouts);
  }

  /**
   * Puts a configuration in force: maintenance directory, its drain policy, kernel table (adopting what is there),
   * then the checks. Resolves with the report of the kernel pass that applied it.
   */
  async bring(config: Config): Promise<SyncReport> {
    this.config = config;
    this.monitored = monitoredVirtuals(config);
    await this.followMaintenanceDir(config);
    this.engine.setDrainPolicy(drainPolicyOf(config));
    const report = await this.engine.applyConfig(config);
    if (!report.ok) this.o.log.error({ error: report.error }, 'kernel sync failed; it is retried on the next pass');
    await this.announcer.configure(config);
    const snapshot = this.engine.snapshot();
    const kernelWeight = new Map<string, number | null>();
    for (const v of snapshot.virtuals)
      for (const r of v.reals) kernelWeight.set(pairKey(v.id, r.realKey), r.kernelWeight);
    const jobs = jobsFromConfig(config);
    this.loadCheckLibraries(jobs);
    this.scheduler.sync(jobs, { initialHealth: (t) => initialHealthFromKernel(t, kernelWeight) });
    this.o.options.onConfig?.(config);
    return report;
  }

  /**
   * The successor's start: every real is checked once while the old daemon still serves (no gap in checking, no
   * kernel write), then the old daemon's state arrives and `tookOver` runs (the daemon writes its pid); the table
   * pass that follows adopts what the kernel has. Without a state (the old daemon died meanwhile) it takes over as
   * after `kill -9`. True when the old daemon's state arrived.
   */
  async takeOver(config: Config, link: PredecessorLink, tookOver: () => void): Promise<boolean> {
    const { options, log } = this.o;
    this.config = config;
    this.monitored = monitoredVirtuals(config);
    const observed = await this.o.backend.list().catch(() => []);
    const weights = kernelWeightsOf(config, observed);
    const jobs = jobsFromConfig(config);
    await this.followMaintenanceDir(config);
    this.loadCheckLibraries(jobs);
    this.scheduler.sync(jobs, { initialHealth: (t) => initialHealthFromKernel(t, weights) });
    const state = await awaitTurn({
      scheduler: this.scheduler,
      jobs,
      link,
      clock: this.clock,
      log,
      ...(options.abortTakeover ? { abort: options.abortTakeover } : {}),
    });
    tookOver();
    // The predecessor has stopped announcing (it froze): what the routing daemon announces now is what this daemon
    // goes on from.
    await this.announcer.reread();
    if (state) {
      this.engine.importCarryOver(state.engine);
      this.timeouts.importClaims(state.ipvsTimeouts);
      options.onTakeover?.(state.health);
    }
    const held = this.deferred ?? [];
    this.deferred = undefined;
    for (const t of held) options.onTransition?.(t);
    await this.applyKernelSettings(config);
    return state !== undefined;
  }

  /** What a reload to `config` would do to the sysctls, the IPVS connection timeouts and the table, reading only. */
  async preview(
    config: Config,
  ): Promise<{ sysctls: SysctlResult[]; ipvsTimeouts: IpvsTimeoutResult[]; engine: EnginePreview }> {
    return {
      sysctls: this.previewSysctls(config),
      ipvsTimeouts: await this.timeouts.preview(config.globals.ipvsTimeouts),
      engine: await this.engine.previewConfig(config, drainPolicyOf(config)),
    };
  }

  /** Stops writing the kernel and checking (a hand-over), and returns the state the successor takes. */
  async freeze(pid: number, release: () => Promise<void>): Promise<HandoverState> {
    await this.engine.pause();
    await this.announcer.hold();
    const snapshot = this.engine.snapshot();
    this.scheduler.stop();
    await release();
    const carry = this.engine.exportCarryOver();
    if (!carry) throw new LdirError(ErrorCodes.INTERNAL, 'no configuration in force to hand over');
    const health = snapshot.virtuals.flatMap((v) =>
      v.reals.map((r) => ({ virtualId: v.id, realKey: r.realKey, health: r.health })),
    );
    return { version: HANDOVER_VERSION, pid, engine: carry, health, ipvsTimeouts: this.timeouts.exportClaims() };
  }

  /** Undoes {@link freeze} after a failed hand-over: checks from the health they had, then `reclaim`, announce and kernel passes. */
  async thaw(reclaim: () => Promise<void>): Promise<void> {
    const health = new Map<string, Health>();
    for (const v of this.engine.snapshot().virtuals)
      for (const r of v.reals) health.set(pairKey(v.id, r.realKey), r.health);
    if (this.config)
      this.scheduler.sync(jobsFromConfig(this.config), { initialHealth: (t) => healthOfTarget(t, health) });
    await reclaim();
    this.announcer.resume();
    await this.engine.resume();
  }

  /** Gives the announcer the virtuals' quorum states after an engine pass. */
  private announceQuorums(): void {
    const states = this.engine.quorumStates();
    this.announcer.update((id) => states.get(id) ?? 'pending');
  }

  /** Withdraws the announcements (`clean`), or releases them to a successor (after a hand-over). */
  async withdraw(clean: boolean): Promise<void> {
    if (clean) await this.announcer.withdrawAll();
    else await this.announcer.release();
  }

  /**
   * Stops the checks and the engine (`clean`: the kernel cleanup of `cleanstop=yes` and the IPVS timeouts given back
   * where `ipvstimeoutsrestore=yes`; neither after a hand-over), and closes the checks' runtime.
   */
  async close(clean: boolean): Promise<ShutdownReport> {
    this.scheduler.stop();
    const report = await this.engine.shutdown({ clean });
    if (clean) await this.timeouts.release();
    this.checks.close();
    return report;
  }

  /** The sysctls of `config`; the memory backend touches none. */
  private applySysctls(config: Config): void {
    const log = this.o.log;
    if (this.o.backend.kind === 'memory') {
      log.info('sysctl setup skipped: the memory backend touches nothing in the kernel');
      return;
    }
    setupSysctls(config, this.o.parts.sysctlStore, log.child({ module: 'sysctl' }));
  }

  /** What {@link applySysctls} would write (or fail to write), reading only; unchanged values left out. */
  private previewSysctls(config: Config): SysctlResult[] {
    if (this.o.backend.kind === 'memory' || !config.globals.sysctl.enabled) return [];
    return previewSysctls(config, this.o.parts.sysctlStore).filter((r) => r.status !== 'unchanged');
  }

  /** A check result whose reason repeats none of the configuration's secrets. */
  private withoutSecrets(result: CheckResult): CheckResult {
    const reason = this.o.parts.redactor.text(result.reason);
    return reason === result.reason ? result : { ...result, reason };
  }

  /** Loads what the configuration's checks need before they run (never inside a check's time; nothing else). */
  private loadCheckLibraries(targets: readonly CheckTarget[]): void {
    const { loaded, failed } = loadLibraries(
      checkLibraries(
        targets.map((t) => t.job),
        { nativeHttp: this.checks.nativeHttp },
      ),
    );
    if (loaded.length > 0) this.o.log.debug({ loaded }, 'check libraries loaded');
    if (failed.length > 0)
      this.o.log.warn({ failed }, 'check libraries cannot be loaded: their checks will fail with the reason');
  }

  /**
   * Watches the configuration's `maintenancedir` (read at once: the first check round already honours it); a reload
   * that names another directory, or none, follows it.
   */
  private async followMaintenanceDir(config: Config): Promise<void> {
    const dir = config.globals.maintenanceDir;
    // Compared with the directory watched, not with the configuration in force: that is already `config` here.
    if (dir === this.maintenance?.dir) return;
    this.maintenance = dir ? new MaintenanceDir({ dir, clock: this.clock, logger: this.o.log }) : undefined;
    await this.maintenance?.refresh();
    this.scheduler.maintenanceChanged();
  }
}

/** Ids of the virtual services that have a `monitorfile` (it logs every check round). */
function monitoredVirtuals(config: Config): Set<string> {
  return new Set(config.virtualServices.filter((v) => v.monitorFile !== undefined).map((v) => v.id));
}

/** The drain policy of a configuration (`drain=`, `draintimeout=`): the one source of the engine's drains. */
export function drainPolicyOf(config: Config): DrainPolicy {
  return { enabled: config.globals.drain.enabled, timeoutMs: config.globals.drain.timeout * 1000 };
}
