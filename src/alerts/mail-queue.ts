// A bounded queue of mails for one transport: sent one at a time, retried with exponential backoff, never fatal.
// Per recipient: refused for good (5xx) is given up and logged with the reply; refused for now (4xx at RCPT TO) is
// retried for that recipient only, without holding back the mails behind it; a failure of the whole mail (no
// connection, a 4xx at DATA, a dropped connection, a timeout) holds the queue until its retry. Nothing leaves the
// queue unlogged.
import type { Clock, TimerHandle } from '../clock';
import type { Logger } from '../log';
import { deliveryOutcome, type Attempt } from './delivery';
import type { AlertNote, MailTransport, OutgoingMail } from './types';

/** Counters shared by every queue of an alerter (mutable inside the alerts module only). */
export interface MailTally {
  sent: number;
  failed: number;
  dropped: number;
  retries: number;
}

/** Settings of a {@link MailQueue}, every bound resolved. */
export interface MailQueueOptions {
  readonly clock: Clock;
  readonly log: Logger;
  /** Names the transport in logs (`smtp mail.example.com:25`, `sendmail`); never carries credentials. */
  readonly label: string;
  readonly maxQueue: number;
  readonly retryInitialMs: number;
  readonly retryMaxMs: number;
  readonly maxAgeMs: number;
  readonly sendTimeoutMs: number;
  readonly tally: MailTally;
  /** Told of each mail taken by the server or given up. */
  readonly onSettled?: (note: AlertNote) => void;
}

interface Entry {
  /** The mail, addressed to the recipients still owed it. */
  readonly mail: OutgoingMail;
  readonly queuedAt: number;
  /** Order of arrival: a retried mail goes back to its place among the others. */
  readonly seq: number;
  /** Failed attempts so far: the next retry waits `retryInitialMs` × 2^(attempts−1), at most `retryMaxMs`. */
  readonly attempts: number;
  /** Monotonic time before which it is not tried (a recipient's deferral); 0 = at once. */
  notBefore: number;
  /** Why the last attempt did not reach them, for the log when the mail is given up. */
  readonly lastError?: string;
}

/**
 * Sends the mails of one transport in order. A mail that failed as a whole is retried with backoff while newer mails
 * wait (the server is down or refuses the transaction: they would fail the same way). The part of a mail that some
 * recipients deferred (4xx at RCPT TO) waits its own backoff in its place while newer mails go on.
 */
export class MailQueue {
  private readonly entries: Entry[] = [];
  /** The mail being sent, out of `entries`. */
  private current: Entry | undefined;
  /** Set while a failed mail holds the queue until its retry. */
  private retryTimer: TimerHandle | undefined;
  /** Set while every waiting entry is deferred: wakes the queue for the first one due. */
  private wakeTimer: TimerHandle | undefined;
  private closed = false;
  private inFlight: AbortController | undefined;
  private idleWaiters: Array<() => void> = [];
  private seq = 0;

  constructor(
    private readonly transport: MailTransport,
    private readonly o: MailQueueOptions,
  ) {}

  /** Mails waiting (the one being sent included). */
  size(): number {
    return this.entries.length + (this.current ? 1 : 0);
  }

  /** Queues a mail; when full, the oldest waiting mail is dropped (counted and logged). */
  push(mail: OutgoingMail): void {
    if (this.closed) {
      this.o.tally.dropped++;
      this.o.log.error(
        { transport: this.o.label, subject: mail.subject, to: mail.to },
        'alert mail dropped unsent: the alerter stopped',
      );
      return;
    }
    if (this.size() >= this.o.maxQueue && this.entries.length > 0) {
      const dropped = this.entries.shift();
      this.o.tally.dropped++;
      this.o.log.error(
        {
          transport: this.o.label,
          subject: dropped?.mail.subject,
          to: dropped?.mail.to,
          err: dropped?.lastError,
          queued: this.o.maxQueue,
        },
        'alert mail queue full: oldest mail dropped',
      );
    }
    this.entries.push({ mail, queuedAt: this.o.clock.now(), seq: this.seq++, attempts: 0, notBefore: 0 });
    this.pump();
  }

  /** Retries every waiting mail at once instead of at the end of its backoff (flush). */
  retryNow(): void {
    this.stopTimers();
    for (const e of this.entries) e.notBefore = 0;
    this.pump();
  }

