// Kernel tier (inside the VM): the director's lifecycle under live client traffic, LVS-DR with a pair of directors.
// Two director namespaces run ldir with state sync (the active one master) and the same Maglev scheduler (hashing the
// client's port too, falling back to another server when the hashed one is quiesced) with sloppy_tcp, as an operator
// sets up an active/backup pair; three web servers answer from the VIP on their lo. A
// client opens a steady stream of new HTTP connections through the VIP and keeps long-lived ones busy while the
// active director goes through a reload, a restart, kill -9 + start, a real server failing, and the VIP moving to the
// other director and back (as Pacemaker's IPaddr2 moves it: address moved, the client's neighbour entry replaced as
// a gratuitous ARP does, sync roles switched). One `traffic: ...` line per phase and the table are printed.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { sendControlRequest } from '../../../src/cli/control-client';
import { controlSocketPath } from '../../../src/daemon/protocol';
import { eventually, LdirDirector, sleep } from '../../helpers/ldir-director';
import { buildSyncLab, nsExec, procConnKey, type SyncLab } from '../../helpers/sync-lab';
import { phaseLine, phaseTable, TrafficClient, type PhaseOutcome } from '../../helpers/traffic-client';

const skip =
  process.env['LDIR_IN_VM'] === '1' && existsSync('/proc/net/ip_vs')
    ? false
    : 'runs inside the kernel-tier VM only (test/kernel/host-runs-guest-tests)';

const CONF = 'dr.cf';
const INTERVAL_S = 1;
const TIMEOUT_S = 2;
const HTTP_RATE = 20;
const SETTLE_MS = 4_000;
const HELD = 3;

