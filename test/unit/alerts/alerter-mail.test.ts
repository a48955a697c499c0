// The alerter's mails on a fake clock: window, digests, shared servers, intervals, start-up silence, status filter,
// fallback lines, flapping summaries and reminders that survive reloads.
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { createAlerter } from '../../../src/alerts/alerter';
import type { Alerter } from '../../../src/alerts/types';
import type { Config } from '../../../src/model';
import { FakeMail, captureLogger, transition, withAlerting } from '../../helpers/alerts';
import { loadValid } from '../../helpers/config';
import { FakeClock } from '../../helpers/fake-clock';

const V = 'tcp:192.0.2.1:80';
const BASE = [
  'emailalert=ops@example.com',
  'smtp=127.0.0.1:2525',
  'virtual=192.0.2.1:80',
  '\treal=10.0.0.2:80 gate',
  '\treal=10.0.0.3:80 gate 3',
  '\tservicename=Web',
  '\tcomment=front end',
  '',
].join('\n');

let clock: FakeClock;
let mail: FakeMail;

function alerter(config: Config, extra: Partial<Parameters<typeof createAlerter>[0]> = {}): Alerter {
  const a = createAlerter({
    clock,
    logger: captureLogger().logger,
    hostname: 'lb1',
    sender: 'ldir@lb1',
    transport: mail.factory,
    ...extra,
  });
  a.applyConfig(config);
  a.setDaemonState('running');
  return a;
}

/** Makes both reals of V known up without a mail (their first results). */
function known(a: Alerter, ...reals: string[]): void {
  for (const r of reals.length ? reals : ['10.0.0.2:80', '10.0.0.3:80'])
    a.onTransition(transition(V, r, 'unknown', 'up', clock.now()));
}

beforeEach(() => {
  clock = new FakeClock();
  mail = new FakeMail(() => clock.now());
});

describe('one transition', () => {
  it("leaves 5 s after the event as ldirectord's mail, over the configured SMTP server", async () => {
    const a = alerter(await loadValid(BASE));
    known(a);
    await clock.advance(1000);
    a.onTransition(transition(V, '10.0.0.2:80', 'up', 'down', clock.now()));
    await clock.advance(4999);
    assert.equal(mail.sent.length, 0);
    await clock.advance(1);
    assert.equal(mail.sent.length, 1);
    const [sent] = mail.sent;
    assert.deepEqual(sent?.settings, { kind: 'smtp', host: '127.0.0.1', port: 2525, tls: 'may' });
    assert.deepEqual(sent?.mail.to, ['ops@example.com']);
    assert.equal(sent?.mail.from, 'ldir@lb1');
    assert.equal(sent?.mail.subject, '[Web] Deleted real server: 10.0.0.2:80 (192.0.2.1:80)');
    assert.equal(
      sent?.mail.text,
      'ldirectord host: lb1\nLog-Message: [Web] Deleted real server: 10.0.0.2:80 (192.0.2.1:80)\n' +
        'Daemon-Status: running\nService name: Web\nComment: front end\nReason: refused\nTime: 2026-01-01T00:00:01.000Z\n',
    );
    assert.deepEqual(a.counters().mail, { sent: 1, failed: 0, queued: 0, dropped: 0, retries: 0 });
    assert.equal(a.counters().events.mailed, 1);
  });

  it('start-up: a first result of up is no event; a first result of down is mailed; repeats are ignored', async () => {
    const a = alerter(await loadValid(BASE));
    a.setDaemonState('starting');
    a.onTransition(transition(V, '10.0.0.2:80', 'unknown', 'up', clock.now()));
    a.onTransition(transition(V, '10.0.0.3:80', 'unknown', 'down', clock.now()));
    a.onTransition(transition(V, '10.0.0.3:80', 'unknown', 'down', clock.now()));
    await clock.advance(60_000);
    assert.deepEqual(mail.subjects(), ['[Web] Deleted real server: 10.0.0.3:80 (192.0.2.1:80)']);
    assert.match(mail.sent[0]?.mail.text ?? '', /Daemon-Status: starting/);
  });

  it('a transition that arrives before the configuration naming its pair is handled when that configuration comes', async () => {
    const a = alerter(await loadValid(BASE));
    const other = 'tcp:192.0.2.7:80';
    a.onTransition(transition(other, '10.0.0.2:80', 'unknown', 'down', clock.now()));
    a.onTransition(transition('tcp:192.0.2.99:80', '10.0.0.2:80', 'unknown', 'down', clock.now()));
    a.applyConfig(await loadValid(`${BASE}\nvirtual=192.0.2.7:80\n\treal=10.0.0.2:80 gate\n`));
    await clock.advance(5000);
    assert.deepEqual(mail.subjects(), ['Deleted real server: 10.0.0.2:80 (192.0.2.7:80)']);
    a.applyConfig(await loadValid(`${BASE}\nvirtual=192.0.2.99:80\n\treal=10.0.0.2:80 gate\n`));
    await clock.advance(120_000);
    assert.equal(mail.sent.length, 1, 'strays are kept until the next configuration only');
  });

  it('with no emailalert nothing is mailed; transitions of unknown virtuals are ignored', async () => {
    const a = alerter(withAlerting(await loadValid(BASE), {}, { emailAlert: [] }));
    known(a);
    a.onTransition(transition(V, '10.0.0.2:80', 'up', 'down', clock.now()));
    a.onTransition(transition('tcp:192.0.2.9:80', '10.0.0.2:80', 'up', 'down', clock.now()));
    await clock.advance(120_000);
    assert.equal(mail.attempts.length, 0);
  });
});

