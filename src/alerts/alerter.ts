// The alerter: health changes and engine events in; throttled digest mails, reminders, flap summaries and alert
// commands out. Nothing here blocks its caller, and no failure here is fatal.
import { userInfo } from 'node:os';
import { pairKey, realKey, splitPairKey, type HealthTransition } from '../model/health';
import type { Clock } from '../clock';
import { DEFAULTS } from '../config/defaults';
import type { EngineEvent } from '../engine/engine-types';
import { errorMessage } from '../errors';
import type { Logger } from '../log';
import type { AlertThrottle, Config, DaemonState, RealServer, VirtualService } from '../model';
import { Coalescer, type Digest, type MailRoute } from './coalescer';
import { alertCommandJob } from './command-job';
import { CommandHooks, spawnHookRunner, type CommandTally } from './commands';
import { FlapDetector, type FlapTick } from './flap';
import { MailQueue, type MailTally } from './mail-queue';
import {
  announceLine,
  composeMail,
  fallbackLine,
  flappingLine,
  flapSummaryLine,
  quorumLine,
  realLine,
  stableLine,
  virtualText,
  type AlertEvent,
} from './message';
import { Reminders, type ReminderEntry } from './reminders';
import { nodemailerTransports, transportKeyer, transportLabel, transportSettings } from './transports';
import type { Alerter, AlerterOptions, AlertCounters, MailTransport, MailTransportFactory } from './types';

/** Throttle in force before the first configuration (the model's defaults). */
const INITIAL_THROTTLE: AlertThrottle = {
  window: DEFAULTS.emailAlertWindow,
  interval: DEFAULTS.emailAlertInterval,
  flapChanges: DEFAULTS.emailAlertFlapChanges,
  flapPeriod: DEFAULTS.emailAlertFlapPeriod,
};

/** Transitions of pairs unknown to the configuration kept until the next applyConfig. */
const MAX_STRAYS = 10_000;

/** `<login name>@<hostname>`, ldirectord's default sender. */
function defaultSender(hostname: string): string {
  let user = process.env.USER ?? 'root';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (containers): keep $USER
  }
  return `${user}@${hostname}`;
}

/** A mail transport with the queue in front of it. */
interface Outlet {
  readonly transport: MailTransport;
  readonly queue: MailQueue;
}

/** Creates an {@link Alerter}; see {@link AlerterOptions}. The daemon makes one per process and feeds it. */
export function createAlerter(options: AlerterOptions): Alerter {
  return new AlertService(options);
}

class AlertService implements Alerter {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly hostname: string;
  private readonly sender: string;
  private readonly factory: MailTransportFactory;
  private readonly keyOf = transportKeyer();
  private virtuals = new Map<string, VirtualService>();
  /** Real servers by pair (`pairKey`): a start or a mass failure brings one transition per real, each looked up here. */
  private reals = new Map<string, VirtualService['reals'][number]>();
  private throttle: AlertThrottle = INITIAL_THROTTLE;
  private state: DaemonState = 'starting';
  /** Known health of pairs (absent = not known yet: its first result is not a change). */
  private readonly health = new Map<string, 'up' | 'down'>();
  private readonly outlets = new Map<string, Outlet>();
  private readonly mailTally: MailTally = { sent: 0, failed: 0, dropped: 0, retries: 0 };
  private readonly eventTally = { mailed: 0, filtered: 0, summarised: 0 };
  private readonly commandTally: CommandTally = { started: 0, failed: 0, timedOut: 0, dropped: 0 };
  private readonly coalescer: Coalescer;
  private readonly flaps: FlapDetector;
  private readonly reminders: Reminders;
  private readonly hooks: CommandHooks;
  /** Transitions of pairs not in the configuration yet (the scheduler may report them before applyConfig). */
  private strays: HealthTransition[] = [];
  private closed = false;

