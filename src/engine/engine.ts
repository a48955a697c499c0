// The level-triggered loop: on config, health, drain and timer triggers, list the kernel once, decide, plan, apply.
import { pairKey, realKey, type HealthTransition } from '../model/health';
import { ErrorCodes, LdirError } from '../errors';
import type { ServiceKey } from '../ipvs/types';
import { silentLogger, type Logger } from '../log';
import type { Config, SyncRole } from '../model';
import type { MAX_RUNTIME_WEIGHT } from '../model/weight';
import { adoptCarryOver, carryOverOf, type CarriedState, type EngineCarryOver } from './carry-over';
import { EngineReporter } from './engine-reporter';
import { stopEngineWithin } from './cleanstop';
import { previewReload } from './config-preview';
import { DecisionAges } from './decision-ages';
import type {
  DrainPolicy,
  EngineHealth,
  EngineOptions,
  EnginePreview,
  EngineSnapshot,
  EngineSnapshotParts,
  ManualDrainResult,
  ShutdownReport,
  SyncReport,
  SyncRoleChange,
  WeightResult,
} from './engine-types';
import { FallbackCommands, QuorumCommands } from './fallback-command';
import type { DecidedQuorum } from './quorum';
import { nextRampPassInMs } from './slow-start';
import { indexObserved } from './observed';
import { Drains } from './drains';
import { HandCommands } from './hand-commands';
import { HandSettings } from './hand-settings';
import type { OperatorSetting } from './operator-settings';
import { buildSnapshot, snapshotHead, snapshotVirtuals, type HealthRecord, type SnapshotInput } from './status';
import { StateSyncDaemons } from './state-sync-daemons';
import { SyncLoop, type PassLiveness } from './sync-loop';
import { TABLE_PASS_LISTING, TablePass } from './table-pass';
import { configTargets, type ConfigTargets } from './targets';

const realKeyOf = (r: { address: string; port: number }): string => realKey(r.address, r.port);

/**
 * The director's engine, the only writer of the kernel table. Every sync compares the whole desired table with a
 * fresh dump (a pass for health changes only: with the table as last listed and written, and with a dump again when
 * the kernel refuses an operation), so failed operations and hand edits are repaired by the next full pass, at the
 * latest the periodic resync; passes never overlap (a request during a pass runs one more pass after it). Health
 * transitions are coalesced.
 */
export class Engine {
  private readonly log: Logger;
  private readonly shutdownTimeoutMs: number;
  private readonly commands: FallbackCommands;
  private readonly quorumCommands: QuorumCommands;
  private config: Config | undefined;
  private targets: ConfigTargets = new Map();
  private readonly health = new Map<string, HealthRecord>();
  /** Hand drains and runtime weights (`ldir drain`, `ldir weight`). */
  private readonly hand = new HandSettings();
  private readonly handCommands: HandCommands;
  /** Weights the checks report, by pair key (see {@link onCheckWeight}). */
  private readonly checkWeights = new Map<string, number>();
  private readonly drains: Drains;
  /** Services ldir manages (declared by a config it applied, until gone), with their cleanstop setting. */
  private readonly managed = new Map<string, { key: ServiceKey; cleanstop: boolean }>();
  /** Each virtual's quorum as last decided (`down` ⇔ fallback active): the hysteresis and the edges work from it. */
  private readonly quorumDecided = new Map<string, DecidedQuorum>();
  private readonly decisionAges = new DecisionAges();
  private readonly loop: SyncLoop;
  private readonly syncDaemons: StateSyncDaemons;
  private stopped = false;
  /** The table passes and what they keep between them (the table as last known, the last decision, its ramps). */
  private readonly passes: TablePass;
  /** Counters, the last pass, log lines and events. */
  private readonly reporter: EngineReporter;

