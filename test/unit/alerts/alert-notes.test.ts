// `onAlert`: the alerter tells of every mail taken or given up and every alert command ended (the daemon's recent
// events for `ldir status` and the status page), on a fake clock.
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { createAlerter } from '../../../src/alerts/alerter';
import type { AlertNote, Alerter, AlerterOptions } from '../../../src/alerts/types';
import type { Config } from '../../../src/model';
import { FakeMail, FakeRunner, captureLogger, smtpError, transition, withAlerting } from '../../helpers/alerts';
import { loadValid } from '../../helpers/config';
import { FakeClock } from '../../helpers/fake-clock';

const V = 'tcp:192.0.2.1:80';
const BASE = [
  'emailalert=ops@example.com',
  'smtp=mail.example.com',
  'virtual=192.0.2.1:80',
  '\treal=10.0.0.2:80 gate',
  '',
].join('\n');

let clock: FakeClock;
let mail: FakeMail;
let notes: AlertNote[];

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
    onAlert: (n) => notes.push(n),
    ...options,
  });
  a.applyConfig(tweak(await loadValid(BASE)));
  a.setDaemonState('running');
  a.onTransition(transition(V, '10.0.0.2:80', 'unknown', 'up', clock.now()));
  return a;
}

beforeEach(() => {
  clock = new FakeClock();
  mail = new FakeMail(() => clock.now());
  notes = [];
});

describe('alert notes', () => {
  it('a mail taken by the server is noted ok with its subject and recipients; a 5xx refusal is noted failed', async () => {
    mail.next.push('ok', smtpError(550, 'Mailbox unavailable'));
    const a = await setup();
    a.onTransition(transition(V, '10.0.0.2:80', 'up', 'down', clock.now()));
    await clock.advance(10);
    a.onTransition(transition(V, '10.0.0.2:80', 'down', 'up', clock.now()));
    await clock.advance(10_000);
    assert.deepEqual(
      notes.map((n) => [n.channel, n.ok, n.at - notes[0]!.at]),
      [
        ['mail', true, 0],
        ['mail', false, 10],
      ],
    );
    assert.match(
      notes[0]?.text ?? '',
      /^alert mail "Deleted real server: 10\.0\.0\.2:80 \(192\.0\.2\.1:80\)" to ops@example\.com: sent$/,
    );
    assert.match(notes[1]?.text ?? '', /to ops@example\.com: refused by the server \(550\): not retried$/);
  });

  it('a mail retried is noted once, when it finally leaves; one given up at its maximum age is noted failed', async () => {
    mail.next.push(new Error('ECONNREFUSED'));
    const a = await setup();
    a.onTransition(transition(V, '10.0.0.2:80', 'up', 'down', clock.now()));
    await clock.advance(10_000);
    assert.deepEqual(
      notes.map((n) => n.ok),
      [true],
    );
    mail.fallback = new Error('ECONNREFUSED');
    notes = [];
    const b = await setup({ mail: { maxAgeMs: 5_000, retryInitialMs: 4000, retryMaxMs: 4000 } });
    b.onTransition(transition(V, '10.0.0.2:80', 'up', 'down', clock.now()));
    await clock.advance(60_000);
    assert.equal(notes.length, 1);
    assert.equal(notes[0]?.ok, false);
    assert.match(notes[0]?.text ?? '', /given up: still unsent after its maximum age/);
  });

  it('an alert command that ends is noted with its virtual, real and outcome', async () => {
    const runner = new FakeRunner();
    const a = await setup({ runCommand: runner.run }, (c) =>
      withAlerting(c, { window: 0, interval: 0 }, { command: '/usr/local/bin/notify', emailAlert: [] }),
    );
    a.onTransition(transition(V, '10.0.0.2:80', 'up', 'down', clock.now()));
    await clock.advance(0);
    runner.outcome = { exitCode: 3, signal: null, timedOut: false, stderr: 'no' };
    a.onTransition(transition(V, '10.0.0.2:80', 'down', 'up', clock.now()));
    await clock.advance(0);
    assert.deepEqual(
      notes.map((n) => [n.channel, n.ok, n.virtual, n.real, n.text]),
      [
        ['command', true, V, '10.0.0.2:80', 'alert command /usr/local/bin/notify (down): ok'],
        ['command', false, V, '10.0.0.2:80', 'alert command /usr/local/bin/notify (up): exit status 3'],
      ],
    );
  });

  it('a listener that throws does not stop the alerter', async () => {
    const runner = new FakeRunner();
    const a = await setup(
      {
        runCommand: runner.run,
        onAlert: () => {
          throw new Error('boom');
        },
      },
      (c) => withAlerting(c, { window: 0, interval: 0 }, { command: '/bin/true' }),
    );
    a.onTransition(transition(V, '10.0.0.2:80', 'up', 'down', clock.now()));
    a.onTransition(transition(V, '10.0.0.2:80', 'down', 'up', clock.now()));
    await clock.advance(10_000);
    assert.equal(runner.calls.length, 2);
    assert.equal(mail.sent.length, 2);
  });
});
