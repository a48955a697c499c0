// Route health injection at run time: decides (decide-announce.ts), tells the routing daemon through its driver,
// keeps the announce guard connected, and reports (status, events).
import type { Clock, TimerHandle } from '../clock';
import type { Logger } from '../log';
import type { AnnounceStatus } from './status';
import type { AnnounceSettings, Config } from '../model';
import type { RouteDriver, RouteTarget } from './route-driver';
import { announceCandidates } from './candidates';
import { decideAnnounce, type AnnounceMemory, type ServeState } from './decide-announce';
import type { GuardLink } from './guard-client';

/** How long after a failed announcement the next attempt is made. */
export const ANNOUNCE_RETRY_MS = 1_000;
/**
 * How often what the routing daemon announces is read back and compared with what ldir last had it announce: a
 * routing daemon restarted (FRR forgets statements made through vtysh) or edited by hand is repaired within this.
 */
export const ANNOUNCE_RESYNC_MS = 5_000;

/** A prefix whose announcement changed (the routing daemon took it). */
export interface AnnounceChange {
  readonly at: number;
  readonly prefix: string;
  readonly announced: boolean;
  /** The virtuals of the prefix. */
  readonly virtualIds: readonly string[];
}

/** Options of {@link Announcer}. */
export interface AnnouncerOptions {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly driverFor: (settings: AnnounceSettings) => RouteDriver;
  /** Connects to the announce guard (absent: no guard, as in unit tests). */
  readonly guard?: () => Promise<GuardLink>;
  readonly onChange?: (change: AnnounceChange) => void;
}

const sameSet = (a: readonly string[], b: ReadonlySet<string>): boolean =>
  a.length === b.size && a.every((p) => b.has(p));
const targetKey = (s: AnnounceSettings): string => `${s.driver} ${s.socket} ${s.file ?? ''}`;
const targetOf = (s: AnnounceSettings): RouteTarget => ({
  driver: s.driver,
  socket: s.socket,
  ...(s.file !== undefined ? { file: s.file } : {}),
});

/**
 * The announcer of one daemon. {@link configure} with each configuration in force, {@link update} after each engine
 * pass with the virtuals' quorum states; it announces through the driver (one change at a time, retried every
 * second until taken), wakes itself when a hold-down falls due, reads the routing daemon back every
 * {@link ANNOUNCE_RESYNC_MS} to repair what it lost, and keeps the guard connected while it announces.
 * {@link withdrawAll} at `ldir stop`; {@link hold} while a restart hands over and {@link release} after it (nothing
 * withdrawn); the successor {@link reread}s the set once it has taken over.
 */
export class Announcer {
  private readonly log: Logger;
  private config: Config | undefined;
  private settings: AnnounceSettings | undefined;
  private driver: RouteDriver | undefined;
  private memory: ReadonlyMap<string, AnnounceMemory> = new Map();
  private held = new Set<string>();
  private want: readonly string[] = [];
  private serve: (virtualId: string) => ServeState = () => 'pending';
  private decision: ReturnType<typeof decideAnnounce> | undefined;
  private lastError: string | null = null;
  private busy: Promise<void> | undefined;
  private again = false;
  private wake: TimerHandle | undefined;
  private retry: TimerHandle | undefined;
  private resync: TimerHandle | undefined;
  /** Counts the changes of `held`: a read back that raced one is dropped. */
  private heldVersion = 0;
  private link: GuardLink | undefined;
  private linking: Promise<void> | undefined;
  private stopped = false;
  /** A restart's hand-over is under way ({@link hold}): nothing is decided or announced. */
  private holding = false;

  constructor(private readonly options: AnnouncerOptions) {
    this.log = options.logger.child({ module: 'announce' });
  }

  /**
   * Takes the configuration in force. A new target (driver, socket or file) first withdraws everything from the old
   * one (best effort), then reads what the new one announces (a restart's successor finds its predecessor's set).
   */
  async configure(config: Config): Promise<void> {
    this.config = config;
    const next = config.globals.announce;
    if (this.settings && this.driver && (!next || targetKey(next) !== targetKey(this.settings))) {
      await this.idle();
      await this.driver
        ?.apply([])
        .catch((err: unknown) =>
          this.log.error({ err: String(err) }, 'withdrawal from the former routing daemon target failed'),
        );
      this.held = new Set();
      this.heldVersion++;
      this.driver = undefined;
      this.settings = undefined;
      if (!next) this.dropGuard();
    }
    if (next && !this.settings) {
      this.settings = next;
      const driver = this.options.driverFor(next);
      this.link?.send(targetOf(next));
      // What the routing daemon announces is read once the guard is joined (or started): a guard that was withdrawing
      // for a dead daemon has done so by then, so what is read is what the routing daemon holds. Nothing is decided
      // before (no driver yet).
      this.ensureGuard();
      await this.linking;
      if (this.settings !== next) return;
      const announced = await driver.announced();
      if (this.settings !== next) return;
      this.held = new Set(announced);
      this.heldVersion++;
      this.driver = driver;
      this.log.info({ target: driver.describe, announced: [...this.held] }, 'route health injection on');
    }
    this.ensureGuard();
    await this.linking;
    this.decide();
    this.armResync();
  }

