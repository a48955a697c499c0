// Delivery on a fake clock: retries with backoff, permanent refusals, the queue bound, maximum age, flush and close,
// never blocking the caller, credentials kept out of logs; and alert commands with a scripted runner.
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { createAlerter } from '../../../src/alerts/alerter';
import type { Alerter, AlerterOptions } from '../../../src/alerts/types';
import type { Config } from '../../../src/model';
import { FakeMail, FakeRunner, captureLogger, smtpError, transition, withAlerting } from '../../helpers/alerts';
import { loadValid } from '../../helpers/config';
import { FakeClock } from '../../helpers/fake-clock';

const V = 'tcp:192.0.2.1:80';
const T0 = Date.UTC(2026, 0, 1);
const BASE = [
  'emailalert=ops@example.com',
  'smtp=mail.example.com',
  'smtplogin=ldir',
  'smtppasswd="S3cr3t-pw"',
  'virtual=192.0.2.1:80',
  '\treal=10.0.0.2:80 gate',
  '\treal=10.0.0.3:80 gate 3',
  '',
].join('\n');

let clock: FakeClock;
let mail: FakeMail;

async function setup(
  options: Partial<AlerterOptions> = {},
  tweak: (c: Config) => Config = (c) => withAlerting(c, { window: 0, interval: 0 }),
): Promise<Alerter> {
  const a = createAlerter({
    clock,
    logger: captureLogger().logger,
    hostname: 'lb1',
    sender: 'ldir@lb1',
    transport: mail.factory,
    ...options,
  });
  a.applyConfig(tweak(await loadValid(BASE)));
  a.setDaemonState('running');
  for (const r of ['10.0.0.2:80', '10.0.0.3:80']) a.onTransition(transition(V, r, 'unknown', 'up', clock.now()));
  return a;
}

/** Flips 10.0.0.2 `n` times (down, up, ...), one change per call. */
function flip(a: Alerter, n: number): void {
  for (let i = 0; i < n; i++)
    a.onTransition(transition(V, '10.0.0.2:80', i % 2 ? 'down' : 'up', i % 2 ? 'up' : 'down', clock.now()));
}

beforeEach(() => {
  clock = new FakeClock();
  mail = new FakeMail(() => clock.now());
});