  constructor(private readonly options: EngineOptions) {
    this.log = (options.logger ?? silentLogger()).child({ module: 'engine' });
    this.reporter = new EngineReporter(this.log, options.clock, options.onEvent);
    this.handCommands = new HandCommands({
      hand: this.hand,
      config: () => this.config,
      log: this.log,
      onOperatorChange: options.onOperatorChange,
      sync: () => this.sync('manual'),
    });
    this.drains = new Drains(
      { enabled: options.drainEnabled ?? true, timeoutMs: options.drainTimeoutMs ?? 30_000 },
      this.reporter,
      options.clock,
    );
    this.syncDaemons = new StateSyncDaemons({
      backend: options.backend,
      clock: options.clock,
      ...(options.logger ? { logger: options.logger } : {}),
      onEvent: (e) => this.reporter.emit(e),
    });
    this.loop = new SyncLoop({
      clock: options.clock,
      pass: (reason) => this.passWithSyncDaemons(reason),
      coalesceMs: options.coalesceMs ?? 20,
      resyncIntervalMs: options.resyncIntervalMs ?? 10_000,
      drainPollMs: options.drainPollMs ?? 1_000,
      draining: () => this.drains.active(),
      nextStepInMs: () => nextRampPassInMs(this.passes.ramps, this.passes.rampsDecidedAt, options.clock.monotonic()),
      onError: (reason, err) => this.reporter.passCrashed(reason, err),
    });
    this.shutdownTimeoutMs = options.shutdownTimeoutMs ?? 10_000;
    this.commands = new FallbackCommands(options.runCommand, this.log, (run) => this.reporter.fallbackCommandRan(run));
    this.quorumCommands = new QuorumCommands(options.runCommand, this.log, (run) =>
      this.reporter.quorumCommandRan(run),
    );
    this.passes = new TablePass({
      backend: options.backend,
      clock: options.clock,
      reporter: this.reporter,
      drains: this.drains,
      config: () => this.config,
      targets: () => this.targets,
      managed: this.managed,
      quorumDecided: this.quorumDecided,
      commands: this.commands,
      quorumCommands: this.quorumCommands,
      decisionAges: this.decisionAges,
      health: this.health,
      hand: this.hand,
      checkWeights: this.checkWeights,
      ...(options.passYielder ? { yielder: options.passYielder } : {}),
    });
  }

  /**
   * Sets what happens to reals and virtuals the next {@link applyConfig} removes: drained (weight 0 until idle or
   * `timeoutMs`) or deleted at once. Drains already running keep going, with the new timeout.
   */
  setDrainPolicy(policy: DrainPolicy): void {
    this.drains.setPolicy(policy);
  }

  /** The configuration in force, if any. */
  currentConfig(): Config | undefined {
    return this.config;
  }

  /**
   * Accepts a new configuration (already validated) and syncs. What it removes compared with the previous one drains
   * (or goes at once when draining is off); what comes back stops draining; health, hand drains and runtime weights
   * of pairs that are gone are forgotten (logged; `onOperatorChange` hears of it). Resolves with the report of the
   * sync pass.
   */
  applyConfig(config: Config): Promise<SyncReport> {
    if (!this.config) this.passes.leftoversPending = true;
    const before = this.targets;
    const after = configTargets(config);
    this.drains.reload(before, after, this.passes.table.index, this.config !== undefined, (id, r) =>
      this.health.get(pairKey(id, realKeyOf(r))),
    );
    for (const v of this.config?.virtualServices ?? []) {
      if (config.virtualServices.some((n) => n.id === v.id)) continue;
      this.commands.retire(v);
      this.quorumCommands.retire(v, 'down');
    }
    const pairs = new Set(config.virtualServices.flatMap((v) => v.reals.map((r) => pairKey(v.id, realKeyOf(r)))));
    for (const map of [this.health, this.checkWeights] as Map<string, unknown>[])
      for (const k of map.keys()) if (!pairs.has(k)) map.delete(k);
    this.decisionAges.keepOnly(pairs);
    const dropped = this.hand.dropOutside(pairs, this.log);
    for (const id of this.quorumDecided.keys())
      if (!config.virtualServices.some((v) => v.id === id)) this.quorumDecided.delete(id);
    for (const [id, t] of after) {
      if (t.target.kind === 'service') this.managed.set(id, { key: t.target.service, cleanstop: t.virtual.cleanstop });
    }
    this.config = config;
    this.targets = after;
    if (dropped) this.handCommands.changed();
    this.syncDaemons.configure(config.globals.stateSync);
    this.log.info(
      { file: config.file, virtuals: config.virtualServices.length, draining: this.drains.state.entries.size },
      'configuration applied',
    );
    return this.sync('config');
  }

