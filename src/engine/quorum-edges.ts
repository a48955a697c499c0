// Pure: each decided virtual's quorum (fallback mode below it), its edges and the commands they run.
import type { Config, VirtualService } from '../model';
import type { Decision } from './decide';
import { quorumCommandOf, type FallbackAction } from './fallback-command';
import type { DecidedQuorum, QuorumDecision } from './quorum';

/** The quorum a pass decides for one virtual, and what follows from it. */
export interface QuorumChange {
  readonly virtual: VirtualService;
  /** The quorum as decided (never `pending`: pending virtuals keep their state and are not listed). */
  readonly quorum: QuorumDecision & { readonly state: DecidedQuorum };
  /** The state decided before; undefined for the first one. */
  readonly previous?: DecidedQuorum;
  /** The quorum state changed (the first decided state included): logged and reported as a `quorum` event. */
  readonly changed: boolean;
  /** Below the quorum: the virtual is in fallback mode. */
  readonly active: boolean;
  /** The fallback mode changed (the first decided state counts when it is fallback mode): a `fallback` event. */
  readonly edge: boolean;
  /** The `fallbackcommand` action that runs (once per change of action, the first decided state included). */
  readonly command?: FallbackAction;
  /** The quorum command that runs (`up`/`down`: once per change of state, the first decided state included). */
  readonly quorumCommand?: DecidedQuorum;
}

/**
 * The quorum of every virtual of `config` whose state `decision` has decided, compared with `decided` (the states as
 * last decided, by virtual id) and the last actions of the two commands. The engine applies it at the end of each
 * pass; a reload preview shows it. With the default quorum (1, no hysteresis) this is ldirectord's fallback rule.
 */
export function quorumChanges(
  config: Config,
  decision: Decision,
  decided: ReadonlyMap<string, DecidedQuorum>,
  lastFallbackAction: (virtualId: string) => FallbackAction | undefined,
  lastQuorumAction: (virtualId: string) => DecidedQuorum | undefined,
): QuorumChange[] {
  const byId = new Map<string, VirtualService>(config.virtualServices.map((v) => [v.id, v]));
  const out: QuorumChange[] = [];
  for (const d of decision.virtuals) {
    const state = d.quorum.state;
    if (state === 'pending') continue;
    const virtual = byId.get(d.virtualId);
    if (!virtual) continue;
    const previous = decided.get(d.virtualId);
    const active = state === 'down';
    const action: FallbackAction = active ? 'start' : 'stop';
    const runs = virtual.fallbackCommand !== undefined && lastFallbackAction(virtual.id) !== action;
    const runsQuorum = quorumCommandOf(virtual, state) !== undefined && lastQuorumAction(virtual.id) !== state;
    out.push({
      virtual,
      quorum: { ...d.quorum, state },
      ...(previous !== undefined ? { previous } : {}),
      changed: previous !== state,
      active,
      edge: previous !== state && (previous !== undefined || active),
      ...(runs ? { command: action } : {}),
      ...(runsQuorum ? { quorumCommand: state } : {}),
    });
  }
  return out;
}