describe('sending', () => {
  it('an unreachable server: retried after 1, 2, 4 s, delivered when it answers again', async () => {
    mail.next.push(
      new Error('connect ECONNREFUSED'),
      new Error('connect ECONNREFUSED'),
      new Error('connect ECONNREFUSED'),
    );
    const a = await setup();
    flip(a, 1);
    await clock.advance(0);
    assert.equal(a.counters().mail.queued, 1);
    await clock.advance(60_000);
    assert.deepEqual(
      mail.attempts.map((s) => s.at - T0),
      [0, 1000, 3000, 7000],
    );
    assert.equal(mail.sent.length, 1);
    assert.deepEqual(a.counters().mail, { sent: 1, failed: 0, queued: 0, dropped: 0, retries: 3 });
  });

  it('the delay doubles up to its bound; flush retries at once', async () => {
    mail.fallback = new Error('timeout');
    const a = await setup({ mail: { retryInitialMs: 1000, retryMaxMs: 4000 } });
    flip(a, 1);
    await clock.advance(20_000);
    assert.deepEqual(
      mail.attempts.map((s) => s.at - T0),
      [0, 1000, 3000, 7000, 11_000, 15_000, 19_000],
    );
    mail.fallback = 'ok';
    assert.equal(await a.flush(1000), true);
    assert.equal(mail.sent.length, 1);
  });

  it('a 5xx reply is not retried and counts as failed; the next mail still goes', async () => {
    mail.next.push(smtpError(550, 'Mailbox unavailable'));
    const a = await setup();
    flip(a, 2);
    await clock.advance(10_000);
    assert.equal(mail.attempts.length, 2);
    assert.equal(mail.sent.length, 1);
    assert.deepEqual(a.counters().mail, { sent: 1, failed: 1, queued: 0, dropped: 0, retries: 0 });
  });

  it('the queue is bounded: the oldest waiting mails are dropped', async () => {
    mail.next.push('hang');
    const a = await setup({ mail: { maxQueue: 2, sendTimeoutMs: 1000 } }, (c) =>
      withAlerting(c, { window: 0, interval: 0, flapChanges: 0 }),
    );
    flip(a, 5);
    await clock.advance(0);
    assert.deepEqual(a.counters().mail, { sent: 0, failed: 0, queued: 2, dropped: 3, retries: 0 });
    await clock.advance(10_000);
    assert.equal(mail.sent.length, 2, 'the hung mail timed out and was retried, then the newest one went');
    assert.equal(mail.sent[1]?.mail.subject, 'Deleted real server: 10.0.0.2:80 (192.0.2.1:80)');
    assert.deepEqual(a.counters().mail, { sent: 2, failed: 0, queued: 0, dropped: 3, retries: 1 });
  });

  it('a mail still unsent after its maximum age is given up', async () => {
    mail.fallback = new Error('ECONNREFUSED');
    const a = await setup({ mail: { maxAgeMs: 10_000, retryInitialMs: 4000, retryMaxMs: 4000 } });
    flip(a, 1);
    await clock.advance(60_000);
    assert.equal(mail.attempts.length, 3); // 0, 4, 8 s; at 12 s it is too old
    assert.deepEqual(a.counters().mail, { sent: 0, failed: 1, queued: 0, dropped: 0, retries: 3 });
  });

  it('never blocks: events keep coming while the transport hangs, and close is bounded', async () => {
    mail.fallback = 'hang';
    const a = await setup({ mail: { sendTimeoutMs: 600_000 } });
    for (let i = 0; i < 500; i++) flip(a, 2);
    // Every change was taken (mailed or summarised) while the one send that started is still unanswered.
    assert.equal(mail.attempts.length, 1, 'one send under way');
    assert.equal(mail.sent.length, 0, 'and not answered');
    const { mailed, summarised } = a.counters().events;
    assert.equal(mailed + summarised, 1000, `all 1,000 changes taken: ${JSON.stringify(a.counters().events)}`);
    const closing = a.close(5000);
    await clock.advance(5000);
    await closing;
    assert.equal(a.counters().mail.queued, 0);
    assert.ok(a.counters().mail.dropped > 0);
    assert.equal(mail.closed, 1);
    a.onTransition(transition(V, '10.0.0.3:80', 'up', 'down', clock.now()));
    await clock.advance(60_000);
    assert.equal(mail.sent.length, 0);
  });

  it('close sends the pending digest at once and waits for it', async () => {
    const a = await setup({}, (c) => withAlerting(c, { window: 5, interval: 60 }));
    flip(a, 1);
    a.setDaemonState('stopping');
    await a.close(1000);
    assert.equal(mail.sent.length, 1);
    assert.match(mail.sent[0]?.mail.text ?? '', /Daemon-Status: running/);
  });

  it('credentials reach the transport but never the logs', async () => {
    const log = captureLogger();
    mail.next.push(smtpError(535, '535 5.7.8 Authentication failed'), new Error('ECONNRESET'));
    const a = createAlerter({ clock, logger: log.logger, hostname: 'lb1', transport: mail.factory });
    a.applyConfig(withAlerting(await loadValid(BASE), { window: 0, interval: 0 }));
    a.onTransition(transition(V, '10.0.0.2:80', 'unknown', 'down', clock.now()));
    a.onTransition(transition(V, '10.0.0.3:80', 'unknown', 'down', clock.now()));
    await clock.advance(10_000);
    assert.deepEqual(mail.sent[0]?.settings, {
      kind: 'smtp',
      host: 'mail.example.com',
      port: 25,
      tls: 'encrypt',
      auth: { login: 'ldir', passwd: 'S3cr3t-pw' },
    });
    assert.match(log.text(), /Authentication failed/);
    assert.doesNotMatch(log.text(), /S3cr3t-pw/);
    assert.match(mail.sent[0]?.mail.from ?? '', /^[^@]+@lb1$/);
  });
});

