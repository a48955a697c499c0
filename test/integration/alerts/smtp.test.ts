// The alerter against a real SMTP server on 127.0.0.1 (smtp-server), with nodemailer and the system clock: what
// arrives, when, how often; STARTTLS and AUTH; a server that is down and comes back; and the sendmail transport.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { createAlerter } from '../../../src/alerts/alerter';
import { nodemailerTransports } from '../../../src/alerts/transports';
import type { Alerter, AlerterOptions } from '../../../src/alerts/types';
import { systemClock } from '../../../src/clock';
import type { AlertThrottle, Config } from '../../../src/model';
import { captureLogger, transition, withAlerting } from '../../helpers/alerts';
import { loadValid } from '../../helpers/config';
import { startSmtpSink, waitFor, type SmtpSink } from '../../helpers/smtp-sink';

const V = 'tcp:192.0.2.1:80';
const FAST: Partial<AlertThrottle> = { window: 0, interval: 0, flapChanges: 0 };
const open: Alerter[] = [];
let sink: SmtpSink;

function cf(port: number, extra: string[] = [], body: string[] = []): string {
  return [
    'emailalert=ops@example.com, noc@example.com',
    `smtp=127.0.0.1:${port}`,
    'emailalertfrom=ldir <ldir@lb1.example.com>',
    ...extra,
    'virtual=192.0.2.1:80',
    '\treal=10.0.0.2:80 gate',
    '\treal=10.0.0.3:80 gate 2',
    '\tservicename=Web',
    ...body.map((l) => `\t${l}`),
    '',
  ].join('\n');
}

async function alerter(config: Config, options: Partial<AlerterOptions> = {}): Promise<Alerter> {
  const a = createAlerter({
    clock: systemClock(),
    logger: captureLogger().logger,
    hostname: 'lb1.example.com',
    transport: nodemailerTransports({ connectionMs: 2000, greetingMs: 2000, socketMs: 5000 }),
    mail: { retryInitialMs: 100, retryMaxMs: 400 },
    ...options,
  });
  open.push(a);
  a.applyConfig(config);
  a.setDaemonState('running');
  for (const r of ['10.0.0.2:80', '10.0.0.3:80']) a.onTransition(transition(V, r, 'unknown', 'up', Date.now()));
  return a;
}

const down = (a: Alerter, real = '10.0.0.2:80'): void => a.onTransition(transition(V, real, 'up', 'down', Date.now()));
const up = (a: Alerter, real = '10.0.0.2:80'): void => a.onTransition(transition(V, real, 'down', 'up', Date.now()));

before(async () => {
  sink = await startSmtpSink();
});
afterEach(async () => {
  for (const a of open.splice(0)) await a.close(2000);
  sink.mails.length = 0;
});
after(async () => {
  await sink.stop();
});

