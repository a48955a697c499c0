// The announce guard over a real unix socket (in process, fake driver): it withdraws only once no daemon is
// connected for its grace, and then exits; a second daemon (a restart's successor) keeps the announcement alive.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import type { RouteDriver, RouteTarget } from '../../../src/announce/route-driver';
import { connectGuard } from '../../../src/announce/guard-client';
import { runAnnounceGuard } from '../../../src/announce/guard-server';
import { systemClock } from '../../../src/clock';
import { silentLogger } from '../../../src/log';
import { sleep } from '../../helpers/wait';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lb-guard-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function recorder(): {
  withdrawn: Array<{ target: RouteTarget; prefixes: readonly string[] }>;
  driverFor: (t: RouteTarget) => RouteDriver;
} {
  const withdrawn: Array<{ target: RouteTarget; prefixes: readonly string[] }> = [];
  return {
    withdrawn,
    driverFor: (target) => ({
      describe: 'fake',
      announced: async () => [],
      apply: async (prefixes) => {
        withdrawn.push({ target, prefixes });
      },
    }),
  };
}

describe('announce guard', () => {
  test('started on demand; two daemons, the first leaves: nothing; the last leaves: withdrawn after the grace, then it exits', async () => {
    const p = path.join(tmp, 'g1.sock');
    const rec = recorder();
    let guard: Promise<void> | undefined;
    const spawn = (): void => {
      guard = runAnnounceGuard({
        path: p,
        clock: systemClock(),
        logger: silentLogger(),
        driverFor: rec.driverFor,
        graceMs: 300,
        firstConnectMs: 5_000,
      });
    };
    const first = await connectGuard({ path: p, clock: systemClock(), spawn });
    assert.ok(guard, 'no guard answered: one was started');
    first.send({ driver: 'bird', socket: '/run/b.ctl', file: '/etc/bird/x.conf' });
    let started = 0;
    const second = await connectGuard({
      path: p,
      clock: systemClock(),
      spawn: () => {
        started++;
      },
    });
    assert.equal(started, 0, 'the running guard is joined, not a second one started');
    second.send({ driver: 'bird', socket: '/run/b.ctl', file: '/etc/bird/y.conf' });
    first.close();
    await sleep(700);
    assert.equal(rec.withdrawn.length, 0, 'a daemon is still connected: nothing withdrawn');
    const t0 = Date.now();
    second.close();
    await guard;
    const took = Date.now() - t0;
    assert.deepEqual(rec.withdrawn, [
      { target: { driver: 'bird', socket: '/run/b.ctl', file: '/etc/bird/y.conf' }, prefixes: [] },
    ]);
    assert.ok(took >= 250, `withdrawn after the grace, not at once (${took} ms)`);
    assert.ok(!fs.existsSync(p), 'the socket is removed');
  });

  test('a daemon that comes back within the grace keeps everything announced', async () => {
    const p = path.join(tmp, 'g2.sock');
    const rec = recorder();
    const guard = runAnnounceGuard({
      path: p,
      clock: systemClock(),
      logger: silentLogger(),
      driverFor: rec.driverFor,
      graceMs: 400,
    });
    const a = await connectGuard({ path: p, clock: systemClock(), spawn: () => assert.fail('the guard runs') });
    a.send({ driver: 'bird', socket: '/s', file: '/f' });
    a.close();
    await sleep(100);
    const b = await connectGuard({ path: p, clock: systemClock(), spawn: () => assert.fail('the guard runs') });
    await sleep(600);
    assert.equal(rec.withdrawn.length, 0);
    b.close();
    await guard;
    assert.deepEqual(
      rec.withdrawn.map((w) => w.target),
      [{ driver: 'bird', socket: '/s', file: '/f' }],
    );
  });

  test('no daemon ever connects: it exits after its first-connect wait, withdrawing nothing it was never told of', async () => {
    const rec = recorder();
    await runAnnounceGuard({
      path: path.join(tmp, 'g3.sock'),
      clock: systemClock(),
      logger: silentLogger(),
      driverFor: rec.driverFor,
      firstConnectMs: 100,
    });
    assert.deepEqual(rec.withdrawn, []);
  });

  test('aborted (SIGTERM): withdraws at once although a daemon is connected', async () => {
    const p = path.join(tmp, 'g4.sock');
    const rec = recorder();
    const stop = new AbortController();
    const guard = runAnnounceGuard({
      path: p,
      clock: systemClock(),
      logger: silentLogger(),
      driverFor: rec.driverFor,
      graceMs: 60_000,
      signal: stop.signal,
    });
    const a = await connectGuard({ path: p, clock: systemClock(), spawn: () => assert.fail('the guard runs') });
    a.send({ driver: 'bird', socket: '/s', file: '/f' });
    await sleep(50);
    stop.abort();
    await guard;
    assert.deepEqual(
      rec.withdrawn.map((w) => w.prefixes),
      [[]],
    );
    a.close();
  });

  test('connectGuard gives up when no guard starts', async () => {
    await assert.rejects(
      connectGuard({ path: path.join(tmp, 'none.sock'), clock: systemClock(), spawn: () => undefined, waitMs: 200 }),
      /did not start/,
    );
  });
});