  /**
   * What {@link applyConfig} with `config` (and `policy`, the drain policy it brings; default the one in force)
   * would do now, computed by the same functions from the engine's state and a fresh dump of the kernel table and
   * of its sync daemons: {@link previewReload} (the drains, the plan and the quorum edges) and the sync daemons'
   * plan. Changes nothing: no kernel write, no state, no event, no log line, no command. Rejects when the kernel
   * cannot be listed.
   */
  async previewConfig(config: Config, policy?: DrainPolicy): Promise<EnginePreview> {
    const { clock, backend } = this.options;
    // The engine's state is read after the dump, as a pass reads it; the dump is indexed once, as a pass's is.
    const index = indexObserved(await backend.list(TABLE_PASS_LISTING));
    const preview = previewReload(
      {
        config: this.config,
        targets: this.targets,
        drainState: this.drains.state,
        isDraining: (id) => this.drains.info.has(id),
        leftoversPending: this.passes.leftoversPending,
        managed: (id) => this.managed.has(id),
        lastFailed: this.passes.lastFailed,
        settled: this.passes.settled,
        quorumDecided: this.quorumDecided,
        commands: this.commands,
        quorumCommands: this.quorumCommands,
        decideBase: (c, now) => this.passes.decideBase(c, now),
      },
      {
        config,
        drainEnabled: policy?.enabled ?? this.drains.enabled,
        drainTimeoutMs: policy ? Math.max(0, policy.timeoutMs) : this.drains.timeoutMs,
        index,
        now: clock.monotonic(),
      },
    );
    return { ...preview, syncDaemons: await this.syncDaemons.preview(config.globals.stateSync) };
  }

  /**
   * Holds kernel writes (a restart hands the table to a successor): resolves once the running pass has finished;
   * no pass runs until {@link resume}. Health transitions are still recorded.
   */
  pause(): Promise<void> {
    return this.loop.pause();
  }

  /** Ends a {@link pause} with a pass. */
  resume(): Promise<SyncReport> {
    return this.loop.resume();
  }

  /** What a successor needs to continue where this engine stands (see {@link EngineCarryOver}). */
  exportCarryOver(): EngineCarryOver | undefined {
    if (!this.config) return undefined;
    const role = this.syncDaemons.snapshot();
    return carryOverOf(
      this.carried(),
      {
        config: this.config,
        drainState: this.drains.state,
        ramps: this.passes.ramps,
        syncRole: role.roleSource === 'command' && role.role !== 'none' ? role.role : undefined,
      },
      this.options.clock.monotonic(),
    );
  }

  /**
   * Continues from a predecessor's {@link EngineCarryOver}; call before the first {@link applyConfig}, which then
   * applies this daemon's configuration as a reload of the predecessor's (what it removes drains, what it keeps
   * keeps its hand drains, runtime weights and fallback state, fallbackcommand is not run again).
   */
  importCarryOver(carry: EngineCarryOver): void {
    this.config = carry.config; // the first applyConfig is then a reload: no leftover look (the drains come along)
    this.targets = configTargets(carry.config);
    ({ drainState: this.drains.state, ramps: this.passes.ramps } = adoptCarryOver(
      carry,
      this.carried(),
      this.options.clock.monotonic(),
    ));
    if (carry.syncRole) this.syncDaemons.setRole(carry.syncRole);
    this.log.info(
      {
        draining: this.drains.state.entries.size,
        manualDrains: this.hand.manualDrains.size,
        weights: this.hand.weights.size,
      },
      'state taken over from the previous daemon',
    );
  }

