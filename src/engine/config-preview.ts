// What a reload would do now: the reload's own pure functions over the engine's state and a fresh dump, nothing done.
import type { Config, VirtualService } from '../model';
import { pairKey, realKey } from '../model/health';
import { configDrains, leftoverTargets } from './config-drains';
import type { DecideInput } from './decide';
import { beginDrain, drainId, type DrainEntry, type DrainState, type DrainTarget } from './drain';
import type { AwaitingCheck, EnginePreview, FallbackCommandPreview, QuorumCommandPreview } from './engine-types';
import type { FallbackAction, FallbackCommands, QuorumCommandDetail, QuorumCommands } from './fallback-command';
import type { ObservedEntry } from './observed';
import { describeOps } from './op-report';
import { planPass } from './pass-plan';
import { sameFingerprint, tableFingerprint, type TableFingerprint } from './table-fingerprint';
import type { DecidedQuorum } from './quorum';
import { quorumChanges } from './quorum-edges';
import { configTargets, type ConfigTargets } from './targets';

/** The engine's state a preview reads (and never changes). */
export interface PreviewState {
  /** The configuration in force, if any. */
  readonly config: Config | undefined;
  readonly targets: ConfigTargets;
  readonly drainState: DrainState;
  /** True for the id of a drain the engine reports (a reload's removal or a leftover). */
  readonly isDraining: (id: string) => boolean;
  /** The next pass looks for leftovers of a previous daemon (a fresh start). */
  readonly leftoversPending: boolean;
  /** True for the id of a service the engine manages. */
  readonly managed: (serviceId: string) => boolean;
  /** The operations the last pass saw refused ({@link describeOp}). */
  readonly lastFailed: ReadonlySet<string>;
  /** The fingerprint of the desired table the last pass converged on. */
  readonly settled: TableFingerprint | undefined;
  readonly quorumDecided: ReadonlyMap<string, DecidedQuorum>;
  readonly commands: FallbackCommands;
  readonly quorumCommands: QuorumCommands;
  /** decide's input besides the drains and the kernel table, at `now`. */
  readonly decideBase: (config: Config, now: number) => Omit<DecideInput, 'draining' | 'observed' | 'observedIndex'>;
}

/** What is previewed: the configuration, its drain policy, the dump indexed and the time (monotonic). */
export interface PreviewInput {
  readonly config: Config;
  readonly drainEnabled: boolean;
  readonly drainTimeoutMs: number;
  readonly index: ReadonlyMap<string, ObservedEntry>;
  readonly now: number;
}

/** The target of a drain entry, without its id and start. */
const targetOf = ({ id: _id, since: _since, ...target }: DrainEntry): DrainTarget => target;

/**
 * What applying `input.config` would do now, but the sync daemons' plan: {@link configDrains}, the leftovers of a
 * fresh start, {@link planPass}, {@link quorumChanges} and the command lines the runners would run. Pure.
 */
export function previewReload(state: PreviewState, input: PreviewInput): Omit<EnginePreview, 'syncDaemons'> {
  const { config, index, now, drainTimeoutMs } = input;
  const before = state.targets;
  const after = configTargets(config);
  const drains = configDrains({
    before,
    after,
    state: state.drainState,
    drainRemoved: input.drainEnabled && state.config !== undefined,
    observed: index,
    now,
  });
  let drainState = drains.state;
  const begun = [...drains.begun];
  if (input.drainEnabled && (state.leftoversPending || !state.config)) {
    const leftovers = leftoverTargets(after, index, drainState);
    drainState = beginDrain(drainState, leftovers, now);
    begun.push(...leftovers);
  }
  const plan = planPass({
    decide: state.decideBase(config, now),
    drainState,
    index,
    now,
    drainTimeoutMs,
    managed: (id) => state.managed(id) || after.has(id),
  });
  const leaving = new Set([...before.keys()].filter((id) => !after.has(id)));
  const begunIds = new Set(begun.map(drainId));
  const ops = describeOps(plan.ops, new Map(), {
    decision: plan.decision,
    lastFailed: state.lastFailed,
    unchangedSinceConverged: sameFingerprint(tableFingerprint(plan.want), state.settled),
    isDraining: (id) => state.isDraining(id) || leaving.has(id) || begunIds.has(id),
  });
  const kept = new Set(config.virtualServices.map((v) => v.id));
  const { commands, quorumCommands } = state;
  // The command lines are the runners' own (a preview runs nothing but must show what would run).
  const command = (v: VirtualService, action: FallbackAction): FallbackCommandPreview | undefined => {
    const argv = commands.argv(v, action);
    return argv && { virtualId: v.id, action, argv };
  };
  const quorumCommand = (
    v: VirtualService,
    action: DecidedQuorum,
    detail?: QuorumCommandDetail,
  ): QuorumCommandPreview | undefined => {
    const argv = quorumCommands.argv(v, action, detail);
    return argv && { virtualId: v.id, action, argv };
  };
  const removed = (state.config?.virtualServices ?? []).filter((v) => !kept.has(v.id));
  const retiredCommands = removed
    .filter((v) => commands.lastAction(v.id) === 'start')
    .flatMap((v) => command(v, 'stop') ?? []);
  const retiredQuorumCommands = removed
    .filter((v) => quorumCommands.lastAction(v.id) === 'up')
    .flatMap((v) => quorumCommand(v, 'down') ?? []);
  const fallback = quorumChanges(
    config,
    plan.decision,
    state.quorumDecided,
    (id) => commands.lastAction(id),
    (id) => quorumCommands.lastAction(id),
  )
    .filter((c) => c.edge || c.changed || c.command !== undefined || c.quorumCommand !== undefined)
    .map((c) => {
      const fallbackRun = c.command !== undefined ? command(c.virtual, c.command) : undefined;
      const quorumRun =
        c.quorumCommand !== undefined
          ? quorumCommand(c.virtual, c.quorumCommand, { serving: c.quorum.serving, quorum: c.quorum.quorum })
          : undefined;
      return {
        virtualId: c.virtual.id,
        active: c.active,
        edge: c.edge,
        ...(fallbackRun ? { command: fallbackRun } : {}),
        ...(c.changed && c.virtual.quorum !== undefined
          ? {
              quorum: {
                state: c.quorum.state,
                serving: c.quorum.serving,
                quorum: c.quorum.quorum,
                hysteresis: c.quorum.hysteresis,
              },
            }
          : {}),
        ...(quorumRun ? { quorumCommand: quorumRun } : {}),
      };
    });
  const known = new Set(
    (state.config?.virtualServices ?? []).flatMap((v) => v.reals.map((r) => pairKey(v.id, realKey(r.address, r.port)))),
  );
  const awaitingCheck = plan.decision.virtuals.flatMap((v) =>
    v.reals
      .filter((r) => r.health === 'unknown' && !known.has(pairKey(v.virtualId, r.realKey)))
      .map(
        (r): AwaitingCheck => ({
          virtualId: v.virtualId,
          realKey: r.realKey,
          destinationId: r.destinationId,
          configuredWeight: r.configuredWeight,
          reason: r.reason,
          ...(r.desiredWeight !== undefined ? { desiredWeight: r.desiredWeight } : {}),
        }),
      ),
  );
  return {
    drainsCancelled: drains.cancelled.map(targetOf),
    drainsBegun: begun,
    drainTimeoutMs,
    retiredCommands,
    retiredQuorumCommands,
    drainsEnded: plan.finished.map(({ entry, why }) => ({ target: targetOf(entry), why })),
    ops,
    fallback,
    awaitingCheck,
  };
}
