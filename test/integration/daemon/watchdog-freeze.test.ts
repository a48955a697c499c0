// The checker watchdog against a real freeze: the `ldir` binary (memory backend, started by the OCF agent) checks two
// reals on loopback with connect checks, whose rounds run on the native probe engine's thread. That thread is then
// stopped for real (ptrace, see helpers/thread-freeze.ts) while the rest of the daemon runs on and answers: `ldir
// ping` exits 4 naming the overdue reals, /healthz answers 503 saying so, `ldir status` shows it in its header, the
// metrics say it, and the OCF monitor returns OCF_ERR_GENERIC with the reason; once the thread runs again all is ok.
// Before, a healthy daemon stays ok through several check intervals (no false alarm).
import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { HaSandbox, LDIR_MAIN, OCF, run } from '../../helpers/ha';
import { freePort, IN_CI } from '../../helpers/system';
import { freezeThread, threadFreezeUnavailable, threadsNamed } from '../../helpers/thread-freeze';
import { eventually } from '../../helpers/wait';
import { httpGet } from '../metrics/http-client';
import { parseExposition, value } from '../../unit/metrics/exposition';
import { loadNativeAddon } from '../../../src/native/addon';

const REALS = ['127.0.0.21', '127.0.0.22'];
const VIRTUAL = 'tcp:127.0.0.1:8095';

const addonBuilt = ((): boolean => {
  try {
    loadNativeAddon();
    return true;
  } catch {
    return false;
  }
})();