  /** Resolves once the queue is empty. */
  whenIdle(): Promise<void> {
    if (this.size() === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Stops: the send in flight is aborted, timers cancelled, each mail left unsent logged (subject, recipients, last
   * error); returns how many there were.
   */
  close(): number {
    this.closed = true;
    this.stopTimers();
    this.inFlight?.abort();
    const left = this.size();
    for (const e of [...(this.current ? [this.current] : []), ...this.entries]) {
      this.o.log.error(
        { transport: this.o.label, subject: e.mail.subject, to: e.mail.to, err: e.lastError },
        'alert mail dropped unsent: the alerter stopped',
      );
    }
    this.entries.length = 0;
    this.current = undefined;
    this.settleIdle();
    return left;
  }

  private stopTimers(): void {
    for (const t of [this.retryTimer, this.wakeTimer]) if (t !== undefined) this.o.clock.clearTimeout(t);
    this.retryTimer = undefined;
    this.wakeTimer = undefined;
  }

  private settleIdle(): void {
    if (this.size() > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /** Sends the first mail that is due, unless one is in flight or a failed one holds the queue. */
  private pump(): void {
    if (this.current || this.closed || this.retryTimer !== undefined) return;
    if (this.wakeTimer !== undefined) this.o.clock.clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    if (this.entries.length === 0) {
      this.settleIdle();
      return;
    }
    const now = this.o.clock.monotonic();
    const i = this.entries.findIndex((e) => e.notBefore <= now);
    if (i < 0) {
      const due = Math.min(...this.entries.map((e) => e.notBefore));
      this.wakeTimer = this.o.clock.setTimeout(() => {
        this.wakeTimer = undefined;
        this.pump();
      }, due - now);
      return;
    }
    const [head] = this.entries.splice(i, 1) as [Entry];
    if (this.o.clock.now() - head.queuedAt > this.o.maxAgeMs) {
      this.o.tally.failed++;
      this.o.log.error(
        { transport: this.o.label, subject: head.mail.subject, to: head.mail.to, err: head.lastError },
        'alert mail given up: still unsent after its maximum age',
      );
      this.note(false, head.mail.subject, head.mail.to, 'given up: still unsent after its maximum age');
      this.pump();
      return;
    }
    this.current = head;
    void this.attempt(head);
  }

  private async attempt(head: Entry): Promise<void> {
    const controller = new AbortController();
    this.inFlight = controller;
    const clock = this.o.clock;
    let timer: TimerHandle | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = clock.setTimeout(() => {
        controller.abort();
        reject(new Error(`no answer within ${this.o.sendTimeoutMs} ms`));
      }, this.o.sendTimeoutMs);
    });
    let attempt: Attempt;
    try {
      const report = await Promise.race([this.transport.send(head.mail, controller.signal), timeout]);
      attempt = { ok: true, report };
    } catch (error) {
      attempt = { ok: false, error };
    } finally {
      if (timer !== undefined) clock.clearTimeout(timer);
      this.inFlight = undefined;
      this.current = undefined;
    }
    if (this.closed) return;
    this.settle(head, attempt);
  }

  private note(ok: boolean, subject: string, to: readonly string[] | string, what: string): void {
    if (!this.o.onSettled) return;
    try {
      this.o.onSettled({
        at: this.o.clock.now(),
        channel: 'mail',
        ok,
        text: `alert mail "${subject}" to ${[to].flat().join(', ')}: ${what}`,
      });
    } catch (err) {
      this.o.log.debug({ err: String(err) }, 'alert note listener failed');
    }
  }

  /** Logs and counts what `attempt` did for each recipient of `head`, queues its retry if any, and goes on. */
  private settle(head: Entry, attempt: Attempt): void {
    const { mail } = head;
    const outcome = deliveryOutcome(mail.to, attempt);
    const log = { transport: this.o.label, subject: mail.subject };
    if (outcome.delivered.length > 0) {
      this.o.tally.sent++;
      this.o.log.info({ ...log, to: outcome.delivered, events: mail.events }, 'alert mail sent');
      this.note(true, mail.subject, outcome.delivered, 'sent');
    }
    for (const g of outcome.givenUp) {
      this.o.tally.failed++;
      this.o.log.error(
        { ...log, to: g.to, responseCode: g.responseCode, reply: g.reply },
        'alert mail refused by the server: not retried',
      );
      this.note(
        false,
        mail.subject,
        g.to,
        `refused by the server${g.responseCode !== undefined ? ` (${g.responseCode})` : ''}: not retried`,
      );
    }
    const retry = outcome.retry;
    if (!retry) {
      this.pump();
      return;
    }
    const attempts = head.attempts + 1;
    const delay = Math.min(this.o.retryMaxMs, this.o.retryInitialMs * 2 ** Math.min(30, attempts - 1));
    this.o.tally.retries++;
    this.o.log.warn(
      {
        ...log,
        to: retry.to,
        responseCode: retry.responseCode,
        err: retry.reason,
        attempt: attempts,
        retryInMs: delay,
        ...(retry.perRecipient ? { deferredBy: 'recipient' } : {}),
      },
      'alert mail not sent: will retry',
    );
    const again: Entry = { ...head, mail: { ...mail, to: retry.to }, attempts, notBefore: 0, lastError: retry.reason };
    const place = this.entries.findIndex((e) => e.seq > head.seq);
    this.entries.splice(place < 0 ? this.entries.length : place, 0, again);
    if (retry.perRecipient) {
      // The server answers and takes mail: only these recipients wait; the mails behind go on.
      again.notBefore = this.o.clock.monotonic() + delay;
      this.pump();
      return;
    }
    this.retryTimer = this.o.clock.setTimeout(() => {
      this.retryTimer = undefined;
      this.pump();
    }, delay);
  }
}