describe('coalescing', () => {
  it('transitions within the window make one digest, listing each, with the virtual out of service', async () => {
    const a = alerter(await loadValid(BASE));
    known(a);
    a.onTransition(transition(V, '10.0.0.2:80', 'up', 'down', clock.now()));
    await clock.advance(3000);
    a.onTransition(transition(V, '10.0.0.3:80', 'up', 'down', clock.now(), 'timeout'));
    await clock.advance(2000);
    assert.equal(mail.sent.length, 1);
    const m = mail.sent[0]?.mail;
    assert.equal(m?.subject, '[Web] Deleted real server: 10.0.0.2:80 (192.0.2.1:80) (+1 more)');
    assert.equal(m?.events, 2);
    assert.match(
      m?.text ?? '',
      /^ldirectord host: lb1\nDaemon-Status: running\nEvents: 2 \(2 down\)\nOut of service \(no real server up\): \[Web\] 192\.0\.2\.1:80\n\n/,
    );
    assert.match(
      m?.text ?? '',
      /Log-Message: \[Web\] Deleted real server: 10\.0\.0\.3:80 \(192\.0\.2\.1:80\)\nDaemon-Status: running\nService name: Web\nComment: front end\nReason: timeout\n/,
    );
  });

  it('a real server shared by 20 virtual services going down is one mail', async () => {
    const lines = ['emailalert=noc@example.com', 'emailalertwindow=2'];
    for (let i = 1; i <= 20; i++)
      lines.push(`virtual=192.0.2.${i}:80`, '\treal=10.0.0.9:80 gate', '\treal=10.0.0.10:80 gate', '');
    const config = await loadValid(lines.join('\n'));
    const a = alerter(config);
    for (const v of config.virtualServices)
      a.onTransition(transition(v.id, '10.0.0.9:80', 'unknown', 'up', clock.now()));
    for (const v of config.virtualServices) a.onTransition(transition(v.id, '10.0.0.9:80', 'up', 'down', clock.now()));
    await clock.advance(2000);
    assert.equal(mail.sent.length, 1);
    assert.equal(mail.sent[0]?.mail.subject, 'Deleted real server: 10.0.0.9:80 (192.0.2.1:80) (+19 more)');
    assert.equal(mail.sent[0]?.mail.events, 20);
    assert.equal(mail.sent[0]?.settings.kind, 'sendmail');
  });

  it('different recipient lists get their own digests', async () => {
    const config = await loadValid(
      [
        'emailalert=ops@example.com',
        'virtual=192.0.2.1:80',
        '\treal=10.0.0.2:80 gate',
        '',
        'virtual=192.0.2.2:80',
        '\treal=10.0.0.2:80 gate',
        '\temailalert=web@example.com, ops@example.com',
        '',
      ].join('\n'),
    );
    const a = alerter(config);
    for (const v of config.virtualServices)
      a.onTransition(transition(v.id, '10.0.0.2:80', 'unknown', 'down', clock.now()));
    await clock.advance(5000);
    assert.deepEqual(
      mail.sent.map((s) => s.mail.to),
      [['ops@example.com'], ['web@example.com', 'ops@example.com']],
    );
  });

  it('a later burst waits for the interval since the last mail to the same recipients, and is one mail', async () => {
    const a = alerter(await loadValid(BASE));
    known(a);
    a.onTransition(transition(V, '10.0.0.2:80', 'up', 'down', clock.now()));
    await clock.advance(10_000);
    a.onTransition(transition(V, '10.0.0.2:80', 'down', 'up', clock.now()));
    await clock.advance(10_000);
    a.onTransition(transition(V, '10.0.0.3:80', 'up', 'down', clock.now()));
    await clock.advance(44_999);
    assert.equal(mail.sent.length, 1);
    await clock.advance(1);
    assert.equal(mail.sent.length, 2);
    assert.equal(mail.sent[1]?.at, clock.now());
    assert.equal(
      mail.sent[1]?.mail.subject,
      '[Web] Added real server: 10.0.0.2:80 (192.0.2.1:80) (Weight set to 1) (+1 more)',
    );
  });

  it('window 0 and interval 0: one mail per event at once, as ldirectord', async () => {
    const a = alerter(withAlerting(await loadValid(BASE), { window: 0, interval: 0 }));
    known(a);
    a.onTransition(transition(V, '10.0.0.2:80', 'up', 'down', clock.now()));
    a.onTransition(transition(V, '10.0.0.3:80', 'up', 'down', clock.now()));
    await clock.advance(0);
    assert.deepEqual(mail.subjects(), [
      '[Web] Deleted real server: 10.0.0.2:80 (192.0.2.1:80)',
      '[Web] Deleted real server: 10.0.0.3:80 (192.0.2.1:80)',
    ]);
  });
});

