// The level-triggered loop: on config, health, drain and timer triggers, list the kernel once, decide, plan, apply.
import { pairKey, realKey, type HealthTransition } from '../model/health';
import type { TimerHandle } from '../clock';
import { ErrorCodes, errorMessage, LdirError } from '../errors';
import { serviceKeyString } from '../ipvs/normalize';
import type { IpvsOp, ObservedService, ServiceKey } from '../ipvs/types';
import { silentLogger, type Logger } from '../log';
import type { Config, SyncRole, VirtualService } from '../model';
import { isRuntimeWeight, MAX_RUNTIME_WEIGHT } from '../model/weight';
import { applyPlan } from './apply-plan';
import { drainsOf, drainStateOf, type EngineCarryOver } from './carry-over';
import { purgeServices } from './cleanstop';
import { configDrains, leftoverTargets } from './config-drains';
import type { DecideInput, Decision } from './decide';
import { beginDrain, drainId, EMPTY_DRAIN, type DrainEntry, type DrainState, type DrainTarget } from './drain';
import type {
  AwaitingCheck, DrainPolicy, EngineCounters, EngineEvent, EngineHealth, EngineOptions, EnginePreview, EngineSnapshot, EngineSnapshotParts, FallbackCommandPreview,
  QuorumCommandPreview,
  LastSync, ManualDrainResult, OpKind, ShutdownReport, SyncReport, SyncRoleChange, WeightResult,
} from './engine-types';
import { FallbackCommands, QuorumCommands, type FallbackAction, type QuorumCommandDetail } from './fallback-command';
import type { DecidedQuorum } from './quorum';
import { quorumChanges } from './quorum-edges';
import { nextStepIn, type Ramp } from './slow-start';
import { afterOps, indexObserved, type ObservedEntry } from './observed';
import { describeOp, describeOps, refusedOps, refusedServices } from './op-report';
import { operatorSettingsOf, type OperatorSetting } from './operator-settings';
import { planPass } from './pass-plan';
import { buildSnapshot, snapshotHead, snapshotVirtuals, type HealthRecord, type SnapshotInput } from './status';
import { StateSyncDaemons } from './state-sync-daemons';
import { isHealthOnly, skippedReport, SyncLoop, type PassLiveness } from './sync-loop';
import { configTargets, resolvePair, type ConfigTarget, type ConfigTargets } from './targets';

/** How late after a slow-start step its pass is timed (see the sync loop's `nextStepInMs`). */
const RAMP_TIMER_LATE_MS = 2;

const OP_KINDS: readonly OpKind[] = ['add-service', 'edit-service', 'delete-service', 'add-destination', 'edit-destination', 'delete-destination'];

const realKeyOf = (r: { address: string; port: number }): string => realKey(r.address, r.port);
/** The target of a drain entry, without its id and start. */
const targetOf = ({ id: _id, since: _since, ...target }: DrainEntry): DrainTarget => target;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** What a table pass reads of the kernel: settings and connection counts (the metrics read the traffic counters themselves). */
const TABLE_PASS_LISTING = { stats: false } as const;

/**
 * The director's engine, the only writer of the kernel table. Every sync compares the whole desired table with a
 * fresh dump (a pass for health changes only: with the table as last listed and written, and with a dump again when
 * the kernel refuses an operation), so failed operations and hand edits are repaired by the next full pass, at the
 * latest the periodic resync; passes never overlap (a request during a pass runs one more pass after it). Health
 * transitions are coalesced.
 */
export class Engine {
  private readonly log: Logger;
  private drainEnabled: boolean;
  private drainTimeoutMs: number;
  private readonly shutdownTimeoutMs: number;
  private readonly commands: FallbackCommands;
  private readonly quorumCommands: QuorumCommands;
  private config: Config | undefined;
  private targets: ConfigTargets = new Map();
  private readonly health = new Map<string, HealthRecord>();
  private readonly manual = new Set<string>();
  /** Weights the checks report, by pair key (see {@link onCheckWeight}). */
  private readonly checkWeights = new Map<string, number>();
  /** Runtime weights (`ldir weight`) by pair key. */
  private readonly weights = new Map<string, number>();
  private drainState: DrainState = EMPTY_DRAIN;
  private readonly drainInfo = new Map<string, ConfigTarget & { health?: HealthRecord }>();
  /** Services ldir manages (declared by a config it applied, until gone), with their cleanstop setting. */
  private readonly managed = new Map<string, { key: ServiceKey; cleanstop: boolean }>();
  /** Each virtual's quorum as last decided (`down` ⇔ fallback active): the hysteresis and the edges work from it. */
  private readonly quorumDecided = new Map<string, DecidedQuorum>();
  /** Slow-start ramps in progress by pair key, as the last pass decided them (monotonic times). */
  private ramps: ReadonlyMap<string, Ramp> = new Map();
  /** The time (monotonic) the last pass decided its ramp steps at: the next step is counted from it, not from later. */
  private rampsDecidedAt = 0;
  private readonly decided = new Map<string, { sig: string; since: number }>();
  private decision: Decision | undefined;
  private observed: ReadonlyMap<string, ObservedEntry> = new Map();
  /**
   * `observed` is the kernel table as the last dump showed it plus the operations done since (all of them done):
   * a health pass may plan from it without listing the kernel (see {@link pass}).
   */
  private observedCurrent = false;
  private listedAt: number | null = null;
  private lastSync: LastSync | null = null;
  private settled: string | undefined;
  private lastFailed = new Set<string>();
  private readonly loop: SyncLoop;
  private readonly syncDaemons: StateSyncDaemons;
  private stopped = false;
  /** The first pass after a fresh start looks for leftovers of a previous daemon to drain (see {@link drainLeftovers}). */
  private leftoversPending = false;
  private readonly counters: Mutable<Omit<EngineCounters, 'opsApplied'>> & { opsApplied: Record<OpKind, number> } = {
    syncs: 0, syncErrors: 0, opsApplied: Object.fromEntries(OP_KINDS.map((k) => [k, 0])) as Record<OpKind, number>, opsFailed: 0,
    driftRepairs: 0, retries: 0, fallbackCommands: 0, fallbackCommandFailures: 0, quorumCommands: 0, quorumCommandFailures: 0,
    lastSyncDurationMs: 0,
  };

