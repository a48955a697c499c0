// The alerter's failure paths against real SMTP servers on 127.0.0.1, with nodemailer and the system clock:
// - OpenSMTPD (Debian's, a real MTA): its built-in filters refuse deterministically with a 4xx or 5xx reply at RCPT TO
//   (per recipient), at the DATA command and at the end of the data (by sender); restarted without the rule, it takes
//   the mail, so "retried until the server takes it" is shown against the same server;
// - smtp-server (the SMTP server of the other alert tests) for the one case OpenSMTPD cannot be made to do on cue: the
//   connection dropped in the middle of DATA, with no reply at all.
// What is checked, per recipient: a 5xx is given up after one attempt and logged at error naming the recipient and
// the reply; a 4xx or a dropped connection is retried with a growing delay, for the recipients still owed the mail
// only, until the server takes it; a recipient the server took gets the mail exactly once.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { createAlerter } from '../../../src/alerts/alerter';
import { nodemailerTransports } from '../../../src/alerts/transports';
import type { Alerter } from '../../../src/alerts/types';
import { systemClock } from '../../../src/clock';
import { captureLogger, transition, withAlerting } from '../../helpers/alerts';
import { loadValid } from '../../helpers/config';
import { startOpenSmtpd, type OpenSmtpdRelay, type SmtpdRefusal } from '../../helpers/opensmtpd-relay';
import { waitFor } from '../../helpers/smtp-sink';
import { ensurePackages, IN_CI } from '../../helpers/system';

const V = 'tcp:192.0.2.1:80';
const SUBJECT = '[Web] Deleted real server: 10.0.0.2:80 (192.0.2.1:80)';
const TEMP = { phase: 'rcpt-to', match: '^temp@', reply: '451 4.7.1 try again later' } as const;
const GONE = { phase: 'rcpt-to', match: '^gone@', reply: '550 5.1.1 no such user here' } as const;
/** Retry delays of these tests: 200 ms doubling up to 800 ms (the daemon's are 1 s up to 5 min). */
const RETRY = { retryInitialMs: 200, retryMaxMs: 800 };

type Log = ReturnType<typeof captureLogger>;
const open: Alerter[] = [];

function cf(port: number, to: readonly string[], from = 'ldir@example.org'): string {
  return [
    `emailalert=${to.join(', ')}`,
    `smtp=127.0.0.1:${port}`,
    `emailalertfrom=${from}`,
    'smtptls=none',
    'virtual=192.0.2.1:80',
    '\treal=10.0.0.2:80 gate',
    '\tservicename=Web',
    '',
  ].join('\n');
}

/** An alerter mailing through `port` (one mail per event, at once) whose real 10.0.0.2 has just gone down. */
async function alertDown(port: number, to: readonly string[], log: Log, from?: string): Promise<Alerter> {
  const a = createAlerter({
    clock: systemClock(),
    logger: log.logger,
    hostname: 'lb1.example.org',
    transport: nodemailerTransports({ connectionMs: 5000, greetingMs: 5000, socketMs: 10_000 }),
    mail: RETRY,
  });
  open.push(a);
  a.applyConfig(withAlerting(await loadValid(cf(port, to, from)), { window: 0, interval: 0, flapChanges: 0 }));
  a.setDaemonState('running');
  a.onTransition(transition(V, '10.0.0.2:80', 'unknown', 'up', Date.now()));
  a.onTransition(transition(V, '10.0.0.2:80', 'up', 'down', Date.now()));
  return a;
}

/** Log records with message `msg` whose `to` includes `recipient`. */
function records(log: Log, msg: string, recipient: string): Array<Record<string, unknown>> {
  return log.records.filter(
    (r) => r['msg'] === msg && Array.isArray(r['to']) && (r['to'] as unknown[]).includes(recipient),
  );
}
const GIVEN_UP = 'alert mail refused by the server: not retried';
const RETRYING = 'alert mail not sent: will retry';
const SENT = 'alert mail sent';

const subjects = (relay: OpenSmtpdRelay, recipient: string): string[] => relay.subjects(recipient);

const missing = ensurePackages(['opensmtpd']);
if (missing && IN_CI) {
  it('OpenSMTPD is available', () => assert.fail(missing));
}

afterEach(async () => {
  for (const a of open.splice(0)) await a.close(2000);
});

