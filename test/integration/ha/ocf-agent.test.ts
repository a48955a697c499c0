// The OCF resource agent conf/ocf/ldir run as Pacemaker runs it (OCF_RESKEY_* environment, one action per call),
// against the real binary with the memory backend (LDIR_IPVS=memory): exit codes of every action, the monitor's
// semantics, stop bounded by the action timeout, reload, meta-data against ra-api-1.dtd, and ocf-tester.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { HaSandbox, LDIR_MAIN, OCF, OCF_AGENT, eventually, processExists, run, simpleConfig } from '../../helpers/ha';
import { IN_CI, ensurePackages } from '../../helpers/system';
import { holdPidFile } from '../../helpers/pid-lock';
import { controlSocketPath } from '../../../src/daemon/protocol';
import { pidFilePath } from '../../../src/system/pid-file';

const DTD_DIR = '/usr/share/resource-agents';
const SHELLFUNCS = '/usr/lib/ocf/lib/heartbeat/ocf-shellfuncs';

function haveCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/** Why the resource-agents tools are missing (skip, or fail in CI), or undefined. */
function toolsMissing(): string | undefined {
  if (fs.existsSync('/usr/sbin/ocf-tester') && haveCommand('xmllint') && fs.existsSync(SHELLFUNCS)) return undefined;
  return ensurePackages(['resource-agents', 'libxml2-utils']);
}

