// One health verdict (issue 21): a whole daemon in this process (memory backend, the control socket and the metrics
// endpoint as in production) whose kernel refuses a virtual service. `ldir status` (text, --json, exit code),
// `ldir ping`, `/healthz` and the metrics all say the same thing: degraded while another virtual is in force,
// failing once the kernel refuses every virtual, ok again once it takes them. Before, /healthz said 503 while the
// status header said "2/2 up" and ping failed the director.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { runStatusCommand } from '../../../src/cli/control-commands';
import { ExitCode } from '../../../src/cli/exit-codes';
import { PingExit, runPing } from '../../../src/cli/ping-command';
import { startDaemon } from '../../../src/app/compose-daemon';
import { Observers } from '../../../src/app/observers';
import { controlSocketPath, type StatusReport } from '../../../src/daemon/protocol';
import { MemoryBackend } from '../../../src/ipvs/memory';
import { systemFactories } from '../../../src/ipvs/select';
import type { IpvsOp } from '../../../src/ipvs/types';
import { silentLogger } from '../../../src/log';
import { systemClock } from '../../../src/clock';
import { capture } from '../../helpers/cli-io';
import { freePort } from '../../helpers/system';
import { eventually } from '../../helpers/wait';
import { parseExposition, value } from '../../unit/metrics/exposition';
import { httpGet } from '../metrics/http-client';

let tmp = '';
let metricsPort = 0;
before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-health-verdict-'));
  metricsPort = await freePort('127.0.0.1');
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const configText = (): string =>
  [
    'checkinterval=1',
    `metrics=127.0.0.1:${metricsPort}`,
    'autoreload=no',
    'virtual=127.0.0.1:80',
    '\treal=127.0.0.2:80 masq 1',
    '\treal=127.0.0.3:80 masq 1',
    '\tchecktype=on',
    'virtual=127.0.0.1:81',
    '\treal=127.0.0.2:81 masq 1',
    '\treal=127.0.0.3:81 masq 1',
    '\tchecktype=on',
    '',
  ].join('\n');

/** What each of the four says at one moment. */
interface Said {
  readonly statusCode: number;
  readonly statusText: string;
  readonly report: StatusReport;
  readonly pingCode: number;
  readonly pingText: string;
  readonly healthz: { readonly status: number; readonly body: string };
  readonly level: string | undefined;
  readonly reasons: readonly string[];
}

/** A `/healthz` answer with its ISO times replaced (the time of the last sync moves with every resync). */
function withoutTimes<T extends { body: string }>(answer: T): T {
  return { ...answer, body: answer.body.replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, 'TIME') };
}