describe('checker watchdog: a frozen probe engine (ldir binary, memory backend)', () => {
  let box: HaSandbox;
  let cfg = '';
  let port = 0;
  let metricsPort = 0;
  const servers: net.Server[] = [];
  /** The agent run without resource-agents: its stand-in ocf_exit_reason writes `ocf-exit-reason:...` to stderr. */
  const standIns = (): NodeJS.ProcessEnv => ({
    OCF_ROOT: path.join(box.dir, 'no-ocf-root'),
    OCF_FUNCTIONS_DIR: path.join(box.dir, 'none'),
  });
  const params = (): Record<string, string> => ({ configfile: cfg, binary: LDIR_MAIN });
  const ping = (): ReturnType<typeof run> => run(LDIR_MAIN, [cfg, 'ping'], box.env, 30_000);
  const healthz = async (): Promise<{ status: number; body: string }> => {
    const r = await httpGet(`http://127.0.0.1:${metricsPort}/healthz`, { timeoutMs: 5_000 });
    return { status: r.status, body: r.body.toString() };
  };
  const metrics = async (): Promise<ReturnType<typeof parseExposition>> =>
    parseExposition((await httpGet(`http://127.0.0.1:${metricsPort}/metrics`, { timeoutMs: 15_000 })).body.toString());

  before(async () => {
    box = new HaSandbox('ldir-watchdog-', { LDIR_IPVS: 'memory' });
    port = await freePort(REALS[0]);
    metricsPort = await freePort('127.0.0.1');
    for (const address of REALS) {
      const server = net.createServer((socket) => socket.end());
      await new Promise<void>((resolve) => server.listen(port, address, resolve));
      servers.push(server);
    }
    cfg = box.write(
      'site.cf',
      [
        'checkinterval=1',
        'checktimeout=1',
        `metrics=127.0.0.1:${metricsPort}`,
        `logfile="${path.join(box.dir, 'ldir.log')}"`,
        'virtual=127.0.0.1:8095',
        ...REALS.map((r) => `\treal=${r}:${port} masq 3`),
        '\tchecktype=connect',
        '',
      ].join('\n'),
    );
  });
  after(async () => {
    await box.agent('stop', params());
    box.cleanup();
    for (const s of servers) await new Promise((r) => s.close(r));
  });

  test('a healthy daemon: ping, /healthz and the monitor stay ok through several check intervals', async () => {
    const started = await box.agent('start', params());
    assert.equal(started.status, OCF.SUCCESS, started.stderr);
    // Six check intervals, past the 4 s limit (2 x (1 s + 1 s)) measured from the start: every answer is ok.
    const t0 = Date.now();
    let samples = 0;
    for (let i = 0; i < 100 && Date.now() - t0 < 6_000; i++) {
      const p = await ping();
      assert.equal(p.status, 0, `ping at ${Date.now() - t0} ms: ${p.stdout}${p.stderr}`);
      assert.match(p.stdout, /is running with pid: \d+, up \d+ s, last kernel sync ok/);
      const h = await healthz();
      assert.deepEqual(h, { status: 200, body: 'ok\n' }, `/healthz at ${Date.now() - t0} ms`);
      samples++;
    }
    assert.ok(samples >= 3, `${samples} samples`);
    const mon = await box.agent('monitor', params(), standIns());
    assert.equal(mon.status, OCF.SUCCESS, mon.stderr);
    const m = await metrics();
    assert.equal(value(m, 'ldir_watchdog_ok'), 1);
    assert.equal(value(m, 'ldir_checks_overdue'), 0);
    assert.equal(value(m, 'ldir_real_server_up', { virtual: VIRTUAL, real: `${REALS[0]}:${port}` }), 1);
  });

  test('the probe engine thread frozen: checks-overdue everywhere, with the reals named; ok again once it runs', async (t) => {
    const why = !addonBuilt ? 'native addon not built (no offloaded checks)' : threadFreezeUnavailable();
    if (why !== undefined) {
      assert.ok(!IN_CI, why);
      t.skip(why);
      return;
    }
    const pid = box.pid('site.cf');
    assert.ok(pid !== undefined, 'the daemon runs');
    const tids = threadsNamed(pid, 'ldir-probe');
    assert.equal(tids.length, 1, 'one probe engine thread');
    let frozen;
    try {
      frozen = await freezeThread(tids[0] as number);
    } catch (err) {
      // ptrace refused (a container without CAP_SYS_PTRACE, Yama's ptrace_scope): a prerequisite, as a missing tool.
      const reason = err instanceof Error ? err.message : String(err);
      if (!/PTRACE_SEIZE: (Operation not permitted|Permission denied)/.test(reason) || IN_CI) throw err;
      t.skip(reason);
      return;
    }
    try {
      // Until the freeze the last rounds were at most an interval old: 4 s more and they are overdue.
      const failed = await eventually(
        'ping to fail',
        async () => {
          const p = await ping();
          return p.status === 4 ? p : undefined;
        },
        20_000,
        250,
      );
      const name = `${VIRTUAL} 127\\.0\\.0\\.2[12]:${port}`;
      assert.match(
        failed.stderr,
        new RegExp(
          `^ldir for \\S+ \\(pid ${pid}\\): failing: checks-overdue: \\d reals? without a check result for more than 2 x \\(interval \\+ timeout\\); worst ${name}: [\\d.]+ s \\(limit 4 s\\)\\n$`,
        ),
      );
      const both = await eventually(
        'both reals overdue',
        async () => {
          const p = await ping();
          return /checks-overdue: 2 reals/.test(p.stderr) ? p : undefined;
        },
        5_000,
        250,
      );
      assert.equal(both.status, 4);

      const h = await healthz();
      assert.equal(h.status, 503);
      assert.match(
        h.body,
        new RegExp(
          `^failing: checks-overdue: 2 reals without a check result .*; worst ${name}: [\\d.]+ s \\(limit 4 s\\)\\n$`,
        ),
      );

      const status = await run(LDIR_MAIN, [cfg, 'status'], box.env, 30_000);
      assert.equal(status.status, 4, 'status says running (stdout), and failing (LSB 4: service status unknown)');
      assert.match(
        status.stdout,
        new RegExp(
          `^ldir running, pid ${pid}, .*\\nhealth: FAILING: checks-overdue: .*\\nWATCHDOG: checks-overdue: 2 reals without result, worst [\\d.]+s \\(limit 4s\\):\\n  ${name}\\n`,
        ),
      );

      const m = await metrics();
      assert.equal(value(m, 'ldir_watchdog_ok'), 0);
      assert.equal(value(m, 'ldir_watchdog_failing', { reason: 'checks-overdue' }), 1);
      assert.equal(value(m, 'ldir_watchdog_failing', { reason: 'engine-stalled' }), 0);
      assert.equal(value(m, 'ldir_checks_overdue'), 2);
      assert.equal(value(m, 'ldir_health', { state: 'failing' }), 1);
      assert.equal(value(m, 'ldir_health_reason', { reason: 'checks-overdue' }), 1);

      const mon = await box.agent('monitor', params(), standIns());
      assert.equal(mon.status, OCF.ERR_GENERIC, mon.stderr);
      assert.match(
        mon.stderr,
        /ocf-exit-reason:ldir is not healthy: ldir for \S+ \(pid \d+\): failing: checks-overdue: 2 reals/,
      );
      assert.equal(box.pid('site.cf'), pid, "the monitor only reports: recovery is the cluster's (stop, start)");
    } finally {
      await frozen.release();
    }
    const back = await eventually(
      'ping ok again',
      async () => {
        const p = await ping();
        return p.status === 0 ? p : undefined;
      },
      15_000,
      250,
    );
    assert.match(back.stdout, /last kernel sync ok/);
    assert.deepEqual(await healthz(), { status: 200, body: 'ok\n' });
    assert.equal((await box.agent('monitor', params(), standIns())).status, OCF.SUCCESS);
  });
});
