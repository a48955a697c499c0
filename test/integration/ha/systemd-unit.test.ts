// The systemd units in conf/systemd: `systemd-analyze verify` clean (when systemd's tools are installed; systemd
// need not run), no KillMode=none, and the contracts of Type=forking with PIDFile, played without systemd: ExecStart
// returns once the daemon named by the pid file is ready; ExecStop returns only once it has done its cleanup and
// exited, and SIGTERM alone (what systemd sends when ExecStop fails) gives the same clean exit; `ldir restart` writes
// the successor's pid into the pid file before the old main process exits (systemd then follows the pid file: "Forking
// services may occasionally move to a new PID. As long as they update the PID file before exiting the old PID, they're
// fine", src/core/service.c).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pidFilePath } from '../../../src/system/pid-file';
import { HaSandbox, LDIR_MAIN, SYSTEMD_DIR, eventually, processState, run, simpleConfig } from '../../helpers/ha';
import { skipOrFail } from '../../helpers/prerequisites';
import { ensurePackages } from '../../helpers/system';

const UNITS = ['ldir.service', 'ldir@.service'];

/** `Key=value` lines of the [Service] section. */
function serviceKeys(unit: string): Map<string, string[]> {
  const text = fs.readFileSync(path.join(SYSTEMD_DIR, unit), 'utf8');
  const section = /^\[Service\]\n([\s\S]*?)(?=^\[|(?![\s\S]))/m.exec(text)?.[1] ?? '';
  const keys = new Map<string, string[]>();
  for (const line of section.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (m) keys.set(m[1] as string, [...(keys.get(m[1] as string) ?? []), m[2] as string]);
  }
  return keys;
}

describe('systemd units', () => {
  let box: HaSandbox;

  before(() => {
    box = new HaSandbox('ldir-systemd-', { LDIR_IPVS: 'memory' });
  });
  after(() => box.cleanup());

  for (const unit of UNITS) {
    test(`${unit}: Type=forking with ldir's pid file, ExecStop/ExecReload through ldir, no KillMode=none`, () => {
      const k = serviceKeys(unit);
      assert.deepEqual(k.get('Type'), ['forking']);
      assert.match(k.get('ExecStart')?.[0] ?? '', /^\/usr\/bin\/ldir \S+ start$/);
      assert.match(k.get('ExecStop')?.[0] ?? '', /^\/usr\/bin\/ldir \S+ stop$/);
      assert.match(k.get('ExecReload')?.[0] ?? '', /^\/usr\/bin\/ldir \S+ reload$/);
      assert.notEqual(k.get('KillMode')?.[0], 'none');
      assert.deepEqual(k.get('KillMode'), ['mixed']);
      assert.ok(Number.parseInt(k.get('TimeoutStopSec')?.[0] ?? '0', 10) >= 120, 'generous TimeoutStopSec');
      const name = /ldir (\S+) start$/.exec(k.get('ExecStart')?.[0] ?? '')?.[1] as string;
      assert.deepEqual(k.get('PIDFile'), [`/run/${path.basename(pidFilePath(name))}`], 'the pid file ldir writes');
    });
  }

  test('systemd-analyze verify reports nothing about the units', async (t) => {
    const haveAnalyze = (): boolean =>
      spawnSync('sh', ['-c', 'command -v systemd-analyze'], { stdio: 'ignore' }).status === 0;
    // Installed as test/provision.sh does where it is missing (root, apt-get); apt starts no daemon.
    const missing = haveAnalyze()
      ? undefined
      : (ensurePackages(['systemd']) ??
        (haveAnalyze() ? undefined : 'systemd is installed but has no systemd-analyze'));
    if (missing !== undefined)
      return skipOrFail(t, `systemd-analyze is not installed (Debian package systemd): ${missing}`);
    // verify wants the executables to exist: point the copies at this checkout's binary.
    const dir = path.join(box.dir, 'units');
    fs.mkdirSync(dir);
    for (const unit of UNITS) {
      fs.writeFileSync(
        path.join(dir, unit),
        fs.readFileSync(path.join(SYSTEMD_DIR, unit), 'utf8').replaceAll('/usr/bin/ldir', LDIR_MAIN),
      );
    }
    const r = spawnSync(
      'systemd-analyze',
      ['verify', '--man=no', path.join(dir, 'ldir.service'), path.join(dir, 'ldir@site.cf.service')],
      {
        encoding: 'utf8',
        timeout: 60_000,
        cwd: dir,
      },
    );
    // Other units of the host (Conflicts=ldirectord.service loads that one) may have their own complaints.
    const ours = `${r.stdout}\n${r.stderr}`
      .split('\n')
      .filter((l) => /ldir(@[^ ]*)?\.service/.test(l) && !/ldirectord\.service/.test(l));
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    assert.deepEqual(ours, [], 'warnings about ldir units');
  });

  test('start/stop contract: ExecStart returns with the daemon ready and named by the pid file; ExecStop returns after its cleanup and exit; SIGTERM alone does the same', async (t) => {
    const cfg = box.write('site.cf', simpleConfig(box));
    const k = serviceKeys('ldir@.service');
    const argv = (line: string): string[] => line.replaceAll('%I', cfg).split(' ').slice(1);
    for (const how of ['ExecStop', 'SIGTERM'] as const) {
      const start = await run(LDIR_MAIN, argv(k.get('ExecStart')?.[0] ?? ''), box.env);
      assert.equal(start.status, 0, start.stderr);
      const main = box.pid('site.cf') as number;
      assert.ok(
        main !== undefined && processState(main) === 'running',
        'the pid file names the running daemon (the main process)',
      );
      assert.equal((await run(LDIR_MAIN, [cfg, 'ping'], box.env)).status, 0, 'ready when ExecStart returned');
      const t0 = Date.now();
      if (how === 'ExecStop') {
        const stop = await run(LDIR_MAIN, argv(k.get('ExecStop')?.[0] ?? ''), box.env);
        assert.equal(stop.status, 0, stop.stderr);
        assert.notEqual(processState(main), 'running', 'main process still running when ExecStop returned');
      } else {
        process.kill(main, 'SIGTERM');
        await eventually(
          'the main process to exit',
          () => (processState(main) !== 'running' ? true : undefined),
          60_000,
          20,
        );
      }
      t.diagnostic(`${how}: main process gone after ${Date.now() - t0} ms`);
      assert.equal(box.pidState('site.cf').state, 'absent', `${how}: pid file removed by the cleanup`);
      assert.equal(
        fs.existsSync(path.join(box.env['LDIR_SOCKET_DIR'] as string, 'site.cf.sock')),
        false,
        `${how}: control socket removed`,
      );
    }
  });

  test('restart contract: the pid file names the successor before the old main process exits (so systemd follows it)', async () => {
    const cfg = box.write('moving.cf', simpleConfig(box));
    assert.equal((await run(LDIR_MAIN, [cfg, 'start'], box.env)).status, 0);
    const old = box.pid('moving.cf') as number;
    // Watch the old process as systemd does (it learns of the exit, then reads the pid file) while ldir restarts.
    let seenAtExit: number | undefined;
    const watch = (async () => {
      for (let i = 0; i < 100_000 && seenAtExit === undefined; i++) {
        if (processState(old) !== 'running')
          seenAtExit = box.pidState('moving.cf').state === 'running' ? (box.pid('moving.cf') ?? -1) : -1;
        else await new Promise((r) => setTimeout(r, 2));
      }
    })();
    const restart = await run(LDIR_MAIN, [cfg, 'restart'], box.env);
    assert.equal(restart.status, 0, restart.stderr);
    await Promise.race([watch, new Promise((r) => setTimeout(r, 30_000))]);
    const successor = box.pid('moving.cf') as number;
    assert.notEqual(successor, old);
    assert.equal(
      seenAtExit,
      successor,
      'when the old main process was gone, the pid file already named the running successor',
    );
    assert.equal((await run(LDIR_MAIN, [cfg, 'stop'], box.env)).status, 0);
  });
});
