// Which checks have given no result for too long (the checker watchdog's `checks-overdue`), counted without a list
// per identity and, while nothing can be overdue yet, without a walk at all: `ping` and `/healthz` ask it every time.
import type { CheckMember } from './jobs';

/** The pair longest without a result among the overdue ones. */
export interface WorstOverdue {
  readonly member: CheckMember;
  /** Milliseconds since its last result (or since its check started when it has had none). */
  readonly ageMs: number;
  /** Its limit: the factor × (interval + timeout) of its check, in milliseconds. */
  readonly limitMs: number;
}

/** How many (virtual, real) pairs are overdue, and the worst; `worst` absent when none is. */
export interface OverdueChecks {
  readonly reals: number;
  readonly worst?: WorstOverdue;
}

/** Nothing overdue. */
export const NONE_OVERDUE: OverdueChecks = { reals: 0 };

/**
 * Receives one check identity of a scan: its pairs, the monotonic time its age counts from (its last result, else
 * its start), its interval and round timeout, and whether it is exempt (runs nothing, or forced down by maintenance).
 */
export type OverdueVisit = (
  members: readonly CheckMember[],
  since: number,
  intervalMs: number,
  timeoutMs: number,
  exempt: boolean,
) => void;

/**
 * Adds up overdue checks one identity at a time: one of them is overdue when `now - since > factor × (interval +
 * timeout)` (strict: an age equal to its limit is still fine). Also keeps the earliest moment a check not overdue now
 * would become so ({@link quietUntil}).
 */
export class OverdueTally {
  private reals = 0;
  private worst: WorstOverdue | undefined;
  /** The earliest moment (monotonic) at which a check that is fine now would become overdue; +Infinity when none. */
  quietUntil = Number.POSITIVE_INFINITY;

  constructor(
    private readonly now: number,
    private readonly factor: number,
  ) {}

  /** Counts one identity (an {@link OverdueVisit}). */
  readonly visit: OverdueVisit = (members, since, intervalMs, timeoutMs, exempt) => {
    if (exempt || members.length === 0) return;
    const ageMs = this.now - since;
    const limitMs = this.factor * (intervalMs + timeoutMs);
    if (!(ageMs > limitMs)) {
      const due = since + limitMs;
      if (due < this.quietUntil) this.quietUntil = due;
      return;
    }
    this.reals += members.length;
    if (!this.worst || ageMs > this.worst.ageMs) this.worst = { member: members[0] as CheckMember, ageMs, limitMs };
  };

  /** The count so far. */
  result(): OverdueChecks {
    return this.worst ? { reals: this.reals, worst: this.worst } : NONE_OVERDUE;
  }
}

/**
 * Answers "which checks are overdue now" from a scan of every identity, and skips the scan while none can be: after a
 * scan that found none overdue, no check can become overdue before the earliest limit it saw ({@link
 * OverdueTally.quietUntil}), as long as no identity was added, lost its exemption or lost the engine's record of its
 * last round (each calls {@link invalidate}). A result only makes a check fresher; an identity removed only raises the
 * bound. So a read at 100,000 reals walks them about once per check interval instead of on every `ping`.
 */
export class OverdueWatch {
  private quietUntil = Number.NEGATIVE_INFINITY;
  private factor = Number.NaN;
  /** Scans made (for tests and benchmarks: a read inside the quiet bound makes none). */
  scans = 0;

  /** Forgets the bound: the next read scans. */
  invalidate(): void {
    this.quietUntil = Number.NEGATIVE_INFINITY;
  }

  /**
   * The overdue checks at `now` (monotonic) with limits of `factor` × (interval + timeout); `scan` visits every
   * identity when the bound does not already say that none is overdue.
   */
  read(now: number, factor: number, scan: (visit: OverdueVisit) => void): OverdueChecks {
    if (factor === this.factor && now <= this.quietUntil) return NONE_OVERDUE;
    const tally = new OverdueTally(now, factor);
    scan(tally.visit);
    this.scans++;
    const result = tally.result();
    this.factor = factor;
    this.quietUntil = result.reals === 0 ? tally.quietUntil : Number.NEGATIVE_INFINITY;
    return result;
  }
}
