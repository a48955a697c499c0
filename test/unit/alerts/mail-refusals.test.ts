// Per-recipient outcomes of alert mail sends: the pure decision (delivery.ts) and the queue acting on it on a fake
// clock: a 5xx is given up and logged with the recipient and the reply, a 4xx or a lost connection is retried for
// the recipients still owed the mail only, and no mail leaves the queue without a log record naming its recipients.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deliveryOutcome, type RecipientRefusal, type SendReport } from '../../../src/alerts/delivery';
import { MailQueue, type MailTally } from '../../../src/alerts/mail-queue';
import type { MailTransport, OutgoingMail } from '../../../src/alerts/types';
import { captureLogger, smtpError } from '../../helpers/alerts';
import { FakeClock } from '../../helpers/fake-clock';

const TO = ['ok@example.org', 'temp@example.org', 'gone@example.org'];
const refusal = (recipient: string, responseCode: number, text = 'refused'): RecipientRefusal => ({
  recipient,
  responseCode,
  reply: `${responseCode} ${text}`,
});
/** An error as the transport throws it when every recipient was refused at RCPT TO. */
const allRefused = (refused: RecipientRefusal[]): Error =>
  Object.assign(smtpError(refused[0]?.responseCode ?? 550, 'all recipients were rejected'), { refused });

describe('deliveryOutcome', () => {
  it('a completed send without refusals delivered to every recipient', () => {
    assert.deepEqual(deliveryOutcome(TO, { ok: true }), { delivered: TO, givenUp: [], retry: undefined });
    assert.deepEqual(deliveryOutcome(TO, { ok: true, report: { refused: [] } }), {
      delivered: TO,
      givenUp: [],
      retry: undefined,
    });
  });

  it('a completed send with refusals: 5xx given up, 4xx retried, the rest delivered (addresses compared without case)', () => {
    const report: SendReport = {
      refused: [refusal('TEMP@example.org', 451, 'later'), refusal('gone@example.org', 550, 'no such user')],
    };
    assert.deepEqual(deliveryOutcome(TO, { ok: true, report }), {
      delivered: ['ok@example.org'],
      givenUp: [{ to: ['gone@example.org'], responseCode: 550, reply: '550 no such user' }],
      retry: { to: ['temp@example.org'], responseCode: 451, reason: '451 later', perRecipient: true },
    });
  });

  it('every recipient refused: each by its own code', () => {
    const error = allRefused([
      refusal('ok@example.org', 452),
      refusal('temp@example.org', 451),
      refusal('gone@example.org', 553),
    ]);
    const o = deliveryOutcome(TO, { ok: false, error });
    assert.deepEqual(o.delivered, []);
    assert.deepEqual(
      o.givenUp.map((g) => g.to),
      [['gone@example.org']],
    );
    assert.deepEqual(o.retry?.to, ['ok@example.org', 'temp@example.org']);
    assert.equal(o.retry?.responseCode, 452);
    assert.equal(o.retry?.perRecipient, true, 'the server answered: only these recipients wait');
  });

  it('a failure for the whole mail: 5xx given up for all, 4xx and no reply retried for all', () => {
    const data554 = deliveryOutcome(TO, {
      ok: false,
      error: smtpError(554, 'Message failed: 554 5.6.0 content refused'),
    });
    assert.deepEqual(data554, {
      delivered: [],
      givenUp: [{ to: TO, responseCode: 554, reply: 'Message failed: 554 5.6.0 content refused' }],
      retry: undefined,
    });
    const data451 = deliveryOutcome(TO, { ok: false, error: smtpError(451, 'Data command failed: 451 busy') });
    assert.deepEqual(data451, {
      delivered: [],
      givenUp: [],
      retry: { to: TO, responseCode: 451, reason: 'Data command failed: 451 busy', perRecipient: false },
    });
    const dropped = deliveryOutcome(TO, {
      ok: false,
      error: Object.assign(new Error('Connection closed unexpectedly'), { code: 'ECONNECTION' }),
    });
    assert.deepEqual(dropped, {
      delivered: [],
      givenUp: [],
      retry: { to: TO, reason: 'Connection closed unexpectedly', perRecipient: false },
    });
  });

  it('every recipient is in exactly one of delivered, given up and retried', () => {
    const codes = [undefined, 250, 421, 451, 452, 550, 553, 554];
    for (const a of codes) {
      for (const b of codes) {
        const refused = [a, b].flatMap((code, i) =>
          code === undefined || code < 400 ? [] : [refusal(TO[i] as string, code)],
        );
        for (const attempt of [
          { ok: true as const, report: { refused } },
          { ok: false as const, error: refused.length ? allRefused(refused) : smtpError(a ?? 451) },
        ]) {
          const o = deliveryOutcome(TO, attempt);
          const all = [...o.delivered, ...o.givenUp.flatMap((g) => g.to), ...(o.retry?.to ?? [])].sort();
          assert.deepEqual(all, [...TO].sort(), JSON.stringify({ a, b, attempt: attempt.ok }));
        }
      }
    }
  });
});

