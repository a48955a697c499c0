// Checks whose steady state runs on the native engine's thread (src/checks/native-rounds.ts), against a scripted
// loopback server: the engine's own verdicts never disagree with the JS ones, the scheduler decides exactly as when JS
// runs every round, healthy rounds stay off the JS thread yet reach the metrics, and redirects, maintenance,
// monitor files and stops behave.
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { runCheck } from '../../../src/checks/dispatch';
import { fastHttpVerdict } from '../../../src/checks/http';
import { passReason } from '../../../src/checks/http-judge';
import type { CheckTarget } from '../../../src/checks/jobs';
import type { OffloadedRound, RoundOffload } from '../../../src/checks/native-rounds';
import { CHECK_DURATION_BUCKETS } from '../../../src/checks/duration-buckets';
import { defaultCheckers } from '../../../src/checks/registry';
import {
  CheckScheduler,
  type CheckRecord,
  type QuietRounds,
  type SchedulerOptions,
} from '../../../src/checks/scheduler';
import type { HealthTransition } from '../../../src/model/health';
import { openTcpProber, type TcpProber } from '../../../src/checks/tcp-prober';
import type { CheckJob } from '../../../src/checks/types';
import { systemClock } from '../../../src/clock';
import { loadNativeAddon, type NativeAddon } from '../../../src/native/addon';
import { closeServer, listen, makeJob, refusedPort } from '../../helpers/check-job';
import { IN_CI } from '../../helpers/system';
import { eventually, sleep } from '../../helpers/wait';
import { countLoopTurns } from '../../helpers/loop-turns';

/** What the scripted server answers on a path: bytes then close, or `hold` (say nothing, keep the connection). */
type Answer = string | 'hold';

const answers = new Map<string, Answer>();
const hits = new Map<string, number>();
let server: net.Server;
let port = 0;
let prober: TcpProber | undefined;
let addon: NativeAddon | undefined;

/** Answers each request by its path from {@link answers} (404 when unknown). */
function scriptedServer(): net.Server {
  return net.createServer((socket) => {
    socket.on('error', () => undefined);
    let text = '';
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
      if (!text.includes('\r\n\r\n')) return;
      const path = text.split(' ')[1] ?? '';
      hits.set(path, (hits.get(path) ?? 0) + 1);
      const answer = answers.get(path) ?? 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n';
      if (answer !== 'hold') socket.end(answer, 'latin1');
    });
  });
}

before(async () => {
  server = scriptedServer();
  port = await listen(server, '127.0.0.1');
  prober = openTcpProber();
  try {
    addon = loadNativeAddon();
  } catch {
    addon = undefined;
  }
});
after(async () => {
  prober?.close();
  await closeServer(server);
});

/** The prober and its offload, or skips (fails in CI: the addon is built there). */
function need(t: { skip(msg: string): void }): { prober: TcpProber; offload: RoundOffload } | undefined {
  const offload = prober?.roundOffload?.(systemClock());
  if (!prober || !offload) {
    assert.ok(!IN_CI, 'native addon not built');
    t.skip('native addon not built');
    return undefined;
  }
  return { prober, offload };
}

const http = (path: string, extra: Partial<CheckJob> = {}): CheckJob =>
  makeJob({
    type: 'negotiate',
    service: 'http',
    port,
    realPort: port,
    request: path,
    negotiateTimeoutMs: 300,
    checkTimeoutMs: 300,
    ...extra,
  });

const ok = (body = 'all ok'): string => `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`;