  constructor(private readonly options: EngineOptions) {
    this.log = (options.logger ?? silentLogger()).child({ module: 'engine' });
    this.drainEnabled = options.drainEnabled ?? true;
    this.drainTimeoutMs = options.drainTimeoutMs ?? 30_000;
    this.syncDaemons = new StateSyncDaemons({ backend: options.backend, clock: options.clock, ...(options.logger ? { logger: options.logger } : {}), onEvent: (e) => this.emit(e) });
    this.loop = new SyncLoop({
      clock: options.clock, pass: (reason) => this.passWithSyncDaemons(reason), coalesceMs: options.coalesceMs ?? 20,
      resyncIntervalMs: options.resyncIntervalMs ?? 10_000, drainPollMs: options.drainPollMs ?? 1_000,
      draining: () => this.drainState.entries.size > 0,
      nextStepInMs: () => {
        if (this.ramps.size === 0) return undefined;
        // From the step the pass decided (a pass just before a second's boundary must not skip the next step), a few
        // ms late rather than early (Node's timers may fire up to a millisecond before the fine-grained clock).
        const at = this.rampsDecidedAt;
        const next = Math.min(...[...this.ramps.values()].map((r) => nextStepIn(r, at)));
        return Math.max(1, next - (options.clock.monotonic() - at) + RAMP_TIMER_LATE_MS);
      },
      onError: (reason, err) => {
        this.log.error({ err: errorMessage(err) }, 'sync pass failed unexpectedly');
        return { ok: false, reason, ops: [], failed: 0, drift: 0, durationMs: 0, error: errorMessage(err) };
      },
    });
    this.shutdownTimeoutMs = options.shutdownTimeoutMs ?? 10_000;
    this.commands = new FallbackCommands(options.runCommand, this.log, (run) => {
      this.counters.fallbackCommands++;
      if (run.error !== undefined) this.counters.fallbackCommandFailures++;
      this.emit({ type: 'fallback-command', at: this.options.clock.now(), virtualId: run.virtualId, action: run.action, exitCode: run.exitCode, ...(run.error !== undefined ? { error: run.error } : {}) });
    });
    this.quorumCommands = new QuorumCommands(options.runCommand, this.log, (run) => {
      this.counters.quorumCommands++;
      if (run.error !== undefined) this.counters.quorumCommandFailures++;
      this.emit({ type: 'quorum-command', at: this.options.clock.now(), virtualId: run.virtualId, action: run.action, exitCode: run.exitCode, ...(run.error !== undefined ? { error: run.error } : {}) });
    });
  }

