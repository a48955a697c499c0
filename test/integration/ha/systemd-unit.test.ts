// The systemd units in conf/systemd: `systemd-analyze verify` clean (when systemd's tools are installed; systemd
// need not run), no KillMode=none, and the contract that makes it unnecessary, played without systemd: the
// ExecStart process runs in the foreground, ExecStop returns only once it has done its cleanup and exited, and
// SIGTERM alone (what systemd sends when ExecStop fails) gives the same clean exit.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { HaSandbox, LDIR_MAIN, SYSTEMD_DIR, eventually, processState, run, simpleConfig } from '../../helpers/ha';

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
    test(`${unit}: Type=simple in the foreground, ExecStop/ExecReload through ldir, no KillMode=none`, () => {
      const k = serviceKeys(unit);
      assert.deepEqual(k.get('Type'), ['simple']);
      assert.match(k.get('ExecStart')?.[0] ?? '', /^\/usr\/bin\/ldir --foreground \S+ start$/);
      assert.match(k.get('ExecStop')?.[0] ?? '', /^\/usr\/bin\/ldir \S+ stop$/);
      assert.match(k.get('ExecReload')?.[0] ?? '', /^\/usr\/bin\/ldir \S+ reload$/);
      assert.notEqual(k.get('KillMode')?.[0], 'none');
      assert.deepEqual(k.get('KillMode'), ['mixed']);
      assert.ok(Number.parseInt(k.get('TimeoutStopSec')?.[0] ?? '0', 10) >= 120, 'generous TimeoutStopSec');
      assert.equal(k.has('PIDFile'), false, 'Type=simple needs no pid file');
    });
  }

  test('systemd-analyze verify reports nothing about the units', async (t) => {
    if (spawnSync('sh', ['-c', 'command -v systemd-analyze'], { stdio: 'ignore' }).status !== 0) return t.skip('systemd-analyze is not installed');
    // verify wants the executables to exist: point the copies at this checkout's binary.
    const dir = path.join(box.dir, 'units');
    fs.mkdirSync(dir);
    for (const unit of UNITS) {
      fs.writeFileSync(path.join(dir, unit), fs.readFileSync(path.join(SYSTEMD_DIR, unit), 'utf8').replaceAll('/usr/bin/ldir', LDIR_MAIN));
    }
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', path.join(dir, 'ldir.service'), path.join(dir, 'ldir@site.cf.service')], {
      encoding: 'utf8', timeout: 60_000, cwd: dir,
    });
    // Other units of the host (Conflicts=ldirectord.service loads that one) may have their own complaints.
    const ours = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => /ldir(@[^ ]*)?\.service/.test(l) && !/ldirectord\.service/.test(l));
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    assert.deepEqual(ours, [], 'warnings about ldir units');
  });

  test('stop contract: ExecStop returns after the ExecStart process has cleaned up and exited; SIGTERM alone does the same', async (t) => {
    const cfg = box.write('site.cf', simpleConfig(box));
    const k = serviceKeys('ldir@.service');
    const argv = (line: string): string[] => line.replaceAll('%I', cfg).split(' ').slice(1);
    for (const how of ['ExecStop', 'SIGTERM'] as const) {
      // ExecStart as systemd runs it: a foreground child of the service manager.
      const main = spawn(LDIR_MAIN, argv(k.get('ExecStart')?.[0] ?? ''), { env: box.env, stdio: 'ignore' });
      const exited = new Promise<number | null>((resolve) => main.on('exit', (code) => resolve(code)));
      let mainExit: number | null | undefined;
      void exited.then((c) => { mainExit = c; });
      await eventually('the service to answer ping', async () => ((await run(LDIR_MAIN, [cfg, 'ping'], box.env)).status === 0 ? true : undefined), 60_000, 250);
      assert.equal(box.pid('site.cf'), main.pid, 'the pid file names the ExecStart process itself');
      const t0 = Date.now();
      if (how === 'ExecStop') {
        const stop = await run(LDIR_MAIN, argv(k.get('ExecStop')?.[0] ?? ''), box.env);
        assert.equal(stop.status, 0, stop.stderr);
        // By the time ExecStop returns the main process has exited (a zombie until this parent reaps it, as under
        // systemd): there is nothing left to kill.
        assert.ok(mainExit !== undefined || processState(main.pid as number) !== 'running', 'main process still running when ExecStop returned');
      } else {
        main.kill('SIGTERM');
      }
      const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 60_000))]);
      t.diagnostic(`${how}: main process exited ${code} after ${Date.now() - t0} ms`);
      assert.equal(code, 0, `${how}: a clean exit`);
      assert.equal(box.pidState('site.cf').state, 'absent', `${how}: pid file removed by the cleanup`);
      assert.equal(fs.existsSync(path.join(box.env['LDIR_SOCKET_DIR'] as string, 'site.cf.sock')), false, `${how}: control socket removed`);
    }
  });
});