describe('refusals of a real OpenSMTPD', { skip: missing ?? false, concurrency: false }, () => {
  let relay: OpenSmtpdRelay;
  const serverLog = (): string => `\nOpenSMTPD log:\n${relay.log().split('\n').slice(-30).join('\n')}`;

  before(async () => {
    relay = await startOpenSmtpd();
  });
  after(async () => {
    await relay?.stop();
  });

  it('RCPT TO: the accepted recipient gets it once, 550 is given up naming the recipient and the reply, 451 is retried until taken', async () => {
    await relay.restart([TEMP, GONE]);
    const log = captureLogger();
    const a = await alertDown(relay.port, ['ok@example.org', 'temp@example.org', 'gone@example.org'], log);
    assert.ok(
      await waitFor(() => relay.delivered('ok@example.org').length === 1, 10_000),
      `ok@ got nothing${serverLog()}`,
    );
    assert.ok(
      await waitFor(() => records(log, RETRYING, 'temp@example.org').length >= 3, 10_000),
      `temp@ not retried${serverLog()}`,
    );

    const refused = records(log, GIVEN_UP, 'gone@example.org');
    assert.equal(refused.length, 1, 'gone@ refused once, never retried');
    assert.deepEqual(refused[0]?.['to'], ['gone@example.org']);
    assert.equal(refused[0]?.['responseCode'], 550);
    assert.match(String(refused[0]?.['reply']), /^550 5\.1\.1 no such user here/);
    assert.equal(refused[0]?.['level'], 50, 'logged at error');
    const retries = records(log, RETRYING, 'temp@example.org');
    for (const r of retries) {
      assert.deepEqual(r['to'], ['temp@example.org'], 'only the recipient still owed the mail is retried');
      assert.equal(r['responseCode'], 451);
      assert.match(String(r['err']), /^451 4\.7\.1 try again later/);
    }
    assert.deepEqual(
      retries.slice(0, 3).map((r) => r['retryInMs']),
      [200, 400, 800],
      'the delay doubles up to its bound',
    );

    await relay.restart([GONE]);
    assert.ok(
      await waitFor(() => relay.delivered('temp@example.org').length === 1, 10_000),
      `temp@ never got it${serverLog()}`,
    );
    assert.ok(await waitFor(() => a.counters().mail.queued === 0, 5000));
    assert.deepEqual(subjects(relay, 'ok@example.org'), [SUBJECT], 'ok@ got it exactly once');
    assert.deepEqual(subjects(relay, 'temp@example.org'), [SUBJECT], 'temp@ got it exactly once');
    assert.deepEqual(relay.delivered('gone@example.org'), []);
    assert.equal(records(log, GIVEN_UP, 'gone@example.org').length, 1);
    const c = a.counters().mail;
    assert.equal(c.sent, 2, 'ok@, then temp@');
    assert.equal(c.failed, 1, 'gone@');
    assert.ok(c.retries >= 3);
  });

  it('every recipient refused at RCPT TO: the 5xx one given up at once, the 4xx one retried until taken', async () => {
    await relay.restart([TEMP, GONE]);
    const log = captureLogger();
    const a = await alertDown(relay.port, ['temp@example.org', 'gone@example.org'], log);
    assert.ok(
      await waitFor(() => records(log, RETRYING, 'temp@example.org').length >= 2, 10_000),
      `temp@ not retried${serverLog()}`,
    );
    assert.equal(records(log, GIVEN_UP, 'gone@example.org').length, 1);
    assert.ok(records(log, RETRYING, 'temp@example.org').every((r) => (r['to'] as string[]).length === 1));
    await relay.restart([GONE]);
    assert.ok(
      await waitFor(() => relay.delivered('temp@example.org').length === 1, 10_000),
      `temp@ never got it${serverLog()}`,
    );
    assert.ok(await waitFor(() => a.counters().mail.queued === 0, 5000));
    assert.equal(records(log, GIVEN_UP, 'gone@example.org').length, 1, 'still refused only once');
    assert.deepEqual(relay.delivered('gone@example.org'), []);
    assert.deepEqual(a.counters().mail.failed, 1);
  });

  for (const [phase, where] of [
    ['data', 'the DATA command'],
    ['commit', 'the end of the data'],
  ] as const) {
    it(`${where}: 451 is retried for every recipient until taken, each gets it once`, async () => {
      const rule: SmtpdRefusal = { phase, match: '^busy@', reply: `451 4.3.0 busy at ${phase}` };
      await relay.restart([rule]);
      const to = [`a-${phase}@example.org`, `b-${phase}@example.org`];
      const log = captureLogger();
      const a = await alertDown(relay.port, to, log, 'busy@example.org');
      assert.ok(
        await waitFor(() => records(log, RETRYING, to[0] as string).length >= 2, 10_000),
        `not retried${serverLog()}`,
      );
      const r = records(log, RETRYING, to[0] as string)[0];
      assert.deepEqual(r?.['to'], to);
      assert.equal(r?.['responseCode'], 451);
      assert.match(String(r?.['err']), new RegExp(`451 4\\.3\\.0 busy at ${phase}`));
      assert.deepEqual(relay.delivered(to[0] as string), [], 'nothing delivered while refused');
      await relay.restart([]);
      for (const rcpt of to)
        assert.ok(
          await waitFor(() => relay.delivered(rcpt).length === 1, 10_000),
          `${rcpt} never got it${serverLog()}`,
        );
      assert.ok(await waitFor(() => a.counters().mail.queued === 0, 5000));
      for (const rcpt of to) assert.deepEqual(subjects(relay, rcpt), [SUBJECT], `${rcpt} got it exactly once`);
      assert.equal(a.counters().mail.failed, 0);
    });

    it(`${where}: 554 is given up after one attempt, logged naming every recipient and the reply`, async () => {
      const rule: SmtpdRefusal = { phase, match: '^refused@', reply: `554 5.7.1 refused at ${phase}` };
      await relay.restart([rule]);
      const to = [`c-${phase}@example.org`, `d-${phase}@example.org`];
      const log = captureLogger();
      const a = await alertDown(relay.port, to, log, 'refused@example.org');
      assert.ok(await waitFor(() => a.counters().mail.failed === 1, 10_000), `not given up${serverLog()}`);
      const refused = records(log, GIVEN_UP, to[0] as string);
      assert.equal(refused.length, 1);
      assert.deepEqual(refused[0]?.['to'], to);
      assert.equal(refused[0]?.['responseCode'], 554);
      assert.match(String(refused[0]?.['reply']), new RegExp(`554 5\\.7\\.1 refused at ${phase}`));
      assert.equal(a.counters().mail.retries, 0);
      assert.equal(records(log, RETRYING, to[0] as string).length, 0);
      assert.deepEqual(relay.delivered(to[0] as string), []);
      assert.equal(a.counters().mail.queued, 0, 'nothing left waiting');
    });
  }
});

