// The `ldir` binary (memory backend, reals on 127.0.0.8) mailing its alerts through a real OpenSMTPD on 127.0.0.1
// that refuses one recipient for good (550 at RCPT TO) and defers another (451): the daemon goes on checking and
// applying health changes while the deferred mails are retried, the recipient the relay takes gets every alert at
// once, the refused one is logged at error with the reply, and once the relay takes the deferred recipient it gets
// each alert exactly once.
import assert from 'node:assert/strict';
import * as http from 'node:http';
import { after, afterEach, before, describe, it } from 'node:test';
import type { RealStatus } from '../../../src/daemon/protocol';
import { LdirDirector } from '../../helpers/ldir-director';
import { startOpenSmtpd, type OpenSmtpdRelay } from '../../helpers/opensmtpd-relay';
import { ensurePackages, freePort, IN_CI } from '../../helpers/system';
import { eventually } from '../../helpers/wait';

const CONF = 'alerts.cf';
const HOST = '127.0.0.8';
const TEMP = { phase: 'rcpt-to', match: '^temp@', reply: '451 4.7.1 try again later' } as const;
const GONE = { phase: 'rcpt-to', match: '^gone@', reply: '550 5.1.1 no such user here' } as const;

/** A switchable HTTP real server on 127.0.0.8. */
class Real {
  private server: http.Server | undefined;
  constructor(readonly port: number) {}
  async up(): Promise<void> {
    const s = http.createServer((_q, r) => r.end('ok'));
    await new Promise<void>((resolve) => s.listen(this.port, HOST, resolve));
    this.server = s;
  }
  async down(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
}

const missing = ensurePackages(['opensmtpd']);
if (missing && IN_CI) {
  it('OpenSMTPD is available', () => assert.fail(missing));
}

describe('alerts refused and deferred by the relay while the daemon runs', {
  skip: missing ?? false,
  concurrency: false,
}, () => {
  let relay: OpenSmtpdRelay;
  let director: LdirDirector;
  const reals: Real[] = [];

  before(async () => {
    relay = await startOpenSmtpd([TEMP, GONE]);
    director = new LdirDirector('ldir-alerts-');
    for (let i = 0; i < 2; i++) {
      const r = new Real(await freePort(HOST));
      await r.up();
      reals.push(r);
    }
  });
  after(async () => {
    await director?.stop(CONF).catch(() => undefined);
    director?.cleanup();
    for (const r of reals) await r.down();
    await relay?.stop();
  });
  afterEach((t) =>
    director?.printChangesIfFailed(t, CONF, `OpenSMTPD log (end): ${relay.log().split('\n').slice(-15).join('\n')}\n`),
  );

  /** The status of real `i` as the daemon reports it now. */
  const real = async (i: number): Promise<RealStatus | undefined> => {
    const s = await director.quickStatus(CONF);
    return s.virtualServices[0]?.reals.find((r) => r.port === reals[i]?.port);
  };
  const waitHealth = (i: number, health: 'up' | 'down', kernelWeight: number | null): Promise<true> =>
    eventually(
      `real ${i} ${health} with kernel weight ${kernelWeight}`,
      async () => {
        const r = await real(i);
        return r?.health === health && r.kernelWeight === kernelWeight ? true : undefined;
      },
      30_000,
      100,
    );
  const logged = (msg: string, recipient: string): Array<Record<string, unknown>> =>
    director.logRecords(
      CONF,
      (r) => r['msg'] === msg && Array.isArray(r['to']) && (r['to'] as unknown[]).includes(recipient),
    );
  const subjects = (recipient: string): string[] => relay.subjects(recipient);

  it('keeps checking while mails are retried; each alert reaches the accepted recipients once, the refused one is logged', async () => {
    const [a, b] = reals as [Real, Real];
    director.writeConfig(
      CONF,
      [
        'checkinterval=1',
        'checktimeout=1',
        'metrics=no',
        'emailalert=ok@example.org, temp@example.org, gone@example.org',
        'emailalertfrom=ldir@example.org',
        `smtp=127.0.0.1:${relay.port}`,
        'smtptls=none',
        'emailalertwindow=0',
        'emailalertinterval=0',
        `logfile="${director.logPath(CONF)}"`,
        'virtual=127.0.0.1:8083',
        `\treal=${HOST}:${a.port} masq 1`,
        `\treal=${HOST}:${b.port} masq 2`,
        '\tchecktype=connect',
        '\tquiescent=no',
        '',
      ].join('\n'),
    );
    const started = await director.run(['--ipvs=memory', director.configPath(CONF), 'start']);
    assert.equal(started.status, 0, started.stderr);
    director.adopt(director.pid(CONF));
    await waitHealth(0, 'up', 1);
    await waitHealth(1, 'up', 2);

    // Real 0 fails: its alert reaches ok@, gone@ is refused for good, temp@ is deferred and retried.
    await a.down();
    await waitHealth(0, 'down', null);
    const first = `Deleted real server: ${HOST}:${a.port} (127.0.0.1:8083)`;
    await eventually(
      'the first alert at ok@, refused for gone@, deferred for temp@',
      () =>
        subjects('ok@example.org').includes(first) &&
        logged('alert mail refused by the server: not retried', 'gone@example.org').length === 1 &&
        logged('alert mail not sent: will retry', 'temp@example.org').length >= 1
          ? true
          : undefined,
      30_000,
      100,
    );
    const refused = logged('alert mail refused by the server: not retried', 'gone@example.org')[0];
    assert.deepEqual([refused?.['to'], refused?.['responseCode'], refused?.['level']], [['gone@example.org'], 550, 50]);
    assert.match(String(refused?.['reply']), /^550 5\.1\.1 no such user here/);
    assert.equal(relay.delivered('temp@example.org').length, 0);

    // Meanwhile the daemon goes on: real 1 fails and real 0 comes back, both applied to the table and mailed to ok@
    // without waiting for temp@'s retries.
    await b.down();
    await waitHealth(1, 'down', null);
    await a.up();
    await waitHealth(0, 'up', 1);
    const later = [
      `Deleted real server: ${HOST}:${b.port} (127.0.0.1:8083)`,
      `Added real server: ${HOST}:${a.port} (127.0.0.1:8083) (Weight set to 1)`,
    ];
    await eventually(
      'the later alerts at ok@',
      () => (later.every((s) => subjects('ok@example.org').includes(s)) ? true : undefined),
      30_000,
      100,
      () => `ok@ has ${subjects('ok@example.org').join(' / ')}`,
    );
    assert.equal(relay.delivered('temp@example.org').length, 0, 'temp@ still deferred');
    assert.ok(
      logged('alert mail not sent: will retry', 'temp@example.org').length >= 3,
      'temp@ retried for each alert',
    );

    // The relay takes temp@ now: each alert reaches it once, on its next retry.
    await relay.restart([GONE]);
    const all = [first, ...later].sort();
    await eventually(
      'every alert at temp@',
      () => (subjects('temp@example.org').length >= 3 ? true : undefined),
      60_000,
      200,
      () => `temp@ has ${subjects('temp@example.org').join(' / ')}`,
    );
    assert.deepEqual(subjects('temp@example.org'), all, 'temp@ got each alert once');
    assert.deepEqual(subjects('ok@example.org'), all, 'ok@ got each alert once');
    assert.deepEqual(relay.delivered('gone@example.org'), []);
    assert.equal(
      logged('alert mail refused by the server: not retried', 'gone@example.org').length,
      3,
      'gone@ refused once per alert, never retried',
    );
    const stopped = await director.stop(CONF);
    assert.equal(stopped.status, 0, stopped.stderr);
    assert.equal(
      director.logRecords(CONF, (r) => r['msg'] === 'alert mail dropped unsent: the alerter stopped').length,
      0,
      'nothing left unsent at stop',
    );
  });
});
