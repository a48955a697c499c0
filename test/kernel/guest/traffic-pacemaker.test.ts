// Kernel tier (inside the VM): ldir run by a real Corosync + Pacemaker cluster (ocf:ldir:ldir, cleanstop=no) as the
// director of an LVS-NAT lab, under live client traffic: a restart by hand (`ldir restart`) while Pacemaker monitors
// it, a restart by Pacemaker (`crm_resource --restart`: the agent's stop, then start), and Pacemaker's recovery after
// a kill -9. The VIP is the director's own address here (no IPaddr2 resource colocated with ldir: a colocated VIP
// would go down with every restart of ldir, see docs/operations.md). One `traffic: ...` line per phase is printed.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LDIR_MAIN, eventually, processExists, sleep } from '../../helpers/ha';
import { deleteServices, peekTable, tableShape, weightsOf } from '../../helpers/ldir-director';
import { buildNatLab, type NatLab } from '../../helpers/netns-lab';
import {
  cib,
  clusterTail,
  ldirPrimitive,
  missingClusterTool,
  NODE,
  operations,
  sh,
  started,
  startCluster,
  type Cluster,
} from '../../helpers/pacemaker-cluster';
import { mapText } from '../../helpers/seed-cluster';
import { phaseLine, phaseTable, TrafficClient, type PhaseOutcome } from '../../helpers/traffic-client';

const skip =
  process.env['LDIR_IN_VM'] === '1' && fs.existsSync('/proc/net/ip_vs')
    ? false
    : 'runs inside the kernel-tier VM only (test/kernel/host-runs-guest-tests)';

const NET = 170;
const MONITOR_MS = 5_000;
const PID_FILE = '/var/run/ldirectord.pcmk.cf.pid';
const SETTLE_MS = 4_000;