describe('OCF agent conf/ocf/ldir (memory backend)', () => {
  let box: HaSandbox;
  let cfg = '';
  const params = (): Record<string, string> => ({ configfile: cfg, binary: LDIR_MAIN });

  before(() => {
    box = new HaSandbox('ldir-ocf-', { LDIR_IPVS: 'memory' });
    cfg = box.write('site.cf', simpleConfig(box));
  });
  after(() => box.cleanup());

  test('is an executable POSIX sh script that passes sh -n (dash when present)', () => {
    assert.ok((fs.statSync(OCF_AGENT).mode & 0o755) === 0o755, 'mode 0755 (ocf-tester checks it runs as nobody)');
    assert.match(fs.readFileSync(OCF_AGENT, 'utf8'), /^#!\/bin\/sh\n/);
    for (const shell of ['sh', 'dash'].filter(haveCommand)) {
      const r = spawnSync(shell, ['-n', OCF_AGENT], { encoding: 'utf8' });
      assert.equal(r.status, 0, `${shell} -n: ${r.stderr}`);
    }
  });

  test('meta-data: exit 0, valid against ra-api-1.dtd, parameters and actions as documented', async (t) => {
    const r = await box.agent('meta-data', {}, { OCF_RESOURCE_INSTANCE: '' });
    assert.equal(r.status, 0, r.stderr);
    const xml = r.stdout;
    assert.match(xml, /<resource-agent name="ldir"/);
    assert.match(
      xml,
      /<parameter name="configfile" unique="1" required="0">[\s\S]*?<content type="string" default="\/etc\/ha.d\/ldirectord.cf"\/>/,
    );
    assert.match(
      xml,
      /<parameter name="binary" unique="0" required="0">[\s\S]*?<content type="string" default="ldir"\/>/,
    );
    const actions = [...xml.matchAll(/<action name="([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(actions.sort(), [
      'demote',
      'meta-data',
      'monitor',
      'monitor',
      'monitor',
      'promote',
      'reload',
      'start',
      'stop',
      'validate-all',
    ]);
    assert.match(
      xml,
      /<action name="monitor" [^>]*role="Promoted"\/>/,
      'a monitor for each role of a promotable clone',
    );
    assert.match(xml, /<action name="monitor" [^>]*role="Unpromoted"\/>/);
    const missing = toolsMissing();
    if (missing !== undefined && !IN_CI) {
      t.skip(`xmllint validation skipped: ${missing}`);
      return;
    }
    assert.equal(missing, undefined, missing);
    const lint = spawnSync('xmllint', ['--noout', '--valid', '-'], { cwd: DTD_DIR, input: xml, encoding: 'utf8' });
    assert.equal(lint.status, 0, `xmllint --valid: ${lint.stderr}`);
  });

  for (const withShellfuncs of [true, false]) {
    test(`lifecycle ${withShellfuncs ? 'with ocf-shellfuncs' : 'without resource-agents (built-in stand-ins)'}: start/monitor/kill -9/stop, idempotent`, async (t) => {
      if (withShellfuncs && !fs.existsSync(SHELLFUNCS)) {
        const missing = toolsMissing();
        if (missing !== undefined && !IN_CI) return t.skip(missing);
      }
      const extra: NodeJS.ProcessEnv = withShellfuncs
        ? {}
        : { OCF_ROOT: path.join(box.dir, 'no-ocf-root'), OCF_FUNCTIONS_DIR: path.join(box.dir, 'none') };
      const agent = (action: string, more: NodeJS.ProcessEnv = {}): ReturnType<HaSandbox['agent']> =>
        box.agent(action, params(), { ...extra, ...more });

      assert.equal((await agent('monitor')).status, OCF.NOT_RUNNING, 'stopped');
      assert.equal(
        (await agent('monitor', { OCF_RESKEY_CRM_meta_interval: '0' })).status,
        OCF.NOT_RUNNING,
        'probe of a stopped resource',
      );
      assert.equal((await agent('stop')).status, OCF.SUCCESS, 'stop when stopped');
      const started = await agent('start');
      assert.equal(started.status, OCF.SUCCESS, started.stderr);
      const pid = box.pid('site.cf');
      assert.ok(pid !== undefined, 'start returns once the daemon runs');
      const mon = await agent('monitor');
      assert.equal(mon.status, OCF.SUCCESS, mon.stderr);
      assert.equal(
        (await agent('monitor', { OCF_RESKEY_CRM_meta_interval: '0' })).status,
        OCF.SUCCESS,
        'probe of a running resource',
      );
      assert.equal((await agent('start')).status, OCF.SUCCESS, 'start when running');
      assert.equal(box.pid('site.cf'), pid, 'and it is the same daemon');
      t.diagnostic(`start ${started.ms} ms, monitor ${mon.ms} ms`);

      // kill -9: the pid file stays behind; monitor says failed (not "cleanly stopped": the table was not cleaned).
      process.kill(pid as number, 'SIGKILL');
      await eventually('the daemon to die', () => (processExists(pid as number) ? undefined : true), 10_000, 20);
      const dead = await agent('monitor');
      assert.equal(dead.status, OCF.ERR_GENERIC, dead.stderr);
      assert.match(dead.stderr, /stale pid file|dead/);
      const stop = await agent('stop');
      assert.equal(stop.status, OCF.SUCCESS, stop.stderr);
      assert.equal(box.pidState('site.cf').state, 'absent', 'stop removed the stale pid file');
      assert.equal((await agent('monitor')).status, OCF.NOT_RUNNING);

      assert.equal((await agent('start')).status, OCF.SUCCESS);
      const pid2 = box.pid('site.cf');
      assert.ok(pid2 !== undefined && pid2 !== pid);
      const stopped = await agent('stop');
      assert.equal(stopped.status, OCF.SUCCESS, stopped.stderr);
      assert.equal(processExists(pid2 as number), false, 'stop returns after the daemon exited');
      assert.equal(box.pidState('site.cf').state, 'absent');
      assert.equal((await agent('monitor')).status, OCF.NOT_RUNNING);
      assert.equal((await agent('stop')).status, OCF.SUCCESS, 'stop when stopped');
    });
  }

  test('broken configuration: validate-all/start 6, recurring monitor 6, probe 7; a running daemon keeps running and stops', async () => {
    const good = simpleConfig(box);
    const broken = `${good}\tnonsense=1\n`;
    fs.writeFileSync(cfg, broken);
    try {
      assert.equal((await box.agent('validate-all', params())).status, OCF.ERR_CONFIGURED);
      const start = await box.agent('start', params());
      assert.equal(start.status, OCF.ERR_CONFIGURED, start.stderr);
      assert.match(start.stderr, /nonsense/, 'the error says where');
      assert.equal(box.pidState('site.cf').state, 'absent', 'nothing started');
      assert.equal(
        (await box.agent('monitor', params())).status,
        OCF.ERR_CONFIGURED,
        'a recurring monitor says why it cannot run',
      );
      assert.equal(
        (await box.agent('monitor', params(), { OCF_RESKEY_CRM_meta_interval: '0' })).status,
        OCF.NOT_RUNNING,
        'a probe reports the state',
      );

      // The file breaks while the daemon runs: the daemon keeps its configuration and stays healthy.
      fs.writeFileSync(cfg, good);
      assert.equal((await box.agent('validate-all', params())).status, OCF.SUCCESS);
      assert.equal((await box.agent('start', params())).status, OCF.SUCCESS);
      const pid = box.pid('site.cf');
      fs.writeFileSync(cfg, broken);
      assert.equal(
        (await box.agent('monitor', params())).status,
        OCF.SUCCESS,
        'monitor does not parse the file: the daemon is fine',
      );
      const reload = await box.agent('reload', params());
      assert.equal(reload.status, OCF.ERR_CONFIGURED, reload.stderr);
      assert.equal(box.pid('site.cf'), pid, 'a refused reload leaves the daemon running');
      // Stop never depends on the file: the agent stops the daemon it finds by its pid file's lock.
      const stop = await box.agent('stop', params());
      assert.equal(stop.status, OCF.SUCCESS, stop.stderr);
      assert.equal(processExists(pid as number), false);
      assert.equal(box.pidState('site.cf').state, 'absent');
      assert.equal(
        (await box.agent('monitor', params(), { OCF_RESKEY_CRM_meta_interval: '0' })).status,
        OCF.NOT_RUNNING,
      );
    } finally {
      fs.writeFileSync(cfg, good);
    }
  });

  test('missing binary: validate-all/start/recurring monitor/promote/demote 5, probe 7, stop 0; unknown actions 3', async () => {
    const p = { configfile: cfg, binary: path.join(box.dir, 'no-such-ldir') };
    assert.equal((await box.agent('validate-all', p)).status, OCF.ERR_INSTALLED);
    assert.equal((await box.agent('start', p)).status, OCF.ERR_INSTALLED);
    assert.equal((await box.agent('monitor', p)).status, OCF.ERR_INSTALLED);
    assert.equal((await box.agent('monitor', p, { OCF_RESKEY_CRM_meta_interval: '0' })).status, OCF.NOT_RUNNING);
    assert.equal((await box.agent('stop', p)).status, OCF.SUCCESS);
    for (const action of ['notify', 'migrate_to', 'frobnicate']) {
      assert.equal((await box.agent(action, params())).status, OCF.ERR_UNIMPLEMENTED, action);
    }
    for (const action of ['promote', 'demote']) {
      assert.equal((await box.agent(action, p)).status, OCF.ERR_INSTALLED, `${action} without the binary`);
      assert.equal((await box.agent(action, params())).status, OCF.NOT_RUNNING, `${action} of a stopped resource`);
    }
    assert.equal((await box.agent('usage', params())).status, OCF.SUCCESS);
  });

  test('reload re-reads the file in the running daemon; a changed binary parameter restarts it instead', async () => {
    assert.equal((await box.agent('reload', params())).status, OCF.NOT_RUNNING, 'reload of a stopped resource');
    assert.equal((await box.agent('start', params())).status, OCF.SUCCESS);
    const pid = box.pid('site.cf');
    fs.writeFileSync(cfg, simpleConfig(box, { extra: '\tscheduler=rr\n' }));
    const reload = await box.agent('reload', params());
    assert.equal(reload.status, OCF.SUCCESS, reload.stderr);
    assert.equal(box.pid('site.cf'), pid, 'same daemon');
    const status = await run(LDIR_MAIN, ['--json', cfg, 'status'], box.env);
    assert.match(status.stdout, /"scheduler": "rr"/);
    // Another path to the program (what a package upgrade or a changed parameter looks like to Pacemaker).
    const other = path.join(box.dir, 'bin', 'ldir');
    fs.mkdirSync(path.dirname(other), { recursive: true });
    fs.symlinkSync(LDIR_MAIN, other);
    const changed = await box.agent('reload', { configfile: cfg, binary: other });
    assert.equal(changed.status, OCF.SUCCESS, changed.stderr);
    const pid2 = box.pid('site.cf');
    assert.ok(pid2 !== undefined && pid2 !== pid, 'restarted');
    assert.equal((await box.agent('reload', { configfile: cfg, binary: other })).status, OCF.SUCCESS);
    assert.equal(box.pid('site.cf'), pid2, 'same binary: reloaded in place');
    assert.equal((await box.agent('stop', { configfile: cfg, binary: other })).status, OCF.SUCCESS);
    fs.writeFileSync(cfg, simpleConfig(box));
  });

  test('a daemon that does not answer: monitor fails; stop gives up on ldir stop within the action timeout and kills it', async (t) => {
    assert.equal((await box.agent('start', params())).status, OCF.SUCCESS);
    const pid = box.pid('site.cf') as number;
    process.kill(pid, 'SIGSTOP');
    try {
      const timeout = { OCF_RESKEY_CRM_meta_timeout: '20000' };
      const mon = await box.agent('monitor', params(), timeout);
      assert.equal(mon.status, OCF.ERR_GENERIC, mon.stderr);
      assert.match(mon.stderr, /not healthy|does not answer/);
      const stop = await box.agent('stop', params(), timeout, 40_000);
      t.diagnostic(`monitor ${mon.ms} ms, stop of a frozen daemon ${stop.ms} ms (action timeout 20 s)`);
      assert.equal(stop.status, OCF.SUCCESS, stop.stderr);
      assert.ok(stop.ms < 20_000, `stop took ${stop.ms} ms, more than its timeout`);
      assert.match(stop.stderr, /SIGKILL/);
      await eventually('the frozen daemon to be gone', () => (processExists(pid) ? undefined : true), 5_000, 50);
      assert.equal((await box.agent('monitor', params())).status, OCF.NOT_RUNNING);
    } finally {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // gone
      }
    }
  });

  test('a daemon whose control socket is full (every ping answered BUSY): monitor 0 with a warning, not a recovery', async () => {
    const busyCfg = box.write('busy.cf', simpleConfig(box));
    const held = holdPidFile(pidFilePath('busy.cf', box.env['LDIR_RUN_DIR']), 4242);
    let tries = 0;
    const server = net.createServer((socket) => {
      tries++;
      socket.end(
        `${JSON.stringify({ v: 1, id: null, ok: false, error: { code: 'LDIR_ERR_CONTROL_BUSY', message: 'every control connection is answering a request (limit 64)' } })}\n`,
      );
    });
    await new Promise<void>((resolve) =>
      server.listen(controlSocketPath('busy.cf', box.env['LDIR_SOCKET_DIR']), resolve),
    );
    try {
      const busy = { configfile: busyCfg, binary: LDIR_MAIN };
      const timeout = { OCF_RESKEY_CRM_meta_timeout: '6000' };
      const mon = await box.agent('monitor', busy, timeout);
      assert.equal(mon.status, OCF.SUCCESS, mon.stderr);
      assert.match(mon.stderr, /monitor: ldir for .*busy\.cf is busy: its control socket turned ping away \d+ times/);
      assert.ok(tries >= 2, `ping tried ${tries} times`);
      // In a promotable clone the role the operation expects stands; a plain monitor of it stays 0.
      const promotable = { ...timeout, OCF_RESKEY_CRM_meta_promoted_max: '1' };
      assert.equal(
        (await box.agent('monitor', busy, { ...promotable, OCF_RESKEY_CRM_meta_role: 'Promoted' })).status,
        OCF.RUNNING_MASTER,
      );
      assert.equal(
        (await box.agent('monitor', busy, { ...promotable, OCF_RESKEY_CRM_meta_role: 'Unpromoted' })).status,
        OCF.SUCCESS,
      );
    } finally {
      server.close();
      held.release();
    }
    // Without the BUSY answers (nothing listens, the pid file is stale): a failure again.
    const dead = await box.agent('monitor', { configfile: busyCfg, binary: LDIR_MAIN });
    assert.equal(dead.status, OCF.ERR_GENERIC, dead.stderr);
  });

  test('ocf-tester passes', async (t) => {
    const missing = toolsMissing();
    if (missing !== undefined && !IN_CI) return t.skip(missing);
    assert.equal(missing, undefined, missing);
    const r = await run(
      'ocf-tester',
      ['-n', 'lb', '-o', `configfile=${cfg}`, '-o', `binary=${LDIR_MAIN}`, OCF_AGENT],
      box.env,
      300_000,
    );
    t.diagnostic(
      `ocf-tester: ${r.ms} ms; ${r.stdout
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('*') || /passed|failed/.test(l))
        .join(' | ')}`,
    );
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /passed all tests/);
    assert.equal(box.pidState('site.cf').state, 'absent', 'ocf-tester ends with the resource stopped');
  });
});
