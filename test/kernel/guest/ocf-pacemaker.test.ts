// Guest side: a real single-node Corosync + Pacemaker cluster in the VM runs ocf:ldir:ldir (conf/ocf/ldir installed
// under /usr/lib/ocf/resource.d/ldir/) with an IPaddr2 VIP on a dummy interface, colocated with it and ordered after
// it: Pacemaker starts both, monitors ldir, restarts it after a kill -9 of the daemon (found by the monitor), and
// stops both, ldir cleaning its kernel table. Every wait is bounded; timings are reported as diagnostics.
// Runs only inside the VM (LDIR_IN_VM=1); elsewhere it skips.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LDIR_MAIN, eventually, processExists, sleep } from '../../helpers/ha';
import {
  callId,
  cib,
  clusterTail,
  execTime,
  ldirPrimitive,
  missingClusterTool,
  NODE,
  operations,
  resourceState,
  sh,
  started,
  startCluster,
  stopped,
  type Cluster,
} from '../../helpers/pacemaker-cluster';

const skip =
  process.env.LDIR_IN_VM === '1' ? false : 'runs inside the kernel-tier VM only (test/kernel/host-runs-guest-tests)';

const VIP = '192.168.77.10';
const NIC = 'ldirvip0';
const SERVICE = `TCP ${VIP}:80`;
/** SERVICE as `ipvsadm -Ln` prints it (`TCP  192.168.77.10:80 wrr`: two spaces after the protocol). */
const SERVICE_LINE = new RegExp(`^TCP\\s+${VIP.replaceAll('.', '\\.')}:80\\s`, 'm');
const REAL_IP = '127.0.0.2';
const PID_FILE = '/var/run/ldirectord.site.cf.pid';
const MONITOR_MS = 5000;

function ipvsadmList(): string {
  return sh('ipvsadm', ['-Ln']).out;
}

function vipAssigned(): boolean {
  return sh('ip', ['-4', 'addr', 'show', 'dev', NIC]).out.includes(`${VIP}/`);
}