  /**
   * Sets what happens to reals and virtuals the next {@link applyConfig} removes: drained (weight 0 until idle or
   * `timeoutMs`) or deleted at once. Drains already running keep going, with the new timeout.
   */
  setDrainPolicy(policy: DrainPolicy): void {
    this.drainEnabled = policy.enabled;
    this.drainTimeoutMs = Math.max(0, policy.timeoutMs);
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
    if (!this.config) this.leftoversPending = true;
    const before = this.targets;
    const after = configTargets(config);
    const now = this.options.clock.monotonic();
    for (const [id, t] of before) {
      if (!after.has(id)) this.drainInfo.set(id, { ...t, ...(t.real ? this.healthOf(t.virtual.id, t.real) : {}) });
    }
    const drains = configDrains({
      before, after, state: this.drainState, drainRemoved: this.drainEnabled && this.config !== undefined, observed: this.observed, now,
    });
    this.drainState = drains.state;
    for (const e of drains.cancelled) this.emit({ type: 'drain', at: this.options.clock.now(), id: e.id, phase: 'cancel' });
    for (const id of drains.begun.map(drainId)) {
      this.log.info({ drain: id }, `draining ${id}: weight 0 until idle or ${this.drainTimeoutMs} ms`);
      this.emit({ type: 'drain', at: this.options.clock.now(), id, phase: 'begin' });
    }
    for (const v of this.config?.virtualServices ?? []) {
      if (config.virtualServices.some((n) => n.id === v.id)) continue;
      this.commands.retire(v);
      this.quorumCommands.retire(v, 'down');
    }
    const pairs = new Set(config.virtualServices.flatMap((v) => v.reals.map((r) => pairKey(v.id, realKeyOf(r)))));
    for (const map of [this.health, this.decided, this.checkWeights] as Map<string, unknown>[]) for (const k of map.keys()) if (!pairs.has(k)) map.delete(k);
    const dropped = this.dropHandSettings(pairs);
    for (const id of this.quorumDecided.keys()) if (!config.virtualServices.some((v) => v.id === id)) this.quorumDecided.delete(id);
    for (const [id, t] of after) {
      if (t.target.kind === 'service') this.managed.set(id, { key: t.target.service, cleanstop: t.virtual.cleanstop });
    }
    this.config = config;
    this.targets = after;
    if (dropped) this.operatorChanged();
    this.syncDaemons.configure(config.globals.stateSync);
    this.log.info({ file: config.file, virtuals: config.virtualServices.length, draining: this.drainState.entries.size }, 'configuration applied');
    return this.sync('config');
  }

  /**
   * What {@link applyConfig} with `config` (and `policy`, the drain policy it brings; default the one in force)
   * would do now, computed by the same functions from the engine's state and a fresh dump of the kernel table and
   * of its sync daemons: {@link configDrains}, {@link planPass}, {@link quorumChanges} and the sync daemons'
   * plan. Changes nothing: no kernel write, no state, no event, no log line, no command. Rejects when the kernel
   * cannot be listed.
   */
  async previewConfig(config: Config, policy?: DrainPolicy): Promise<EnginePreview> {
    const { clock, backend } = this.options;
    const enabled = policy?.enabled ?? this.drainEnabled;
    const drainTimeoutMs = policy ? Math.max(0, policy.timeoutMs) : this.drainTimeoutMs;
    const observed = await backend.list(TABLE_PASS_LISTING);
    // The engine's state is read after the dump, as a pass reads it.
    const index = indexObserved(observed);
    const now = clock.monotonic();
    const before = this.targets;
    const after = configTargets(config);
    const drains = configDrains({ before, after, state: this.drainState, drainRemoved: enabled && this.config !== undefined, observed: index, now });
    let drainState = drains.state;
    const begun = [...drains.begun];
    if (enabled && (this.leftoversPending || !this.config)) {
      const leftovers = leftoverTargets(after, index, drainState);
      drainState = beginDrain(drainState, leftovers, now);
      begun.push(...leftovers);
    }
    const plan = planPass({
      decide: this.decideBase(config, now), drainState, observed, index, now, drainTimeoutMs,
      managed: (id) => this.managed.has(id) || after.has(id),
    });
    const leaving = new Set([...before.keys()].filter((id) => !after.has(id)));
    const begunIds = new Set(begun.map(drainId));
    const ops = describeOps(plan.ops, new Map(), {
      decision: plan.decision, lastFailed: this.lastFailed, unchangedSinceConverged: JSON.stringify(plan.want) === this.settled,
      isDraining: (id) => this.drainInfo.has(id) || leaving.has(id) || begunIds.has(id),
    });
    const kept = new Set(config.virtualServices.map((v) => v.id));
    // The command lines are the runners' own (a preview runs nothing but must show what would run).
    const command = (v: VirtualService, action: FallbackAction): FallbackCommandPreview | undefined => {
      const argv = this.commands.argv(v, action);
      return argv && { virtualId: v.id, action, argv };
    };
    const quorumCommand = (v: VirtualService, action: DecidedQuorum, detail?: QuorumCommandDetail): QuorumCommandPreview | undefined => {
      const argv = this.quorumCommands.argv(v, action, detail);
      return argv && { virtualId: v.id, action, argv };
    };
    const removed = (this.config?.virtualServices ?? []).filter((v) => !kept.has(v.id));
    const retiredCommands = removed.filter((v) => this.commands.lastAction(v.id) === 'start').flatMap((v) => command(v, 'stop') ?? []);
    const retiredQuorumCommands = removed.filter((v) => this.quorumCommands.lastAction(v.id) === 'up').flatMap((v) => quorumCommand(v, 'down') ?? []);
    const fallback = quorumChanges(config, plan.decision, this.quorumDecided, (id) => this.commands.lastAction(id), (id) => this.quorumCommands.lastAction(id))
      .filter((c) => c.edge || c.changed || c.command !== undefined || c.quorumCommand !== undefined)
      .map((c) => {
        const fallbackRun = c.command !== undefined ? command(c.virtual, c.command) : undefined;
        const quorumRun = c.quorumCommand !== undefined ? quorumCommand(c.virtual, c.quorumCommand, { serving: c.quorum.serving, quorum: c.quorum.quorum }) : undefined;
        return {
          virtualId: c.virtual.id, active: c.active, edge: c.edge,
          ...(fallbackRun ? { command: fallbackRun } : {}),
          ...(c.changed && c.virtual.quorum !== undefined
            ? { quorum: { state: c.quorum.state, serving: c.quorum.serving, quorum: c.quorum.quorum, hysteresis: c.quorum.hysteresis } }
            : {}),
          ...(quorumRun ? { quorumCommand: quorumRun } : {}),
        };
      });
    const known = new Set((this.config?.virtualServices ?? []).flatMap((v) => v.reals.map((r) => pairKey(v.id, realKeyOf(r)))));
    const awaitingCheck = plan.decision.virtuals.flatMap((v) => v.reals
      .filter((r) => r.health === 'unknown' && !known.has(pairKey(v.virtualId, r.realKey)))
      .map((r): AwaitingCheck => ({
        virtualId: v.virtualId, realKey: r.realKey, destinationId: r.destinationId, configuredWeight: r.configuredWeight, reason: r.reason,
        ...(r.desiredWeight !== undefined ? { desiredWeight: r.desiredWeight } : {}),
      })));
    const syncDaemons = await this.syncDaemons.preview(config.globals.stateSync);
    return {
      drainsCancelled: drains.cancelled.map(targetOf), drainsBegun: begun, drainTimeoutMs, retiredCommands, retiredQuorumCommands,
      drainsEnded: plan.finished.map(({ entry, why }) => ({ target: targetOf(entry), why })), ops, fallback, syncDaemons, awaitingCheck,
    };
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
    return {
      config: this.config,
      managed: [...this.managed].map(([id, m]) => ({ id, key: m.key, cleanstop: m.cleanstop })),
      drains: drainsOf(this.drainState, this.options.clock.monotonic()),
      drainInfo: [...this.drainInfo].map(([id, info]) => ({ id, info })),
      manualDrains: [...this.manual],
      weights: [...this.weights].map(([pair, weight]) => ({ pair, weight })),
      fallback: [...this.quorumDecided].map(([virtualId, quorum]) => {
        const lastAction = this.commands.lastAction(virtualId);
        const quorumAction = this.quorumCommands.lastAction(virtualId);
        return { virtualId, active: quorum === 'down', ...(lastAction ? { lastAction } : {}), ...(quorumAction ? { quorumAction } : {}) };
      }),
      ...(role.roleSource === 'command' && role.role !== 'none' ? { syncRole: role.role } : {}),
      ...(this.ramps.size > 0 ? {
        ramps: [...this.ramps].map(([pair, r]) => ({ pair, ageMs: Math.max(0, this.options.clock.monotonic() - r.since), from: r.from, to: r.to })),
      } : {}),
    };
  }

