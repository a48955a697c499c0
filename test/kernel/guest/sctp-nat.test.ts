// Kernel tier (inside the VM): an SCTP virtual service (`protocol=sctp`) run by the real `ldir` daemon, once through
// each backend (netlink, then ipvsadm). Two real servers in network namespaces accept SCTP associations (socat
// SCTP-LISTEN, answering `hello from <name>`); the default check of an SCTP service opens an association to each
// real (checktype=connect through the native engine). Shown: the service and its destinations in Debian's
// `ipvsadm -Ln` as `SCTP VIP:PORT`, client associations from the client namespace through the VIP answered by both
// reals, a real whose SCTP server stops leaves the table (its check says `refused`: the kernel answers the INIT with
// an ABORT) and comes back when the server does, `ldir --json status` with the SCTP virtual, and `ldir stop` removing
// the service.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, afterEach, before, describe, test } from 'node:test';
import type { RealStatus, StatusReport } from '../../../src/daemon/protocol';
import { eventually, LdirDirector, listTable, peekTable, weightsOf } from '../../helpers/ldir-director';
import { buildNatLab, type NatLab } from '../../helpers/netns-lab';
import { mapText } from '../../helpers/seed-cluster';

const skip =
  process.env['LDIR_IN_VM'] === '1' && existsSync('/proc/net/ip_vs')
    ? false
    : 'runs inside the kernel-tier VM only (test/kernel/host-runs-guest-tests)';

const SCTP_PORT = 3868;
const CHECK_INTERVAL_S = 1;
const CHECK_TIMEOUT_S = 2;
const SLACK_MS = Number(process.env['LDIR_TCG_SLACK_MS'] ?? 3000);
/** Longest time a server stop or start may take to show in the kernel: a check round, its timeout, slack. */
const REACT_MS = (CHECK_INTERVAL_S + CHECK_TIMEOUT_S) * 1000 + SLACK_MS + 10_000;
const TEST_TIMEOUT = 300_000;

/** One `socat` SCTP server in a real server's namespace, answering each association with `hello from NAME`. */
function sctpServer(netns: string, address: string, name: string): ChildProcess {
  const child = spawn(
    'ip',
    [
      'netns',
      'exec',
      netns,
      'socat',
      `SCTP-LISTEN:${SCTP_PORT},bind=${address},reuseaddr,fork`,
      `EXEC:/bin/echo hello from ${name}`,
    ],
    {
      stdio: ['ignore', 'ignore', 'ignore'], // every check's association closes before the answer: EPIPE lines
    },
  );
  child.on('error', () => undefined);
  return child;
}

/** Whether an SCTP server listens on `address` in `netns` (socat `SCTP-CONNECT` from the same namespace answers). */
function sctpAnswer(netns: string, address: string): string | undefined {
  try {
    return execFileSync(
      'ip',
      ['netns', 'exec', netns, 'socat', '-T', '5', '-u', `SCTP-CONNECT:${address}:${SCTP_PORT}`, 'STDOUT'],
      { encoding: 'utf8', timeout: 20_000, stdio: ['ignore', 'pipe', 'ignore'] },
    ).trim();
  } catch {
    return undefined;
  }
}

/** Backends the daemon runs with, one describe each. */
const BACKENDS = ['netlink', 'ipvsadm'] as const;