describe('status filter, fallback and quiescent lines', () => {
  it('emailalertstatus filters on the daemon state when the event happens', async () => {
    const a = alerter(withAlerting(await loadValid(BASE), {}, { emailAlertStatus: ['running'] }));
    known(a);
    a.setDaemonState('reloading');
    a.onTransition(transition(V, '10.0.0.2:80', 'up', 'down', clock.now()));
    a.setDaemonState('running');
    a.onTransition(transition(V, '10.0.0.3:80', 'up', 'down', clock.now()));
    await clock.advance(5000);
    assert.deepEqual(mail.subjects(), ['[Web] Deleted real server: 10.0.0.3:80 (192.0.2.1:80)']);
    assert.equal(a.counters().events.filtered, 1);
  });

  it("fallback in and out become ldirectord's fallback lines, only for virtuals with a fallback server", async () => {
    const config = await loadValid(
      `${BASE}\nvirtual=192.0.2.2:80\n\treal=10.0.0.5:80 gate\n\tfallback=127.0.0.1:80\n\tquiescent=yes\n`,
    );
    const a = alerter(withAlerting(config, { window: 0, interval: 0 }));
    a.onEngineEvent({ type: 'fallback', at: clock.now(), virtualId: V, active: true });
    a.onEngineEvent({ type: 'fallback', at: clock.now(), virtualId: 'tcp:192.0.2.2:80', active: true });
    a.onEngineEvent({
      type: 'sync',
      at: clock.now(),
      reason: 'health',
      ok: true,
      durationMs: 1,
      ops: 1,
      failed: 0,
      drift: 0,
    });
    a.onTransition(transition('tcp:192.0.2.2:80', '10.0.0.5:80', 'unknown', 'down', clock.now()));
    a.onTransition(transition('tcp:192.0.2.2:80', '10.0.0.5:80', 'down', 'up', clock.now()));
    a.onEngineEvent({ type: 'fallback', at: clock.now(), virtualId: 'tcp:192.0.2.2:80', active: false });
    await clock.advance(0);
    assert.deepEqual(mail.subjects(), [
      'Added fallback server: 127.0.0.1:80 (192.0.2.2:80) (Weight set to 1)',
      'Quiescent real server: 10.0.0.5:80 (192.0.2.2:80) (Weight set to 0)',
      'Restored real server: 10.0.0.5:80 (192.0.2.2:80) (Weight set to 1)',
      'Deleted fallback server: 127.0.0.1:80 (192.0.2.2:80)',
    ]);
  });
});