  /**
   * Continues from a predecessor's {@link EngineCarryOver}; call before the first {@link applyConfig}, which then
   * applies this daemon's configuration as a reload of the predecessor's (what it removes drains, what it keeps
   * keeps its hand drains, runtime weights and fallback state, fallbackcommand is not run again).
   */
  importCarryOver(carry: EngineCarryOver): void {
    this.config = carry.config; // the first applyConfig is then a reload: no leftover look (the drains come along)
    this.targets = configTargets(carry.config);
    for (const m of carry.managed) this.managed.set(m.id, { key: m.key, cleanstop: m.cleanstop });
    this.drainState = drainStateOf(carry.drains, this.options.clock.monotonic());
    for (const { id, info } of carry.drainInfo) this.drainInfo.set(id, info);
    for (const pair of carry.manualDrains) this.manual.add(pair);
    for (const { pair, weight } of carry.weights ?? []) if (isRuntimeWeight(weight)) this.weights.set(pair, weight);
    for (const f of carry.fallback) {
      this.quorumDecided.set(f.virtualId, f.active ? 'down' : 'up');
      if (f.lastAction) this.commands.adopt(f.virtualId, f.lastAction);
      // An older daemon ran no quorum command: its decided state stands for the last one (none is run again).
      this.quorumCommands.adopt(f.virtualId, f.quorumAction ?? (f.active ? 'down' : 'up'));
    }
    if (carry.syncRole) this.syncDaemons.setRole(carry.syncRole);
    const now = this.options.clock.monotonic();
    this.ramps = new Map((carry.ramps ?? []).map((r) => [r.pair, { since: now - r.ageMs, from: r.from, to: r.to }]));
    this.log.info({ draining: this.drainState.entries.size, manualDrains: this.manual.size, weights: this.weights.size }, 'state taken over from the previous daemon');
  }

  /**
   * Takes hand settings kept from a previous daemon (the state file, at a start without a hand-over): call before the
   * first {@link applyConfig}, so that its first kernel pass already applies them. Settings for reals the
   * configuration does not have are dropped by that {@link applyConfig}; a weight out of range is ignored.
   */
  importOperatorSettings(settings: readonly OperatorSetting[]): void {
    for (const s of settings) {
      const pk = pairKey(s.virtualId, s.realKey);
      if (s.drained) this.manual.add(pk);
      if (isRuntimeWeight(s.weight)) this.weights.set(pk, s.weight);
    }
  }

