// Kernel tier (inside the VM): the director's lifecycle under live client traffic, LVS-NAT. A client namespace opens a
// steady stream of new HTTP connections and UDP queries through the VIP and keeps long-lived connections busy, while
// ldir goes through steady running, reloads, a restart, an upgrade-style restart, kill -9 + start, stop + start with
// cleanstop=no, and a real server failing and coming back. Every phase must lose nothing but the failing real's share
// of new connections during its detection window; no long-lived connection may break. One line per phase is printed
// (`traffic: ...`, what `npm run bench:traffic` collects) and the table at the end.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  deleteServices,
  eventually,
  LDIR_MAIN,
  LdirDirector,
  peekTable,
  sleep,
  tableShape,
  weightsOf,
} from '../../helpers/ldir-director';
import { buildNatLab, type NatLab } from '../../helpers/netns-lab';
import { mapText } from '../../helpers/seed-cluster';
import { phaseLine, phaseTable, TrafficClient, type PhaseOutcome } from '../../helpers/traffic-client';

const skip =
  process.env['LDIR_IN_VM'] === '1' && fs.existsSync('/proc/net/ip_vs')
    ? false
    : 'runs inside the kernel-tier VM only (test/kernel/host-runs-guest-tests)';

const CONF = 'traffic.cf';
const NET = 150;
const INTERVAL_S = 1;
const TIMEOUT_S = 2;
/** New HTTP connections per second, UDP queries per second: modest, the VM is emulated. */
const HTTP_RATE = 20;
const UDP_RATE = 4;
/** How long each phase keeps running once its action is done. */
const SETTLE_MS = 4_000;

