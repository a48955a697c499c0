// Pure: a virtual's quorum state from its serving reals, its thresholds and the state decided before (hysteresis).
import type { QuorumThresholds } from '../model';

/**
 * Whether a virtual has its quorum: `up` (enough serving reals), `down` (not enough: `quorumdowncommand` has run and
 * the fallback, when there is one, takes new connections), `pending` (not enough yet, but reals without a check
 * result could still make it up: nothing is decided, nothing runs).
 */
export type QuorumState = 'up' | 'down' | 'pending';

/** A decided quorum state, the one {@link nextQuorumState} remembers: `pending` decides nothing. */
export type DecidedQuorum = Exclude<QuorumState, 'pending'>;

/** The quorum of one virtual as decided in a pass. */
export interface QuorumDecision extends QuorumThresholds {
  readonly state: QuorumState;
  /** Reals that count: up and not drained by hand (or, before their first check, in the kernel with a weight). */
  readonly serving: number;
  /** Reals with no check result yet that do not serve. */
  readonly unknown: number;
}

/**
 * The quorum state after a pass. The quorum is gained at `gainAt` serving reals (quorum + hysteresis) and lost below
 * `loseBelow` (quorum − hysteresis), as keepalived's `update_quorum_state`; with no decided state before (start, a new
 * virtual) the plain quorum decides. While the quorum is not met and reals without a result could still meet it, the
 * state is `pending`. With the defaults (quorum 1, hysteresis 0) this is ldirectord's fallback rule: down when no
 * real is up and every real is known, pending while none is up and some are unknown.
 */
export function nextQuorumState(
  previous: DecidedQuorum | undefined,
  serving: number,
  unknown: number,
  t: QuorumThresholds,
): QuorumState {
  const needed = previous === 'up' ? t.loseBelow : previous === 'down' ? t.gainAt : t.quorum;
  if (serving >= needed) return 'up';
  return unknown > 0 && serving + unknown >= needed ? 'pending' : 'down';
}