describe('the connection dropped during DATA (smtp-server: OpenSMTPD cannot drop it on cue)', () => {
  it('is retried, and the mail arrives once', async () => {
    const received: string[][] = [];
    let drops = 0;
    const server = new SMTPServer({
      logger: false,
      disableReverseLookup: true,
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      onData(stream, session, callback) {
        if (drops === 0) {
          // The first message: as soon as its first bytes arrive, the connection goes away without a reply.
          drops++;
          stream.once('data', () => {
            for (const c of (server as unknown as { connections: Set<{ id: string; _socket: { destroy(): void } }> })
              .connections) {
              if (c.id === session.id) c._socket.destroy();
            }
          });
          stream.resume();
          return;
        }
        stream.on('data', () => undefined);
        stream.on('end', () => {
          received.push(session.envelope.rcptTo.map((r) => r.address));
          callback();
        });
      },
    });
    const port = await new Promise<number>((resolve) => {
      const l = server.listen(0, '127.0.0.1', () => resolve((l.address() as { port: number }).port));
    });
    try {
      const log = captureLogger();
      const a = await alertDown(port, ['ops@example.org', 'noc@example.org'], log);
      assert.ok(
        await waitFor(() => received.length === 1 && a.counters().mail.queued === 0, 10_000),
        JSON.stringify(a.counters().mail),
      );
      assert.equal(drops, 1);
      const retried = records(log, RETRYING, 'ops@example.org');
      assert.equal(retried.length, 1);
      assert.deepEqual(retried[0]?.['to'], ['ops@example.org', 'noc@example.org']);
      assert.equal(retried[0]?.['responseCode'], undefined, 'no reply: the connection was gone');
      assert.deepEqual(received, [['ops@example.org', 'noc@example.org']], 'delivered once, to both');
      assert.equal(records(log, SENT, 'ops@example.org').length, 1);
      assert.deepEqual(a.counters().mail, { sent: 1, failed: 0, queued: 0, dropped: 0, retries: 1 });
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
