// A bounded queue of mails for one transport: sent one at a time, retried with exponential backoff, never fatal.
import type { Clock, TimerHandle } from '../clock';
import type { Logger } from '../log';
import type { MailTransport, OutgoingMail } from './types';

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
}

interface Entry {
  readonly mail: OutgoingMail;
  readonly queuedAt: number;
}

/** SMTP reply code of a transport error, when it has one. */
export function responseCodeOf(err: unknown): number | undefined {
  const code = (err as { responseCode?: unknown } | null)?.responseCode;
  return typeof code === 'number' ? code : undefined;
}

/** Short text of a send error for logs (first line; transports never put credentials in their messages). */
export function sendErrorText(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0]?.slice(0, 300) ?? '';
}

/** Sends the mails of one transport in order; a failing head is retried with backoff while newer mails wait. */
export class MailQueue {
  private readonly entries: Entry[] = [];
  /** The mail being sent, out of `entries`. */
  private current: Entry | undefined;
  private retryTimer: TimerHandle | undefined;
  private failures = 0;
  private closed = false;
  private inFlight: AbortController | undefined;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly transport: MailTransport, private readonly o: MailQueueOptions) {}

  /** Mails waiting (the one being sent included). */
  size(): number {
    return this.entries.length + (this.current ? 1 : 0);
  }

  /** Queues a mail; when full, the oldest waiting mail is dropped (counted and logged). */
  push(mail: OutgoingMail): void {
    if (this.closed) {
      this.o.tally.dropped++;
      return;
    }
    if (this.size() >= this.o.maxQueue && this.entries.length > 0) {
      const dropped = this.entries.shift();
      this.o.tally.dropped++;
      this.o.log.warn({ transport: this.o.label, subject: dropped?.mail.subject, queued: this.o.maxQueue }, 'alert mail queue full: oldest mail dropped');
    }
    this.entries.push({ mail, queuedAt: this.o.clock.now() });
    this.pump();
  }

  /** Retries a waiting head at once instead of at the end of its backoff (flush). */
  retryNow(): void {
    if (this.retryTimer === undefined) return;
    this.o.clock.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.pump();
  }

  /** Resolves once the queue is empty. */
  whenIdle(): Promise<void> {
    if (this.size() === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops: the send in flight is aborted, timers cancelled; returns how many mails were left unsent. */
  close(): number {
    this.closed = true;
    if (this.retryTimer !== undefined) this.o.clock.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.inFlight?.abort();
    const left = this.size();
    this.entries.length = 0;
    this.current = undefined;
    this.settleIdle();
    return left;
  }

  private settleIdle(): void {
    if (this.size() > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private pump(): void {
    if (this.current || this.closed || this.retryTimer !== undefined) return;
    const head = this.entries.shift();
    if (!head) {
      this.settleIdle();
      return;
    }
    if (this.o.clock.now() - head.queuedAt > this.o.maxAgeMs) {
      this.o.tally.failed++;
      this.o.log.error({ transport: this.o.label, subject: head.mail.subject }, 'alert mail given up: still unsent after its maximum age');
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
    let error: unknown;
    let ok = false;
    try {
      await Promise.race([this.transport.send(head.mail, controller.signal), timeout]);
      ok = true;
    } catch (err) {
      error = err;
    } finally {
      if (timer !== undefined) clock.clearTimeout(timer);
      this.inFlight = undefined;
      this.current = undefined;
    }
    if (this.closed) return;
    if (ok) {
      this.failures = 0;
      this.o.tally.sent++;
      this.o.log.info({ transport: this.o.label, to: head.mail.to, events: head.mail.events, subject: head.mail.subject }, 'alert mail sent');
      this.pump();
      return;
    }
    const code = responseCodeOf(error);
    if (code !== undefined && code >= 500 && code < 600) {
      this.failures = 0;
      this.o.tally.failed++;
      this.o.log.error({ transport: this.o.label, subject: head.mail.subject, responseCode: code, err: sendErrorText(error) }, 'alert mail refused by the server: not retried');
      this.pump();
      return;
    }
    this.entries.unshift(head);
    this.failures++;
    this.o.tally.retries++;
    const delay = Math.min(this.o.retryMaxMs, this.o.retryInitialMs * 2 ** Math.min(30, this.failures - 1));
    this.o.log.warn({ transport: this.o.label, subject: head.mail.subject, err: sendErrorText(error), attempt: this.failures, retryInMs: delay }, 'alert mail not sent: will retry');
    this.retryTimer = clock.setTimeout(() => {
      this.retryTimer = undefined;
      this.pump();
    }, delay);
  }
}