describe('the engine judges HTTP answers', () => {
  /**
   * [name, answer, receive, method, certain, rules]: `certain` = the engine must call it up without JS; `rules` the
   * job's `httpstatus` and (plain string) `receivenot`, which the engine judges too.
   */
  const cases: Array<[string, string, string, 'GET' | 'HEAD', boolean, Partial<CheckJob>?]> = [
    ['200 with a length', ok(), '', 'GET', true],
    ['200 with the literal', ok('service ok'), 'ok', 'GET', true],
    ['200 without the literal', ok('service up'), 'ok', 'GET', false],
    ['literal of another case', ok('service ok'), 'OK', 'GET', false],
    ['receive a real pattern', ok('service ok'), 'o+k', 'GET', false],
    ['204', 'HTTP/1.1 204 No Content\r\n\r\n', '', 'GET', true],
    ['204 with a literal', 'HTTP/1.1 204 No Content\r\n\r\n', 'ok', 'GET', false],
    [
      'chunked, no receive',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n',
      '',
      'GET',
      true,
    ],
    [
      'chunked with a literal',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n',
      'ok',
      'GET',
      false,
    ],
    ['other transfer coding', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxx', '', 'GET', false],
    ['503', 'HTTP/1.1 503 Busy\r\nContent-Length: 2\r\n\r\nok', '', 'GET', false],
    ['302', 'HTTP/1.1 302 Found\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n', '', 'GET', false],
    ['100 then 200', 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', 'ok', 'GET', true],
    ['closed-delimited body', 'HTTP/1.0 200 OK\r\n\r\nit is ok', 'ok', 'GET', true],
    ['short body', 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nok', '', 'GET', false],
    ['two lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok', '', 'GET', false],
    ['bad length', 'HTTP/1.1 200 OK\r\nContent-Length: 2x\r\n\r\nok', '', 'GET', false],
    ['bare LF', 'HTTP/1.1 200 OK\nContent-Length: 2\n\nok', 'ok', 'GET', true],
    ['spaced header name', 'HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok', 'ok', 'GET', true],
    ['status line without reason', 'HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok', '', 'GET', true],
    ['malformed status line', 'HTTP/1.1 200OK\r\nContent-Length: 2\r\n\r\nok', '', 'GET', false],
    ['not HTTP', 'SSH-2.0-OpenSSH_9.2\r\n\r\n', '', 'GET', false],
    ['literal past the length', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nnook', 'ok', 'GET', false],
    ['HEAD', 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n', '', 'HEAD', true],
    [
      '404 listed',
      'HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno',
      '',
      'GET',
      true,
      {
        httpStatus: [
          [200, 299],
          [404, 404],
        ],
      },
    ],
    [
      '404 not listed',
      'HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno',
      '',
      'GET',
      false,
      {
        httpStatus: [
          [200, 299],
          [410, 410],
        ],
      },
    ],
    ['200 outside the list', ok(), '', 'GET', false, { httpStatus: [[500, 503]] }],
    [
      '503 in a range',
      'HTTP/1.1 503 Busy\r\nContent-Length: 2\r\n\r\nok',
      'ok',
      'GET',
      true,
      { httpStatus: [[500, 503]] },
    ],
    [
      '302 listed is final',
      'HTTP/1.1 302 Found\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n',
      '',
      'GET',
      true,
      { httpStatus: [[302, 302]] },
    ],
    [
      '304 listed',
      'HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n',
      '',
      'GET',
      true,
      { httpStatus: [[304, 304]] },
    ],
    [
      '304 listed, bytes after it, a literal',
      'HTTP/1.1 304 Not Modified\r\n\r\nok',
      'ok',
      'GET',
      false,
      { httpStatus: [[304, 304]] },
    ],
    [
      '101 listed, bytes after it, receivenot',
      'HTTP/1.1 101 Switching\r\n\r\nmaintenance',
      '',
      'GET',
      true,
      { httpStatus: [[101, 101]], receiveNot: 'maintenance' },
    ],
    ['receivenot absent', ok('all fine'), '', 'GET', true, { receiveNot: 'maintenance' }],
    ['receivenot present', ok('in maintenance'), '', 'GET', false, { receiveNot: 'maintenance' }],
    ['receivenot of another case', ok('in Maintenance'), '', 'GET', true, { receiveNot: 'maintenance' }],
    [
      'receivenot past the length',
      'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokmaintenance',
      '',
      'GET',
      true,
      { receiveNot: 'maintenance' },
    ],
    ['receive and receivenot both found', ok('ok, in maintenance'), 'ok', 'GET', false, { receiveNot: 'maintenance' }],
    ['receive found, receivenot not', ok('ok, serving'), 'ok', 'GET', true, { receiveNot: 'maintenance' }],
    [
      'receivenot, chunked',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n',
      '',
      'GET',
      false,
      { receiveNot: 'x' },
    ],
    [
      'receivenot, HEAD',
      'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n',
      '',
      'HEAD',
      true,
      { receiveNot: 'maintenance' },
    ],
  ];

  test('rounds due within a tenth of the interval start together, at most 32 of them early per turn', async (t) => {
    if (!need(t) || !addon) return;
    // 60 connect checks of a 1 s interval whose first rounds are due 1.5 ms apart (0 to 88.5 ms): all within one
    // start window (a tenth of the interval), so they start in a few turns of the engine, not one turn per round.
    const started = new Map<number, { scheduledUs: number; startedUs: number }>();
    const engine = new addon.TcpProbeEngine(
      () => undefined,
      (id, _error, _phase, _us, _data, scheduledUs, startedUs) => {
        if (!started.has(id)) started.set(id, { scheduledUs, startedUs });
      },
    );
    engine.ref();
    const checks = 60;
    try {
      for (let i = 0; i < checks; i++)
        engine.schedule(
          i + 1,
          '127.0.0.1',
          port,
          1000,
          null,
          0,
          0,
          1000,
          i * 1.5,
          0,
          null,
          0,
          true,
          0,
          1,
          1,
          null,
          null,
        );
      await eventually('every first round', () => (started.size === checks ? true : undefined), 10_000, 20);
    } finally {
      engine.close();
    }
    const turns = new Map<number, number>(); // start instant → rounds started then
    for (const r of started.values()) turns.set(r.startedUs, (turns.get(r.startedUs) ?? 0) + 1);
    const early = [...started.values()].map((r) => (r.scheduledUs - r.startedUs) / 1000);
    const detail = `turns (µs → rounds): ${JSON.stringify([...turns])}`;
    // One turn per 10 ms of due times (the window before) would be 9 or more turns.
    assert.ok(turns.size <= 4, `60 rounds due within 90 ms started in ${turns.size} turns; ${detail}`);
    // The first turn starts the round due then and at most 32 more before they are due.
    assert.ok(Math.max(...turns.values()) <= 33, `more than 32 rounds started early in one turn; ${detail}`);
    assert.ok(Math.max(...early) <= 100 + 1e-3, `a round started ${Math.max(...early)} ms early (window 100 ms)`);
  });

  test('a thousand rounds finished together reach JS over several turns of its event loop, at most 256 a turn', async (t) => {
    if (!need(t) || !addon) return;
    // 1,000 connect checks of one closed port, all due at once: refused inside connect(), they finish in one turn of
    // the engine. Delivered in one call they held the JS thread for the whole batch (seconds at 100,000 reals).
    const turns = countLoopTurns();
    const perTurn = new Map<number, number>(); // turn → rounds delivered in it
    const seen = new Set<number>();
    const engine = new addon.TcpProbeEngine(
      () => undefined,
      (id) => {
        seen.add(id);
        perTurn.set(turns.turns(), (perTurn.get(turns.turns()) ?? 0) + 1);
      },
    );
    engine.ref();
    const checks = 1_000;
    const closed = await refusedPort();
    try {
      for (let i = 0; i < checks; i++)
        engine.schedule(i + 1, '127.0.0.1', closed, 1000, null, 0, 0, 60_000, 0, 0, null, 0, true, 0, 1, 1, null, null);
      await eventually('every first round', () => (seen.size === checks ? true : undefined), 20_000, 20);
    } finally {
      engine.close();
      turns.stop();
    }
    const detail = `rounds per turn: ${JSON.stringify([...perTurn.values()])}`;
    assert.ok(Math.max(...perTurn.values()) <= 256, `more than 256 rounds delivered in one turn; ${detail}`);
    assert.ok(perTurn.size >= 4, `1,000 rounds in fewer than 4 turns; ${detail}`);
  });

  test('an answer the engine calls up is up in JS with the same reason; the plain ones need no JS', async (t) => {
    if (!need(t) || !addon) return;
    const rounds = new Map<number, { certainUp: boolean; status: number; error: string; data?: Buffer }>();
    const engine = new addon.TcpProbeEngine(
      () => undefined,
      (id, error, _phase, _us, data, _s, _st, certainUp, status) => {
        rounds.set(id, { certainUp, status, error, ...(data ? { data } : {}) });
      },
    );
    engine.ref();
    try {
      cases.forEach(([, answer], i) => {
        answers.set(`/judge${i}`, answer);
      });
      const { fastHttpRequest, FAST_READ_LIMIT } = await import('../../../src/checks/http');
      const { engineStatuses, receiveLiteral } = await import('../../../src/checks/native-rounds');
      cases.forEach(([, , receive, method, , rules], i) => {
        const job = http(`/judge${i}`, { receive, httpMethod: method, ...rules });
        const literal = receiveLiteral(receive);
        const notLiteral = receiveLiteral(job.receiveNot ?? '');
        assert.ok(notLiteral, 'the engine is given plain strings only');
        engine.schedule(
          i + 1,
          '127.0.0.1',
          port,
          1000,
          fastHttpRequest(job),
          FAST_READ_LIMIT,
          method === 'HEAD' ? 2 : 1,
          60_000,
          0,
          0,
          literal ?? Buffer.from('\u0000never\u0000'),
          1024 * 1024,
          false,
          10,
          1,
          1,
          engineStatuses(job),
          notLiteral.length > 0 ? notLiteral : null,
        );
      });
      await eventually(
        'every first round',
        () => (rounds.size === cases.length ? true : undefined),
        5_000,
        20,
        () => `${rounds.size}/${cases.length} rounds`,
      );
      cases.forEach(([name, answer, receive, method, certain, rules], i) => {
        const round = rounds.get(i + 1);
        assert.ok(round, name);
        const job = http(`/judge${i}`, { receive, httpMethod: method, ...rules });
        const js = fastHttpVerdict(job, { phase: 'read', elapsedMs: 1, data: Buffer.from(answer, 'latin1') });
        assert.equal(
          round.certainUp,
          certain,
          `${name}: engine certain=${round.certainUp}, JS says ${JSON.stringify(js)}`,
        );
        if (round.certainUp) {
          assert.ok(js !== 'redirect' && js.up, `${name}: the engine called up what JS calls ${JSON.stringify(js)}`);
          assert.equal(js.reason, passReason(job, round.status), `${name}: the reason of a quiet round is the JS one`);
        } else {
          assert.ok(round.data && round.data.length > 0, `${name}: a round JS must judge comes with its answer`);
        }
      });
    } finally {
      engine.close();
    }
  });
});

/** A scheduler with offloaded rounds (or, with `offload: undefined`, every round in JS through the same prober). */
function scheduler(
  p: TcpProber,
  offload: RoundOffload | undefined,
  extra: Partial<SchedulerOptions> = {},
): {
  s: CheckScheduler;
  transitions: HealthTransition[];
  records: CheckRecord[];
} {
  const transitions: HealthTransition[] = [];
  const records: CheckRecord[] = [];
  const checkers = defaultCheckers({ tcpProber: p });
  const s = new CheckScheduler({
    clock: systemClock(),
    run: (job, kind, signal) => runCheck(job, kind, signal, checkers),
    onTransition: (t) => transitions.push(t),
    onCheck: (r) => records.push(r),
    ...(offload ? { offload } : {}),
    ...extra,
  });
  return { s, transitions, records };
}

const target = (identity: string, job: CheckJob, failureCount = 1, intervalMs = 40, riseCount = 1): CheckTarget => ({
  identity,
  job,
  connectsBetweenNegotiates: 0,
  failureCount,
  riseCount,
  intervalMs,
  members: [{ virtualId: 'v', realKey: identity }],
});

/** An offload that counts the rounds it hands to JS. */
function counting(offload: RoundOffload): { offload: RoundOffload; delivered: () => number } {
  let delivered = 0;
  return {
    offload: {
      start: (spec, deliver) =>
        offload.start(spec, (r: OffloadedRound) => {
          delivered++;
          deliver(r);
        }),
      stop: (id) => offload.stop(id),
      statuses: () => offload.statuses(),
      takeQuiet: (visit) => offload.takeQuiet(visit),
      takeQuietCounts: (visit) => offload.takeQuietCounts(visit),
      close: () => offload.close(),
    },
    delivered: () => delivered,
  };
}

describe('offloaded checks in the scheduler', () => {
  test('decide exactly as checks run in JS: soft failures, status, timeout, recovery', async (t) => {
    const n = need(t);
    if (!n) return;
    const native = scheduler(n.prober, n.offload);
    const js = scheduler(n.prober, undefined);
    const phases: Array<[Answer, number]> = [
      [ok(), 500],
      ['HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n', 500],
      [ok(), 500],
      ['hold', 900],
      [ok(), 500],
    ];
    answers.set('/same', ok());
    native.s.sync([target('n', http('/same'), 2)]);
    js.s.sync([target('j', http('/same'), 2)]);
    try {
      for (const [answer, ms] of phases) {
        answers.set('/same', answer);
        await sleep(ms);
      }
    } finally {
      native.s.stop();
      js.s.stop();
    }
    const shape = (ts: HealthTransition[]): string => ts.map((x) => `${x.from}>${x.to} (${x.reason})`).join(', ');
    assert.equal(
      shape(native.transitions),
      'unknown>up (status 200), up>down (status 503), down>up (status 200), up>down (timeout), down>up (status 200)',
    );
    assert.equal(shape(native.transitions), shape(js.transitions));
    const failuresAtDown = (ts: HealthTransition[]): number[] =>
      ts.filter((x) => x.to === 'down').map((x) => x.consecutiveFailures);
    assert.deepEqual(failuresAtDown(native.transitions), [2, 2], 'failurecount=2: down at the second failure');
    assert.deepEqual(failuresAtDown(native.transitions), failuresAtDown(js.transitions));
  });

  test('healthy rounds stay off the JS thread, and every round still reaches onCheck and the snapshot', async (t) => {
    const n = need(t);
    if (!n) return;
    const c = counting(n.offload);
    const { s, records } = scheduler(n.prober, c.offload);
    const targets = Array.from({ length: 20 }, (_, i) => {
      answers.set(`/quiet${i}`, ok());
      return target(`q${i}`, http(`/quiet${i}`), 1, 20);
    });
    s.sync(targets);
    await sleep(1_000);
    const rounds = s.snapshot().reduce((sum, x) => sum + x.checks, 0);
    const early = [...n.offload.statuses().values()].reduce((sum, x) => sum + x.early, 0);
    s.stop();
    // On loopback the handshake is over when connect() returns: the engine sends at once and waits for the answer only.
    assert.ok(early >= rounds * 0.9, `${early} of ${rounds} rounds went on without waiting for the connect`);
    assert.ok(rounds >= 20 * 25, `${rounds} rounds in 1 s at 20 ms for 20 checks`);
    assert.equal(c.delivered(), 20, `only the first round of each check came to JS (${c.delivered()} of ${rounds})`);
    assert.ok(records.length >= rounds, `onCheck saw ${records.length} rounds, the snapshot ${rounds}`);
    assert.ok(
      records.every((r) => r.result.up && r.result.reason === 'status 200'),
      'quiet rounds are recorded as the JS path would',
    );
    const late = records.map((r) => r.startedAt - r.scheduledAt).sort((a, b) => a - b);
    assert.ok(
      (late[Math.floor(late.length * 0.99)] as number) < 50,
      `p99 lateness ${late[Math.floor(late.length * 0.99)]} ms`,
    );
    // Rounds due close together start together, early by at most a tenth of the interval (here 2 ms).
    assert.ok((late[0] as number) >= -2 - 1e-6, `a round started ${-(late[0] as number)} ms early`);
  });

  test('httpstatus and receivenot: rounds that pass stay on the engine, and the decisions are the JS ones', async (t) => {
    const n = need(t);
    if (!n) return;
    const c = counting(n.offload);
    const native = scheduler(n.prober, c.offload, { onQuietRounds: () => undefined });
    const js = scheduler(n.prober, undefined);
    const gone = 'HTTP/1.1 410 Gone\r\nContent-Length: 2\r\n\r\nno';
    const rules: Partial<CheckJob> = {
      httpStatus: [
        [200, 299],
        [410, 410],
      ],
      receiveNot: 'maintenance',
    };
    answers.set('/rules', gone);
    native.s.sync([target('n', http('/rules', rules), 1, 20)]);
    js.s.sync([target('j', http('/rules', rules), 1, 20)]);
    try {
      await sleep(400);
      const quietRounds = native.s.snapshot()[0]?.checks ?? 0;
      assert.ok(quietRounds >= 10, `${quietRounds} rounds`);
      assert.equal(
        c.delivered(),
        1,
        'a listed status (410) is certainly up on the engine: only the first round came to JS',
      );
      assert.equal(native.s.snapshot()[0]?.lastResult?.reason, 'status 410, receivenot not matched');
      answers.set('/rules', ok('down for maintenance'));
      await eventually(
        'down on receivenot',
        () => (native.transitions.length >= 2 && js.transitions.length >= 2 ? true : undefined),
        3_000,
        20,
      );
      answers.set('/rules', 'HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n');
      await sleep(150);
      answers.set('/rules', ok('serving'));
      await eventually(
        'up again',
        () => (native.transitions.length >= 3 && js.transitions.length >= 3 ? true : undefined),
        3_000,
        20,
      );
    } finally {
      native.s.stop();
      js.s.stop();
    }
    const shape = (ts: HealthTransition[]): string => ts.map((x) => `${x.from}>${x.to} (${x.reason})`).join(', ');
    assert.equal(
      shape(native.transitions),
      'unknown>up (status 410, receivenot not matched), up>down (body matched receivenot /maintenance/), down>up (status 200, receivenot not matched)',
    );
    assert.equal(shape(native.transitions), shape(js.transitions));
  });

  test('a sub-second interval on the engine: rounds every 200 ms, a failure seen within the interval', async (t) => {
    const n = need(t);
    if (!n) return;
    const { s, transitions } = scheduler(n.prober, n.offload, { onQuietRounds: () => undefined });
    answers.set('/fast', ok());
    s.sync([target('fast', http('/fast'), 1, 200)]);
    try {
      await eventually('up', () => (transitions.length === 1 ? true : undefined), 2_000, 10);
      await sleep(1_000);
      const rounds = s.snapshot()[0]?.checks ?? 0;
      assert.ok(rounds >= 5 && rounds <= 8, `${rounds} rounds in about 1.1 s at 200 ms`);
      const failedAt = Date.now();
      answers.set('/fast', 'HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n');
      await eventually('down', () => (transitions.length === 2 ? true : undefined), 2_000, 5);
      const late = (transitions[1]?.at ?? Infinity) - failedAt;
      assert.ok(late <= 200 + 150, `down ${late} ms after the real failed (interval 200 ms)`);
    } finally {
      s.stop();
    }
  });

  test("the watchdog reads the engine's own last round: recent although JS saw only the first one", async (t) => {
    const n = need(t);
    if (!n) return;
    const c = counting(n.offload);
    const clock = systemClock();
    const { s } = scheduler(n.prober, c.offload, { onQuietRounds: () => undefined });
    answers.set('/fresh', ok());
    s.sync([target('fresh', http('/fresh'), 1, 50)]);
    await eventually(
      'rounds on the engine',
      () => ((n.offload.statuses().values().next().value?.rounds ?? 0) >= 10 ? true : undefined),
      5_000,
      20,
    );
    const f = s.freshness()[0];
    const now = clock.monotonic();
    s.stop();
    assert.equal(c.delivered(), 1, 'only the first round came to JS');
    assert.ok(f?.lastResultAt !== undefined, 'a last result');
    assert.ok(
      f.lastResultAt > f.startedAt + 9 * 50 - 50,
      `the last round (${f.lastResultAt - f.startedAt} ms after the start) is one JS never saw`,
    );
    assert.ok(
      now - f.lastResultAt <= 50 + 300,
      `it started ${now - f.lastResultAt} ms ago: within an interval and a timeout`,
    );
  });

  test('batched quiet rounds (metrics) add up to the rounds the engine ran', async (t) => {
    const n = need(t);
    if (!n) return;
    const batches: QuietRounds[] = [];
    const { s, records } = scheduler(n.prober, n.offload, { onQuietRounds: (q) => batches.push(q) });
    answers.set('/batch', ok());
    s.sync([target('b', http('/batch', { receive: 'ok' }), 1, 20)]);
    await sleep(500);
    const rounds = s.snapshot()[0]?.checks ?? 0;
    s.stop();
    const quiet = batches.reduce((sum, b) => sum + b.passed + b.failed, 0);
    assert.ok(rounds >= 10, `${rounds} rounds`);
    assert.equal(records.length + quiet, rounds, `${records.length} delivered + ${quiet} quiet`);
    assert.ok(
      batches.every((b) => b.failed === 0),
      'every quiet round of a healthy real passed',
    );
    // Each counted once in the duration bucket it took (loopback: well under 300 ms, the timeout).
    const bucketed = batches.reduce((sum, b) => sum + Array.from(b.durationBuckets).reduce((x, y) => x + y, 0), 0);
    assert.equal(bucketed, quiet);
    const longest = CHECK_DURATION_BUCKETS.findIndex((s) => s >= 0.3);
    assert.ok(
      batches.every((b) =>
        Array.from(b.durationBuckets)
          .slice(longest + 1)
          .every((n) => n === 0),
      ),
      'no round longer than the timeout',
    );
    const sumMs = batches.reduce((sum, b) => sum + b.durationSumMs, 0);
    assert.ok(sumMs >= 0 && sumMs < quiet * 300, `${sumMs} ms over ${quiet} rounds`);
  });

  test('a dead real wakes JS only until it is down, then for a different failure; its failures are all counted', async (t) => {
    const n = need(t);
    if (!n) return;
    const deadPort = await refusedPort();
    const c = counting(n.offload);
    const batches: QuietRounds[] = [];
    const { s, transitions, records } = scheduler(n.prober, c.offload, { onQuietRounds: (q) => batches.push(q) });
    s.sync([target('d', http('/dead', { port: deadPort, realPort: deadPort, negotiateTimeoutMs: 150 }), 3, 20)]);
    let holder: net.Server | undefined;
    const held = new Set<net.Socket>();
    try {
      await sleep(600);
      const snap = s.snapshot()[0];
      assert.ok(snap && snap.checks >= 15, `${snap?.checks} rounds`);
      assert.equal(c.delivered(), 3, 'failurecount=3: three failures came to JS, the rest were quiet');
      // (a round may be on its way to JS as the snapshot is read: the two can differ by one)
      assert.ok(
        snap.checks - snap.consecutiveFailures <= 1,
        `every failure counted: ${snap.consecutiveFailures} of ${snap.checks}`,
      );
      assert.equal(snap.lastResult?.reason, 'refused');
      const quiet = batches.reduce((sum, b) => sum + b.failed, 0);
      assert.ok(
        batches.every((b) => b.passed === 0),
        JSON.stringify(batches.map((b) => [b.passed, b.failed])),
      );
      assert.equal(records.length + quiet, snap.checks, 'metrics see every round');
      // A server that accepts and never answers: a different failure (timeout), which JS sees.
      holder = net.createServer((sock) => {
        held.add(sock);
        sock.on('error', () => undefined);
      });
      await new Promise<void>((resolve) => (holder as net.Server).listen(deadPort, '127.0.0.1', resolve));
      await eventually(
        'a timeout seen by JS',
        () => (s.snapshot()[0]?.lastResult?.reason === 'timeout' ? true : undefined),
        3_000,
        20,
      );
      const after = s.snapshot()[0];
      assert.ok(
        after && after.checks - after.consecutiveFailures <= 1,
        `still every failure counted: ${after?.consecutiveFailures} of ${after?.checks}`,
      );
      assert.equal(transitions.map((x) => `${x.to} (${x.reason})`).join(', '), 'down (refused)');
    } finally {
      s.stop();
      for (const sock of held) sock.destroy();
      if (holder) await closeServer(holder);
    }
  });

  test('a connect check: refused is down at once, and a server coming back is up', async (t) => {
    const n = need(t);
    if (!n) return;
    const sparePort = await refusedPort();
    const { s, transitions } = scheduler(n.prober, n.offload);
    s.sync([
      target('c', makeJob({ type: 'connect', port: sparePort, realPort: sparePort, checkTimeoutMs: 300 }), 1, 30),
    ]);
    try {
      await eventually('down', () => transitions.find((x) => x.to === 'down'), 2_000, 10);
      const refusedEarly = [...n.offload.statuses().values()].reduce((sum, x) => sum + x.early, 0);
      assert.ok(refusedEarly >= 1, 'a refusal on loopback is known when connect() returns');
      const back = net.createServer((sock) => sock.end());
      await new Promise<void>((resolve) => back.listen(sparePort, '127.0.0.1', resolve));
      try {
        await eventually('up', () => transitions.find((x) => x.to === 'up'), 2_000, 10);
      } finally {
        await closeServer(back);
      }
    } finally {
      s.stop();
    }
    assert.equal(transitions.map((x) => `${x.to} (${x.reason})`).join(', '), 'down (refused), up (connected)');
  });

  test('risecount=3: the engine hands JS every success until three in a row, and the real is up at the third', async (t) => {
    const n = need(t);
    if (!n) return;
    for (const riseCount of [3, 1]) {
      const sparePort = await refusedPort();
      const delivered: Array<{ up: boolean; startedWall: number }> = [];
      const offload: RoundOffload = {
        ...n.offload,
        start: (spec, deliver) =>
          n.offload.start(spec, (r: OffloadedRound) => {
            if (r.result !== 'redirect') delivered.push({ up: r.result.up, startedWall: r.startedWall });
            deliver(r);
          }),
        stop: (id) => n.offload.stop(id),
        statuses: () => n.offload.statuses(),
        takeQuiet: (v) => n.offload.takeQuiet(v),
        takeQuietCounts: (v) => n.offload.takeQuietCounts(v),
      };
      const { s, transitions } = scheduler(n.prober, offload);
      s.sync([
        target(
          `rise${riseCount}`,
          makeJob({ type: 'connect', port: sparePort, realPort: sparePort, checkTimeoutMs: 300 }),
          1,
          20,
          riseCount,
        ),
      ]);
      let back: net.Server | undefined;
      try {
        await eventually('down', () => transitions.find((x) => x.to === 'down'), 2_000, 10);
        // Failures after the first are quiet (failurecount=1): wait for a few, so that the successes follow a down streak.
        await eventually(
          'quiet failures',
          () => ((s.snapshot()[0]?.consecutiveFailures ?? 0) >= 3 ? true : undefined),
          2_000,
          10,
        );
        back = net.createServer((sock) => sock.end());
        await new Promise<void>((resolve) => (back as net.Server).listen(sparePort, '127.0.0.1', resolve));
        const up = await eventually('up', () => transitions.find((x) => x.to === 'up'), 2_000, 10);
        const rounds = s.snapshot()[0]?.checks ?? 0;
        await eventually(
          'ten more rounds',
          () => ((s.snapshot()[0]?.checks ?? 0) >= rounds + 10 ? true : undefined),
          2_000,
          10,
        );
        const successes = delivered.filter((r) => r.up);
        assert.equal(
          successes.length,
          riseCount,
          `risecount=${riseCount}: exactly that many successes came to JS, the later ones were quiet`,
        );
        assert.ok(
          delivered.slice(-riseCount).every((r) => r.up),
          'the successes in a row are the last rounds JS saw',
        );
        assert.equal(
          up.checkStartedAt,
          successes[riseCount - 1]?.startedWall,
          `up at success ${riseCount}, not before`,
        );
      } finally {
        s.stop();
        if (back) await closeServer(back);
      }
      assert.equal(transitions.map((x) => `${x.to} (${x.reason})`).join(', '), 'down (refused), up (connected)');
    }
  });

  test('a redirect moves the check to the JS path, which follows it', async (t) => {
    const n = need(t);
    if (!n) return;
    answers.set(
      '/moved',
      `HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:${port}/target\r\nContent-Length: 0\r\n\r\n`,
    );
    answers.set('/target', ok());
    const { s, transitions } = scheduler(n.prober, n.offload);
    // The JS path loads undici for the first redirect: a loaded machine needs more than the other tests' 300 ms.
    s.sync([target('r', http('/moved', { negotiateTimeoutMs: 5_000 }), 1, 50)]);
    try {
      await eventually('up through the redirect', () => transitions.find((x) => x.to === 'up'), 3_000, 10);
      assert.equal(n.offload.statuses().size, 0, 'no check left on the engine');
      const before = hits.get('/target') ?? 0;
      await eventually(
        'later rounds follow it too',
        () => ((hits.get('/target') ?? 0) >= before + 3 ? true : undefined),
        3_000,
        20,
      );
    } finally {
      s.stop();
    }
    assert.equal(transitions[0]?.reason, 'status 200');
  });

  test('a maintenance directory brings the checks back to JS, which honours it', async (t) => {
    const n = need(t);
    if (!n) return;
    let inUse = false;
    answers.set('/maint', ok());
    const { s, transitions } = scheduler(n.prober, n.offload, {
      maintenance: () => inUse,
      maintenanceInUse: () => inUse,
    });
    s.sync([target('m', http('/maint'), 1, 30)]);
    try {
      await eventually('up', () => transitions.find((x) => x.to === 'up'), 2_000, 10);
      assert.equal(n.offload.statuses().size, 1);
      inUse = true;
      s.maintenanceChanged();
      assert.equal(n.offload.statuses().size, 0);
      await eventually('down for maintenance', () => transitions.find((x) => x.to === 'down'), 2_000, 10);
      inUse = false;
      s.maintenanceChanged();
      await eventually('up again', () => (transitions.length === 3 ? true : undefined), 2_000, 10);
      await eventually('back on the engine', () => (n.offload.statuses().size === 1 ? true : undefined), 2_000, 10);
    } finally {
      s.stop();
    }
    assert.equal(
      transitions.map((x) => `${x.to} (${x.reason})`).join(', '),
      'up (status 200), down (maintenance), up (status 200)',
    );
  });

  test('every round reaches JS at once when it must (a monitor file), and none after stop', async (t) => {
    const n = need(t);
    if (!n) return;
    const c = counting(n.offload);
    answers.set('/every', ok());
    const { s } = scheduler(n.prober, c.offload, { everyRound: () => true });
    s.sync([target('e', http('/every'), 1, 20)]);
    await sleep(400);
    const rounds = s.snapshot()[0]?.checks ?? 0;
    s.stop();
    assert.ok(rounds >= 10, `${rounds} rounds`);
    assert.ok(c.delivered() >= rounds, `${c.delivered()} of ${rounds} rounds came to JS`);
    await sleep(100); // a round already on the wire when stop was called may still arrive
    const stopped = hits.get('/every') ?? 0;
    await sleep(300);
    assert.equal(hits.get('/every'), stopped, 'no round after stop');
  });
});