describe('an SCTP virtual service in the kernel (LVS-NAT)', { skip, concurrency: false }, () => {
  let lab: NatLab;
  let director: LdirDirector;
  const servers = new Map<number, ChildProcess>();
  const service = (): string => `SCTP ${lab.vip}:${SCTP_PORT}`;
  const real = (i: number): string => `${lab.reals[i - 1]?.address}:${SCTP_PORT}`;
  const name = (i: number): string => lab.reals[i - 1]?.netns ?? '?';

  const serve = async (i: number, up: boolean): Promise<void> => {
    const r = lab.reals[i - 1];
    assert.ok(r);
    if (up) {
      servers.set(i, sctpServer(r.netns, r.address, r.netns));
      await eventually(
        `SCTP server of ${r.netns}`,
        () => (sctpAnswer(r.netns, r.address) === `hello from ${r.netns}` ? true : undefined),
        30_000,
        200,
      );
      return;
    }
    const child = servers.get(i);
    servers.delete(i);
    child?.kill('SIGKILL');
    await eventually(
      `SCTP server of ${r.netns} to stop`,
      () => (sctpAnswer(r.netns, r.address) === undefined ? true : undefined),
      30_000,
      200,
    );
  };

  /** Waits until the SCTP service has exactly `want` (real index → weight) in /proc/net/ip_vs; `ipvsadm -Ln` agrees. */
  async function waitTable(want: ReadonlyMap<number, number>, ms: number): Promise<void> {
    const wanted = mapText(new Map([...want].map(([i, w]) => [real(i), w])));
    const peek = (): string => mapText(weightsOf(peekTable(), service()));
    await eventually(
      `${service()} to be ${wanted}`,
      () => (peek() === wanted ? true : undefined),
      ms,
      50,
      () => `kernel: ${peek()}`,
    );
    assert.equal(mapText(weightsOf(listTable(), service())), wanted, "Debian's ipvsadm -Ln agrees");
  }

  /** `count` associations from the client namespace to the VIP, one after the other: who answered each. */
  function clientAssociations(count: number): string[] {
    const answers: string[] = [];
    for (let i = 0; i < count; i++) {
      const out = lab.clientExec('socat', ['-T', '5', '-u', `SCTP-CONNECT:${lab.vip}:${SCTP_PORT}`, 'STDOUT']).trim();
      answers.push(out);
    }
    return answers;
  }

  const realsShown = async (conf: string): Promise<readonly RealStatus[]> => {
    const report: StatusReport = await director.quickStatus(conf);
    const v = report.virtualServices.find(
      (x) => x.protocol === 'sctp' && x.address === lab.vip && x.port === SCTP_PORT,
    );
    assert.ok(v, `the SCTP virtual in status: ${JSON.stringify(report.virtualServices.map((x) => x.id))}`);
    return v.reals;
  };

  before(async () => {
    execFileSync('modprobe', ['sctp']);
    assert.ok(existsSync('/proc/net/sctp'), 'the sctp module is loaded');
    lab = buildNatLab('sc', 2, 8080, { net: 236 });
    await lab.ready();
    director = new LdirDirector('ldir-sctp-');
    for (const i of [1, 2]) await serve(i, true);
  });

  after(() => {
    for (const child of servers.values()) child.kill('SIGKILL');
    director?.cleanup();
    lab?.teardown();
  });

  for (const backend of BACKENDS) {
    const conf = `sctp-${backend}.cf`;
    describe(`through the ${backend} backend`, { concurrency: false }, () => {
      afterEach((t) => director.printChangesIfFailed(t, conf));

      test('start: both reals in the table as SCTP destinations, client associations through the VIP', {
        timeout: TEST_TIMEOUT,
      }, async () => {
        director.writeConfig(
          conf,
          [
            `checkinterval=${CHECK_INTERVAL_S}`,
            `checktimeout=${CHECK_TIMEOUT_S}`,
            'autoreload=no',
            `logfile="${director.logPath(conf)}"`,
            '',
            `virtual=${lab.vip}:${SCTP_PORT}`,
            '\tprotocol=sctp',
            '\tscheduler=rr',
            '\tquiescent=no',
            `\treal=${real(1)} masq`,
            `\treal=${real(2)} masq`,
            '',
          ].join('\n'),
        );
        await director.start(conf, backend);
        await waitTable(
          new Map([
            [1, 1],
            [2, 1],
          ]),
          90_000,
        );
        const text = execFileSync('ipvsadm', ['-Ln'], { encoding: 'utf8' });
        assert.match(text, new RegExp(`^SCTP\\s+${lab.vip.replace(/\./g, '\\.')}:${SCTP_PORT} rr`, 'm'), text);
        const answers = clientAssociations(4);
        assert.deepEqual(
          [...new Set(answers)].sort(),
          [`hello from ${name(1)}`, `hello from ${name(2)}`],
          `answers: ${answers.join(', ')}`,
        );
        const reals = await realsShown(conf);
        assert.deepEqual(
          reals.map((r) => [r.health, r.lastCheck?.up, r.lastCheck?.reason]),
          [
            ['up', true, 'connected'],
            ['up', true, 'connected'],
          ],
        );
      });

      test('a real whose SCTP server stops leaves the table (refused), and comes back with it', {
        timeout: TEST_TIMEOUT,
      }, async () => {
        const t0 = Date.now();
        await serve(1, false);
        await waitTable(new Map([[2, 1]]), REACT_MS);
        console.log(`figure: ${backend}: SCTP server stopped -> real out of the table after ${Date.now() - t0} ms`);
        const down = (await realsShown(conf))[0];
        assert.deepEqual([down?.health, down?.lastCheck?.up, down?.lastCheck?.reason], ['down', false, 'refused']);
        assert.deepEqual([...new Set(clientAssociations(3))], [`hello from ${name(2)}`]);
        await serve(1, true);
        await waitTable(
          new Map([
            [1, 1],
            [2, 1],
          ]),
          REACT_MS,
        );
        assert.deepEqual([...new Set(clientAssociations(4))].sort(), [
          `hello from ${name(1)}`,
          `hello from ${name(2)}`,
        ]);
      });

      test('stop removes the SCTP service', { timeout: TEST_TIMEOUT }, async () => {
        const stopped = await director.stop(conf);
        assert.equal(stopped.status, 0, stopped.stderr);
        assert.equal(listTable().has(service()), false, 'the service is gone from ipvsadm -Ln');
      });
    });
  }
});