  /**
   * Reads back what the routing daemon announces and, when it is not what ldir last had it announce (a routing
   * daemon restarted without ldir's statements, a hand edit), takes that as the truth and decides again: the
   * difference is announced or withdrawn at once. Runs every {@link ANNOUNCE_RESYNC_MS}; skipped while an
   * announcement is in progress or a hand-over holds the announcer, and while the last announcement failed: the retry
   * is in charge then, and what the routing daemon shows proves nothing (BIRD's include file holds what ldir wrote
   * even when BIRD never took it: taking it as announced would report a prefix no router has).
   */
  async resyncNow(): Promise<void> {
    const driver = this.driver;
    if (!driver || this.busy || this.holding || this.stopped || this.lastError !== null) return;
    const version = this.heldVersion;
    const announced = await driver.announced();
    const stale = this.driver !== driver || this.busy || this.holding || this.stopped || this.lastError !== null;
    if (stale || version !== this.heldVersion || sameSet(announced, this.held)) return;
    this.log.warn(
      { expected: [...this.held], found: announced },
      'the routing daemon does not announce what ldir last had it announce (restarted or edited): repairing',
    );
    this.held = new Set(announced);
    this.decide();
  }

  private armResync(): void {
    if (this.resync || this.stopped || !this.driver) return;
    this.resync = this.options.clock.setTimeout(() => {
      this.resync = undefined;
      void this.resyncNow()
        .catch((err: unknown) => this.log.error({ err: String(err) }, 'reading the routing daemon back failed'))
        .finally(() => this.armResync());
    }, ANNOUNCE_RESYNC_MS);
  }

  /** Decides again with the virtuals' serve states now (`serve` by virtual id). */
  update(serve: (virtualId: string) => ServeState): void {
    this.serve = serve;
    this.decide();
  }

  /** Resolves once no announcement is in progress. */
  async idle(): Promise<void> {
    while (this.busy) await this.busy;
  }

  /** Withdraws every prefix (`ldir stop`), then lets the guard go. Bounded by the driver's own timeouts. */
  async withdrawAll(): Promise<void> {
    this.stopped = true;
    this.clearTimers();
    await this.idle();
    if (this.driver && this.held.size > 0) {
      try {
        await this.driver.apply([]);
        this.noteChanges(new Set());
        this.log.info('every prefix withdrawn (ldir stopping)');
      } catch (err) {
        this.log.error(
          { err: String(err) },
          'withdrawal at stop failed: the announce guard withdraws once this daemon has gone',
        );
      }
    }
    this.dropGuard();
  }

  /** Leaves everything announced and lets the guard go (a restart: the successor is connected to it already). */
  async release(): Promise<void> {
    this.stopped = true;
    this.clearTimers();
    await this.idle();
    this.dropGuard();
  }

  /**
   * Stops deciding and announcing while a restart hands over (the successor goes on from what the routing daemon
   * then announces); the guard stays connected. Resolves once no announcement is in progress.
   */
  async hold(): Promise<void> {
    this.holding = true;
    this.clearTimers();
    await this.idle();
  }

  /** Ends a {@link hold} (the hand-over failed: this daemon goes on). */
  resume(): void {
    this.holding = false;
    this.decide();
    this.armResync();
  }

  /**
   * Reads again what the routing daemon announces and decides: a restart's successor, once its predecessor has
   * handed over (and so stopped announcing), starts from the set as the predecessor left it.
   */
  async reread(): Promise<void> {
    const driver = this.driver;
    if (!driver) return;
    await this.idle();
    const announced = await driver.announced();
    if (this.driver !== driver) return;
    this.held = new Set(announced);
    this.heldVersion++;
    this.decide();
  }

