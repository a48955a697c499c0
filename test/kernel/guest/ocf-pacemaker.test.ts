// Guest side: a real single-node Corosync + Pacemaker cluster in the VM runs ocf:ldir:ldir (conf/ocf/ldir installed
// under /usr/lib/ocf/resource.d/ldir/) with an IPaddr2 VIP on a dummy interface, colocated with it and ordered after
// it: Pacemaker starts both, monitors ldir, restarts it after a kill -9 of the daemon (found by the monitor), and
// stops both, ldir cleaning its kernel table. Every wait is bounded; timings are reported as diagnostics.
// Runs only inside the VM (LDIR_IN_VM=1); elsewhere it skips.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LDIR_MAIN, OCF_AGENT, eventually, processExists, sleep } from '../../helpers/ha';

const skip = process.env.LDIR_IN_VM === '1' ? false : 'runs inside the kernel-tier VM only (test/kernel/host-runs-guest-tests)';

const NODE = os.hostname();
const VIP = '192.168.77.10';
const NIC = 'ldirvip0';
const SERVICE = `TCP ${VIP}:80`;
/** SERVICE as `ipvsadm -Ln` prints it (`TCP  192.168.77.10:80 wrr`: two spaces after the protocol). */
const SERVICE_LINE = new RegExp(`^TCP\\s+${VIP.replaceAll('.', '\\.')}:80\\s`, 'm');
const REAL_IP = '127.0.0.2';
const AGENT_DIR = '/usr/lib/ocf/resource.d/ldir';
const PID_FILE = '/var/run/ldirectord.site.cf.pid';
const MONITOR_MS = 5000;