/** A transport answering each send with the next scripted result, recording the recipients of each attempt. */
class ScriptedTransport implements MailTransport {
  readonly attempts: Array<{ at: number; to: readonly string[] }> = [];
  constructor(
    private readonly clock: FakeClock,
    private readonly script: Array<SendReport | Error>,
  ) {}
  send(mail: OutgoingMail): Promise<SendReport | void> {
    this.attempts.push({ at: this.clock.monotonic(), to: mail.to });
    const next = this.script.shift();
    return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
  }
  close(): void {}
}

function queueWith(script: Array<SendReport | Error>, limits: { maxAgeMs?: number; maxQueue?: number } = {}) {
  const clock = new FakeClock();
  const log = captureLogger();
  const tally: MailTally = { sent: 0, failed: 0, dropped: 0, retries: 0 };
  const transport = new ScriptedTransport(clock, script);
  const queue = new MailQueue(transport, {
    clock,
    log: log.logger,
    label: 'smtp 127.0.0.1:25',
    maxQueue: limits.maxQueue ?? 100,
    retryInitialMs: 1000,
    retryMaxMs: 4000,
    maxAgeMs: limits.maxAgeMs ?? 3_600_000,
    sendTimeoutMs: 60_000,
    tally,
  });
  return { clock, log, tally, transport, queue };
}

const mail = (subject: string, to: readonly string[] = TO): OutgoingMail => ({
  from: 'ldir@lb1',
  to,
  subject,
  text: 'x',
  events: 1,
});
const logged = (log: ReturnType<typeof captureLogger>, msg: string) => log.records.filter((r) => r['msg'] === msg);