  /** The hand settings (runtime weights, hand drains) of the configuration in force, in its order. */
  operatorSettings(): OperatorSetting[] {
    return this.config ? operatorSettingsOf(this.config, { manualDrains: this.manual, weights: this.weights }) : [];
  }

  /**
   * Records the weight a real's check reports (`weightheader`, an external `weight=N`; undefined: none any more) and
   * schedules a coalesced sync; decide bounds it (`minweight`/`maxweight`) and slow start ramps a raise.
   */
  onCheckWeight(r: { readonly virtualId: string; readonly realKey: string; readonly weight: number | undefined }): void {
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
    return this.setManual(virtual, real, true);
  }

  /** Ends a hand drain and syncs. Throws LDIR_ERR_UNKNOWN_TARGET for unknown names. */
  async undrain(virtual: string, real: string): Promise<ManualDrainResult> {
    return this.setManual(virtual, real, false);
  }

  /**
   * Sets the runtime weight of a pair (`ldir weight VIRTUAL REAL N`): its weight while it is up and not drained,
   * instead of the configured one, until `null` (`reset`) gives it back its configured weight or a configuration
   * without that real drops it; then syncs. Throws LDIR_ERR_UNKNOWN_TARGET for unknown names, LDIR_ERR_USAGE for a
   * weight outside 0..{@link MAX_RUNTIME_WEIGHT}.
   */
  async setWeight(virtual: string, real: string, weight: number | null): Promise<WeightResult> {
    if (weight !== null && !isRuntimeWeight(weight)) {
      throw new LdirError(ErrorCodes.USAGE, `a weight is an integer from 0 to ${MAX_RUNTIME_WEIGHT}, not ${String(weight)}`);
    }
    const pair = this.resolveForHand(virtual, real);
    const pk = pairKey(pair.virtual.id, pair.realKey);
    const previous = this.weights.get(pk) ?? null;
    const changed = previous !== weight;
    if (weight === null) this.weights.delete(pk);
    else this.weights.set(pk, weight);
    const configuredWeight = pair.virtual.reals.find((r) => realKeyOf(r) === pair.realKey)?.weight ?? 0;
    if (changed) {
      const fields = { vs: pair.virtual.id, rs: pair.realKey, weight, previous, configured: configuredWeight };
      this.log.info(fields, weight === null ? `runtime weight reset: configured weight ${configuredWeight} again` : `runtime weight set to ${weight}`);
      this.operatorChanged();
      await this.sync('manual');
    }
    return { virtual: pair.virtual.id, real: pair.realKey, configuredWeight, weight, previous, changed };
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
    return { stopped: this.stopped, lastSync: this.lastSync, stateSync: this.syncDaemons.snapshot() };
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
    const decided = this.decided;
    return {
      config: this.config, decision: this.decision, observed: this.observed, listedAt: this.listedAt, health: this.health,
      decidedSince: { get: (key) => decided.get(key)?.since }, draining: this.drainState.entries.values(),
      drainInfo: this.drainInfo, toEpoch: (m) => clock.now() - (clock.monotonic() - m),
      fallbackAction: (id) => this.commands.lastAction(id), quorumAction: (id) => this.quorumCommands.lastAction(id), manualDrains: this.manual,
      weights: this.weights,
      counters: { ...this.counters, opsApplied: { ...this.counters.opsApplied } }, lastSync: this.lastSync, stopped: this.stopped,
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
    const stopping = this.loop.stop();
    const { clock } = this.options;
    let timedOut = false;
    let handle: TimerHandle | undefined;
    const deadline = new Promise<'timeout'>((resolve) => { handle = clock.setTimeout(() => resolve('timeout'), this.shutdownTimeoutMs); });
    const work = stopping.then(() => this.cleanup(options.clean));
    const result = await Promise.race([work, deadline]);
    if (handle !== undefined) clock.clearTimeout(handle);
    if (result === 'timeout') {
      timedOut = true;
      this.log.error({ timeoutMs: this.shutdownTimeoutMs }, 'shutdown cleanup did not finish in time; the kernel table may keep entries');
      return { clean: options.clean, removed: 0, failed: 0, kept: 0, timedOut };
    }
    return { ...result, timedOut };
  }

  private async cleanup(clean: boolean): Promise<Omit<ShutdownReport, 'timedOut'>> {
    let removed = 0;
    let failed = 0;
    if (clean) {
      const wanted = new Map([...this.managed].filter(([, m]) => m.cleanstop).map(([id, m]) => [id, m.key]));
      ({ removed, failed } = await purgeServices(this.options.backend, wanted, this.log, (op) => {
        this.counters.opsApplied[op.op]++;
        this.emit({ type: 'op', at: this.options.clock.now(), op: op.op, virtualId: serviceKeyString(op.service), ok: true, drift: false });
      }));
      for (const v of this.config?.virtualServices ?? []) {
        if (!v.cleanstop) continue;
        this.commands.retire(v);
        this.quorumCommands.retire(v, 'down');
      }
    }
    const kept = [...this.managed.values()].filter((m) => !clean || !m.cleanstop).length;
    await this.syncDaemons.shutdown(clean);
    await Promise.all([this.commands.idle(), this.quorumCommands.idle()]);
    this.log.info({ clean, removed, failed, kept }, 'engine stopped');
    return { clean, removed, failed, kept };
  }

  /**
   * At a fresh start (not a hand-over, which brings its drains along): destinations in the configured services that
   * the configuration does not want were left by a daemon that was killed or stopped with `cleanstop=no` while they
   * drained (or by a configuration edited meanwhile). They drain as a reload's removals do, rather than being deleted
   * under their connections; with `drain=no` they go at once.
   */
  private drainLeftovers(index: ReadonlyMap<string, ObservedEntry>): void {
    if (!this.drainEnabled) return;
    const leftovers = leftoverTargets(this.targets, index, this.drainState);
    if (leftovers.length === 0) return;
    this.drainState = beginDrain(this.drainState, leftovers, this.options.clock.monotonic());
    for (const target of leftovers) {
      const id = drainId(target);
      this.drainInfo.set(id, { target, virtual: (this.targets.get(serviceKeyString(target.service)) as ConfigTarget).virtual });
      this.log.info({ drain: id }, `draining ${id} (in the kernel, not in the configuration): weight 0 until idle or ${this.drainTimeoutMs} ms`);
      this.emit({ type: 'drain', at: this.options.clock.now(), id, phase: 'begin' });
    }
  }

  private healthOf(virtualId: string, r: { address: string; port: number }): { health?: HealthRecord } {
    const h = this.health.get(pairKey(virtualId, realKeyOf(r)));
    return h ? { health: h } : {};
  }

  private resolveForHand(virtual: string, real: string): ReturnType<typeof resolvePair> {
    if (!this.config) throw new LdirError(ErrorCodes.UNKNOWN_TARGET, `no configuration in force: no virtual service ${virtual}`);
    return resolvePair(this.config, virtual, real);
  }

  private async setManual(virtual: string, real: string, on: boolean): Promise<ManualDrainResult> {
    const pair = this.resolveForHand(virtual, real);
    const pk = pairKey(pair.virtual.id, pair.realKey);
    const changed = on ? !this.manual.has(pk) : this.manual.has(pk);
    if (on) this.manual.add(pk);
    else this.manual.delete(pk);
    if (changed) {
      this.log.info({ vs: pair.virtual.id, rs: pair.realKey }, on ? 'real server drained by hand' : 'hand drain ended');
      this.operatorChanged();
      await this.sync('manual');
    }
    return { virtual: pair.virtual.id, real: pair.realKey, changed };
  }

  /** Forgets the hand drains and runtime weights of pairs not in `pairs` (logged); true when any was dropped. */
  private dropHandSettings(pairs: ReadonlySet<string>): boolean {
    let dropped = false;
    for (const k of [...this.manual]) {
      if (pairs.has(k)) continue;
      this.manual.delete(k);
      dropped = true;
      this.log.info({ pair: k }, `hand drain of ${k} dropped: the real is not in the configuration`);
    }
    for (const [k, weight] of [...this.weights]) {
      if (pairs.has(k)) continue;
      this.weights.delete(k);
      dropped = true;
      this.log.info({ pair: k, weight }, `runtime weight ${weight} of ${k} dropped: the real is not in the configuration`);
    }
    return dropped;
  }

  /** Tells `onOperatorChange` the hand settings now in force. */
  private operatorChanged(): void {
    if (!this.options.onOperatorChange) return;
    try {
      this.options.onOperatorChange(this.operatorSettings());
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'hand settings listener threw');
    }
  }