  constructor(private readonly o: AlerterOptions) {
    this.clock = o.clock;
    this.log = o.logger.child({ module: 'alerts' });
    this.hostname = o.hostname;
    this.sender = o.sender ?? defaultSender(o.hostname);
    this.factory = o.transport ?? nodemailerTransports();
    this.coalescer = new Coalescer(this.clock, this.timing(), o.mail?.maxEventsPerMail ?? 200, (d) =>
      this.guard(() => this.onDigest(d)),
    );
    this.flaps = new FlapDetector(this.clock, this.flapSettings(), (pair, tick) =>
      this.guard(() => this.onFlapTick(pair, tick)),
    );
    this.reminders = new Reminders(this.clock, (e) => this.guard(() => this.onReminder(e)));
    this.hooks = new CommandHooks({
      run: o.runCommand ?? spawnHookRunner(),
      log: this.log,
      timeoutMs: o.commands?.timeoutMs ?? 10_000,
      concurrency: Math.max(1, o.commands?.concurrency ?? 4),
      maxQueue: Math.max(1, o.commands?.maxQueue ?? 100),
      tally: this.commandTally,
      ...(o.onAlert ? { onEnded: o.onAlert } : {}),
      now: () => this.clock.now(),
    });
  }

  applyConfig(config: Config): void {
    if (this.closed) return;
    this.virtuals = new Map(config.virtualServices.map((v) => [v.id, v]));
    this.reals = new Map(
      config.virtualServices.flatMap((v) =>
        v.reals.map((r) => [pairKey(v.id, realKey(r.address, r.port)), r] as const),
      ),
    );
    this.throttle = config.globals.alerting;
    this.coalescer.setTiming(this.timing());
    this.flaps.setSettings(this.flapSettings());
    const present = this.reals; // the configured pairs
    for (const pair of [...this.health.keys()]) if (!present.has(pair)) this.health.delete(pair);
    for (const pair of this.flaps.keys()) if (!present.has(pair)) this.flaps.forget(pair);
    this.reminders.reconfigure((virtualId, real) =>
      present.has(pairKey(virtualId, real))
        ? (this.virtuals.get(virtualId)?.alerts.emailAlertFreq ?? 0) * 1000
        : undefined,
    );
    const strays = this.strays;
    this.strays = [];
    for (const t of strays) if (present.has(pairKey(t.virtualId, t.realKey))) this.onTransition(t);
    this.strays = [];
  }

  setDaemonState(state: DaemonState): void {
    this.state = state;
  }

  onTransition(t: HealthTransition): void {
    if (this.closed || (t.to !== 'up' && t.to !== 'down')) return;
    const pair = pairKey(t.virtualId, t.realKey);
    const before = this.health.get(pair);
    if (before === t.to) return;
    const v = this.virtuals.get(t.virtualId);
    const r = this.reals.get(pair);
    if (!v || !r) {
      // Kept for the next applyConfig: a reload's new pairs can get their first health before it arrives.
      if (this.strays.length < MAX_STRAYS) this.strays.push(t);
      this.log.debug({ vs: t.virtualId, rs: t.realKey }, 'transition of a pair not in the configuration (yet)');
      return;
    }
    this.health.set(pair, t.to);
    // A real server whose first result is "up" (start-up, or added by a reload) is simply being added: no alert.
    if (before === undefined && t.to === 'up') return;
    this.guard(() => this.report(v, r, t, before ?? 'unknown'));
  }

  seedHealth(
    pairs: Iterable<{
      readonly virtualId: string;
      readonly realKey: string;
      readonly health: 'up' | 'down' | 'unknown';
    }>,
  ): void {
    for (const p of pairs) if (p.health !== 'unknown') this.health.set(pairKey(p.virtualId, p.realKey), p.health);
  }

  onEngineEvent(e: EngineEvent): void {
    if (this.closed) return;
    if (e.type === 'quorum') {
      // Virtuals with quorum settings only (without, the fallback lines say it); the first state only when lost.
      const v = this.virtuals.get(e.virtualId);
      if (!v?.quorum || (e.previous === undefined && e.state === 'up')) return;
      this.mail(v, {
        kind: e.state === 'up' ? 'quorum-gained' : 'quorum-lost',
        at: e.at,
        line: quorumLine(e.state, v, e.serving, e.quorum, e.hysteresis),
      });
      return;
    }
    if (e.type === 'announce') {
      for (const id of e.virtualIds) {
        const v = this.virtuals.get(id);
        if (v)
          this.mail(v, {
            kind: e.announced ? 'announced' : 'withdrawn',
            at: e.at,
            line: announceLine(e.announced, v, e.prefix),
          });
      }
      return;
    }
    if (e.type !== 'fallback') return;
    const v = this.virtuals.get(e.virtualId);
    if (!v?.fallback) return;
    const fallback = realKey(v.fallback.address, v.fallback.port);
    this.mail(v, {
      kind: e.active ? 'fallback-on' : 'fallback-off',
      at: e.at,
      line: fallbackLine(e.active, v, fallback),
    });
  }

