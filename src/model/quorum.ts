// The quorum of a virtual service in real servers, from its settings and its configured reals.
import type { QuorumSettings } from './config';

/** A virtual's quorum in serving reals: gained at `gainAt` or more, lost below `loseBelow`. */
export interface QuorumThresholds {
  /** Serving reals the virtual needs (`quorum`, a percentage worked out over the configured reals). */
  readonly quorum: number;
  readonly hysteresis: number;
  /** quorum + hysteresis. */
  readonly gainAt: number;
  /** quorum − hysteresis (at least 1 when there is a quorum to lose: never "lost below 0"). */
  readonly loseBelow: number;
}

/**
 * The quorum of a virtual with settings `q` and `configuredReals` reals, in serving reals. Without `quorum`: one real, no hysteresis, which is ldirectord's fallback rule
 * (the fallback takes over when no real is up). A percentage is of the configured reals, rounded up, at least one.
 */
export function quorumThresholds(q: QuorumSettings | undefined, configuredReals: number): QuorumThresholds {
  const quorum =
    q === undefined
      ? 1
      : q.needed.kind === 'count'
        ? q.needed.value
        : Math.max(1, Math.ceil((q.needed.value * configuredReals) / 100));
  const hysteresis = q?.hysteresis ?? 0;
  return { quorum, hysteresis, gainAt: quorum + hysteresis, loseBelow: Math.max(1, quorum - hysteresis) };
}