describe('traffic through the VIP while a pair of LVS-DR directors goes through its lifecycle', {
  skip,
  concurrency: false,
}, () => {
  let lab: SyncLab;
  let a: LdirDirector;
  let b: LdirDirector;
  let client: TrafficClient;
  let weights = [1, 1, 1];
  let cleanstop = 'yes';

  const nsOf = (d: LdirDirector): string => (d === a ? lab.directors[0] : lab.directors[1]);

  function writeConfig(d: LdirDirector): void {
    d.writeConfig(
      CONF,
      [
        `checkinterval=${INTERVAL_S}`,
        `checktimeout=${TIMEOUT_S}`,
        `negotiatetimeout=${TIMEOUT_S}`,
        'metrics=no',
        `logfile="${d.logPath(CONF)}"`,
        // sync_refresh_period: a busy connection is synced again every 2 s, so a new backup learns it soon after a move.
        `syncinterface=${lab.ifname}`,
        'syncid=43',
        'ipvssysctl=sloppy_tcp=1',
        'ipvssysctl=sync_refresh_period=2',
        `cleanstop=${cleanstop}`,
        '',
        `virtual=${lab.vip}:80`,
        ...lab.httpReals.map((r, i) => `\treal=${r.address}:80 gate ${weights[i]}`),
        '\tchecktype=negotiate',
        '\tservice=http',
        '\trequest="/"',
        '\treceive="hello from"',
        '\tscheduler=mh',
        '\tschedflags=mh-fallback,mh-port',
        '\tquiescent=yes',
        '',
      ].join('\n'),
    );
  }

  /** Director `d`'s weights of the three web servers, from its /proc/net/ip_vs (addresses in hex). */
  function kernelWeights(d: LdirDirector): string {
    const text = nsExec(nsOf(d), 'cat', ['/proc/net/ip_vs']);
    return lab.httpReals
      .map((r) => {
        const hex = r.address
          .split('.')
          .map((o) => Number(o).toString(16).padStart(2, '0'))
          .join('')
          .toUpperCase();
        return new RegExp(`-> ${hex}:0050\\s+Route\\s+(\\d+)`).exec(text)?.[1] ?? '-';
      })
      .join(',');
  }

  async function converged(d: LdirDirector): Promise<void> {
    await eventually(
      `director ${d === a ? 'A' : 'B'} at the configured weights`,
      () => (kernelWeights(d) === weights.join(',') ? true : undefined),
      120_000,
      200,
      () => `${kernelWeights(d)} wanted ${weights.join(',')}`,
    );
  }

  async function role(d: LdirDirector, wanted: 'master' | 'backup'): Promise<void> {
    const r = await sendControlRequest(controlSocketPath(CONF, d.env['LDIR_SOCKET_DIR']), {
      type: 'role',
      role: wanted,
    });
    assert.ok(r.ok, r.ok ? '' : r.error.message);
  }

  /** Director `d` has an entry for every long-lived connection (learnt from the master's sync messages). */
  const knowsHeld = (d: LdirDirector): boolean => {
    const table = lab.connTable(nsOf(d));
    return client.heldPorts.every((port) => table.includes(procConnKey(lab.clientIp, port)));
  };

  /** Moves the VIP as Pacemaker does with a promotable ldir clone and IPaddr2: demote, move the address, promote. */
  async function moveVip(from: LdirDirector, to: LdirDirector): Promise<void> {
    // The long-lived connections must be on the backup before the move (the master syncs them within seconds).
    await eventually(
      'the long-lived connections synced to the backup',
      () => (knowsHeld(to) ? true : undefined),
      120_000,
      200,
      () => nsExec(nsOf(to), 'ipvsadm', ['-Lnc']),
    );
    await role(from, 'backup');
    lab.vipFrom(nsOf(from));
    lab.vipTo(nsOf(to));
    await role(to, 'master');
  }

  const phase = (name: string, action: () => Promise<void>): Promise<void> => client.runPhase(name, action, SETTLE_MS);

  before(async () => {
    lab = await buildSyncLab('td', 78, 7000, { httpReals: 3 });
    a = new LdirDirector('ldir-tda-', { netns: lab.directors[0] });
    b = new LdirDirector('ldir-tdb-', { netns: lab.directors[1] });
    for (const d of [a, b]) writeConfig(d);
    await a.start(CONF);
    await b.start(CONF);
    await role(a, 'master');
    lab.vipTo(lab.directors[0]);
    await converged(a);
    await converged(b);
    client = new TrafficClient(lab.client, {
      http: [{ url: `http://${lab.vip}/`, perSecond: HTTP_RATE }],
      held: [{ host: lab.vip, port: 80, count: HELD, everyMs: 500 }],
    });
    await client.ready();
    console.log(`figure: long-lived connections on ${client.heldOn.join(', ')}`);
  });

  after(() => {
    client?.stop();
    a?.cleanup();
    b?.cleanup();
    lab?.teardown();
  });

  test('every phase keeps the traffic, VIP moves included; a failing real costs only its share while it is detected', {
    timeout: 1_500_000,
  }, async () => {
    await phase('steady', async () => undefined);

    await phase('reload with weight changes', async () => {
      weights = [2, 1, 3];
      for (const d of [a, b]) {
        writeConfig(d);
        assert.equal((await d.reload(CONF)).status, 0);
      }
      await converged(a);
    });

    await phase('restart of the active director', async () => {
      const r = await a.restart(CONF);
      console.log(`figure: restart: ${r.stderr.trim()}`);
      assert.equal(
        (await a.quickStatus(CONF)).daemon.stateSync?.role,
        'master',
        'the promoted role is kept through the restart',
      );
    });

    await phase('kill -9, then start of the active director', async () => {
      await a.kill9(CONF);
      await a.start(CONF);
      await converged(a);
      assert.equal(
        (await a.quickStatus(CONF)).daemon.stateSync?.role,
        'master',
        'the running master sync daemon is taken over',
      );
    });

    await phase('stop + start of the active director with cleanstop=no', async () => {
      cleanstop = 'no';
      for (const d of [a, b]) {
        writeConfig(d);
        assert.equal((await d.reload(CONF)).status, 0);
      }
      const stopped = await a.stop(CONF);
      assert.equal(stopped.status, 0, stopped.stderr);
      await a.start(CONF);
      await converged(a);
      await role(a, 'master');
    });

    const failing = lab.httpReals.findIndex((r) => !client.heldOn.includes(r.netns));
    const failIndex = failing >= 0 ? failing : 1;
    let detectMs = 0;
    await phase(`real ${lab.httpReals[failIndex]?.netns} fails and comes back`, async () => {
      const t0 = Date.now();
      await lab.httpReals[failIndex]?.server.serve('http', 'down');
      await eventually(
        'the failed real at weight 0',
        () => (kernelWeights(a).split(',')[failIndex] === '0' ? true : undefined),
        60_000,
        50,
      );
      detectMs = Date.now() - t0;
      await sleep(2_000);
      await lab.httpReals[failIndex]?.server.serve('http', 'up');
      await converged(a);
      await converged(b);
    });

    await phase('VIP moves to the other director', () => moveVip(a, b));
    await phase('VIP moves back', () => moveVip(b, a));

    const phases: PhaseOutcome[] = (await client.report()).filter((p) => p.phase !== 'warmup');
    for (const p of phases) console.log(phaseLine('dr', p));
    console.log(`\n${phaseTable('LVS-DR pair', phases)}\n`);
    // What the directors did around each failure of a lifecycle phase, for the assertion message.
    const around = (times: readonly number[]): string =>
      [a, b]
        .map(
          (d, i) =>
            `director ${i === 0 ? 'A' : 'B'}:\n${d
              .logRecords(CONF, (r) => {
                const at = Number(r['time']);
                return times.some((f) => Math.abs(f - at) < 3_000) && r['module'] !== 'checks';
              })
              .map(
                (r) =>
                  `  ${new Date(Number(r['time'])).toISOString()} ${String(r['pid'])} ${String(r['module'] ?? '')} ${String(r['msg'])}`,
              )
              .join('\n')}`,
        )
        .join('\n');
    const share = (weights[failIndex] as number) / weights.reduce((x, y) => x + y, 0);
    for (const p of phases) {
      const httpFailed = p.failed - p.heldBroken - p.udpFailed;
      if (p.phase.startsWith('real ')) {
        const rate = p.requests / (p.durationMs / 1000);
        const allowed = Math.ceil(rate * share * (INTERVAL_S + TIMEOUT_S));
        console.log(
          `figure: real failure: ${httpFailed} failed new connections (allowed ${allowed}), weight 0 after ${detectMs} ms`,
        );
        assert.ok(
          httpFailed <= allowed,
          `${p.phase}: ${httpFailed} failed, more than the ${allowed} of the detection window`,
        );
        // Only connections held on the failed server itself may go with it.
        const onIt = client.heldOn.filter((n) => n === lab.httpReals[failIndex]?.netns).length;
        assert.ok(p.heldBroken <= onIt, `${p.phase}: long-lived connections broken: ${p.heldLost.join(', ')}`);
      } else {
        assert.equal(p.heldBroken, 0, `${p.phase}: long-lived connections broken: ${p.heldLost.join(', ')}`);
        assert.equal(
          httpFailed,
          0,
          `${p.phase}: ${httpFailed} of ${p.requests} new connections failed: ${JSON.stringify(p.failures)} at ${p.failureTimes.map((t) => new Date(t).toISOString()).join(', ')}\n${around(p.failureTimes)}`,
        );
      }
      assert.ok(p.requests > 0);
    }
  });
});
