// One table pass of the engine, and what the passes keep between them: the table as last known, the last decision
// and its ramps, what the kernel refused, and whether leftovers of a previous daemon are still to be looked for.
import type { Clock } from '../clock';
import { errorMessage } from '../errors';
import type { IpvsBackend, IpvsOp, ObservedService, ServiceKey } from '../ipvs/types';
import type { Config } from '../model';
import { applyPlan } from './apply-plan';
import type { DecideInput, Decision } from './decide';
import type { DecisionAges } from './decision-ages';
import type { Drains } from './drains';
import type { EngineReporter } from './engine-reporter';
import type { SyncReport } from './engine-types';
import type { FallbackCommands, QuorumCommands } from './fallback-command';
import type { HandSettings } from './hand-settings';
import type { Health } from '../model/health';
import { SliceYielder } from '../system/slice-yielder';
import { afterOpsSliced, KnownTable, type ObservedEntry } from './observed';
import { describeOp, describeOpsInParts } from './op-report';
import { planPassSliced } from './pass-plan-sliced';
import type { DecidedQuorum } from './quorum';
import { quorumChanges } from './quorum-edges';
import type { Ramp } from './slow-start';
import type { HealthRecord } from './status';
import { isHealthOnly, skippedReport } from './sync-loop';
import { sameFingerprint, type TableFingerprint } from './table-fingerprint';
import type { ConfigTargets } from './targets';

/** What a table pass reads of the kernel: settings and connection counts (the metrics read the traffic counters themselves). */
export const TABLE_PASS_LISTING = { stats: false } as const;

/** Reals from which a table pass gives the event loop turns (below, a pass takes a few milliseconds: one piece). */
export const SLICED_PASS_MIN_REALS = 1_000;

/** The default slices of a pass over `config`: a {@link SliceYielder} for a big table, none for a small one. */
function passYielder(config: Config): SliceYielder {
  const reals = config.virtualServices.reduce((n, v) => n + v.reals.length, 0);
  return new SliceYielder(reals >= SLICED_PASS_MIN_REALS ? undefined : Number.POSITIVE_INFINITY);
}

/** The engine's state and parts a pass reads and writes (owned by the {@link Engine}). */
export interface TablePassDeps {
  readonly backend: IpvsBackend;
  readonly clock: Clock;
  readonly reporter: EngineReporter;
  readonly drains: Drains;
  /** The configuration in force (read at the start of the pass and again after the dump). */
  readonly config: () => Config | undefined;
  readonly targets: () => ConfigTargets;
  /** Services ldir manages, with their cleanstop setting: the pass forgets those gone for good. */
  readonly managed: Map<string, { key: ServiceKey; cleanstop: boolean }>;
  /** Each virtual's quorum as last decided: the pass's quorum edges update it. */
  readonly quorumDecided: Map<string, DecidedQuorum>;
  readonly commands: FallbackCommands;
  readonly quorumCommands: QuorumCommands;
  readonly decisionAges: DecisionAges;
  /** Health of each pair, by pair key (the last transition). */
  readonly health: ReadonlyMap<string, HealthRecord>;
  /** Hand drains and runtime weights. */
  readonly hand: HandSettings;
  /** Weights the checks report, by pair key. */
  readonly checkWeights: ReadonlyMap<string, number>;
  /**
   * The slices of one pass (a new one per pass; default a {@link SliceYielder} of its default slice from
   * {@link SLICED_PASS_MIN_REALS} reals, none below): the dump's index, decide and plan, and the table after the
   * operations give the event loop a turn between them.
   */
  readonly yielder?: () => SliceYielder;
}

/**
 * The table passes of the engine ({@link TablePass.run}) and the state they keep between them. The engine runs them
 * one at a time (its sync loop) and reads that state for previews, status and carry-over.
 */
export class TablePass {
  /** The kernel table as last listed and written. */
  readonly table = new KnownTable();
  /** Fingerprint of the last desired table the kernel took whole: the operations of a pass that wants it again repair drift. */
  settled: TableFingerprint | undefined;
  /** Operations the kernel refused in the last pass ({@link describeOp}). */
  lastFailed = new Set<string>();
  decision: Decision | undefined;
  /** Slow-start ramps in progress by pair key, as the last pass decided them (monotonic times). */
  ramps: ReadonlyMap<string, Ramp> = new Map();
  /** The time (monotonic) the last pass decided its ramp steps at: the next step is counted from it, not from later. */
  rampsDecidedAt = 0;
  /** The first pass after a fresh start looks for leftovers of a previous daemon to drain (see {@link Drains.beginLeftovers}). */
  leftoversPending = false;

  constructor(private readonly deps: TablePassDeps) {}

  /**
   * decide's input besides the drains and the kernel table, from the engine's state at `now` (monotonic): the same for a
   * pass and a preview.
   */
  decideBase(config: Config, now: number): Omit<DecideInput, 'draining' | 'observed' | 'observedIndex'> {
    const health = new Map<string, Health>();
    for (const [k, h] of this.deps.health) health.set(k, h.health);
    // Copies: a pass reads them across turns of the event loop, while commands and checks change the engine's own.
    return {
      config,
      health,
      manualDrains: new Set(this.deps.hand.manualDrains),
      weightOverrides: new Map(this.deps.hand.weights),
      quorum: new Map(this.deps.quorumDecided),
      checkWeights: new Map(this.deps.checkWeights),
      slowStart: { now, ramps: this.ramps },
    };
  }