  /** The collections a restart carries over ({@link carryOverOf}, {@link adoptCarryOver}). */
  private carried(): CarriedState {
    const { managed, hand, quorumDecided, commands, quorumCommands } = this;
    return { managed, drainInfo: this.drains.info, hand, quorumDecided, commands, quorumCommands };
  }

  /**
   * Takes hand settings kept from a previous daemon (the state file, at a start without a hand-over): call before the
   * first {@link applyConfig}, so that its first kernel pass already applies them. Settings for reals the
   * configuration does not have are dropped by that {@link applyConfig}; a weight out of range is ignored.
   */
  importOperatorSettings(settings: readonly OperatorSetting[]): void {
    this.hand.importSettings(settings);
  }

  /** The hand settings (runtime weights, hand drains) of the configuration in force, in its order. */
  operatorSettings(): OperatorSetting[] {
    return this.config ? this.hand.settingsOf(this.config) : [];
  }

  /**
   * Records the weight a real's check reports (`weightheader`, an external `weight=N`; undefined: none any more) and
   * schedules a coalesced sync; decide bounds it (`minweight`/`maxweight`) and slow start ramps a raise.
   */
  onCheckWeight(r: {
    readonly virtualId: string;
    readonly realKey: string;
    readonly weight: number | undefined;
  }): void {
    const pk = pairKey(r.virtualId, r.realKey);
    if (this.checkWeights.get(pk) === r.weight) return;
    if (r.weight === undefined) this.checkWeights.delete(pk);
    else this.checkWeights.set(pk, r.weight);
    this.loop.request('health');
  }

  /** Records a health transition from the check scheduler and schedules a coalesced sync. */
  onTransition(t: HealthTransition): void {
    this.health.set(pairKey(t.virtualId, t.realKey), { health: t.to, reason: t.reason, since: t.at });
    this.loop.request('health');
  }

  /** Drains a pair by hand (weight 0, kept in the table) and syncs. Throws LDIR_ERR_UNKNOWN_TARGET for unknown names. */
  async drain(virtual: string, real: string): Promise<ManualDrainResult> {
    return this.handCommands.setDrained(virtual, real, true);
  }

  /** Ends a hand drain and syncs. Throws LDIR_ERR_UNKNOWN_TARGET for unknown names. */
  async undrain(virtual: string, real: string): Promise<ManualDrainResult> {
    return this.handCommands.setDrained(virtual, real, false);
  }

  /**
   * Sets the runtime weight of a pair (`ldir weight VIRTUAL REAL N`): its weight while it is up and not drained,
   * instead of the configured one, until `null` (`reset`) gives it back its configured weight or a configuration
   * without that real drops it; then syncs. Throws LDIR_ERR_UNKNOWN_TARGET for unknown names, LDIR_ERR_USAGE for a
   * weight outside 0..{@link MAX_RUNTIME_WEIGHT}.
   */
  async setWeight(virtual: string, real: string, weight: number | null): Promise<WeightResult> {
    return this.handCommands.setWeight(virtual, real, weight);
  }

  /**
   * Runs one sync pass now, or, when one is running, one more pass after it (requests made meanwhile share it).
   * Never rejects: failures are in the report, logged, and retried by the next pass.
   */
  sync(reason = 'manual'): Promise<SyncReport> {
    return this.loop.run(reason);
  }

  /**
   * Sets the director's sync role (`ldir promote|demote`) and brings the kernel's sync daemons in line at once,
   * without waiting for a table pass; the periodic resync keeps them so. Resolves with the outcome (a kernel refusal
   * is in `stateSync.lastError`, and retried).
   */
  async setSyncRole(role: SyncRole): Promise<SyncRoleChange> {
    if (this.stopped) throw new LdirError(ErrorCodes.DAEMON_STOPPING, 'ldir is stopping: the sync role cannot change');
    const previous = this.syncDaemons.setRole(role);
    await this.syncDaemons.reconcile('role');
    return { role, previous, changed: previous !== role, stateSync: this.syncDaemons.snapshot() };
  }