describe('quorum', () => {
  it('lost and gained become lines with the counts, only for virtuals with quorum settings; a first state of up is no event', async () => {
    const config = await loadValid(
      `${BASE}\treal=10.0.0.4:80 gate\n\tquorum=2\n\thysteresis=1\n\nvirtual=192.0.2.2:80\n\treal=10.0.0.5:80 gate\n`,
    );
    const a = alerter(withAlerting(config, { window: 0, interval: 0 }));
    const q = (virtualId: string, state: 'up' | 'down', previous: 'up' | 'down' | undefined, serving: number): void => {
      a.onEngineEvent({
        type: 'quorum',
        at: clock.now(),
        virtualId,
        state,
        ...(previous ? { previous } : {}),
        serving,
        quorum: 2,
        hysteresis: 1,
      });
    };
    q(V, 'up', undefined, 2);
    q('tcp:192.0.2.2:80', 'down', undefined, 0);
    q(V, 'down', 'up', 0);
    q(V, 'up', 'down', 2);
    await clock.advance(0);
    assert.deepEqual(mail.subjects(), [
      '[Web] Lost quorum: 192.0.2.1:80 (0 real servers serving, quorum 2-1)',
      '[Web] Gained quorum: 192.0.2.1:80 (2 real servers serving, quorum 2+1)',
    ]);
  });
});

describe('route health injection', () => {
  it('a prefix announced or withdrawn is mailed for each of its virtuals', async () => {
    const config = await loadValid(`${BASE}\nvirtual=192.0.2.1:443\n\treal=10.0.0.5:443 gate\n\tservicename=Tls\n`);
    const a = alerter(withAlerting(config, { window: 0, interval: 0 }));
    a.onEngineEvent({
      type: 'announce',
      at: clock.now(),
      prefix: '192.0.2.1/32',
      announced: false,
      virtualIds: [V, 'tcp:192.0.2.1:443'],
    });
    a.onEngineEvent({ type: 'announce', at: clock.now(), prefix: '192.0.2.1/32', announced: true, virtualIds: [V] });
    await clock.advance(0);
    assert.deepEqual(mail.subjects().sort(), [
      '[Tls] Withdrawn route: 192.0.2.1/32 (192.0.2.1:443)',
      '[Web] Announced route: 192.0.2.1/32 (192.0.2.1:80)',
      '[Web] Withdrawn route: 192.0.2.1/32 (192.0.2.1:80)',
    ]);
  });
});

describe('flapping', () => {
  it('a flapping real server is summarised once per period, then reported stable', async () => {
    const a = alerter(withAlerting(await loadValid(BASE), { window: 0, interval: 0, flapChanges: 4, flapPeriod: 600 }));
    known(a, '10.0.0.2:80');
    let state: 'up' | 'down' = 'up';
    for (let i = 0; i < 60; i++) {
      // a change every 10 s for 10 minutes
      const to: 'up' | 'down' = state === 'up' ? 'down' : 'up';
      a.onTransition(transition(V, '10.0.0.2:80', state, to, clock.now()));
      state = to;
      await clock.advance(10_000);
    }
    // 3 plain mails, then "Flapping" at the 4th change (t=30 s); the 56 later changes wait for the summary.
    assert.equal(mail.sent.length, 4);
    assert.equal(
      mail.sent[3]?.mail.subject,
      '[Web] Flapping real server: 10.0.0.2:80 (192.0.2.1:80) (4 changes in 600 s, now up; further changes summarised every 600 s)',
    );
    await clock.advance(30_000); // t = 630 s: end of the first period
    assert.equal(mail.sent.length, 5);
    assert.equal(
      mail.sent[4]?.mail.subject,
      '[Web] Flapping real server: 10.0.0.2:80 (192.0.2.1:80) (56 more changes in the last 600 s, now up)',
    );
    await clock.advance(600_000); // a whole period without a change
    assert.equal(
      mail.sent[5]?.mail.subject,
      '[Web] Stable real server: 10.0.0.2:80 (192.0.2.1:80) (no change for 600 s, now up)',
    );
    assert.equal(mail.sent.length, 6);
    assert.equal(a.counters().events.summarised, 56);
    // Stable again: the next change is mailed as usual.
    a.onTransition(transition(V, '10.0.0.2:80', 'up', 'down', clock.now()));
    await clock.advance(0);
    assert.equal(mail.sent[6]?.mail.subject, '[Web] Deleted real server: 10.0.0.2:80 (192.0.2.1:80)');
  });

  it('emailalertflap=no mails every change', async () => {
    const a = alerter(withAlerting(await loadValid(BASE), { window: 0, interval: 0, flapChanges: 0 }));
    known(a, '10.0.0.2:80');
    for (let i = 0; i < 10; i++) {
      a.onTransition(transition(V, '10.0.0.2:80', i % 2 ? 'down' : 'up', i % 2 ? 'up' : 'down', clock.now()));
      await clock.advance(1000);
    }
    assert.equal(mail.sent.length, 10);
  });
});

