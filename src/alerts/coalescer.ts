// Gathers alert events per recipient list into digests: a burst leaves `window` after its first event, and two mails
// to the same recipients are at least `interval` apart.
import type { Clock, TimerHandle } from '../clock';
import type { AlertEvent } from './message';
import type { MailTransportSettings } from './types';

/** Where a digest goes: recipients, sender and transport. Events with equal keys share digests. */
export interface MailRoute {
  /** Equal for equal recipients, sender and transport (credentials compared through a keyed hash). */
  readonly key: string;
  readonly to: readonly string[];
  readonly from: string;
  readonly transport: MailTransportSettings;
  /** Identity of the transport (same meaning as `key`, for the transport alone). */
  readonly transportKey: string;
}

/** Throttle settings in milliseconds. */
export interface CoalescerTiming {
  readonly windowMs: number;
  readonly intervalMs: number;
}

/** A digest ready to be mailed. */
export interface Digest {
  readonly route: MailRoute;
  readonly events: readonly AlertEvent[];
  /** Events of the burst beyond the per-mail bound (counted, not listed). */
  readonly omitted: number;
}

interface Pending {
  route: MailRoute;
  events: AlertEvent[];
  omitted: number;
  timer?: TimerHandle | undefined;
}

/** Batches events per {@link MailRoute} and hands out digests through `emit`. */
export class Coalescer {
  private readonly pending = new Map<string, Pending>();
  /** Clock time (ms) of the last digest per route, for the interval. */
  private readonly lastSent = new Map<string, number>();

  constructor(
    private readonly clock: Clock,
    private timing: CoalescerTiming,
    private readonly maxEvents: number,
    private readonly emit: (digest: Digest) => void,
  ) {}

  /** New throttle settings (a reload); digests already scheduled keep their time. */
  setTiming(timing: CoalescerTiming): void {
    this.timing = timing;
  }

  /**
   * Adds an event. With a window of 0 and no interval pending it leaves at once, alone (ldirectord's one mail per
   * event); otherwise it joins the route's pending digest, which leaves at the later of first event + window and
   * last digest + interval.
   */
  add(route: MailRoute, event: AlertEvent): void {
    const now = this.clock.now();
    let p = this.pending.get(route.key);
    if (!p) {
      const last = this.lastSent.get(route.key);
      const free = last === undefined || now - last >= this.timing.intervalMs;
      if (this.timing.windowMs === 0 && free) {
        this.send({ route, events: [event], omitted: 0 });
        return;
      }
      p = { route, events: [], omitted: 0 };
      this.pending.set(route.key, p);
      const due = Math.max(now + this.timing.windowMs, last === undefined ? 0 : last + this.timing.intervalMs);
      const pending = p;
      p.timer = this.clock.setTimeout(() => this.release(pending), Math.max(0, due - now));
    }
    p.route = route;
    if (p.events.length < this.maxEvents) p.events.push(event);
    else p.omitted++;
  }

  /** Events waiting in digests. */
  waiting(): number {
    let n = 0;
    for (const p of this.pending.values()) n += p.events.length + p.omitted;
    return n;
  }

  /** Releases every pending digest now (flush and close). */
  flushAll(): void {
    for (const p of [...this.pending.values()]) {
      if (p.timer !== undefined) this.clock.clearTimeout(p.timer);
      this.release(p);
    }
  }

  /** Drops every pending digest without sending it. */
  clear(): void {
    for (const p of this.pending.values()) if (p.timer !== undefined) this.clock.clearTimeout(p.timer);
    this.pending.clear();
  }

  private release(p: Pending): void {
    if (this.pending.get(p.route.key) !== p) return;
    this.pending.delete(p.route.key);
    p.timer = undefined;
    if (p.events.length > 0) this.send({ route: p.route, events: p.events, omitted: p.omitted });
  }

  private send(digest: Digest): void {
    this.lastSent.set(digest.route.key, this.clock.now());
    this.emit(digest);
  }
}
