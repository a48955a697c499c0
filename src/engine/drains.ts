// The drains the engine runs: the drain policy, the drain state machine's state, and what status shows of each drain.
import type { Clock } from '../clock';
import { serviceKeyString } from '../ipvs/normalize';
import { configDrains, leftoverTargets } from './config-drains';
import { beginDrain, drainId, EMPTY_DRAIN, type DrainState, type FinishedDrain } from './drain';
import type { EngineReporter } from './engine-reporter';
import type { DrainPolicy } from './engine-types';
import type { ObservedEntry } from './observed';
import type { HealthRecord } from './status';
import type { ConfigTarget, ConfigTargets } from './targets';

/** What `ldir status` shows of a drained entry: the virtual and real it was, and its last health. */
export type DrainInfo = ConfigTarget & { health?: HealthRecord };

/**
 * The engine's drains: what a reload removes (or a fresh start finds left over) drains at weight 0 until idle or
 * `timeoutMs`, or goes at once when draining is off. Each begin, cancel and end is reported.
 */
export class Drains {
  enabled: boolean;
  timeoutMs: number;
  /** Everything draining (see {@link stepDrain}, run by the pass). */
  state: DrainState = EMPTY_DRAIN;
  /** What status shows of each drain, by drain id (kept until its drain ended and the pass after it). */
  readonly info = new Map<string, DrainInfo>();

  constructor(
    policy: DrainPolicy,
    private readonly reporter: EngineReporter,
    private readonly clock: Clock,
  ) {
    this.enabled = policy.enabled;
    this.timeoutMs = policy.timeoutMs;
  }

  /** Sets the policy of the next removals; drains already running keep going, with the new timeout. */
  setPolicy(policy: DrainPolicy): void {
    this.enabled = policy.enabled;
    this.timeoutMs = Math.max(0, policy.timeoutMs);
  }

  /** True while anything drains. */
  active(): boolean {
    return this.state.entries.size > 0;
  }

  /**
   * A configuration replaces `before` by `after`: what it removes drains (when draining is on and a configuration was
   * in force: `drainRemoved`), what comes back stops draining ({@link configDrains}). `healthOf` gives a removed
   * real's last health for status.
   */
  reload(
    before: ConfigTargets,
    after: ConfigTargets,
    observed: ReadonlyMap<string, ObservedEntry>,
    drainRemoved: boolean,
    healthOf: (virtualId: string, real: { address: string; port: number }) => HealthRecord | undefined,
  ): void {
    const now = this.clock.monotonic();
    for (const [id, t] of before) {
      if (after.has(id)) continue;
      const health = t.real ? healthOf(t.virtual.id, t.real) : undefined;
      this.info.set(id, { ...t, ...(health ? { health } : {}) });
    }
    const drains = configDrains({
      before,
      after,
      state: this.state,
      drainRemoved: this.enabled && drainRemoved,
      observed,
      now,
    });
    this.state = drains.state;
    for (const e of drains.cancelled) this.reporter.drainCancelled(e.id);
    for (const id of drains.begun.map(drainId)) this.reporter.drainBegun(id, this.timeoutMs, false);
  }

  /**
   * At a fresh start (not a hand-over, which brings its drains along): destinations in the configured services that
   * the configuration does not want were left by a daemon that was killed or stopped with `cleanstop=no` while they
   * drained (or by a configuration edited meanwhile). They drain as a reload's removals do, rather than being deleted
   * under their connections; with `drain=no` they go at once.
   */
  beginLeftovers(targets: ConfigTargets, index: ReadonlyMap<string, ObservedEntry>): void {
    if (!this.enabled) return;
    const leftovers = leftoverTargets(targets, index, this.state);
    if (leftovers.length === 0) return;
    this.state = beginDrain(this.state, leftovers, this.clock.monotonic());
    for (const target of leftovers) {
      const id = drainId(target);
      this.info.set(id, { target, virtual: (targets.get(serviceKeyString(target.service)) as ConfigTarget).virtual });
      this.reporter.drainBegun(id, this.timeoutMs, true);
    }
  }

  /** The state after a pass's drain step, and the drains that ended there (reported). */
  stepped(state: DrainState, finished: readonly FinishedDrain[]): void {
    this.state = state;
    for (const { entry, why } of finished) this.reporter.drainEnded(entry.id, why);
  }

  /** Forgets what status showed of drains that ended (after the pass has reported its operations). */
  forgetEnded(): void {
    for (const id of [...this.info.keys()]) {
      const service = id.split(' ')[0] ?? id;
      if (!this.state.entries.has(id) && !this.state.entries.has(service)) this.info.delete(id);
    }
  }
}