describe('reminders (emailalertfreq)', () => {
  it('every N seconds while down; coming back up stops them', async () => {
    const a = alerter(withAlerting(await loadValid(BASE), { window: 0, interval: 0 }, { emailAlertFreq: 30 }));
    known(a);
    a.onTransition(transition(V, '10.0.0.2:80', 'up', 'down', clock.now()));
    await clock.advance(100_000);
    a.onTransition(transition(V, '10.0.0.2:80', 'down', 'up', clock.now()));
    await clock.advance(100_000);
    assert.deepEqual(
      mail.sent.map((s) => [s.at - Date.UTC(2026, 0, 1), s.mail.subject]),
      [
        [0, '[Web] Deleted real server: 10.0.0.2:80 (192.0.2.1:80)'],
        [30_000, '[Web] Inaccessible real server: 10.0.0.2:80 (192.0.2.1:80)'],
        [60_000, '[Web] Inaccessible real server: 10.0.0.2:80 (192.0.2.1:80)'],
        [90_000, '[Web] Inaccessible real server: 10.0.0.2:80 (192.0.2.1:80)'],
        [100_000, '[Web] Added real server: 10.0.0.2:80 (192.0.2.1:80) (Weight set to 1)'],
      ],
    );
  });

  it('survive reloads, follow a new emailalertfreq, stop for removed reals; the status filter skips but keeps the rhythm', async () => {
    const config = withAlerting(await loadValid(BASE), { window: 0, interval: 0 }, { emailAlertFreq: 30 });
    const a = alerter(config);
    known(a);
    a.onTransition(transition(V, '10.0.0.2:80', 'up', 'down', clock.now()));
    await clock.advance(40_000); // reminder at 30 s
    a.setDaemonState('reloading');
    a.applyConfig(config);
    a.setDaemonState('running');
    await clock.advance(20_000); // reminder at 60 s, after the reload
    a.applyConfig(withAlerting(config, {}, { emailAlertFreq: 100 }));
    await clock.advance(99_000); // next one at 60 + 100 = 160 s
    assert.equal(mail.sent.length, 3);
    await clock.advance(1000);
    assert.equal(mail.sent.length, 4);
    a.applyConfig(withAlerting(config, {}, { emailAlertFreq: 100, emailAlertStatus: ['starting'] }));
    await clock.advance(100_000); // at 260 s: filtered
    assert.equal(mail.sent.length, 4);
    a.applyConfig(withAlerting(config, {}, { emailAlertFreq: 100 }));
    await clock.advance(100_000); // at 360 s: mailed again
    assert.equal(mail.sent.length, 5);
    const without = await loadValid(BASE.replace('\treal=10.0.0.2:80 gate\n', ''));
    a.applyConfig(withAlerting(without, { window: 0, interval: 0 }, { emailAlertFreq: 100 }));
    await clock.advance(1_000_000);
    assert.equal(mail.sent.length, 5);
    assert.ok(
      mail
        .subjects()
        .slice(1)
        .every((s) => s === '[Web] Inaccessible real server: 10.0.0.2:80 (192.0.2.1:80)'),
    );
  });
});