describe('traffic through the VIP while Pacemaker runs ldir (LVS-NAT, OCF agent)', { skip, concurrency: false }, () => {
  let dir = '';
  let lab: NatLab;
  let cluster: Cluster | undefined;
  let client: TrafficClient | undefined;
  let missing: string | undefined;
  const vip = `10.${NET + 1}.0.1`;
  const http = `TCP ${vip}:80`;
  const conf = (): string => path.join(dir, 'pcmk.cf');
  const wanted = (): string => mapText(new Map(lab.reals.map((r) => [`${r.address}:80`, 1])));
  const daemonPid = (): number | undefined => {
    try {
      const pid = Number.parseInt(fs.readFileSync(PID_FILE, 'utf8'), 10);
      return pid > 0 && processExists(pid) ? pid : undefined;
    } catch {
      return undefined;
    }
  };
  const failcount = (): string =>
    /value=(\d+)/.exec(sh('crm_failcount', ['--query', '-r', 'lb', '-N', NODE]).out)?.[1] ?? '0';

  async function converged(ms = 180_000): Promise<void> {
    await eventually(
      'every real at its weight',
      () => (mapText(weightsOf(peekTable(), http)) === wanted() ? true : undefined),
      ms,
      200,
      () => `${tableShape(peekTable(), [http])}\n${clusterTail(dir)}`,
    );
  }

  before(async () => {
    missing = missingClusterTool();
    if (missing) return;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-tp-'));
    lab = buildNatLab('tp', 3, 80, { net: NET });
    deleteServices([http]);
    await lab.ready();
    fs.writeFileSync(
      conf(),
      [
        'checkinterval=1',
        'checktimeout=2',
        'negotiatetimeout=2',
        'metrics=no',
        `logfile="${path.join(dir, 'ldir.log')}"`,
        'cleanstop=no',
        '',
        `virtual=${vip}:80`,
        ...lab.reals.map((r) => `\treal=${r.address}:80 masq 1`),
        '\tchecktype=negotiate',
        '\tservice=http',
        '\trequest="/"',
        '\treceive="hello from"',
        '\tscheduler=wrr',
        '\tquiescent=yes',
        '',
      ].join('\n'),
    );
    cluster = await startCluster(dir);
    cib('resources', ldirPrimitive('lb', conf(), LDIR_MAIN, MONITOR_MS));
    await eventually(
      'lb to be started',
      () => (started('lb') ? true : undefined),
      420_000,
      2000,
      () => clusterTail(dir),
    );
    await converged();
    client = new TrafficClient(lab.clientNetns, {
      http: [{ url: `http://${vip}/`, perSecond: 20 }],
      held: [{ host: vip, port: 80, count: 3, everyMs: 500 }],
    });
    await client.ready();
  });

  after(async () => {
    client?.stop();
    await cluster?.stop();
    const pid = daemonPid();
    if (pid !== undefined) process.kill(pid, 'SIGKILL');
    if (lab) {
      deleteServices([http]);
      lab.teardown();
    }
    if (process.env['LDIR_TEST_DAEMON_LOG'] && dir) {
      for (const f of ['pacemaker.log', 'ldir.log'])
        console.log(`--- ${f}\n${sh('tail', ['-200', path.join(dir, f)]).out}`);
    }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('restarts by hand and by Pacemaker, and its recovery after kill -9, keep the traffic', {
    timeout: 1_500_000,
  }, async (t) => {
    if (missing || !client) {
      if (process.env['CI'])
        assert.fail(`${missing} is not installed (test/kernel/vm/provision-vm.sh installs pacemaker and corosync)`);
      return t.skip(`${missing} is not installed`);
    }
    const traffic = client;
    const phase = (name: string, action: () => Promise<void>): Promise<void> =>
      traffic.runPhase(name, action, SETTLE_MS);

    await phase('steady under Pacemaker', async () => undefined);

    await phase('ldir restart by hand, Pacemaker monitoring', async () => {
      const before = daemonPid();
      const r = spawnSync(process.execPath, [LDIR_MAIN, '--timeout=180', conf(), 'restart'], {
        encoding: 'utf8',
        timeout: 240_000,
      });
      assert.equal(r.status, 0, r.stderr);
      assert.notEqual(daemonPid(), before);
      // Two monitor intervals: Pacemaker keeps seeing it running (ldir ping), no failure recorded.
      await sleep(2 * MONITOR_MS);
      assert.ok(started('lb'), clusterTail(dir));
      assert.equal(failcount(), '0', 'no failure: the monitor found the new daemon');
    });

    await phase('Pacemaker restarts the resource (stop, start)', async () => {
      const before = daemonPid();
      execFileSync('crm_resource', ['--restart', '--resource', 'lb', '--timeout', '300s'], { timeout: 400_000 });
      await eventually(
        'lb started with a new daemon',
        () => {
          const now = daemonPid();
          return started('lb') && now !== undefined && now !== before ? true : undefined;
        },
        300_000,
        1000,
        () => clusterTail(dir),
      );
      await converged();
    });

    await phase('kill -9, Pacemaker recovers', async () => {
      const pid = daemonPid() as number;
      process.kill(pid, 'SIGKILL');
      await eventually(
        'Pacemaker to notice and recover',
        () => {
          const now = daemonPid();
          const failed = operations('lb').some((o) => o['id'] === 'lb_last_failure_0');
          return failed && started('lb') && now !== undefined && now !== pid ? true : undefined;
        },
        420_000,
        1000,
        () => clusterTail(dir),
      );
      await converged();
      assert.equal(failcount(), '1');
    });

    const phases: PhaseOutcome[] = (await traffic.report()).filter((p) => p.phase !== 'warmup');
    for (const p of phases) console.log(phaseLine('pacemaker', p));
    console.log(`\n${phaseTable('LVS-NAT under Pacemaker', phases)}\n`);
    for (const p of phases) {
      assert.equal(p.heldBroken, 0, `${p.phase}: long-lived connections broken: ${p.heldLost.join(', ')}`);
      assert.equal(p.failed, 0, `${p.phase}: ${p.failed} of ${p.requests} failed: ${JSON.stringify(p.failures)}`);
      assert.ok(p.requests > 0);
    }
  });
});