  /** Route health injection for `ldir status`; undefined when it is off. */
  status(): AnnounceStatus | undefined {
    if (!this.driver) return undefined;
    return {
      driver: this.driver.describe,
      announced: [...this.held],
      lastError: this.lastError,
      guard: this.link && !this.link.closed ? 'connected' : 'none',
      virtuals: (this.decision?.virtuals ?? []).map((v) => ({
        virtualId: v.virtualId,
        prefix: v.prefix,
        state: v.state,
        reason: v.reason,
        prefixAnnounced: this.held.has(v.prefix),
        ...(v.dueInMs !== undefined ? { dueInS: Math.ceil(v.dueInMs / 1000) } : {}),
      })),
    };
  }

  private decide(): void {
    if (this.stopped || this.holding || !this.config || !this.driver) return;
    const d = decideAnnounce({
      candidates: announceCandidates(this.config, this.serve),
      memory: this.memory,
      announced: this.held,
      now: this.options.clock.monotonic(),
    });
    this.decision = d;
    this.memory = d.memory;
    this.want = d.prefixes;
    if (this.wake) this.options.clock.clearTimeout(this.wake);
    this.wake =
      d.nextInMs !== undefined
        ? this.options.clock.setTimeout(() => {
            this.wake = undefined;
            this.decide();
          }, d.nextInMs + 1)
        : undefined;
    if (!sameSet(this.want, this.held)) this.push();
    this.ensureGuard();
  }

  private push(): void {
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = this.pushLoop().finally(() => {
      this.busy = undefined;
    });
  }

  private async pushLoop(): Promise<void> {
    do {
      this.again = false;
      const want = this.want;
      const driver = this.driver;
      if (!driver || this.stopped || this.holding || sameSet(want, this.held)) continue;
      try {
        await driver.apply(want);
      } catch (err) {
        this.lastError = err instanceof Error ? err.message : String(err);
        this.log.error({ err: this.lastError, want }, `announcement not taken, retried in ${ANNOUNCE_RETRY_MS} ms`);
        if (!this.retry)
          this.retry = this.options.clock.setTimeout(() => {
            this.retry = undefined;
            this.decide();
          }, ANNOUNCE_RETRY_MS);
        return;
      }
      this.lastError = null;
      this.noteChanges(new Set(want));
      // The hold-downs count from what is announced: decide again with it.
      this.decide();
    } while (this.again);
  }

  private noteChanges(now: Set<string>): void {
    const at = this.options.clock.now();
    const byPrefix = new Map<string, string[]>();
    for (const v of this.decision?.virtuals ?? [])
      byPrefix.set(v.prefix, [...(byPrefix.get(v.prefix) ?? []), v.virtualId]);
    const changes: AnnounceChange[] = [];
    for (const p of now)
      if (!this.held.has(p)) changes.push({ at, prefix: p, announced: true, virtualIds: byPrefix.get(p) ?? [] });
    for (const p of this.held)
      if (!now.has(p)) changes.push({ at, prefix: p, announced: false, virtualIds: byPrefix.get(p) ?? [] });
    this.held = now;
    this.heldVersion++;
    for (const c of changes) {
      this.log.info(
        { prefix: c.prefix, virtuals: c.virtualIds },
        c.announced ? `announced ${c.prefix}` : `withdrawn ${c.prefix}`,
      );
      try {
        this.options.onChange?.(c);
      } catch (err) {
        this.log.warn({ err: String(err) }, 'announce listener threw');
      }
    }
  }

  private ensureGuard(): void {
    if (!this.options.guard || this.stopped || this.linking || (this.link && !this.link.closed) || !this.settings)
      return;
    const target = targetOf(this.settings);
    this.linking = this.options
      .guard()
      .then(
        (link) => {
          if (this.stopped) {
            link.close();
            return;
          }
          this.link = link;
          link.send(target);
          this.log.info('announce guard connected: a daemon that dies without stopping has its prefixes withdrawn');
        },
        (err: unknown) => {
          this.log.error(
            { err: String(err) },
            'announce guard not running: a daemon killed with -9 would leave its prefixes announced',
          );
        },
      )
      .finally(() => {
        this.linking = undefined;
      });
  }

  private dropGuard(): void {
    this.link?.close();
    this.link = undefined;
  }

  private clearTimers(): void {
    if (this.wake) this.options.clock.clearTimeout(this.wake);
    if (this.retry) this.options.clock.clearTimeout(this.retry);
    if (this.resync) this.options.clock.clearTimeout(this.resync);
    this.wake = undefined;
    this.retry = undefined;
    this.resync = undefined;
  }
}