  counters(): AlertCounters {
    let queued = 0;
    for (const o of this.outlets.values()) queued += o.queue.size();
    return {
      mail: { ...this.mailTally, queued },
      events: { ...this.eventTally },
      commands: { ...this.commandTally, running: this.hooks.runningCount(), queued: this.hooks.queuedCount() },
    };
  }

  async flush(timeoutMs = 10_000): Promise<boolean> {
    this.coalescer.flushAll();
    for (const o of this.outlets.values()) o.queue.retryNow();
    return this.within(Promise.all([...this.outlets.values()].map((o) => o.queue.whenIdle())), timeoutMs);
  }

  async close(timeoutMs = 10_000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const start = this.clock.monotonic();
    this.reminders.stop();
    this.flaps.stop();
    this.coalescer.flushAll();
    for (const o of this.outlets.values()) o.queue.retryNow();
    const sent = await this.within(Promise.all([...this.outlets.values()].map((o) => o.queue.whenIdle())), timeoutMs);
    for (const o of this.outlets.values()) {
      const left = o.queue.close();
      this.mailTally.dropped += left;
      try {
        o.transport.close();
      } catch (err) {
        this.log.debug({ err: String(err) }, 'closing a mail transport failed');
      }
    }
    if (!sent) this.log.warn({ timeoutMs }, 'alerter closed with mails still unsent: dropped');
    this.hooks.close();
    const left = Math.max(0, timeoutMs - (this.clock.monotonic() - start));
    if (!(await this.within(this.hooks.whenIdle(), left)))
      this.log.warn('alerter closed with alert commands still running');
  }

  /** Mail, reminders, flap state and command for one change of a known pair (or a first result of "down"). */
  private report(v: VirtualService, r: RealServer, t: HealthTransition, before: 'up' | 'down' | 'unknown'): void {
    const pair = pairKey(v.id, t.realKey);
    const to = t.to as 'up' | 'down';
    const weight = to === 'up' ? r.weight : 0;
    if (to === 'down') this.reminders.arm(pair, v.id, t.realKey, this.clock.now(), v.alerts.emailAlertFreq * 1000);
    else this.reminders.disarm(pair);
    if (v.alerts.command !== undefined)
      this.hooks.enqueue(alertCommandJob(v, t, { weight, before, daemonState: this.state, hostname: this.hostname }));
    const verdict = this.flaps.note(pair, this.clock.now());
    if (verdict === 'summarised') {
      if (v.alerts.emailAlert.length > 0) this.eventTally.summarised++;
      return;
    }
    const line =
      verdict === 'flap-start'
        ? flappingLine(v, t.realKey, this.throttle.flapChanges, this.throttle.flapPeriod, to)
        : realLine(to, v, t.realKey, weight);
    this.mail(v, {
      kind: verdict === 'flap-start' ? 'flapping' : to,
      at: t.at,
      real: t.realKey,
      line,
      reason: t.reason,
    });
  }

  /** Adds an event to its recipients' digest, unless the virtual has no recipients or filters this daemon state. */
  private mail(
    v: VirtualService,
    e: Pick<AlertEvent, 'kind' | 'at' | 'line'> & Partial<Pick<AlertEvent, 'real' | 'reason'>>,
  ): void {
    const spec = v.alerts;
    if (spec.emailAlert.length === 0) return;
    if (!spec.emailAlertStatus.includes(this.state)) {
      this.eventTally.filtered++;
      this.log.debug(
        { vs: v.id, state: this.state, line: e.line },
        'alert not mailed: emailalertstatus excludes this daemon state',
      );
      return;
    }
    const event: AlertEvent = {
      ...e,
      virtualId: v.id,
      daemonState: this.state,
      ...(v.serviceName !== undefined ? { serviceName: v.serviceName } : {}),
      ...(v.comment !== undefined ? { comment: v.comment } : {}),
    };
    this.log.debug({ vs: v.id, rs: e.real, line: e.line }, 'emailalert');
    this.coalescer.add(this.routeOf(v), event);
  }

  private routeOf(v: VirtualService): MailRoute {
    const transport = transportSettings(v.alerts);
    const transportKey = this.keyOf(transport);
    const from = v.alerts.emailAlertFrom ?? this.sender;
    const to = [...v.alerts.emailAlert];
    return { key: JSON.stringify([to, from, transportKey]), to, from, transport, transportKey };
  }