  /**
   * decide's input besides the drains and the kernel table, from the engine's state at `now` (monotonic): the same for a
   * pass and a preview.
   */
  private decideBase(config: Config, now: number): Omit<DecideInput, 'draining' | 'observed' | 'observedIndex'> {
    return {
      config, health: new Map([...this.health].map(([k, h]) => [k, h.health])), manualDrains: this.manual, weightOverrides: this.weights,
      quorum: this.quorumDecided, checkWeights: this.checkWeights,
      slowStart: { now, ramps: this.ramps },
    };
  }

  /**
   * A table pass, then, on a configuration or a periodic resync, a look at the sync daemons (health and drain passes
   * cannot change them; their outcome is their own: see {@link StateSyncDaemons}).
   */
  private async passWithSyncDaemons(reason: string): Promise<SyncReport> {
    const report = await this.pass(reason);
    const reasons = reason.split('+');
    if (report.skipped === undefined && ['config', 'resync', 'resume'].some((r) => reasons.includes(r))) await this.syncDaemons.reconcile(reason);
    return report;
  }

  private async pass(reason: string): Promise<SyncReport> {
    const { clock, backend } = this.options;
    if (!this.config) return skippedReport(reason, 'no-config');
    const at = clock.now();
    const t0 = clock.monotonic();
    this.counters.syncs++;
    // A pass for health changes only plans from the table as ldir last listed and wrote it: one real's weight must
    // not wait for a dump of every destination (at 1,000 reals, most of a pass). Drift from other writers is the
    // periodic resync's to repair, as between passes; a drain in progress, leftovers to look for, or a table not
    // known exactly (a failed listing) take the full pass.
    const healthOnly = this.observedCurrent && !this.leftoversPending && this.drainState.entries.size === 0
      && isHealthOnly(reason);
    let observed: readonly ObservedService[] = [];
    let index: ReadonlyMap<string, ObservedEntry> = this.observed;
    if (!healthOnly) {
      try {
        observed = await backend.list(TABLE_PASS_LISTING);
      } catch (err) {
        this.observedCurrent = false;
        return this.failPass(reason, at, t0, `cannot list the kernel table: ${errorMessage(err)}`);
      }
      index = this.observe(observed, at);
    }
    const config = this.config; // read after the dump: a config applied meanwhile is used at once
    if (this.leftoversPending) {
      this.leftoversPending = false;
      this.drainLeftovers(index);
    }
    const now = clock.monotonic(); // one time for the drains and the slow-start steps of this pass
    const { drainState, finished, decision, want, ops } = planPass({
      decide: this.decideBase(config, now), drainState: this.drainState, observed, index, now,
      drainTimeoutMs: this.drainTimeoutMs, managed: (id) => this.managed.has(id),
    });
    this.drainState = drainState;
    for (const { entry, why } of finished) {
      this.log.info({ drain: entry.id, why }, `drain of ${entry.id} ended (${why})`);
      this.emit({ type: 'drain', at: clock.now(), id: entry.id, phase: 'end', why });
    }
    const fingerprint = JSON.stringify(want);
    const driftPass = fingerprint === this.settled;
    let failures: Map<IpvsOp, string>;
    let converged = 0;
    try {
      const applied = await applyPlan(backend, ops);
      failures = new Map(applied.failed.map((f) => [f.op, f.errno]));
      converged = applied.converged;
    } catch (err) {
      this.settled = undefined;
      this.observedCurrent = false;
      return this.failPass(reason, at, t0, `cannot write the kernel table: ${errorMessage(err)}`);
    }
    const drift = this.report(ops, failures, decision, driftPass);
    for (const id of [...this.drainInfo.keys()]) {
      const service = id.split(' ')[0] ?? id;
      if (!this.drainState.entries.has(id) && !this.drainState.entries.has(service)) this.drainInfo.delete(id);
    }
    this.settled = failures.size === 0 ? fingerprint : undefined;
    const newlyRefused = [...failures].filter(([op]) => !this.lastFailed.has(describeOp(op))).map(([op, errno]) => `${describeOp(op)}: ${errno}`);
    this.lastFailed = new Set([...failures.keys()].map(describeOp));
    if (ops.length > 0) {
      // Every operation done: the table is what the pass started from plus them (no second dump). Anything else (a
      // refusal, an entry found already there, maybe otherwise) is looked at in the kernel.
      if (failures.size === 0 && converged === 0) {
        this.observed = afterOps(index, ops);
      } else {
        const after = await backend.list(TABLE_PASS_LISTING).catch(() => undefined);
        if (after) this.observe(after, clock.now());
        else this.observedCurrent = false;
      }
    }
    this.forgetGone(config);
    this.decision = decision;
    this.ramps = decision.ramps;
    this.rampsDecidedAt = now;
    this.trackDecisions(decision);
    this.quorumEdges(config, decision);
    const durationMs = clock.monotonic() - t0;
    this.counters.lastSyncDurationMs = durationMs;
    const ok = failures.size === 0;
    this.lastSync = {
      at, reason, ok, durationMs, ops: ops.length, failed: failures.size, virtuals: config.virtualServices.length,
      ...(failures.size > 0 ? { refused: refusedOps(failures), virtualsRefused: refusedServices(failures) } : {}),
    };
    const level = ops.length > 0 ? 'info' : 'debug';
    this.log[level]({ reason, ops: ops.length, failed: failures.size, drift, durationMs }, 'sync done');
    this.emit({ type: 'sync', at, reason, ok, durationMs, ops: ops.length, failed: failures.size, drift });
    return { ok, reason, ops, failed: failures.size, drift, durationMs, ...(newlyRefused.length > 0 ? { newlyRefused } : {}) };
  }