  /**
   * One table pass: list the kernel (or, for health changes only, plan from the table as last listed and written),
   * step the drains, decide, plan, apply, then record what the pass leaves for the next one and run the quorum edges.
   * Never rejects for a kernel failure: the report tells it.
   */
  async run(reason: string): Promise<SyncReport> {
    const { clock, backend } = this.deps;
    const first = this.deps.config();
    if (!first) return skippedReport(reason, 'no-config');
    const yielder = this.deps.yielder?.() ?? passYielder(first);
    const at = clock.now();
    const t0 = clock.monotonic();
    this.deps.reporter.passStarted();
    // A pass for health changes only plans from the table as ldir last listed and wrote it: one real's weight must
    // not wait for a dump of every destination (at 1,000 reals, most of a pass). Drift from other writers is the
    // periodic resync's to repair, as between passes; a drain in progress, leftovers to look for, or a table not
    // known exactly (a failed listing) take the full pass.
    const healthOnly =
      this.table.current && !this.leftoversPending && !this.deps.drains.active() && isHealthOnly(reason);
    let index: ReadonlyMap<string, ObservedEntry> = this.table.index;
    if (!healthOnly) {
      let observed: readonly ObservedService[];
      try {
        observed = await backend.list(TABLE_PASS_LISTING);
      } catch (err) {
        this.table.current = false;
        return this.deps.reporter.passFailed(reason, at, t0, `cannot list the kernel table: ${errorMessage(err)}`);
      }
      // the pass's one index of the dump: drain step, decide and plan read it
      index = await this.table.listedSliced(observed, at, yielder);
    }
    // read after the dump: a config applied meanwhile is used at once (a config is never unset once set)
    const config = this.deps.config() ?? first;
    if (this.leftoversPending) {
      this.leftoversPending = false;
      this.deps.drains.beginLeftovers(this.deps.targets(), index);
    }
    const now = clock.monotonic(); // one time for the drains and the slow-start steps of this pass
    // The plan gives the event loop turns (a big table): what others write meanwhile (health, hand settings, the
    // services ldir manages) is copied here, at its start; the drain step is recorded before the first turn.
    const managed = new Set(this.deps.managed.keys());
    const { decision, ops, fingerprint } = await planPassSliced(
      {
        decide: this.decideBase(config, now),
        drainState: this.deps.drains.state,
        index,
        now,
        drainTimeoutMs: this.deps.drains.timeoutMs,
        managed: (id) => managed.has(id),
      },
      yielder,
      (drainState, finished) => this.deps.drains.stepped(drainState, finished),
    );
    const driftPass = sameFingerprint(fingerprint, this.settled);
    let failures: Map<IpvsOp, string>;
    let converged = 0;
    try {
      const applied = await applyPlan(backend, ops);
      failures = new Map(applied.failed.map((f) => [f.op, f.errno]));
      converged = applied.converged;
    } catch (err) {
      this.settled = undefined;
      this.table.current = false;
      return this.deps.reporter.passFailed(reason, at, t0, `cannot write the kernel table: ${errorMessage(err)}`);
    }
    let drift = 0;
    const context = {
      decision,
      lastFailed: this.lastFailed,
      unchangedSinceConverged: driftPass,
      isDraining: (id: string) => this.deps.drains.info.has(id),
    };
    for await (const part of describeOpsInParts(ops, failures, context, yielder)) drift += this.deps.reporter.ops(part);
    this.deps.drains.forgetEnded();
    this.settled = failures.size === 0 ? fingerprint : undefined;
    const newlyRefused = [...failures]
      .filter(([op]) => !this.lastFailed.has(describeOp(op)))
      .map(([op, errno]) => `${describeOp(op)}: ${errno}`);
    this.lastFailed = new Set([...failures.keys()].map(describeOp));
    if (ops.length > 0) {
      // Every operation done: the table is what the pass started from plus them (no second dump). Anything else (a
      // refusal, an entry found already there, maybe otherwise) is looked at in the kernel.
      if (failures.size === 0 && converged === 0) {
        this.table.index = await afterOpsSliced(index, ops, yielder);
      } else {
        const after = await backend.list(TABLE_PASS_LISTING).catch(() => undefined);
        if (after) this.table.listed(after, clock.now());
        else this.table.current = false;
      }
    }
    this.forgetGone(config);
    this.decision = decision;
    this.ramps = decision.ramps;
    this.rampsDecidedAt = now;
    await this.deps.decisionAges.trackSliced(decision, clock.now(), yielder);
    this.quorumEdges(config, decision);
    return this.deps.reporter.passDone({
      reason,
      at,
      t0,
      ops,
      failures,
      drift,
      virtuals: config.virtualServices.length,
      newlyRefused,
    });
  }

  /** Drops services that left the config, are not draining and are gone from the kernel. */
  private forgetGone(config: Config): void {
    const configured = new Set(config.virtualServices.map((v) => v.id));
    const targets = this.deps.targets();
    for (const id of [...this.deps.managed.keys()]) {
      if (targets.has(id) || configured.has(id) || this.deps.drains.state.entries.has(id) || this.table.index.has(id))
        continue;
      this.deps.managed.delete(id);
    }
  }

  /**
   * Quorum edges (by default: no real up ⇔ below the quorum ⇔ fallback in): events, logs, fallbackcommand and the
   * quorum commands, each run once per change, the first decided state included ({@link quorumChanges}).
   */
  private quorumEdges(config: Config, decision: Decision): void {
    const at = this.deps.clock.now();
    const changes = quorumChanges(
      config,
      decision,
      this.deps.quorumDecided,
      (id) => this.deps.commands.lastAction(id),
      (id) => this.deps.quorumCommands.lastAction(id),
    );
    for (const change of changes) {
      const { virtual: v, active, quorum: q } = change;
      this.deps.quorumDecided.set(v.id, q.state);
      this.deps.reporter.quorum(change, at);
      this.deps.commands.update(v, active ? 'start' : 'stop');
      this.deps.quorumCommands.update(v, q.state, { serving: q.serving, quorum: q.quorum });
    }
  }
}