  private onDigest(d: Digest): void {
    const { subject, text } = composeMail(d.events, {
      hostname: this.hostname,
      daemonState: this.state,
      outOfService: this.outOfService(d.events),
      omitted: d.omitted,
    });
    const events = d.events.length + d.omitted;
    this.eventTally.mailed += events;
    const outlet = this.outletFor(d.route);
    if (!outlet) {
      this.mailTally.failed++;
      return;
    }
    outlet.queue.push({ from: d.route.from, to: d.route.to, subject, text, events });
  }

  /** Virtual services of a digest with real servers, all of them down now, as `[name] VIP:PORT`. */
  private outOfService(events: readonly AlertEvent[]): string[] {
    const out: string[] = [];
    for (const id of new Set(events.map((e) => e.virtualId))) {
      const v = this.virtuals.get(id);
      if (!v || v.reals.length === 0) continue;
      if (v.reals.every((r) => this.health.get(pairKey(v.id, realKey(r.address, r.port))) === 'down')) {
        out.push(`${v.serviceName ? `[${v.serviceName}] ` : ''}${virtualText(v)}`);
      }
    }
    return out;
  }

  private outletFor(route: MailRoute): Outlet | undefined {
    const existing = this.outlets.get(route.transportKey);
    if (existing) return existing;
    const label = transportLabel(route.transport);
    let transport: MailTransport;
    try {
      transport = this.factory(route.transport, this.hostname);
    } catch (err) {
      this.log.error({ transport: label, err: errorMessage(err) }, 'cannot create the mail transport');
      return undefined;
    }
    const m = this.o.mail ?? {};
    const queue = new MailQueue(transport, {
      clock: this.clock,
      log: this.log,
      label,
      maxQueue: Math.max(1, m.maxQueue ?? 100),
      retryInitialMs: m.retryInitialMs ?? 1000,
      retryMaxMs: m.retryMaxMs ?? 300_000,
      maxAgeMs: m.maxAgeMs ?? 3_600_000,
      sendTimeoutMs: m.sendTimeoutMs ?? 60_000,
      tally: this.mailTally,
      ...(this.o.onAlert ? { onSettled: this.o.onAlert } : {}),
    });
    const outlet = { transport, queue };
    this.outlets.set(route.transportKey, outlet);
    return outlet;
  }

  private onReminder(e: ReminderEntry): void {
    const v = this.virtuals.get(e.virtualId);
    if (!v) return;
    this.mail(v, {
      kind: 'reminder',
      at: this.clock.now(),
      real: e.realKey,
      line: realLine('reminder', v, e.realKey, 0),
    });
  }

  private onFlapTick(pair: string, tick: FlapTick): void {
    const { virtualId, realKey: real } = splitPairKey(pair);
    const v = this.virtuals.get(virtualId);
    if (!v) return;
    const now = this.health.get(pair) ?? 'unknown';
    const period = this.throttle.flapPeriod;
    if (tick.kind === 'summary') {
      this.mail(v, {
        kind: 'flap-summary',
        at: this.clock.now(),
        real,
        line: flapSummaryLine(v, real, tick.changes, period, now),
      });
    } else {
      this.mail(v, { kind: 'stable', at: this.clock.now(), real, line: stableLine(v, real, period, now) });
    }
  }

  private timing(): { windowMs: number; intervalMs: number } {
    return { windowMs: this.throttle.window * 1000, intervalMs: this.throttle.interval * 1000 };
  }

  private flapSettings(): { changes: number; periodMs: number } {
    return { changes: this.throttle.flapChanges, periodMs: this.throttle.flapPeriod * 1000 };
  }

  /** Runs `fn`, logging instead of throwing: the alerter never breaks its caller. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error({ err: errorMessage(err) }, 'alerter failure (ignored)');
    }
  }

  /** True when `promise` settles within `ms` of the injected clock. */
  private async within(promise: Promise<unknown>, ms: number): Promise<boolean> {
    let timer: ReturnType<Clock['setTimeout']> | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = this.clock.setTimeout(() => resolve(false), Math.max(0, ms));
    });
    const done = await Promise.race([
      promise.then(
        () => true,
        () => true,
      ),
      timeout,
    ]);
    if (timer !== undefined) this.clock.clearTimeout(timer);
    return done;
  }
}
