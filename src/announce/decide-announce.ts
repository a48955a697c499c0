// Pure: which virtual addresses are announced to the routing daemon, from each virtual's quorum state and the clock.

/** Whether a virtual can serve, as the engine decided it: its quorum (default: at least one real up). */
export type ServeState = 'up' | 'down' | 'pending';

/** One announced virtual as {@link decideAnnounce} reads it. */
export interface AnnounceCandidate {
  readonly virtualId: string;
  /** Its address as a host prefix: `192.0.2.10/32`, `2001:db8::10/128`. */
  readonly prefix: string;
  /** `announcedelay` and `withdrawdelay`, in ms. */
  readonly delayMs: number;
  readonly withdrawDelayMs: number;
  readonly serve: ServeState;
}

/** What is remembered of one virtual between decisions: the last decided serve state and since when (monotonic ms). */
export interface AnnounceMemory {
  readonly serving: boolean;
  readonly since: number;
}

/**
 * Why a virtual votes as it does:
 * - `serving`: at or above its quorum (or a real up) for `announcedelay` or longer, or its prefix already announced;
 * - `not-serving`: below its quorum for `withdrawdelay` or longer, or its prefix not announced;
 * - `announce-delay`: serving, but not yet for `announcedelay` (the prefix is not announced yet);
 * - `withdraw-delay`: below its quorum, but not yet for `withdrawdelay` (the prefix stays announced meanwhile);
 * - `not-decided`: no quorum decided yet (start, new virtual): what the routing daemon holds is kept.
 */
export type AnnounceReason = 'serving' | 'not-serving' | 'announce-delay' | 'withdraw-delay' | 'not-decided';

/** How a virtual stands: its vote for its prefix, and when a pending change falls due. */
export type AnnounceState = 'announced' | 'withdrawn' | 'pending-announce' | 'pending-withdraw';

/** The decision for one virtual. */
export interface VirtualAnnounceDecision {
  readonly virtualId: string;
  readonly prefix: string;
  readonly state: AnnounceState;
  readonly reason: AnnounceReason;
  /** For a pending state: ms until the change (if nothing else changes meanwhile). */
  readonly dueInMs?: number;
}

/** The outcome of {@link decideAnnounce}. */
export interface AnnounceDecision {
  readonly virtuals: readonly VirtualAnnounceDecision[];
  /** The prefixes to announce: IPv4 first, then IPv6, each sorted, no repeats. */
  readonly prefixes: readonly string[];
  /** The memory to pass to the next decision. */
  readonly memory: ReadonlyMap<string, AnnounceMemory>;
  /** Ms until the earliest pending change: decide again then. Undefined when nothing is pending. */
  readonly nextInMs?: number;
}

/** What {@link decideAnnounce} reads. */
export interface AnnounceInput {
  readonly candidates: readonly AnnounceCandidate[];
  readonly memory: ReadonlyMap<string, AnnounceMemory>;
  /** The prefixes the routing daemon announces now (as last written). */
  readonly announced: ReadonlySet<string>;
  /** Monotonic ms. */
  readonly now: number;
}

/** IPv4 prefixes before IPv6 ones, each in string order (a stable file, a stable comparison). */
export function sortPrefixes(prefixes: Iterable<string>): string[] {
  return [...new Set(prefixes)].sort(
    (a, b) => Number(a.includes(':')) - Number(b.includes(':')) || (a < b ? -1 : a > b ? 1 : 0),
  );
}

/** The vote of one candidate (see {@link decideAnnounce}). */
function decideOne(
  c: AnnounceCandidate,
  memory: AnnounceMemory | undefined,
  held: boolean,
  now: number,
): {
  decision: VirtualAnnounceDecision;
  memory?: AnnounceMemory;
  vote: boolean;
} {
  const base = { virtualId: c.virtualId, prefix: c.prefix };
  if (c.serve === 'pending') {
    const decision: VirtualAnnounceDecision = {
      ...base,
      state: held ? 'announced' : 'withdrawn',
      reason: 'not-decided',
    };
    return { decision, vote: held, ...(memory ? { memory } : {}) };
  }
  const serving = c.serve === 'up';
  const m = memory?.serving === serving ? memory : { serving, since: now };
  const age = now - m.since;
  if (serving) {
    if (held || age >= c.delayMs)
      return { decision: { ...base, state: 'announced', reason: 'serving' }, memory: m, vote: true };
    return {
      decision: { ...base, state: 'pending-announce', reason: 'announce-delay', dueInMs: c.delayMs - age },
      memory: m,
      vote: false,
    };
  }
  if (!held || age >= c.withdrawDelayMs)
    return { decision: { ...base, state: 'withdrawn', reason: 'not-serving' }, memory: m, vote: false };
  return {
    decision: { ...base, state: 'pending-withdraw', reason: 'withdraw-delay', dueInMs: c.withdrawDelayMs - age },
    memory: m,
    vote: true,
  };
}

/**
 * The announced prefixes. Each candidate votes for its prefix:
 * - a virtual that can serve (quorum `up`) votes for it once it has served for its `announcedelay`, or at once when
 *   the prefix is already announced (a hold-down delays a change, it never withdraws what is announced);
 * - a virtual that cannot (`down`) votes against it once it has been down for its `withdrawdelay`, or at once when
 *   the prefix is not announced;
 * - a virtual not decided yet (`pending`: a start, a new virtual) keeps what the routing daemon holds: after a
 *   restart the successor's first decisions do not withdraw, and a fresh start announces nothing undecided.
 * A prefix is announced while any of its virtuals votes for it (virtuals sharing an address on other ports: see
 * docs/design-notes.md, "Route health injection"). The serve state's start time is kept in `memory` (a `pending`
 * state keeps it as it was); virtuals not among the candidates are forgotten.
 */
export function decideAnnounce(input: AnnounceInput): AnnounceDecision {
  const memory = new Map<string, AnnounceMemory>();
  const virtuals: VirtualAnnounceDecision[] = [];
  const prefixes: string[] = [];
  let nextInMs: number | undefined;
  for (const c of input.candidates) {
    const one = decideOne(c, input.memory.get(c.virtualId), input.announced.has(c.prefix), input.now);
    if (one.memory) memory.set(c.virtualId, one.memory);
    virtuals.push(one.decision);
    if (one.vote) prefixes.push(c.prefix);
    const due = one.decision.dueInMs;
    if (due !== undefined && (nextInMs === undefined || due < nextInMs)) nextInMs = due;
  }
  return { virtuals, prefixes: sortPrefixes(prefixes), memory, ...(nextInMs !== undefined ? { nextInMs } : {}) };
}