function daemonPid(): number | undefined {
  try {
    const pid = Number.parseInt(fs.readFileSync(PID_FILE, 'utf8'), 10);
    return pid > 0 && processExists(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

describe('Pacemaker + Corosync single-node cluster running ocf:ldir:ldir with an IPaddr2 VIP (VM)', { skip }, () => {
  let dir = '';
  let server: net.Server | undefined;
  let port = 0;
  let cluster: Cluster | undefined;
  let missing: string | undefined;
  const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

  before(async () => {
    missing = missingClusterTool();
    if (missing) return;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-pcmk-'));
    server = net.createServer((s) => s.end());
    await new Promise<void>((r) => server?.listen(0, REAL_IP, r));
    port = (server.address() as net.AddressInfo).port;
    fs.writeFileSync(
      path.join(dir, 'site.cf'),
      `checkinterval=2
checktimeout=2
metrics=no
logfile="${path.join(dir, 'ldir.log')}"
virtual=${VIP}:80
\treal=${REAL_IP}:${port} masq 1
\tchecktype=connect
`,
    );
    // The VIP's interface: a dummy with an address in the VIP's subnet.
    sh('ip', ['link', 'del', NIC]);
    execFileSync('ip', ['link', 'add', NIC, 'type', 'dummy']);
    execFileSync('ip', ['link', 'set', NIC, 'up']);
    execFileSync('ip', ['addr', 'add', '192.168.77.2/24', 'dev', NIC]);
    cluster = await startCluster(dir);
  });

  after(async () => {
    await cluster?.stop();
    const pid = daemonPid();
    if (pid !== undefined) process.kill(pid, 'SIGKILL');
    sh('ipvsadm', ['-D', '-t', `${VIP}:80`]);
    sh('ip', ['link', 'del', NIC]);
    await new Promise((r) => server?.close(r));
    if (process.env['LDIR_TEST_DAEMON_LOG'] && dir) {
      for (const f of ['pacemaker.log', 'ldir.log'])
        console.log(`--- ${f}\n${sh('tail', ['-200', path.join(dir, f)]).out}`);
    }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('starts, monitors, recovers from kill -9 and stops ldir and its VIP', async (t) => {
    if (missing) {
      if (process.env['CI'])
        assert.fail(`${missing} is not installed (test/kernel/vm/provision-vm.sh installs pacemaker and corosync)`);
      return t.skip(`${missing} is not installed (test/kernel/vm/provision-vm.sh installs pacemaker and corosync)`);
    }
    const diag = (what: string): void => t.diagnostic(`figure: ${what}`);
    const tail = (): string => `${clusterTail(dir)}\n${ipvsadmList()}`;
    let t0 = Date.now();

    // ldir, then the VIP with it and after it: traffic arrives only where the IPVS table is ready. Start and stop
    // timeouts fit TCG beside another VM: a cold first ldir start took 106 s there (past `ldir start`'s own 60 s, which
    // the agent waits out), IPaddr2 start 32 s (over the 20 s cluster default).
    cib('resources', ldirPrimitive('lb', path.join(dir, 'site.cf'), LDIR_MAIN, MONITOR_MS));
    cib(
      'resources',
      `<primitive id="vip" class="ocf" provider="heartbeat" type="IPaddr2">
  <instance_attributes id="vip-params">
    <nvpair id="vip-ip" name="ip" value="${VIP}"/>
    <nvpair id="vip-cidr" name="cidr_netmask" value="24"/>
    <nvpair id="vip-nic" name="nic" value="${NIC}"/>
  </instance_attributes>
  <operations>
    <op id="vip-start" name="start" interval="0" timeout="120s"/>
    <op id="vip-stop" name="stop" interval="0" timeout="120s"/>
    <op id="vip-monitor" name="monitor" interval="10s" timeout="60s"/>
  </operations>
</primitive>`,
    );
    cib('constraints', '<rsc_colocation id="vip-with-lb" rsc="vip" with-rsc="lb" score="INFINITY"/>');
    cib('constraints', '<rsc_order id="lb-then-vip" first="lb" then="vip" kind="Mandatory"/>');

    t0 = Date.now();
    await eventually(
      'lb and vip to be started',
      () => (started('lb') && started('vip') ? true : undefined),
      420_000,
      2000,
      tail,
    );
    diag(
      `lb and vip started ${seconds(Date.now() - t0)} after they were added (lb start ${execTime('lb', 'start')}, vip start ${execTime('vip', 'start')})`,
    );
    const pid = daemonPid();
    assert.ok(pid !== undefined, 'the ldir daemon runs');
    const table = ipvsadmList();
    assert.match(table, SERVICE_LINE, `the kernel has ${SERVICE}\n${table}`);
    assert.ok(vipAssigned(), 'the VIP is on its interface');
    assert.ok(
      callId('vip', 'start') > callId('lb', 'start'),
      `vip started after lb (${JSON.stringify(operations('vip'))})`,
    );
    await eventually(
      `${REAL_IP}:${port} to be in the table`,
      () => (ipvsadmList().includes(`${REAL_IP}:${port}`) ? true : undefined),
      120_000,
      1000,
      ipvsadmList,
    );

    // Recurring monitors succeed.
    t0 = Date.now();
    const monitorOk = (): boolean =>
      operations('lb').some(
        (o) =>
          o['operation'] === 'monitor' &&
          o['interval'] === String(MONITOR_MS) &&
          o['rc-code'] === '0' &&
          o['op-status'] === '0',
      );
    await eventually(
      'the recurring monitor to report success',
      () => (monitorOk() ? true : undefined),
      180_000,
      1000,
      tail,
    );
    await sleep(3 * MONITOR_MS);
    assert.ok(monitorOk() && started('lb'), `still healthy after three more intervals\n${tail()}`);
    assert.equal(resourceState('lb')?.['failed'], 'false');

    // kill -9: the monitor finds the dead daemon, Pacemaker stops vip and lb and starts them again.
    const tKill = Date.now();
    process.kill(pid as number, 'SIGKILL');
    const failure = (): Record<string, string> | undefined =>
      operations('lb').find((o) => o['id'] === 'lb_last_failure_0' && o['operation'] === 'monitor');
    const failed = await eventually('Pacemaker to notice the failure', () => failure(), 180_000, 500, tail);
    diag(
      `kill -9 noticed by the monitor after ${seconds(Date.now() - tKill)} (monitor interval ${MONITOR_MS / 1000} s): rc ${failed['rc-code']} "${failed['exit-reason']}"`,
    );
    assert.equal(failed['rc-code'], '1', 'OCF_ERR_GENERIC: a dead daemon is a failure, not a clean stop');
    const pid2 = await eventually(
      'lb and vip to be started again',
      () => {
        const p = daemonPid();
        return p !== undefined && p !== pid && started('lb') && started('vip') ? p : undefined;
      },
      420_000,
      2000,
      tail,
    );
    diag(
      `recovered (new daemon pid ${pid2}, vip back) ${seconds(Date.now() - tKill)} after the kill -9 (lb start ${execTime('lb', 'start')}, vip start ${execTime('vip', 'start')})`,
    );
    const table2 = ipvsadmList();
    assert.match(table2, SERVICE_LINE, `the kernel has ${SERVICE} again\n${table2}`);
    assert.ok(vipAssigned(), 'the VIP is back on its interface');
    const failcount = sh('crm_failcount', ['--query', '-r', 'lb', '-N', NODE]).out;
    assert.match(failcount, /value=1\b/, failcount);

    // Stop: vip first (order), then lb, whose cleanup removes its service from the kernel table.
    t0 = Date.now();
    execFileSync(
      'crm_resource',
      ['--resource', 'lb', '--meta', '--set-parameter', 'target-role', '--parameter-value', 'Stopped'],
      { timeout: 60_000 },
    );
    await eventually(
      'lb and vip to be stopped',
      () => (stopped('lb') && stopped('vip') ? true : undefined),
      300_000,
      2000,
      tail,
    );
    diag(
      `lb and vip stopped in ${seconds(Date.now() - t0)} (lb stop ${execTime('lb', 'stop')}, vip stop ${execTime('vip', 'stop')})`,
    );
    assert.ok(callId('lb', 'stop') > callId('vip', 'stop'), 'vip stopped before lb');
    assert.equal(daemonPid(), undefined, 'the daemon is gone');
    assert.equal(fs.existsSync(PID_FILE), false, 'its pid file too');
    const table3 = ipvsadmList();
    assert.doesNotMatch(table3, SERVICE_LINE, `cleanstop removed ${SERVICE}\n${table3}`);
    assert.equal(vipAssigned(), false, 'the VIP is released');
  });
});
