// The OCF agent's start when `ldir start` gives up waiting for the daemon's ready report (its own 60 s limit, reached
// on a slow or loaded host, e.g. the TCG kernel-test VM) and leaves the daemon starting: the agent waits for that
// daemon's first kernel sync until the action's deadline instead of failing a start that is about to succeed, and
// still fails at once when the daemon it was told about is gone. A stand-in binary plays the launcher that gave up;
// the daemon is the real one with the memory backend (LDIR_IPVS=memory).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { HaSandbox, LDIR_MAIN, OCF, eventually, processExists, simpleConfig } from '../../helpers/ha';

/** Seconds the stand-in lets pass before the daemon process even starts (module loading on a slow host). */
const DELAY_S = 4;

describe('OCF agent start after `ldir start` gave up waiting (memory backend)', () => {
  let box: HaSandbox;
  let cfg = '';
  let slow = '';
  const params = (binary: string): Record<string, string> => ({ configfile: cfg, binary });

  before(() => {
    box = new HaSandbox('ldir-ocf-slow-', { LDIR_IPVS: 'memory' });
    cfg = box.write('site.cf', simpleConfig(box));
    // `CONFIG start`: reports the launcher's time-out for a background process that becomes the daemon DELAY_S later
    // (or, with SLOW_LDIR_DIE=1, exits then); anything else goes to the real ldir. The process's command line names
    // this sandbox (ldir-ocf-slow-...), as a real launch names ldir.
    slow = box.write(
      'slow-ldir',
      `#!/bin/sh
last=
for a in "$@"; do last=$a; done
if [ "$last" = start ]; then
	if [ "\${SLOW_LDIR_DIE:-}" = 1 ]; then
		sh -c 'sleep ${DELAY_S}; exit 1' "$0" </dev/null >/dev/null 2>&1 &
	else
		sh -c 'sleep ${DELAY_S}; exec "$@"' "$0" "${process.execPath}" "${LDIR_MAIN}" --foreground "$@" </dev/null >/dev/null 2>&1 &
	fi
	echo "ldir: the daemon (pid $!) did not report ready within 60000 ms" >&2
	exit 1
fi
exec "${process.execPath}" "${LDIR_MAIN}" "$@"
`,
    );
    fs.chmodSync(slow, 0o755);
  });
  after(() => box.cleanup());

  test('waits for the daemon still starting (stale pid file of a killed one meanwhile), then succeeds', async (t) => {
    // A daemon killed with -9 leaves its pid file: until the new one replaces it, ping says "dead".
    assert.equal((await box.agent('start', params(LDIR_MAIN))).status, OCF.SUCCESS);
    const old = box.pid('site.cf') as number;
    process.kill(old, 'SIGKILL');
    await eventually('the daemon to die', () => (processExists(old) ? undefined : true), 10_000, 20);
    // Its lock goes with the last of its threads, a moment after the process shows as a zombie.
    await eventually(
      'the pid file to be stale',
      () => (box.pidState('site.cf').state === 'stale' ? true : undefined),
      10_000,
      20,
    );

    const started = await box.agent('start', params(slow));
    assert.equal(started.status, OCF.SUCCESS, started.stderr);
    assert.match(started.stderr, /still starting/);
    assert.ok(started.ms >= DELAY_S * 1000, `start returned after the daemon came up (${started.ms} ms)`);
    t.diagnostic(`start ${started.ms} ms (daemon launched ${DELAY_S} s late)`);
    const pid = box.pid('site.cf');
    assert.ok(pid !== undefined && pid !== old, 'the new daemon holds the pid file');
    const mon = await box.agent('monitor', params(LDIR_MAIN));
    assert.equal(mon.status, OCF.SUCCESS, mon.stderr);
    assert.equal((await box.agent('stop', params(LDIR_MAIN))).status, OCF.SUCCESS);
    assert.equal(processExists(pid as number), false);
  });

  test('fails once the daemon it waits for is gone, well before the deadline', async () => {
    const started = await box.agent('start', params(slow), { SLOW_LDIR_DIE: '1' });
    assert.equal(started.status, OCF.ERR_GENERIC, started.stderr);
    assert.match(started.stderr, /does not report healthy/);
    assert.ok(started.ms < 40_000, `not held until the 55 s deadline (${started.ms} ms)`);
    assert.equal((await box.agent('monitor', params(LDIR_MAIN))).status, OCF.NOT_RUNNING);
  });
});
