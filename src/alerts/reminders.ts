// ldirectord's `emailalertfreq` reminders: while a real server stays down, "Inaccessible real server" every N seconds.
// State is per (virtual, real) pair and survives reloads (ldirectord loses it on a reload in fork mode).
import type { Clock, TimerHandle } from '../clock';

/** One pair that is down and has reminders. */
export interface ReminderEntry {
  readonly pair: string;
  readonly virtualId: string;
  readonly realKey: string;
  /** Clock time (ms) of the last alert about it (the down event, then each reminder). */
  lastAt: number;
  /** Milliseconds between reminders. */
  freqMs: number;
}

/** Keeps the reminder schedule and calls `onDue` for each pair whose reminder is due. One timer for all pairs. */
export class Reminders {
  private readonly entries = new Map<string, ReminderEntry>();
  private timer: TimerHandle | undefined;
  private timerAt = Number.POSITIVE_INFINITY;

  constructor(
    private readonly clock: Clock,
    private readonly onDue: (entry: ReminderEntry) => void,
  ) {}

  /** Starts reminders for a pair that went down at clock time `at` (`freqMs` 0 = none, and forgets any). */
  arm(pair: string, virtualId: string, realKey: string, at: number, freqMs: number): void {
    if (freqMs <= 0) {
      this.disarm(pair);
      return;
    }
    this.entries.set(pair, { pair, virtualId, realKey, lastAt: at, freqMs });
    this.schedule();
  }

  /** Stops reminders for a pair (it came back up, or left the configuration). */
  disarm(pair: string): void {
    if (this.entries.delete(pair)) this.schedule();
  }

  /**
   * Applies a new configuration: `freqOf` gives each pair's new interval in milliseconds (0 = none, undefined = the
   * pair is gone). The schedule keeps its anchor: the next reminder is the last alert plus the new interval.
   */
  reconfigure(freqOf: (virtualId: string, realKey: string) => number | undefined): void {
    for (const [pair, e] of this.entries) {
      const freq = freqOf(e.virtualId, e.realKey);
      if (freq === undefined || freq <= 0) this.entries.delete(pair);
      else e.freqMs = freq;
    }
    this.schedule();
  }

  /** Pairs with reminders. */
  size(): number {
    return this.entries.size;
  }

  /** Cancels the timer and forgets everything. */
  stop(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    this.entries.clear();
  }

  private schedule(): void {
    let next = Number.POSITIVE_INFINITY;
    for (const e of this.entries.values()) next = Math.min(next, e.lastAt + e.freqMs);
    if (next === this.timerAt && this.timer !== undefined) return;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = next;
    if (next === Number.POSITIVE_INFINITY) return;
    this.timer = this.clock.setTimeout(() => this.fire(), Math.max(0, next - this.clock.now()));
  }

  private fire(): void {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    const now = this.clock.now();
    const due = [...this.entries.values()].filter((e) => now >= e.lastAt + e.freqMs);
    for (const e of due) {
      e.lastAt = now; // as ldirectord: the next reminder counts from this one
      this.onDue(e);
    }
    this.schedule();
  }
}