describe('alert commands', () => {
  const withCommand = (c: Config): Config =>
    withAlerting(c, { window: 0, interval: 0 }, { command: '/usr/local/bin/notify --lvs' });

  it('run with event, virtual, real, weight and reason, plus LDIR_* variables; not for first results that are up', async () => {
    const runner = new FakeRunner();
    const a = await setup({ runCommand: runner.run }, withCommand);
    a.onTransition(transition(V, '10.0.0.3:80', 'up', 'down', clock.now(), 'timeout'));
    a.onTransition(transition(V, '10.0.0.3:80', 'down', 'up', clock.now(), 'ok'));
    await clock.advance(0);
    assert.deepEqual(
      runner.calls.map((c) => c.argv),
      [
        ['/usr/local/bin/notify', '--lvs', 'down', V, '10.0.0.3:80', '0', 'timeout'],
        ['/usr/local/bin/notify', '--lvs', 'up', V, '10.0.0.3:80', '3', 'ok'],
      ],
    );
    const env = runner.calls[0]?.env ?? {};
    assert.equal(env.LDIR_EVENT, 'down');
    assert.equal(env.LDIR_VIRTUAL_ADDRESS, '192.0.2.1:80');
    assert.equal(env.LDIR_PROTOCOL, 'tcp');
    assert.equal(env.LDIR_PREVIOUS, 'up');
    assert.equal(env.LDIR_DAEMON_STATUS, 'running');
    assert.equal(env.LDIR_TIME, String(T0 / 1000));
    assert.equal(env.PATH, process.env.PATH);
    assert.deepEqual(a.counters().commands, { started: 2, failed: 0, timedOut: 0, dropped: 0, running: 0, queued: 0 });
  });

  it("bounded concurrency and queue; one pair's commands run in order, one at a time", async () => {
    const runner = new FakeRunner();
    runner.hold = true;
    const release = (): void => runner.pending.shift()?.({ exitCode: 0, signal: null, timedOut: false, stderr: '' });
    const a = await setup({ runCommand: runner.run, commands: { concurrency: 2, maxQueue: 3 } }, withCommand);
    flip(a, 3); // 10.0.0.2: down (runs), up and down (wait: same pair)
    a.onTransition(transition(V, '10.0.0.3:80', 'up', 'down', clock.now())); // runs: second slot
    await clock.advance(0);
    assert.deepEqual(
      runner.calls.map((c) => [c.argv[2], c.argv[4]]),
      [
        ['down', '10.0.0.2:80'],
        ['down', '10.0.0.3:80'],
      ],
    );
    assert.deepEqual(a.counters().commands, { started: 2, failed: 0, timedOut: 0, dropped: 0, running: 2, queued: 2 });
    a.onTransition(transition(V, '10.0.0.3:80', 'down', 'up', clock.now()));
    a.onTransition(transition(V, '10.0.0.3:80', 'up', 'down', clock.now()));
    assert.equal(a.counters().commands.dropped, 1, 'the oldest waiting command (10.0.0.2 up) made room');
    release();
    await clock.advance(0);
    assert.deepEqual(runner.calls.map((c) => [c.argv[2], c.argv[4]]).slice(2), [['down', '10.0.0.2:80']]);
    for (let i = 0; i < 10 && runner.pending.length > 0; i++) {
      release();
      await clock.advance(0);
    }
    assert.deepEqual(runner.calls.map((c) => [c.argv[2], c.argv[4]]).slice(3), [
      ['up', '10.0.0.3:80'],
      ['down', '10.0.0.3:80'],
    ]);
    assert.deepEqual(a.counters().commands, { started: 5, failed: 0, timedOut: 0, dropped: 1, running: 0, queued: 0 });
  });

  it('failures, kills and commands that cannot start are counted, and the alerter carries on', async () => {
    const log = captureLogger();
    const runner = new FakeRunner();
    const a = await setup({ runCommand: runner.run, logger: log.logger }, withCommand);
    runner.outcome = { exitCode: 3, signal: null, timedOut: false, stderr: 'no route to pager\n' };
    a.onTransition(transition(V, '10.0.0.2:80', 'up', 'down', clock.now()));
    await clock.advance(0);
    runner.outcome = { exitCode: null, signal: 'SIGTERM', timedOut: true, stderr: '' };
    a.onTransition(transition(V, '10.0.0.2:80', 'down', 'up', clock.now()));
    a.onTransition(transition(V, '10.0.0.3:80', 'up', 'down', clock.now()));
    await clock.advance(0);
    assert.deepEqual(a.counters().commands, { started: 3, failed: 3, timedOut: 2, dropped: 0, running: 0, queued: 0 });
    assert.ok(
      log.records.some((r) => r.msg === 'alert command failed: exit status 3' && r.stderr === 'no route to pager\n'),
    );
    assert.ok(log.records.some((r) => r.msg === 'alert command killed at its timeout'));
    assert.equal(mail.sent.length, 3);
  });
});