describe('traffic through the VIP while ldir goes through its lifecycle (LVS-NAT)', {
  skip,
  concurrency: false,
}, () => {
  let lab: NatLab;
  let director: LdirDirector;
  let client: TrafficClient;
  const phases: PhaseOutcome[] = [];
  const vip = `10.${NET + 1}.0.1`;
  const http = `TCP ${vip}:80`;
  const udp = `UDP ${vip}:53`;
  const addr = (i: number): string => `10.${NET}.${i}.2`;
  let weights: Record<number, number> = { 1: 1, 2: 1, 3: 1, 4: 1 };
  let cleanstop = 'yes';
  const nextInstall = '/tmp/ldir-next';

  /** The configuration for the reals and weights in `weights`. */
  function writeConfig(): void {
    const reals = Object.entries(weights);
    director.writeConfig(
      CONF,
      [
        `checkinterval=${INTERVAL_S}`,
        `checktimeout=${TIMEOUT_S}`,
        `negotiatetimeout=${TIMEOUT_S}`,
        `logfile="${director.logPath(CONF)}"`,
        'draintimeout=300',
        'metrics=no',
        '',
        `virtual=${vip}:80`,
        ...reals.map(([i, w]) => `\treal=${addr(Number(i))}:80 masq ${w}`),
        '\tchecktype=negotiate',
        '\tservice=http',
        '\trequest="/"',
        '\treceive="hello from"',
        '\tscheduler=wrr',
        '\tquiescent=yes',
        `\tcleanstop=${cleanstop}`,
        '',
        `virtual=${vip}:53`,
        '\tprotocol=udp',
        ...reals.map(([i, w]) => `\treal=${addr(Number(i))}:53 masq ${w}`),
        '\tchecktype=connect',
        '\tscheduler=wrr',
        '\tquiescent=yes',
        `\tcleanstop=${cleanstop}`,
        '',
      ].join('\n'),
    );
  }

  const expected = (): string =>
    mapText(new Map(Object.entries(weights).map(([i, w]) => [`${addr(Number(i))}:80`, w])));

  /**
   * The configured reals of a service at their weights (`:53` read as `:80`), leaving out what drains (weight 0 and
   * not configured: a real removed by a reload, kept for its connections); undefined while a leftover is not at 0.
   */
  function configured(service: string): string | undefined {
    const now = weightsOf(peekTable(), service) ?? new Map<string, number>();
    const wanted = new Set(Object.keys(weights).map((i) => `${addr(Number(i))}:80`));
    const kept = new Map<string, number>();
    for (const [d, w] of now) {
      const key = d.replace(/:53$/, ':80');
      if (wanted.has(key)) kept.set(key, w);
      else if (w !== 0) return undefined;
    }
    return mapText(kept);
  }

  /** Waits until both services have exactly the configured weights (drained leftovers at weight 0 aside). */
  async function converged(ms = 120_000): Promise<void> {
    await eventually(
      'the kernel table to have the configured weights',
      () => (configured(http) === expected() && configured(udp) === expected() ? true : undefined),
      ms,
      100,
      () => `${tableShape(peekTable(), [http, udp])}\nwanted ${expected()}`,
    );
  }

  const phase = (name: string, action: () => Promise<void>): Promise<void> => client.runPhase(name, action, SETTLE_MS);

  before(async () => {
    lab = buildNatLab('tn', 5, 80, { net: NET, udp: 53 });
    director = new LdirDirector('ldir-tn-');
    deleteServices([http, udp]);
    await lab.ready();
    execFileSync('ipvsadm', ['--set', '900', '120', '10']); // UDP flows expire after 10 s (drain phases end sooner)
    writeConfig();
    await director.start(CONF);
    await converged();
    client = new TrafficClient(lab.clientNetns, {
      http: [{ url: `http://${vip}/`, perSecond: HTTP_RATE }],
      udp: [{ host: vip, port: 53, perSecond: UDP_RATE }],
      held: [{ host: vip, port: 80, count: 4, everyMs: 500 }],
    });
    await client.ready();
    console.log(`figure: long-lived connections on ${client.heldOn.join(', ')}`);
  });

  after(() => {
    client?.stop();
    director?.cleanup();
    deleteServices([http, udp]);
    lab?.teardown();
    fs.rmSync(nextInstall, { recursive: true, force: true });
  });

  test('every lifecycle phase keeps the traffic; a failing real costs only its share while it is detected', {
    timeout: 1_500_000,
  }, async () => {
    await phase('steady', async () => undefined);

    await phase('reload with weight changes', async () => {
      weights = { 1: 3, 2: 1, 3: 2, 4: 1 };
      writeConfig();
      const r = await director.reload(CONF);
      assert.equal(r.status, 0, r.stderr);
      await converged();
    });

    await phase('reload adding and removing reals', async () => {
      // Remove the real of a long-lived connection (it drains and keeps it: draintimeout=300, through every phase that
      // follows, restarts and kill -9 included), add the spare.
      const gone = Number(/^tnr(\d)$/.exec(client.heldOn[0] ?? '')?.[1] ?? 4);
      weights = Object.fromEntries(Object.entries({ ...weights, 5: 2 }).filter(([i]) => Number(i) !== gone));
      writeConfig();
      const r = await director.reload(CONF);
      assert.equal(r.status, 0, r.stderr);
      await eventually(
        'the spare real in the table',
        () => (weightsOf(peekTable(), http)?.get(`${addr(5)}:80`) === 2 ? true : undefined),
        60_000,
      );
    });

    await phase('restart', async () => {
      const before = director.pid(CONF);
      const r = await director.run(['--timeout=180', director.configPath(CONF), 'restart'], 240_000);
      assert.equal(r.status, 0, r.stderr);
      const after = director.pid(CONF);
      assert.notEqual(after, before, 'a new daemon runs');
      director.adopt(after);
      console.log(`figure: restart returned after ${r.ms} ms: ${r.stderr.trim()}`);
    });

    await phase('upgrade (restart from another installation)', async () => {
      // The "new version": a copy of this installation in another place (its own dist/, the same dependencies).
      fs.rmSync(nextInstall, { recursive: true, force: true });
      fs.mkdirSync(nextInstall);
      const root = path.resolve(path.dirname(LDIR_MAIN), '../..');
      for (const part of ['dist', 'package.json'])
        fs.cpSync(path.join(root, part), path.join(nextInstall, part), { recursive: true });
      fs.mkdirSync(path.join(nextInstall, 'native/build/Release'), { recursive: true });
      for (const f of fs.readdirSync(path.join(root, 'native/build/Release')).filter((n) => n.endsWith('.node'))) {
        fs.copyFileSync(path.join(root, 'native/build/Release', f), path.join(nextInstall, 'native/build/Release', f));
      }
      fs.symlinkSync(path.join(root, 'node_modules'), path.join(nextInstall, 'node_modules'));
      const nextMain = path.join(nextInstall, 'dist/src/main.js');
      const r = await director.runWith(nextMain, ['--timeout=180', director.configPath(CONF), 'restart'], 240_000);
      assert.equal(r.status, 0, r.stderr);
      const pid = director.pid(CONF) as number;
      director.adopt(pid);
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      assert.ok(cmdline.includes(nextMain), `the new daemon runs the new installation: ${cmdline.join(' ')}`);
    });

    await phase('kill -9, then start', async () => {
      await director.kill9(CONF);
      await director.start(CONF);
      await converged();
    });

    await phase('stop + start with cleanstop=no', async () => {
      cleanstop = 'no';
      writeConfig();
      assert.equal((await director.reload(CONF)).status, 0);
      const stopped = await director.stop(CONF);
      assert.equal(stopped.status, 0, stopped.stderr);
      await director.start(CONF);
      await converged();
    });

    // The spare real added above: no long-lived connection is on it (they were opened before it existed).
    const failing = 5;
    let detectMs = 0;
    await phase(`real ${failing} fails and comes back`, async () => {
      const t0 = Date.now();
      await lab.serve(failing - 1, 'http', 'down');
      await eventually(
        'the failed real at weight 0',
        () => (weightsOf(peekTable(), http)?.get(`${addr(failing)}:80`) === 0 ? true : undefined),
        60_000,
        50,
      );
      detectMs = Date.now() - t0;
      await sleep(2_000);
      await lab.serve(failing - 1, 'http', 'up');
      await converged();
    });

    phases.push(...(await client.report()).filter((p) => p.phase !== 'warmup'));
    for (const p of phases) console.log(phaseLine('nat', p));
    console.log(`\n${phaseTable('LVS-NAT', phases)}\n`);

    const share = (weights[failing] as number) / Object.values(weights).reduce((a, b) => a + b, 0);
    for (const p of phases) {
      const httpFailed = p.failed - p.heldBroken - p.udpFailed;
      assert.equal(p.heldBroken, 0, `${p.phase}: long-lived connections broken: ${p.heldLost.join(', ')}`);
      assert.equal(p.udpFailed, 0, `${p.phase}: UDP queries failed`);
      if (p.phase.startsWith('real ')) {
        // New connections scheduled to the dead real until it had weight 0: at most its share of the traffic (at the
        // rate the client reached in this phase) over one check interval plus the check timeout.
        const rate = p.requests / (p.durationMs / 1000);
        const allowed = Math.ceil(rate * share * (INTERVAL_S + TIMEOUT_S));
        console.log(
          `figure: real failure: ${httpFailed} failed new connections (allowed ${allowed}: ${rate.toFixed(1)}/s, share ${share.toFixed(2)}, ${INTERVAL_S + TIMEOUT_S} s), weight 0 after ${detectMs} ms`,
        );
        assert.ok(
          httpFailed <= allowed,
          `${p.phase}: ${httpFailed} failed, more than the ${allowed} of the detection window`,
        );
      } else {
        assert.equal(
          httpFailed,
          0,
          `${p.phase}: ${httpFailed} of ${p.requests} new connections failed: ${JSON.stringify(p.failures)}`,
        );
      }
      assert.ok(p.requests > 0, `${p.phase}: traffic ran`);
    }
  });
});