test('status, ping, /healthz and the metrics give one verdict: degraded, failing, ok', {
  timeout: 60_000,
}, async () => {
  const file = path.join(tmp, 'site.cf');
  fs.writeFileSync(file, configText());
  const refusedPorts = new Set<number>([81]);
  const backend = new MemoryBackend();
  const refused = (op: IpvsOp): boolean =>
    op.op === 'add-service' && 'port' in op.service && refusedPorts.has(op.service.port);
  backend.failNext(refused, 'EINVAL', Number.MAX_SAFE_INTEGER);
  const logger = silentLogger();
  const observers = new Observers({ clock: systemClock(), logger });
  const runDirectory = path.join(tmp, 'run');
  const socketDirectory = path.join(tmp, 'sock');
  const daemon = await startDaemon({
    configPath: file,
    configName: 'site.cf',
    logger,
    ipvs: 'memory',
    backendFactories: { ...systemFactories(), memory: () => backend },
    runDirectory,
    socketDirectory,
    watchIntervalMs: 60_000,
    engine: { resyncIntervalMs: 200, coalesceMs: 10, shutdownTimeoutMs: 2_000 },
    ...observers.hooks(),
  });
  observers.attach(daemon);
  const socketPath = controlSocketPath('site.cf', socketDirectory);
  const said = async (): Promise<Said> => {
    const text = capture();
    const statusCode = await runStatusCommand({ socketPath, json: false, width: Infinity }, text);
    const json = capture();
    await runStatusCommand({ socketPath, json: true }, json);
    const ping = capture();
    const pingCode = await runPing({ config: file, runDirectory, socketDirectory, json: false }, ping);
    const h = await httpGet(`http://127.0.0.1:${metricsPort}/healthz`, { timeoutMs: 5_000 });
    const m = parseExposition(
      (await httpGet(`http://127.0.0.1:${metricsPort}/metrics`, { timeoutMs: 10_000 })).body.toString(),
    );
    const level = ['ok', 'degraded', 'failing'].find((l) => value(m, 'ldir_health', { state: l }) === 1);
    const reasons = [
      'engine-stopped',
      'kernel-sync-failed',
      'kernel-refused',
      'checks-overdue',
      'engine-stalled',
      'sync-daemon',
    ].filter((r) => value(m, 'ldir_health_reason', { reason: r }) === 1);
    return {
      statusCode,
      statusText: text.out,
      report: JSON.parse(json.out) as StatusReport,
      pingCode,
      pingText: ping.out + ping.err,
      healthz: { status: h.status, body: h.body.toString() },
      level,
      reasons,
    };
  };
  const show = (s: Said): string => JSON.stringify({ ...s, report: s.report.daemon }, null, 1);
  let last: Said | undefined;
  // The views are read one after the other while the daemon moves on: a moment counts once all of them say `level`
  // (the status text, read first, included).
  const awaitLevel = (level: string): Promise<Said> =>
    eventually(
      `every view to say ${level}`,
      async () => {
        const s = await said();
        last = s;
        const textSays = s.statusText.includes(`\nhealth: ${level === 'ok' ? 'ok' : level.toUpperCase()}`);
        const pingSays = (s.pingCode === PingExit.UNHEALTHY) === (level === 'failing');
        return textSays &&
          pingSays &&
          s.report.daemon.health?.level === level &&
          s.level === level &&
          s.healthz.body.startsWith(level)
          ? s
          : undefined;
      },
      20_000,
      100,
      () => (last ? show(last) : 'nothing said yet'),
    );
  try {
    // One virtual refused, the other in force: degraded everywhere, and nobody recovers the director for it.
    const degraded = await awaitLevel('degraded');
    const summary = degraded.report.daemon.health?.summary ?? '';
    assert.match(
      summary,
      /^degraded: kernel-refused: the kernel refused \d+ operations? of the last sync at .*tcp:127\.0\.0\.1:81 \(add-service EINVAL/,
      show(degraded),
    );
    assert.deepEqual(
      degraded.report.daemon.health?.reasons.map((r) => [r.code, r.level, r.virtuals]),
      [['kernel-refused', 'degraded', ['tcp:127.0.0.1:81']]],
    );
    assert.equal(degraded.statusCode, ExitCode.OK, show(degraded));
    assert.match(
      degraded.statusText,
      /^ldir running, pid \d+, .*\nhealth: DEGRADED: kernel-refused: .*tcp:127\.0\.0\.1:81 \(add-service EINVAL/,
    );
    assert.match(
      degraded.statusText,
      /\ntcp:127\.0\.0\.1:81 .*2\/2 up.*KERNEL REFUSED\n/,
      'the refused virtual says so beside its "2/2 up"',
    );
    assert.doesNotMatch(degraded.statusText, /\ntcp:127\.0\.0\.1:80 .*KERNEL REFUSED/);
    // Read at another moment than the report: the sync time in the text may be a later resync's (each one is refused again).
    assert.deepEqual(withoutTimes(degraded.healthz), {
      status: 200,
      body: withoutTimes({ body: `${summary}\n` }).body,
    });
    assert.deepEqual(degraded.reasons, ['kernel-refused']);
    assert.equal(degraded.pingCode, PingExit.HEALTHY, degraded.pingText);
    assert.match(degraded.pingText, /is running with pid: \d+, up \d+ s, degraded: kernel-refused: /);

    // The kernel refuses every virtual: failing everywhere.
    refusedPorts.add(80);
    await backend.flush(); // as if someone flushed the table: the next resync adds both again, and both are refused
    const failing = await awaitLevel('failing');
    const failingSummary = failing.report.daemon.health?.summary ?? '';
    assert.match(
      failingSummary,
      /^failing: kernel-refused: the kernel refused every virtual service \(2\) at /,
      show(failing),
    );
    assert.equal(failing.statusCode, ExitCode.FAILING, show(failing));
    assert.match(failing.statusText, /\nhealth: FAILING: kernel-refused: the kernel refused every virtual service/);
    assert.deepEqual(withoutTimes(failing.healthz), {
      status: 503,
      body: withoutTimes({ body: `${failingSummary}\n` }).body,
    });
    assert.deepEqual(failing.reasons, ['kernel-refused']);
    assert.equal(failing.pingCode, PingExit.UNHEALTHY, failing.pingText);
    assert.match(
      failing.pingText,
      /^ldir for \S+ \(pid \d+\): failing: kernel-refused: the kernel refused every virtual service/,
    );

    // The kernel takes them: ok everywhere.
    refusedPorts.clear();
    const ok = await awaitLevel('ok');
    assert.equal(ok.report.daemon.health?.summary, 'ok');
    assert.equal(ok.statusCode, ExitCode.OK);
    assert.match(ok.statusText, /\nhealth: ok\n/);
    assert.doesNotMatch(ok.statusText, /KERNEL REFUSED/);
    assert.deepEqual(ok.healthz, { status: 200, body: 'ok\n' });
    assert.deepEqual(ok.reasons, []);
    assert.equal(ok.pingCode, PingExit.HEALTHY);
    assert.match(ok.pingText, /last kernel sync ok/);
  } finally {
    await daemon.stop();
    await observers.close();
  }
});
