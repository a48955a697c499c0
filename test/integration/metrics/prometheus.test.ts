// A live director (config, check scheduler, engine, memory kernel) scraped on loopback: promtool and a real Prometheus.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { jobsFromConfig } from '../../../src/checks/jobs';
import { CheckScheduler } from '../../../src/checks/scheduler';
import { systemClock } from '../../../src/clock';
import { Engine } from '../../../src/engine/engine';
import { MemoryBackend } from '../../../src/ipvs/memory';
import {
  createMetrics,
  readBuildInfo,
  startMetricsServer,
  type Metrics,
  type MetricsServer,
} from '../../../src/metrics';
import { loadValid } from '../../helpers/config';
import { startPrometheus, type PrometheusServer, type QueryRow } from '../../helpers/prometheus-server';
import { ensurePackages, IN_CI } from '../../helpers/system';
import { find, parseExposition, value } from '../../unit/metrics/exposition';
import { stats } from '../../unit/metrics/fixtures';
import { httpGet } from './http-client';

const CONFIG = `checkinterval=1
virtual=192.0.2.1:80
\treal=10.0.0.1:80 gate 3
\treal=10.0.0.2:80 gate
\tchecktype=connect
virtual6=[2001:db8::1]:443
\treal6=[2001:db8::2]:443 masq
\tchecktype=connect
`;
const V4 = 'tcp:192.0.2.1:80';
const CONNS = 2n ** 40n + 7n;

/** The director: checks (10.0.0.2 always fails) → engine → memory kernel; metrics fed as the daemon feeds them. */
interface Director {
  readonly metrics: Metrics;
  readonly server: MetricsServer;
  readonly url: string;
  stop(): Promise<void>;
}

async function startDirector(): Promise<Director> {
  const clock = systemClock();
  const config = await loadValid(CONFIG);
  const backend = new MemoryBackend();
  let engine: Engine | undefined;
  let scheduler: CheckScheduler | undefined;
  const metrics = createMetrics({
    sources: {
      engine: () => engine?.snapshot(),
      checks: () => scheduler?.snapshot() ?? [],
      // The memory table counts no traffic: give every service a 64-bit connection count above 2^32.
      kernel: async () =>
        (await backend.list()).map((s) => ({ ...s, stats: stats({ conns: CONNS, inBytes: 2n ** 33n }) })),
    },
    buildInfo: readBuildInfo(),
    configLoadedAt: clock.now(),
  });
  engine = new Engine({ backend, clock, onEvent: (e) => metrics.recordEvent(e) });
  const live = engine;
  scheduler = new CheckScheduler({
    clock,
    run: async (job) => ({
      up: job.address !== '10.0.0.2',
      reason: job.address !== '10.0.0.2' ? 'ok' : 'refused',
      durationMs: 2,
    }),
    onTransition: (t) => {
      live.onTransition(t);
      metrics.recordTransition(t);
    },
    onCheck: (r) => metrics.recordCheck(r),
  });
  await engine.applyConfig(config);
  scheduler.sync(jobsFromConfig(config));
  const server = await startMetricsServer({ host: '127.0.0.1', port: 0, metrics });
  const { port } = server.address();
  return {
    metrics,
    server,
    url: `http://127.0.0.1:${port}/metrics`,
    stop: async () => {
      await server.close();
      scheduler?.stop();
      await live.shutdown({ clean: false });
    },
  };
}

/** Polls `probe` every 200 ms until it returns a value, at most `timeoutMs`; the last error is in the failure. */
async function eventually<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const missing = ensurePackages(['prometheus']);
if (missing && IN_CI) {
  test('promtool and prometheus are available', () => assert.fail(missing));
}

describe('a live scrape', { skip: missing ?? false }, () => {
  let director: Director;
  before(async () => {
    director = await startDirector();
    // Both reals checked at least once (checkinterval=1: first rounds within a second).
    await eventually('first checks', 10_000, async () => {
      const e = parseExposition((await httpGet(director.url)).body.toString());
      const checked = find(e, 'ldir_real_server_checks_total').filter((s) => s.value > 0).length;
      return checked >= 3 ? true : undefined;
    });
  });
  after(async () => {
    await director?.stop();
  });

  test("carries the director's state", async () => {
    const e = parseExposition((await httpGet(director.url)).body.toString());
    assert.equal(value(e, 'ldir_real_server_up', { virtual: V4, real: '10.0.0.1:80' }), 1);
    assert.equal(value(e, 'ldir_real_server_up', { virtual: V4, real: '10.0.0.2:80' }), 0);
    assert.equal(value(e, 'ldir_real_server_configured_weight', { virtual: V4, real: '10.0.0.1:80' }), 3);
    assert.equal(value(e, 'ldir_real_server_kernel_weight', { virtual: V4, real: '10.0.0.1:80' }), 3);
    assert.equal(value(e, 'ldir_virtual_real_servers_up', { virtual: V4 }), 1);
    assert.equal(value(e, 'ldir_ipvs_service_connections_total', { virtual: V4 }), Number(CONNS));
    assert.ok((value(e, 'ldir_engine_syncs_total') ?? 0) >= 1);
    assert.ok((value(e, 'ldir_engine_operations_applied_total', { op: 'add-service' }) ?? 0) >= 2);
  });

  test('promtool check metrics: no error, no lint problem', async () => {
    const body = (await httpGet(director.url)).body.toString();
    const r = spawnSync('promtool', ['check', 'metrics'], { input: body, encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.error, undefined);
    assert.equal(`${r.stdout}${r.stderr}`.trim(), '', 'promtool output');
    assert.equal(r.status, 0);
  });

  describe('a real Prometheus server', () => {
    let prom: PrometheusServer;

    before(async () => {
      prom = await startPrometheus(new URL(director.url).host);
    });

    after(async () => {
      await prom?.stop();
    });

    const query = (q: string): Promise<QueryRow[]> => prom.query(q);

    test('scrapes ldir and answers queries with its series', async () => {
      const up = await eventually('ldir scraped', 30_000, async () => {
        const rows = await query(`ldir_real_server_up{virtual="${V4}"}`);
        return rows.length === 2 ? rows : undefined;
      });
      const byReal = Object.fromEntries(up.map((r) => [r.metric['real'], r.value]));
      assert.deepEqual(byReal, { '10.0.0.1:80': 1, '10.0.0.2:80': 0 });
      assert.equal(up[0]?.metric['job'], 'ldir');
      const target = await query('up{job="ldir"}');
      assert.equal(target[0]?.value, 1, `target up (prometheus log: ${prom.log()})`);
      const conns = await query(`ldir_ipvs_service_connections_total{virtual="${V4}"}`);
      assert.equal(conns[0]?.value, Number(CONNS));
      const version = await query('ldir_build_info');
      assert.equal(version[0]?.metric['version'], readBuildInfo().version);
      assert.deepEqual(
        (await prom.targets()).map((t) => [t.health, t.lastError]),
        [['up', '']],
      );
    });

    test('counters grow between scrapes and rate() works on them', async () => {
      const rate = await eventually('a rate over check counters', 30_000, async () => {
        const rows = await query(
          `sum(rate(ldir_real_server_checks_total{virtual="${V4}",real="10.0.0.1:80",result="success"}[5s]))`,
        );
        return rows[0] && rows[0].value > 0 ? rows[0].value : undefined;
      });
      assert.ok(rate > 0 && rate < 10, `about one check per second, got ${rate}`);
    });
  });
});
