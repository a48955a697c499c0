// The whole daemon (memory backend, checks on the native engine when built) with checkinterval=0.2,
// checktimeout=0.2 and negotiatetimeout=0.2 against a real HTTP server on 127.0.0.7: the server sees about five
// checks a second, a real that stops answering is down (its kernel weight 0) within interval + timeout of the moment
// it failed, a refused one within the interval, and it is back within an interval of answering again.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import type { HealthTransition } from '../../../src/model/health';
import { startDaemon } from '../../../src/app/compose-daemon';
import { MemoryBackend } from '../../../src/ipvs/memory';
import { systemFactories } from '../../../src/ipvs/select';
import { silentLogger } from '../../../src/log';
import { freePort } from '../../helpers/system';
import { kernelWeightOf, SwitchableReal } from '../../helpers/switchable-real';
import { eventually, sleep } from '../../helpers/wait';

const REAL = '127.0.0.7';
const INTERVAL_MS = 200;
const TIMEOUT_MS = 200;
/** What a loaded two-core test host may add to a detection: scheduling, the engine's hand-over to JS, the table pass. */
const SLACK_MS = 250;
let port = 0;
let hits = 0;
/** While true the server takes requests and never answers them. */
let hang = false;
let tmp = '';
const realServer = new SwitchableReal(REAL, (_req, res) => {
  hits++;
  if (!hang) res.end('alive\n');
});

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-subsecond-'));
  port = await freePort(REAL);
  await realServer.start(port);
});
after(async () => {
  await realServer.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('daemon with checkinterval=0.2: a failing real is out within interval + timeout, and back within an interval', async () => {
  const file = path.join(tmp, 'fast.cf');
  fs.writeFileSync(
    file,
    `checkinterval=0.2
checktimeout=0.2
negotiatetimeout=0.2
quiescent=yes
logfile="${path.join(tmp, 'ldir.log')}"
virtual=127.0.0.1:80
\treal=${REAL}:${port} masq 5
\tservice=http
\trequest="/"
\treceive="alive"
`,
  );
  const backend = new MemoryBackend();
  const transitions: HealthTransition[] = [];
  const daemon = await startDaemon({
    configPath: file,
    configName: 'fast.cf',
    logger: silentLogger(),
    ipvs: 'memory',
    backendFactories: { ...systemFactories(), memory: () => backend },
    runDirectory: path.join(tmp, 'run'),
    socketDirectory: path.join(tmp, 'sock'),
    watchIntervalMs: 60_000,
    engine: { resyncIntervalMs: 500, coalesceMs: 10 },
    onTransition: (t: HealthTransition) => transitions.push(t),
  });
  const saw = (): string =>
    `transitions: ${transitions.map((t) => `${t.from}>${t.to} (${t.reason}) at ${t.at}`).join(', ')}; ` +
    `status: ${JSON.stringify(daemon.status().virtualServices[0]?.reals[0])}`;
  /** Waits for the `n`-th transition (to `to`) and returns how long after `since` (epoch ms) it came. */
  const transitionAfter = async (n: number, to: string, since: number): Promise<number> => {
    const t = await eventually(
      `transition ${n} to ${to}`,
      () => (transitions.length >= n ? transitions[n - 1] : undefined),
      5_000,
      5,
      saw,
    );
    assert.equal(t.to, to, saw());
    return t.at - since;
  };
  try {
    await eventually(
      'up',
      async () => ((await kernelWeightOf(backend, REAL)) === 5 ? true : undefined),
      5_000,
      20,
      saw,
    );

    const from = hits;
    await sleep(2_000);
    const rate = (hits - from) / 2;
    assert.ok(
      rate >= 3.5 && rate <= 6.5,
      `${rate} checks a second at checkinterval=0.2 (the server counted them); ${saw()}`,
    );

    // Stops answering: the round in flight, or the next one, times out.
    const hungAt = Date.now();
    hang = true;
    const hungFor = await transitionAfter(2, 'down', hungAt);
    assert.ok(
      hungFor <= INTERVAL_MS + TIMEOUT_MS + SLACK_MS,
      `down ${hungFor} ms after the real stopped answering; ${saw()}`,
    );
    assert.ok(hungFor >= TIMEOUT_MS - 20, `down ${hungFor} ms after: not before a round could time out; ${saw()}`);
    assert.equal(transitions[1]?.reason, 'timeout');
    await eventually(
      'weight 0 in the kernel',
      async () => ((await kernelWeightOf(backend, REAL)) === 0 ? true : undefined),
      1_000,
      5,
      saw,
    );
    // `ldir status` (its JSON) shows the round that timed out after 0.2 s.
    const last = daemon.status().virtualServices[0]?.reals[0]?.lastCheck;
    assert.equal(last?.reason, 'timeout', saw());
    assert.ok((last?.durationMs ?? 0) >= TIMEOUT_MS - 20 && (last?.durationMs ?? 0) < TIMEOUT_MS + SLACK_MS, saw());

    const backAt = Date.now();
    hang = false;
    const backFor = await transitionAfter(3, 'up', backAt);
    assert.ok(backFor <= INTERVAL_MS + SLACK_MS, `up ${backFor} ms after the real answered again; ${saw()}`);
    await eventually(
      'weight back',
      async () => ((await kernelWeightOf(backend, REAL)) === 5 ? true : undefined),
      1_000,
      5,
      saw,
    );

    // Refuses connections: the next round fails at once.
    const closedAt = Date.now();
    await realServer.stop();
    const closedFor = await transitionAfter(4, 'down', closedAt);
    assert.ok(closedFor <= INTERVAL_MS + SLACK_MS, `down ${closedFor} ms after the real refused connections; ${saw()}`);
    assert.equal(transitions[3]?.reason, 'refused');
  } finally {
    await daemon.stop();
  }
});
