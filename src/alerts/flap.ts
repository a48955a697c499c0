// Flap detection per (virtual, real) pair: too many health changes within a period make it flapping; its further
// changes are counted and reported once per period until a whole period passes without one.
import type { Clock, TimerHandle } from '../clock';

/** Flap settings in milliseconds; `changes` 0 turns detection off. */
export interface FlapSettings {
  readonly changes: number;
  readonly periodMs: number;
}

/** What to do with one change: mail it, mail that the pair starts flapping, or fold it into the next summary. */
export type FlapVerdict = 'mail' | 'flap-start' | 'summarised';

/** What a period of a flapping pair ends with: changes to summarise, or stability (flapping ends). */
export type FlapTick = { readonly kind: 'summary'; readonly changes: number } | { readonly kind: 'stable' };

interface PairFlaps {
  /** Clock times (ms) of recent changes, oldest first. */
  times: number[];
  flapping: boolean;
  /** Changes since the last summary. */
  folded: number;
  timer?: TimerHandle | undefined;
}

/** Tracks changes per pair key and calls `onTick` at the end of each period of a flapping pair. */
export class FlapDetector {
  private readonly pairs = new Map<string, PairFlaps>();

  constructor(
    private readonly clock: Clock,
    private settings: FlapSettings,
    private readonly onTick: (pair: string, tick: FlapTick) => void,
  ) {}

  /** New settings (a reload); pairs already flapping finish their current period first. */
  setSettings(settings: FlapSettings): void {
    this.settings = settings;
  }

  /** Notes a change of `pair` at clock time `at` and says how to report it. */
  note(pair: string, at: number): FlapVerdict {
    const { changes, periodMs } = this.settings;
    let p = this.pairs.get(pair);
    if (p?.flapping) {
      p.folded++;
      return 'summarised';
    }
    if (changes <= 0) return 'mail';
    if (!p) {
      p = { times: [], flapping: false, folded: 0 };
      this.pairs.set(pair, p);
    }
    p.times = p.times.filter((t) => t > at - periodMs);
    p.times.push(at);
    if (p.times.length < changes) return 'mail';
    p.flapping = true;
    p.folded = 0;
    p.times = [];
    this.arm(pair, p);
    return 'flap-start';
  }

  /** True while `pair` is flapping. */
  isFlapping(pair: string): boolean {
    return this.pairs.get(pair)?.flapping ?? false;
  }

  /** Forgets a pair (removed from the configuration). */
  forget(pair: string): void {
    const p = this.pairs.get(pair);
    if (p?.timer !== undefined) this.clock.clearTimeout(p.timer);
    this.pairs.delete(pair);
  }

  /** Pair keys known to the detector. */
  keys(): string[] {
    return [...this.pairs.keys()];
  }

  /** Cancels every timer. */
  stop(): void {
    for (const p of this.pairs.values()) if (p.timer !== undefined) this.clock.clearTimeout(p.timer);
    this.pairs.clear();
  }

  private arm(pair: string, p: PairFlaps): void {
    p.timer = this.clock.setTimeout(() => this.tick(pair, p), Math.max(1, this.settings.periodMs));
  }

  private tick(pair: string, p: PairFlaps): void {
    p.timer = undefined;
    if (this.pairs.get(pair) !== p) return;
    if (p.folded > 0) {
      const changes = p.folded;
      p.folded = 0;
      this.arm(pair, p);
      this.onTick(pair, { kind: 'summary', changes });
      return;
    }
    this.pairs.delete(pair);
    this.onTick(pair, { kind: 'stable' });
  }
}