describe('mail through a real SMTP server', () => {
  it("one transition: one mail, ldirectord's subject and body, to every recipient, over STARTTLS, within the window", async () => {
    const a = await alerter(withAlerting(await loadValid(cf(sink.port)), { window: 0.3, interval: 0 }));
    const t0 = Date.now();
    down(a);
    assert.ok(await waitFor(() => sink.mails.length === 1, 5000), 'no mail arrived');
    const elapsed = Date.now() - t0;
    assert.ok(elapsed >= 250 && elapsed < 3000, `arrived after ${elapsed} ms`);
    const m = sink.mails[0];
    assert.equal(m?.subject, '[Web] Deleted real server: 10.0.0.2:80 (192.0.2.1:80)');
    assert.deepEqual(m?.to, ['ops@example.com', 'noc@example.com']);
    assert.equal(m?.from, 'ldir@lb1.example.com');
    assert.equal(m?.headers.get('from'), 'ldir <ldir@lb1.example.com>');
    assert.equal(m?.headers.get('auto-submitted'), 'auto-generated');
    assert.equal(m?.secure, true, 'STARTTLS was offered and used');
    assert.match(
      m?.body ?? '',
      /^ldirectord host: lb1\.example\.com\nLog-Message: \[Web\] Deleted real server: 10\.0\.0\.2:80 \(192\.0\.2\.1:80\)\nDaemon-Status: running\nService name: Web\nReason: refused\nTime: /,
    );
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(sink.mails.length, 1);
    assert.equal(a.counters().mail.sent, 1);
  });

  it('smtptls=none: plain text, as ldirectord', async () => {
    const a = await alerter(withAlerting(await loadValid(cf(sink.port, ['smtptls=none'])), FAST));
    down(a);
    assert.ok(await waitFor(() => sink.mails.length === 1, 5000));
    assert.equal(sink.mails[0]?.secure, false);
  });

  it('coalescing: a real server shared by 20 virtual services going down is one mail', async () => {
    const lines = ['emailalert=noc@example.com', `smtp=127.0.0.1:${sink.port}`];
    for (let i = 1; i <= 20; i++) lines.push(`virtual=192.0.2.${i}:80`, '\treal=10.0.0.9:80 gate', '');
    const config = withAlerting(await loadValid(lines.join('\n')), { window: 0.4, interval: 0 });
    const a = await alerter(config);
    for (const v of config.virtualServices)
      a.onTransition(transition(v.id, '10.0.0.9:80', 'unknown', 'up', Date.now()));
    for (const v of config.virtualServices) a.onTransition(transition(v.id, '10.0.0.9:80', 'up', 'down', Date.now()));
    assert.ok(await waitFor(() => sink.mails.length >= 1, 5000));
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(sink.mails.length, 1);
    assert.equal(sink.mails[0]?.subject, 'Deleted real server: 10.0.0.9:80 (192.0.2.1:80) (+19 more)');
    assert.equal(sink.mails[0]?.body.match(/^Log-Message: Deleted real server: 10\.0\.0\.9:80 /gm)?.length, 20);
    assert.equal(sink.mails[0]?.body.match(/^Out of service \(no real server up\): /gm)?.length, 20);
  });

  it('reminders arrive every emailalertfreq while the real server stays down, and stop when it is back', async () => {
    const a = await alerter(withAlerting(await loadValid(cf(sink.port)), FAST, { emailAlertFreq: 0.4 }));
    down(a);
    assert.ok(await waitFor(() => sink.mails.length >= 4, 5000), `only ${sink.mails.length} mails`);
    up(a);
    assert.ok(await waitFor(() => sink.mails.some((m) => /Added real server/.test(m.subject)), 5000));
    const count = sink.mails.length;
    await new Promise((r) => setTimeout(r, 900));
    assert.equal(sink.mails.length, count, 'a reminder came after the real server was back');
    const reminders = sink.mails.filter(
      (m) => m.subject === '[Web] Inaccessible real server: 10.0.0.2:80 (192.0.2.1:80)',
    );
    assert.ok(reminders.length >= 3);
    const times = sink.mails.map((m) => Date.parse(/^Time: (.*)$/m.exec(m.body)?.[1] ?? ''));
    for (let i = 1; i < 4; i++) {
      const gap = (times[i] as number) - (times[i - 1] as number);
      assert.ok(gap >= 380 && gap < 1500, `reminder gap ${gap} ms`);
    }
  });

  it('a flapping real server: three mails, "Flapping", one summary, then "Stable"', async () => {
    const a = await alerter(
      withAlerting(await loadValid(cf(sink.port)), { window: 0, interval: 0, flapChanges: 4, flapPeriod: 1 }),
    );
    for (let i = 0; i < 10; i++) (i % 2 ? up : down)(a);
    assert.ok(
      await waitFor(() => sink.mails.some((m) => /Stable real server/.test(m.subject)), 6000),
      sink.mails.map((m) => m.subject).join('\n'),
    );
    assert.deepEqual(
      sink.mails.map((m) => m.subject.replace(/ \(.*$/, '')),
      [
        '[Web] Deleted real server: 10.0.0.2:80',
        '[Web] Added real server: 10.0.0.2:80',
        '[Web] Deleted real server: 10.0.0.2:80',
        '[Web] Flapping real server: 10.0.0.2:80',
        '[Web] Flapping real server: 10.0.0.2:80',
        '[Web] Stable real server: 10.0.0.2:80',
      ],
    );
    assert.match(sink.mails[4]?.subject ?? '', /\(6 more changes in the last 1 s, now up\)$/);
  });

  it('emailalertstatus: nothing while starting, mail once running', async () => {
    const a = await alerter(withAlerting(await loadValid(cf(sink.port, ['emailalertstatus=running'])), FAST));
    a.setDaemonState('starting');
    down(a);
    a.setDaemonState('running');
    down(a, '10.0.0.3:80');
    assert.ok(await waitFor(() => sink.mails.length >= 1, 5000));
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(
      sink.mails.map((m) => m.subject),
      ['[Web] Deleted real server: 10.0.0.3:80 (192.0.2.1:80)'],
    );
  });
});

describe('an SMTP server that is down, then up', () => {
  it('the mail is retried with backoff and delivered once the server is back', async () => {
    const late = await startSmtpSink();
    const port = late.port;
    await late.stop();
    const log = captureLogger();
    const a = await alerter(withAlerting(await loadValid(cf(port)), FAST), { logger: log.logger });
    down(a);
    assert.ok(await waitFor(() => a.counters().mail.retries >= 2, 5000));
    assert.equal(a.counters().mail.sent, 0);
    const back = await startSmtpSink({ port });
    try {
      assert.ok(await waitFor(() => back.mails.length === 1, 5000), 'not delivered after the server came back');
      assert.equal(back.mails[0]?.subject, '[Web] Deleted real server: 10.0.0.2:80 (192.0.2.1:80)');
      assert.equal(a.counters().mail.sent, 1);
      assert.ok(
        log.records.some((r) => r.msg === 'alert mail not sent: will retry' && /ECONNREFUSED/.test(String(r.err))),
      );
    } finally {
      await a.close(2000);
      await back.stop();
    }
  });
});

describe('SMTP AUTH', () => {
  const secret = 'pa55-Wörd"x';
  let authSink: SmtpSink;
  before(async () => {
    authSink = await startSmtpSink({ auth: { login: 'ldir', passwd: secret } });
  });
  after(async () => {
    await authSink.stop();
  });

  it('logs in over STARTTLS with the configured credentials; the password is never logged', async () => {
    const log = captureLogger();
    const text = cf(authSink.port, ['smtplogin=ldir', `smtppasswd=${secret}`]);
    const a = await alerter(withAlerting(await loadValid(text), FAST), { logger: log.logger });
    down(a);
    assert.ok(await waitFor(() => authSink.mails.length === 1, 5000));
    assert.equal(authSink.mails[0]?.user, 'ldir');
    assert.equal(authSink.mails[0]?.secure, true);
    await a.close(2000);
    assert.doesNotMatch(log.text(), /pa55/);
  });

  it('a wrong password is refused (535): counted failed, not retried, and not logged', async () => {
    authSink.mails.length = 0;
    const log = captureLogger();
    const a = await alerter(
      withAlerting(await loadValid(cf(authSink.port, ['smtplogin=ldir', 'smtppasswd=wrong-Secret-9'])), FAST),
      { logger: log.logger },
    );
    down(a);
    assert.ok(await waitFor(() => a.counters().mail.failed === 1, 5000));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(a.counters().mail.retries, 0);
    assert.equal(authSink.mails.length, 0);
    assert.ok(
      log.records.some((r) => r.msg === 'alert mail refused by the server: not retried' && r.responseCode === 535),
    );
    assert.doesNotMatch(log.text(), /wrong-Secret-9/);
  });
});

describe('without smtp: the sendmail binary', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ldir-sendmail-'));
    writeFileSync(join(dir, 'sendmail'), `#!/bin/sh\necho "$@" > "${dir}/args"\ncat > "${dir}/mail"\n`);
    chmodSync(join(dir, 'sendmail'), 0o755);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('gets the mail on stdin and the envelope as arguments', async () => {
    const config = withAlerting(await loadValid(cf(0).replace(/^smtp=.*\n/m, '')), FAST);
    const a = await alerter(config, { transport: nodemailerTransports({}, join(dir, 'sendmail')) });
    down(a);
    assert.ok(await waitFor(() => a.counters().mail.sent === 1, 5000), JSON.stringify(a.counters().mail));
    assert.equal(
      readFileSync(join(dir, 'args'), 'utf8').trim(),
      '-i -f ldir@lb1.example.com ops@example.com noc@example.com',
    );
    assert.match(
      readFileSync(join(dir, 'mail'), 'utf8'),
      /^Subject: \[Web\] Deleted real server: 10\.0\.0\.2:80 \(192\.0\.2\.1:80\)$/m,
    );
  });
});