function sh(command: string, args: readonly string[], timeout = 60_000): { status: number | null; out: string } {
  const r = spawnSync(command, [...args], { encoding: 'utf8', timeout });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

function ipvsadmList(): string {
  return sh('ipvsadm', ['-Ln']).out;
}

function vipAssigned(): boolean {
  return sh('ip', ['-4', 'addr', 'show', 'dev', NIC]).out.includes(`${VIP}/`);
}

/** The `<resource id="ID" ...>` element of `crm_mon --output-as=xml`, as attributes. */
function resourceState(id: string): Record<string, string> | undefined {
  const xml = sh('crm_mon', ['-1', '--output-as=xml'], 60_000).out;
  const tag = new RegExp(`<resource id="${id}"[^>]*>`).exec(xml)?.[0];
  if (!tag) return undefined;
  return Object.fromEntries([...tag.matchAll(/([\w-]+)="([^"]*)"/g)].map((m) => [m[1] as string, m[2] as string]));
}

function started(id: string): boolean {
  const s = resourceState(id);
  return s?.['role'] === 'Started' && s['active'] === 'true' && s['failed'] === 'false';
}

function stopped(id: string): boolean {
  const s = resourceState(id);
  return s?.['role'] === 'Stopped' && s['active'] === 'false';
}

/** The operations Pacemaker recorded for `id` (lrm_rsc_op elements of the status section), as attributes. */
function operations(id: string): Array<Record<string, string>> {
  const xml = sh('cibadmin', ['-Q', '-o', 'status'], 60_000).out;
  const block = new RegExp(`<lrm_resource id="${id}"[\\s\\S]*?</lrm_resource>`).exec(xml)?.[0] ?? '';
  return [...block.matchAll(/<lrm_rsc_op [^>]*>/g)].map((m) => Object.fromEntries([...m[0].matchAll(/([\w-]+)="([^"]*)"/g)].map((a) => [a[1] as string, a[2] as string])));
}

/** Seconds Pacemaker measured for the last `operation` of `id` (exec-time of its lrm_rsc_op). */
function execTime(id: string, operation: string): string {
  const op = operations(id).find((o) => o['operation'] === operation && o['op-status'] === '0');
  return op?.['exec-time'] !== undefined ? `${(Number(op['exec-time']) / 1000).toFixed(1)} s` : '?';
}

function callId(id: string, operation: string): number {
  const op = operations(id).find((o) => o['operation'] === operation && o['op-status'] === '0');
  return op ? Number(op['call-id']) : -1;
}

function daemonPid(): number | undefined {
  try {
    const pid = Number.parseInt(fs.readFileSync(PID_FILE, 'utf8'), 10);
    return pid > 0 && processExists(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

function cib(section: string, xml: string): void {
  execFileSync('cibadmin', ['--create', '-o', section, '--xml-text', xml], { timeout: 60_000 });
}

describe('Pacemaker + Corosync single-node cluster running ocf:ldir:ldir with an IPaddr2 VIP (VM)', { skip }, () => {
  let dir = '';
  let server: net.Server | undefined;
  let port = 0;
  let corosync: ChildProcess | undefined;
  let pacemakerd: ChildProcess | undefined;
  let missing: string | undefined;
  const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

  before(async () => {
    missing = ['corosync', 'pacemakerd', 'cibadmin', 'crm_mon', 'crm_resource', 'crm_failcount'].find((c) => sh('sh', ['-c', `command -v ${c}`]).status !== 0);
    if (missing) return;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-pcmk-'));
    server = net.createServer((s) => s.end());
    await new Promise<void>((r) => server?.listen(0, REAL_IP, r));
    port = (server.address() as net.AddressInfo).port;
    fs.writeFileSync(path.join(dir, 'site.cf'), `checkinterval=2
checktimeout=2
metrics=no
logfile="${path.join(dir, 'ldir.log')}"
virtual=${VIP}:80
\treal=${REAL_IP}:${port} masq 1
\tchecktype=connect
`);
    // The agent where Pacemaker looks for ocf:ldir:ldir (the guest's root is a throw-away overlay).
    fs.mkdirSync(AGENT_DIR, { recursive: true });
    fs.copyFileSync(OCF_AGENT, path.join(AGENT_DIR, 'ldir'));
    fs.chmodSync(path.join(AGENT_DIR, 'ldir'), 0o755);
    // The VIP's interface: a dummy with an address in the VIP's subnet.
    sh('ip', ['link', 'del', NIC]);
    execFileSync('ip', ['link', 'add', NIC, 'type', 'dummy']);
    execFileSync('ip', ['link', 'set', NIC, 'up']);
    execFileSync('ip', ['addr', 'add', '192.168.77.2/24', 'dev', NIC]);
    // A one-node cluster on loopback (knet), and a CIB seeded with the cluster options: no fencing device here,
    // and a short dc-deadtime (the default 20 s only delays a lone node's election).
    fs.mkdirSync('/var/log/corosync', { recursive: true });
    fs.writeFileSync('/etc/corosync/corosync.conf', `totem {
\tversion: 2
\tcluster_name: ldirtest
\tcrypto_cipher: none
\tcrypto_hash: none
}
logging {
\tto_stderr: no
\tto_logfile: yes
\tlogfile: /var/log/corosync/corosync.log
\tto_syslog: no
\ttimestamp: on
}
quorum {
\tprovider: corosync_votequorum
}
nodelist {
\tnode {
\t\tname: ${NODE}
\t\tnodeid: 1
\t\tring0_addr: 127.0.0.1
\t}
}
`);
    const cibDir = '/var/lib/pacemaker/cib';
    for (const f of fs.readdirSync(cibDir)) fs.rmSync(path.join(cibDir, f), { force: true });
    fs.writeFileSync(path.join(cibDir, 'cib.xml'), `<cib crm_feature_set="3.16.1" validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">
  <configuration>
    <crm_config>
      <cluster_property_set id="cib-bootstrap-options">
        <nvpair id="opt-stonith-enabled" name="stonith-enabled" value="false"/>
        <nvpair id="opt-no-quorum-policy" name="no-quorum-policy" value="ignore"/>
        <nvpair id="opt-dc-deadtime" name="dc-deadtime" value="2s"/>
      </cluster_property_set>
    </crm_config>
    <nodes/>
    <resources/>
    <constraints/>
  </configuration>
  <status/>
</cib>
`, { mode: 0o600 });
    execFileSync('chown', ['hacluster:haclient', path.join(cibDir, 'cib.xml')]);
    const log = fs.openSync(path.join(dir, 'cluster.out'), 'a');
    corosync = spawn('corosync', ['-f'], { detached: true, stdio: ['ignore', log, log] });
    await eventually('corosync to be quorate', () => (sh('corosync-quorumtool', ['-s']).status === 0 ? true : undefined), 120_000, 1000,
      () => sh('tail', ['-20', '/var/log/corosync/corosync.log']).out);
    // pacemaker-execd runs the agents with pacemakerd's environment: PATH holds node.
    pacemakerd = spawn('pacemakerd', [], { detached: true, stdio: ['ignore', log, log], env: { ...process.env, PCMK_logfile: path.join(dir, 'pacemaker.log') } });
    fs.closeSync(log);
  });

  after(async () => {
    if (pacemakerd?.pid !== undefined && processExists(pacemakerd.pid)) {
      pacemakerd.kill('SIGTERM'); // stops the resources, then the daemons
      await eventually('pacemakerd to exit', () => (processExists(pacemakerd?.pid as number) ? undefined : true), 180_000, 1000).catch(() => pacemakerd?.kill('SIGKILL'));
    }
    if (corosync?.pid !== undefined && processExists(corosync.pid)) {
      corosync.kill('SIGTERM');
      await eventually('corosync to exit', () => (processExists(corosync?.pid as number) ? undefined : true), 60_000, 500).catch(() => corosync?.kill('SIGKILL'));
    }
    const pid = daemonPid();
    if (pid !== undefined) process.kill(pid, 'SIGKILL');
    sh('ipvsadm', ['-D', '-t', `${VIP}:80`]);
    sh('ip', ['link', 'del', NIC]);
    await new Promise((r) => server?.close(r));
    if (process.env['LDIR_TEST_DAEMON_LOG'] && dir) {
      for (const f of ['pacemaker.log', 'ldir.log']) console.log(`--- ${f}\n${sh('tail', ['-200', path.join(dir, f)]).out}`);
    }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('starts, monitors, recovers from kill -9 and stops ldir and its VIP', async (t) => {
    if (missing) {
      if (process.env['CI']) assert.fail(`${missing} is not installed (test/kernel/vm/provision-vm.sh installs pacemaker and corosync)`);
      return t.skip(`${missing} is not installed (test/kernel/vm/provision-vm.sh installs pacemaker and corosync)`);
    }
    const diag = (what: string): void => t.diagnostic(`figure: ${what}`);
    const tail = (): string => `${sh('crm_mon', ['-1']).out}\n${sh('tail', ['-40', path.join(dir, 'pacemaker.log')]).out}\n${ipvsadmList()}`;

    let t0 = Date.now();
    await eventually('a DC to be elected', () => (/Current DC: \S+/.test(sh('crm_mon', ['-1']).out) ? true : undefined), 300_000, 1000, tail);
    diag(`cluster up (corosync quorate, Pacemaker DC) in ${seconds(Date.now() - t0)}`);

    // ldir, then the VIP with it and after it: traffic arrives only where the IPVS table is ready. Start and stop
    // timeouts fit TCG beside another VM: a cold first ldir start took 106 s there (past `ldir start`'s own 60 s, which
    // the agent waits out), IPaddr2 start 32 s (over the 20 s cluster default).
    cib('resources', `<primitive id="lb" class="ocf" provider="ldir" type="ldir">
  <instance_attributes id="lb-params">
    <nvpair id="lb-configfile" name="configfile" value="${path.join(dir, 'site.cf')}"/>
    <nvpair id="lb-binary" name="binary" value="${LDIR_MAIN}"/>
  </instance_attributes>
  <operations>
    <op id="lb-start" name="start" interval="0" timeout="300s"/>
    <op id="lb-stop" name="stop" interval="0" timeout="120s"/>
    <op id="lb-monitor" name="monitor" interval="${MONITOR_MS / 1000}s" timeout="60s"/>
  </operations>
</primitive>`);
    cib('resources', `<primitive id="vip" class="ocf" provider="heartbeat" type="IPaddr2">
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
</primitive>`);
    cib('constraints', '<rsc_colocation id="vip-with-lb" rsc="vip" with-rsc="lb" score="INFINITY"/>');
    cib('constraints', '<rsc_order id="lb-then-vip" first="lb" then="vip" kind="Mandatory"/>');

    t0 = Date.now();
    await eventually('lb and vip to be started', () => (started('lb') && started('vip') ? true : undefined), 420_000, 2000, tail);
    diag(`lb and vip started ${seconds(Date.now() - t0)} after they were added (lb start ${execTime('lb', 'start')}, vip start ${execTime('vip', 'start')})`);
    const pid = daemonPid();
    assert.ok(pid !== undefined, 'the ldir daemon runs');
    const table = ipvsadmList();
    assert.match(table, SERVICE_LINE, `the kernel has ${SERVICE}\n${table}`);
    assert.ok(vipAssigned(), 'the VIP is on its interface');
    assert.ok(callId('vip', 'start') > callId('lb', 'start'), `vip started after lb (${JSON.stringify(operations('vip'))})`);
    await eventually(`${REAL_IP}:${port} to be in the table`, () => (ipvsadmList().includes(`${REAL_IP}:${port}`) ? true : undefined), 120_000, 1000, ipvsadmList);

    // Recurring monitors succeed.
    t0 = Date.now();
    const monitorOk = (): boolean => operations('lb').some((o) => o['operation'] === 'monitor' && o['interval'] === String(MONITOR_MS) && o['rc-code'] === '0' && o['op-status'] === '0');
    await eventually('the recurring monitor to report success', () => (monitorOk() ? true : undefined), 180_000, 1000, tail);
    await sleep(3 * MONITOR_MS);
    assert.ok(monitorOk() && started('lb'), `still healthy after three more intervals\n${tail()}`);
    assert.equal(resourceState('lb')?.['failed'], 'false');

    // kill -9: the monitor finds the dead daemon, Pacemaker stops vip and lb and starts them again.
    const tKill = Date.now();
    process.kill(pid as number, 'SIGKILL');
    const failure = (): Record<string, string> | undefined => operations('lb').find((o) => o['id'] === 'lb_last_failure_0' && o['operation'] === 'monitor');
    const failed = await eventually('Pacemaker to notice the failure', () => failure(), 180_000, 500, tail);
    diag(`kill -9 noticed by the monitor after ${seconds(Date.now() - tKill)} (monitor interval ${MONITOR_MS / 1000} s): rc ${failed['rc-code']} "${failed['exit-reason']}"`);
    assert.equal(failed['rc-code'], '1', 'OCF_ERR_GENERIC: a dead daemon is a failure, not a clean stop');
    const pid2 = await eventually('lb and vip to be started again', () => {
      const p = daemonPid();
      return p !== undefined && p !== pid && started('lb') && started('vip') ? p : undefined;
    }, 420_000, 2000, tail);
    diag(`recovered (new daemon pid ${pid2}, vip back) ${seconds(Date.now() - tKill)} after the kill -9 (lb start ${execTime('lb', 'start')}, vip start ${execTime('vip', 'start')})`);
    const table2 = ipvsadmList();
    assert.match(table2, SERVICE_LINE, `the kernel has ${SERVICE} again\n${table2}`);
    assert.ok(vipAssigned(), 'the VIP is back on its interface');
    const failcount = sh('crm_failcount', ['--query', '-r', 'lb', '-N', NODE]).out;
    assert.match(failcount, /value=1\b/, failcount);

    // Stop: vip first (order), then lb, whose cleanup removes its service from the kernel table.
    t0 = Date.now();
    execFileSync('crm_resource', ['--resource', 'lb', '--meta', '--set-parameter', 'target-role', '--parameter-value', 'Stopped'], { timeout: 60_000 });
    await eventually('lb and vip to be stopped', () => (stopped('lb') && stopped('vip') ? true : undefined), 300_000, 2000, tail);
    diag(`lb and vip stopped in ${seconds(Date.now() - t0)} (lb stop ${execTime('lb', 'stop')}, vip stop ${execTime('vip', 'stop')})`);
    assert.ok(callId('lb', 'stop') > callId('vip', 'stop'), 'vip stopped before lb');
    assert.equal(daemonPid(), undefined, 'the daemon is gone');
    assert.equal(fs.existsSync(PID_FILE), false, 'its pid file too');
    const table3 = ipvsadmList();
    assert.doesNotMatch(table3, SERVICE_LINE, `cleanstop removed ${SERVICE}\n${table3}`);
    assert.equal(vipAssigned(), false, 'the VIP is released');
  });
});
