// Guest side: the OCF agent conf/ocf/ldir against the real kernel IPVS table. ocf-tester passes; the monitor stays
// 0 while the daemon repairs a table flushed by hand, and says 1 (OCF_ERR_GENERIC) while the kernel table cannot be
// synced (a failing ipvsadm bind-mounted over the real one, ipvsadm backend), and 0 again once it can.
// Runs only inside the VM (LDIR_IN_VM=1); elsewhere it skips.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { IPVSADM_PATHS } from '../../../src/ipvs/ipvsadm/backend';
import { HaSandbox, LDIR_MAIN, OCF, OCF_AGENT, eventually, run } from '../../helpers/ha';

const skip =
  process.env.LDIR_IN_VM === '1' ? false : 'runs inside the kernel-tier VM only (test/kernel/host-runs-guest-tests)';

const VIP = '10.99.0.1';
const SERVICE = `TCP ${VIP}:80`;
const REAL_IP = '127.0.0.2';
/**
 * The action timeout Pacemaker would pass (as ocf-pacemaker.test configures start): the agent's waits are bounded by
 * it, and a cold `ldir start` under TCG beside another VM takes over a minute.
 */
const ACTION_TIMEOUT = { OCF_RESKEY_CRM_meta_timeout: '180000' };

function ipvsadmList(): string {
  return execFileSync('ipvsadm', ['-Ln'], { encoding: 'utf8', timeout: 30_000 });
}

function deleteService(): void {
  spawnSync('ipvsadm', ['-D', '-t', `${VIP}:80`], { stdio: 'ignore', timeout: 30_000 });
}

describe('OCF agent against the kernel (VM)', { skip }, () => {
  let box: HaSandbox;
  let cfg = '';
  let server: net.Server | undefined;
  let port = 0;
  const params = (): Record<string, string> => ({ configfile: cfg, binary: LDIR_MAIN });
  const agent = (action: string, extra: NodeJS.ProcessEnv = {}): ReturnType<HaSandbox['agent']> =>
    box.agent(action, params(), { ...ACTION_TIMEOUT, ...extra });

  before(async () => {
    box = new HaSandbox('ldir-ocf-vm-');
    server = net.createServer((s) => s.end());
    await new Promise<void>((r) => server?.listen(0, REAL_IP, r));
    port = (server.address() as net.AddressInfo).port;
    cfg = box.write(
      'site.cf',
      `checkinterval=1
checktimeout=2
metrics=no
logfile="${path.join(box.dir, 'ldir.log')}"
virtual=${VIP}:80
\treal=${REAL_IP}:${port} masq 1
\tchecktype=connect
`,
    );
    deleteService();
  });

  after(async () => {
    await agent('stop').catch(() => undefined);
    box.cleanup();
    deleteService();
    await new Promise((r) => server?.close(r));
  });

  test('ocf-tester passes, and leaves the kernel table clean', async (t) => {
    const r = await run(
      'ocf-tester',
      ['-n', 'ldir', '-o', `configfile=${cfg}`, '-o', `binary=${LDIR_MAIN}`, OCF_AGENT],
      { ...box.env, ...ACTION_TIMEOUT },
      900_000,
    );
    t.diagnostic(
      `figure: ocf-tester: ${(r.ms / 1000).toFixed(1)} s; ${r.stdout
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('*') || /passed|failed/.test(l))
        .join(' | ')}`,
    );
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /passed all tests/);
    assert.doesNotMatch(ipvsadmList(), new RegExp(VIP.replaceAll('.', '\\.')), 'cleanstop removed the service');
  });

  test('monitor: 0 while the daemon repairs a table flushed by hand; stop removes the service', async (t) => {
    const start = await agent('start');
    assert.equal(start.status, OCF.SUCCESS, start.stderr);
    t.diagnostic(`figure: start: ${(start.ms / 1000).toFixed(1)} s`);
    await eventually(
      `${SERVICE} -> ${REAL_IP}:${port} in the kernel`,
      () => (ipvsadmList().includes(`${REAL_IP}:${port}`) ? true : undefined),
      60_000,
      500,
      ipvsadmList,
    );
    const mon = await agent('monitor');
    assert.equal(mon.status, OCF.SUCCESS, mon.stderr);
    t.diagnostic(`figure: monitor: ${(mon.ms / 1000).toFixed(1)} s`);
    execFileSync('ipvsadm', ['-C']);
    assert.equal((await agent('monitor')).status, OCF.SUCCESS, 'the daemon is fine: the next resync repairs the table');
    const t0 = Date.now();
    await eventually(
      'the flushed service to be put back',
      () => (ipvsadmList().includes(`${REAL_IP}:${port}`) ? true : undefined),
      60_000,
      500,
      ipvsadmList,
    );
    t.diagnostic(`figure: table repaired ${((Date.now() - t0) / 1000).toFixed(1)} s after the flush`);
    const stop = await agent('stop');
    assert.equal(stop.status, OCF.SUCCESS, stop.stderr);
    t.diagnostic(`figure: stop: ${(stop.ms / 1000).toFixed(1)} s`);
    assert.doesNotMatch(ipvsadmList(), new RegExp(VIP.replaceAll('.', '\\.')));
    assert.equal((await agent('monitor')).status, OCF.NOT_RUNNING);
  });

  test('monitor: 1 while the kernel table cannot be synced, 0 again once it can', async (t) => {
    const ipvsadm = IPVSADM_PATHS.find((p) => fs.existsSync(p)) as string;
    const failing = box.write('failing-ipvsadm', '#!/bin/sh\necho "ipvsadm: simulated failure" >&2\nexit 1\n');
    fs.chmodSync(failing, 0o755);
    const env = { LDIR_IPVS: 'ipvsadm' };
    const start = await agent('start', env);
    assert.equal(start.status, OCF.SUCCESS, start.stderr);
    assert.match(fs.readFileSync(`/proc/${box.pid('site.cf')}/cmdline`, 'utf8'), /--ipvs=ipvsadm/);
    assert.equal((await agent('monitor', env)).status, OCF.SUCCESS);
    execFileSync('mount', ['--bind', failing, ipvsadm]);
    let mounted = true;
    try {
      const t0 = Date.now();
      const failed = await eventually(
        'monitor to report the failed sync',
        async () => {
          const r = await agent('monitor', env);
          return r.status === OCF.SUCCESS ? undefined : r;
        },
        90_000,
        1000,
      );
      t.diagnostic(
        `figure: sync failure reported ${((Date.now() - t0) / 1000).toFixed(1)} s after ipvsadm started failing`,
      );
      assert.equal(failed.status, OCF.ERR_GENERIC, failed.stderr);
      assert.match(failed.stderr, /last kernel sync failed/);
      execFileSync('umount', [ipvsadm]);
      mounted = false;
      await eventually(
        'monitor to be 0 again',
        async () => ((await agent('monitor', env)).status === OCF.SUCCESS ? true : undefined),
        90_000,
        1000,
      );
    } finally {
      if (mounted) execFileSync('umount', [ipvsadm]);
    }
    assert.equal((await agent('stop', env)).status, OCF.SUCCESS);
    assert.doesNotMatch(ipvsadmList(), new RegExp(VIP.replaceAll('.', '\\.')));
  });
});