  private failPass(reason: string, at: number, t0: number, error: string): SyncReport {
    const durationMs = this.options.clock.monotonic() - t0;
    this.counters.syncErrors++;
    this.counters.lastSyncDurationMs = durationMs;
    this.lastSync = { at, reason, ok: false, durationMs, ops: 0, failed: 0, error };
    this.log.error({ reason }, error);
    this.emit({ type: 'sync', at, reason, ok: false, durationMs, ops: 0, failed: 0, drift: 0, error });
    return { ok: false, reason, ops: [], failed: 0, drift: 0, durationMs, error };
  }

  private observe(observed: readonly ObservedService[], at: number): Map<string, ObservedEntry> {
    const index = indexObserved(observed);
    this.observed = index;
    this.observedCurrent = true;
    this.listedAt = at;
    return index;
  }

  /** Logs, counts and emits each operation; returns how many repaired drift. */
  private report(ops: readonly IpvsOp[], refused: ReadonlyMap<IpvsOp, string>, decision: Decision, unchangedSinceConverged: boolean): number {
    const records = describeOps(ops, refused, {
      decision, lastFailed: this.lastFailed, unchangedSinceConverged, isDraining: (id) => this.drainInfo.has(id),
    });
    const at = this.options.clock.now();
    let drift = 0;
    for (const r of records) {
      const fields = { vs: r.virtualId, ...(r.destination !== undefined ? { rs: r.destination } : {}), ...(r.role ? { role: r.role } : {}), ...(r.reason ? { decision: r.reason } : {}) };
      if (r.failed) {
        this.counters.opsFailed++;
        this.log.warn({ ...fields, errno: r.errno }, `${r.text} refused by the kernel (${r.errno ?? '?'}); retried on the next sync`);
      } else {
        this.counters.opsApplied[r.op.op]++;
        if (r.retry) this.counters.retries++;
        if (r.drift) {
          drift++;
          this.counters.driftRepairs++;
          this.log.warn(fields, `kernel table changed outside ldir; repaired: ${r.text}`);
        } else this.log.info(fields, r.text);
      }
      const op = r.op;
      this.emit({
        type: 'op', at, op: op.op, virtualId: r.virtualId, ...(r.destination !== undefined ? { destination: r.destination } : {}),
        ...(r.role ? { role: r.role } : {}), ...(r.realKey !== undefined ? { realKey: r.realKey } : {}), ...(r.reason ? { reason: r.reason } : {}),
        ...(op.op === 'add-destination' || op.op === 'edit-destination' ? { weight: op.destination.weight } : {}),
        ok: !r.failed, drift: r.drift, ...(r.errno !== undefined ? { errno: r.errno } : {}),
      });
    }
    return drift;
  }