  /** How the sync passes stand, for the checker watchdog: when the last one finished, whether any is expected. */
  liveness(): PassLiveness {
    return this.loop.liveness();
  }

  /**
   * What the health verdict needs of the engine (src/daemon/health-verdict.ts), without building the status of every
   * real: cheap at any table size, for `ping`, `/healthz` and every `status`.
   */
  healthFacts(): EngineHealth {
    return { stopped: this.stopped, lastSync: this.reporter.lastSync(), stateSync: this.syncDaemons.snapshot() };
  }

  /** Each virtual's quorum as last decided (`up`/`down`); a virtual not decided yet is absent. */
  quorumStates(): ReadonlyMap<string, DecidedQuorum> {
    return this.quorumDecided;
  }

  /** Everything `ldir status` and the metrics need. */
  snapshot(): EngineSnapshot {
    return { ...buildSnapshot(this.snapshotInput()), stateSync: this.syncDaemons.snapshot() };
  }

  /**
   * {@link snapshot} in parts: the head at once, the virtual services one by one as they are asked for (each from the
   * state at that moment), so that a caller can give the event loop a turn between them (a big table, issue 21).
   */
  snapshotParts(): EngineSnapshotParts {
    const input = this.snapshotInput();
    return { ...snapshotHead(input), stateSync: this.syncDaemons.snapshot(), virtuals: snapshotVirtuals(input) };
  }

  private snapshotInput(): SnapshotInput {
    const { clock } = this.options;
    const ages = this.decisionAges;
    return {
      config: this.config,
      decision: this.passes.decision,
      observed: this.passes.table.index,
      listedAt: this.passes.table.listedAt,
      health: this.health,
      decidedSince: { get: (key) => ages.since(key) },
      draining: this.drains.state.entries.values(),
      drainInfo: this.drains.info,
      toEpoch: (m) => clock.now() - (clock.monotonic() - m),
      fallbackAction: (id) => this.commands.lastAction(id),
      quorumAction: (id) => this.quorumCommands.lastAction(id),
      manualDrains: this.hand.manualDrains,
      weights: this.hand.weights,
      counters: this.reporter.countersNow(),
      lastSync: this.reporter.lastSync(),
      stopped: this.stopped,
    };
  }

  /**
   * Stops timers and, when `clean`, deletes every service ldir manages whose virtual has `cleanstop=yes` (others stay
   * for a restart without disturbing traffic) and runs `fallbackcommand stop` for them where `start` was the last
   * action. Best effort and bounded by `shutdownTimeoutMs`: errors are logged, never thrown. Idempotent.
   */
  async shutdown(options: { clean: boolean }): Promise<ShutdownReport> {
    if (this.stopped) return { clean: options.clean, removed: 0, failed: 0, kept: 0, timedOut: false };
    this.stopped = true;
    return stopEngineWithin(this.options.clock, this.shutdownTimeoutMs, this.loop.stop(), options.clean, {
      backend: this.options.backend,
      managed: this.managed,
      virtuals: () => this.config?.virtualServices ?? [],
      commands: this.commands,
      quorumCommands: this.quorumCommands,
      syncDaemons: this.syncDaemons,
      log: this.log,
      onPurged: (op) => this.reporter.purged(op),
    });
  }

  /**
   * A table pass, then, on a configuration or a periodic resync, a look at the sync daemons (health and drain passes
   * cannot change them; their outcome is their own: see {@link StateSyncDaemons}).
   */
  private async passWithSyncDaemons(reason: string): Promise<SyncReport> {
    const report = await this.passes.run(reason);
    const reasons = reason.split('+');
    if (report.skipped === undefined && ['config', 'resync', 'resume'].some((r) => reasons.includes(r)))
      await this.syncDaemons.reconcile(reason);
    return report;
  }
}
