// A real single-node Corosync + Pacemaker cluster inside the kernel-tier VM, for the guest tests that run ldir's OCF
// agent under Pacemaker: bootstrap (corosync on loopback, a CIB with no fencing), resources and constraints through
// cibadmin, and the state Pacemaker reports (crm_mon, the CIB's operation history). Inside the VM only.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { OCF_AGENT, eventually, processExists } from './ha';

/** This node's name in the cluster. */
export const NODE = os.hostname();
const AGENT_DIR = '/usr/lib/ocf/resource.d/ldir';

/** Runs a command; its status and its output (stdout then stderr). */
export function sh(command: string, args: readonly string[], timeout = 60_000): { status: number | null; out: string } {
  const r = spawnSync(command, [...args], { encoding: 'utf8', timeout });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

/** The first of the cluster programs that is missing, if any (test/kernel/vm/provision-vm.sh installs them). */
export function missingClusterTool(): string | undefined {
  return ['corosync', 'pacemakerd', 'cibadmin', 'crm_mon', 'crm_resource', 'crm_failcount'].find(
    (c) => sh('sh', ['-c', `command -v ${c}`]).status !== 0,
  );
}

/** The `<resource id="ID" ...>` element of `crm_mon --output-as=xml`, as attributes. */
export function resourceState(id: string): Record<string, string> | undefined {
  const xml = sh('crm_mon', ['-1', '--output-as=xml'], 60_000).out;
  const tag = new RegExp(`<resource id="${id}"[^>]*>`).exec(xml)?.[0];
  if (!tag) return undefined;
  return Object.fromEntries([...tag.matchAll(/([\w-]+)="([^"]*)"/g)].map((m) => [m[1] as string, m[2] as string]));
}

/** Pacemaker reports resource `id` started, active and not failed. */
export function started(id: string): boolean {
  const s = resourceState(id);
  return s?.['role'] === 'Started' && s['active'] === 'true' && s['failed'] === 'false';
}

/** Pacemaker reports resource `id` stopped. */
export function stopped(id: string): boolean {
  const s = resourceState(id);
  return s?.['role'] === 'Stopped' && s['active'] === 'false';
}

/** The operations Pacemaker recorded for `id` (lrm_rsc_op elements of the status section), as attributes. */
export function operations(id: string): Array<Record<string, string>> {
  const xml = sh('cibadmin', ['-Q', '-o', 'status'], 60_000).out;
  const block = new RegExp(`<lrm_resource id="${id}"[\\s\\S]*?</lrm_resource>`).exec(xml)?.[0] ?? '';
  return [...block.matchAll(/<lrm_rsc_op [^>]*>/g)].map((m) =>
    Object.fromEntries([...m[0].matchAll(/([\w-]+)="([^"]*)"/g)].map((a) => [a[1] as string, a[2] as string])),
  );
}

/** Seconds Pacemaker measured for the last `operation` of `id` (exec-time of its lrm_rsc_op). */
export function execTime(id: string, operation: string): string {
  const op = operations(id).find((o) => o['operation'] === operation && o['op-status'] === '0');
  return op?.['exec-time'] !== undefined ? `${(Number(op['exec-time']) / 1000).toFixed(1)} s` : '?';
}

/** Call id of the last successful `operation` of `id` (-1 when none). */
export function callId(id: string, operation: string): number {
  const op = operations(id).find((o) => o['operation'] === operation && o['op-status'] === '0');
  return op ? Number(op['call-id']) : -1;
}

/** Adds `xml` to CIB section `section` (resources, constraints). */
export function cib(section: string, xml: string): void {
  execFileSync('cibadmin', ['--create', '-o', section, '--xml-text', xml], { timeout: 60_000 });
}

/** `crm_mon -1`, the tail of Pacemaker's log: what a failed wait prints. */
export function clusterTail(dir: string): string {
  return `${sh('crm_mon', ['-1']).out}\n${sh('tail', ['-40', path.join(dir, 'pacemaker.log')]).out}`;
}

/** An ldir resource (ocf:ldir:ldir) with `configfile` and the checkout's binary, timeouts fit for TCG. */
export function ldirPrimitive(id: string, configfile: string, binary: string, monitorMs: number): string {
  return `<primitive id="${id}" class="ocf" provider="ldir" type="ldir">
  <instance_attributes id="${id}-params">
    <nvpair id="${id}-configfile" name="configfile" value="${configfile}"/>
    <nvpair id="${id}-binary" name="binary" value="${binary}"/>
  </instance_attributes>
  <operations>
    <op id="${id}-start" name="start" interval="0" timeout="300s"/>
    <op id="${id}-stop" name="stop" interval="0" timeout="120s"/>
    <op id="${id}-monitor" name="monitor" interval="${monitorMs / 1000}s" timeout="60s"/>
  </operations>
</primitive>`;
}

/** A running cluster; {@link stop} ends it (resources stopped by pacemakerd's shutdown). */
export interface Cluster {
  stop(): Promise<void>;
}

/**
 * Installs the OCF agent where Pacemaker looks for ocf:ldir:ldir, writes corosync.conf (one node on loopback) and a
 * CIB with no fencing and a short dc-deadtime, starts corosync and pacemakerd (logs in `dir`), and waits for a DC.
 */
export async function startCluster(dir: string): Promise<Cluster> {
  fs.mkdirSync(AGENT_DIR, { recursive: true });
  fs.copyFileSync(OCF_AGENT, path.join(AGENT_DIR, 'ldir'));
  fs.chmodSync(path.join(AGENT_DIR, 'ldir'), 0o755);
  fs.mkdirSync('/var/log/corosync', { recursive: true });
  fs.writeFileSync(
    '/etc/corosync/corosync.conf',
    `totem {
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
`,
  );
  const cibDir = '/var/lib/pacemaker/cib';
  for (const f of fs.readdirSync(cibDir)) fs.rmSync(path.join(cibDir, f), { force: true });
  fs.writeFileSync(
    path.join(cibDir, 'cib.xml'),
    `<cib crm_feature_set="3.16.1" validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">
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
`,
    { mode: 0o600 },
  );
  execFileSync('chown', ['hacluster:haclient', path.join(cibDir, 'cib.xml')]);
  const log = fs.openSync(path.join(dir, 'cluster.out'), 'a');
  const corosync: ChildProcess = spawn('corosync', ['-f'], { detached: true, stdio: ['ignore', log, log] });
  let pacemakerd: ChildProcess | undefined;
  const stop = async (): Promise<void> => {
    if (pacemakerd?.pid !== undefined && processExists(pacemakerd.pid)) {
      pacemakerd.kill('SIGTERM'); // stops the resources, then the daemons
      await eventually(
        'pacemakerd to exit',
        () => (processExists(pacemakerd?.pid as number) ? undefined : true),
        180_000,
        1000,
      ).catch(() => pacemakerd?.kill('SIGKILL'));
    }
    if (corosync.pid !== undefined && processExists(corosync.pid)) {
      corosync.kill('SIGTERM');
      await eventually(
        'corosync to exit',
        () => (processExists(corosync.pid as number) ? undefined : true),
        60_000,
        500,
      ).catch(() => corosync.kill('SIGKILL'));
    }
  };
  try {
    await eventually(
      'corosync to be quorate',
      () => (sh('corosync-quorumtool', ['-s']).status === 0 ? true : undefined),
      120_000,
      1000,
      () => sh('tail', ['-20', '/var/log/corosync/corosync.log']).out,
    );
    // pacemaker-execd runs the agents with pacemakerd's environment: PATH holds node.
    pacemakerd = spawn('pacemakerd', [], {
      detached: true,
      stdio: ['ignore', log, log],
      env: { ...process.env, PCMK_logfile: path.join(dir, 'pacemaker.log') },
    });
    fs.closeSync(log);
    await eventually(
      'a DC to be elected',
      () => (/Current DC: \S+/.test(sh('crm_mon', ['-1']).out) ? true : undefined),
      300_000,
      1000,
      () => clusterTail(dir),
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { stop };
}