  /** Drops services that left the config, are not draining and are gone from the kernel. */
  private forgetGone(config: Config): void {
    const configured = new Set(config.virtualServices.map((v) => v.id));
    for (const id of [...this.managed.keys()]) {
      if (this.targets.has(id) || configured.has(id) || this.drainState.entries.has(id) || this.observed.has(id)) continue;
      this.managed.delete(id);
    }
  }

  private trackDecisions(decision: Decision): void {
    const now = this.options.clock.now();
    for (const v of decision.virtuals) {
      for (const r of v.reals) {
        const pk = pairKey(v.virtualId, r.realKey);
        const sig = `${r.reason}/${r.desiredWeight ?? '-'}`;
        if (this.decided.get(pk)?.sig !== sig) this.decided.set(pk, { sig, since: now });
      }
    }
  }

  /**
   * Quorum edges (by default: no real up ⇔ below the quorum ⇔ fallback in): events, logs, fallbackcommand and the
   * quorum commands, each run once per change, the first decided state included ({@link quorumChanges}).
   */
  private quorumEdges(config: Config, decision: Decision): void {
    const at = this.options.clock.now();
    const changes = quorumChanges(config, decision, this.quorumDecided, (id) => this.commands.lastAction(id), (id) => this.quorumCommands.lastAction(id));
    for (const change of changes) {
      const { virtual: v, active, quorum: q } = change;
      this.quorumDecided.set(v.id, q.state);
      if (change.changed) {
        if (v.quorum !== undefined) {
          const counts = `${q.serving} serving, quorum ${q.quorum}${q.hysteresis > 0 ? ` ± ${q.hysteresis}` : ''}`;
          this.log.info({ vs: v.id, serving: q.serving, quorum: q.quorum }, active ? `quorum lost (${counts})` : `quorum gained (${counts})`);
        }
        this.emit({
          type: 'quorum', at, virtualId: v.id, state: q.state, ...(change.previous !== undefined ? { previous: change.previous } : {}),
          serving: q.serving, quorum: q.quorum, hysteresis: q.hysteresis,
        });
      }
      if (change.edge) {
        const what = v.quorum === undefined ? (active ? 'no real server up' : 'a real server is up') : active ? 'below quorum' : 'quorum met';
        this.log.info({ vs: v.id }, `${what}: fallback ${active ? 'in' : 'out'}`);
        this.emit({ type: 'fallback', at, virtualId: v.id, active });
      }
      this.commands.update(v, active ? 'start' : 'stop');
      this.quorumCommands.update(v, q.state, { serving: q.serving, quorum: q.quorum });
    }
  }

  private emit(event: EngineEvent): void {
    if (!this.options.onEvent) return;
    try {
      this.options.onEvent(event);
    } catch (err) {
      this.log.warn({ err: errorMessage(err), event: event.type }, 'engine event listener threw');
    }
  }
}