describe('the mail queue, per recipient', () => {
  it('RCPT 451 and 550 while the server takes it for the others: the 550 logged with recipient and reply, the 451 retried alone until taken', async () => {
    const q = queueWith([
      {
        refused: [
          refusal('temp@example.org', 451, '4.7.1 later'),
          refusal('gone@example.org', 550, '5.1.1 no such user'),
        ],
      },
      { refused: [refusal('temp@example.org', 451, '4.7.1 later')] },
      { refused: [] },
    ]);
    q.queue.push(mail('down'));
    await q.clock.advance(10_000);
    assert.deepEqual(q.transport.attempts, [
      { at: 0, to: TO },
      { at: 1000, to: ['temp@example.org'] },
      { at: 3000, to: ['temp@example.org'] },
    ]);
    assert.deepEqual(q.tally, { sent: 2, failed: 1, dropped: 0, retries: 2 });
    const refused = logged(q.log, 'alert mail refused by the server: not retried');
    assert.equal(refused.length, 1);
    assert.deepEqual(
      [refused[0]?.['to'], refused[0]?.['responseCode'], refused[0]?.['reply'], refused[0]?.['level']],
      [['gone@example.org'], 550, '550 5.1.1 no such user', 50],
    );
    assert.deepEqual(
      logged(q.log, 'alert mail sent').map((r) => r['to']),
      [['ok@example.org'], ['temp@example.org']],
    );
    assert.deepEqual(
      logged(q.log, 'alert mail not sent: will retry').map((r) => [r['to'], r['err'], r['retryInMs']]),
      [
        [['temp@example.org'], '451 4.7.1 later', 1000],
        [['temp@example.org'], '451 4.7.1 later', 2000],
      ],
    );
    assert.equal(q.queue.size(), 0);
  });

  it('a recipient deferred at RCPT TO does not hold back the mails behind it; its part follows its own backoff', async () => {
    const later = (): SendReport => ({ refused: [refusal('temp@example.org', 451, '4.7.1 later')] });
    const q = queueWith([later(), later(), { refused: [] }, { refused: [] }]);
    q.queue.push(mail('first'));
    q.queue.push(mail('second'));
    await q.clock.advance(0);
    assert.deepEqual(
      q.transport.attempts.map((a) => [a.at, a.to.length]),
      [
        [0, 3],
        [0, 3],
      ],
      'the second mail went at once',
    );
    await q.clock.advance(10_000);
    assert.deepEqual(
      q.transport.attempts.map((a) => [a.at, a.to]),
      [
        [0, TO],
        [0, TO],
        [1000, ['temp@example.org']],
        [1000, ['temp@example.org']],
      ],
    );
    assert.deepEqual(
      logged(q.log, 'alert mail sent').map((r) => [r['subject'], r['to']]),
      [
        ['first', ['ok@example.org', 'gone@example.org']],
        ['second', ['ok@example.org', 'gone@example.org']],
        ['first', ['temp@example.org']],
        ['second', ['temp@example.org']],
      ],
    );
    assert.deepEqual(
      logged(q.log, 'alert mail not sent: will retry').map((r) => r['deferredBy']),
      ['recipient', 'recipient'],
    );
    assert.equal(q.queue.size(), 0);
  });

  it('DATA 4xx and a dropped connection: the whole mail retried with backoff, then sent; the next mail waits its turn', async () => {
    const q = queueWith([
      smtpError(451, 'Data command failed: 451 busy'),
      new Error('Connection closed unexpectedly'),
      { refused: [] },
      { refused: [] },
    ]);
    q.queue.push(mail('first'));
    q.queue.push(mail('second'));
    await q.clock.advance(10_000);
    assert.deepEqual(
      q.transport.attempts.map((a) => [a.at, a.to.length]),
      [
        [0, 3],
        [1000, 3],
        [3000, 3],
        [3000, 3],
      ],
    );
    assert.deepEqual(
      logged(q.log, 'alert mail sent').map((r) => r['subject']),
      ['first', 'second'],
    );
    assert.deepEqual(q.tally, { sent: 2, failed: 0, dropped: 0, retries: 2 });
  });

  it('DATA 5xx: given up after one attempt, logged naming every recipient and the reply; the next mail goes', async () => {
    const q = queueWith([smtpError(554, 'Message failed: 554 5.6.0 content refused'), { refused: [] }]);
    q.queue.push(mail('refused'));
    q.queue.push(mail('next'));
    await q.clock.advance(0);
    const refused = logged(q.log, 'alert mail refused by the server: not retried');
    assert.deepEqual(
      refused.map((r) => [r['subject'], r['to'], r['responseCode'], r['reply']]),
      [['refused', TO, 554, 'Message failed: 554 5.6.0 content refused']],
    );
    assert.deepEqual(q.tally, { sent: 1, failed: 1, dropped: 0, retries: 0 });
  });

  it('a mail still owed after its maximum age is given up, logged with its recipients and the last error', async () => {
    const failures = Array.from({ length: 20 }, () => smtpError(451, '451 4.7.1 later'));
    const q = queueWith([{ refused: [refusal('temp@example.org', 451, '4.7.1 later')] }, ...failures], {
      maxAgeMs: 30_000,
    });
    q.queue.push(mail('old'));
    await q.clock.advance(60_000);
    const gaveUp = logged(q.log, 'alert mail given up: still unsent after its maximum age');
    assert.deepEqual(
      gaveUp.map((r) => [r['to'], r['err'], r['level']]),
      [[['temp@example.org'], '451 4.7.1 later', 50]],
    );
    assert.equal(q.queue.size(), 0);
    assert.equal(q.tally.sent, 1);
    assert.equal(q.tally.failed, 1);
  });

  it('a full queue logs the mail it drops with its recipients and last error; closing logs each mail still owed', async () => {
    const q = queueWith([smtpError(421, '421 closing')], { maxQueue: 2 });
    q.queue.push(mail('a', ['x@example.org']));
    await q.clock.advance(0);
    q.queue.push(mail('b', ['y@example.org']));
    q.queue.push(mail('c', ['z@example.org']));
    assert.deepEqual(
      logged(q.log, 'alert mail queue full: oldest mail dropped').map((r) => [
        r['subject'],
        r['to'],
        r['err'],
        r['level'],
      ]),
      [['a', ['x@example.org'], '421 closing', 50]],
    );
    assert.equal(q.queue.close(), 2);
    assert.deepEqual(
      logged(q.log, 'alert mail dropped unsent: the alerter stopped').map((r) => [r['subject'], r['to'], r['level']]),
      [
        ['b', ['y@example.org'], 50],
        ['c', ['z@example.org'], 50],
      ],
    );
    assert.equal(q.tally.dropped, 1, 'the queue counts what it drops when full; the alerter counts what close returns');
  });
});
