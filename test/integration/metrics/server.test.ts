// The metrics endpoint over HTTP on loopback: routes, content type, gzip, /healthz, time bounds, listen errors, IPv6.
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { createServer } from 'node:net';
import { after, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { ErrorCodes, isLdirError } from '../../../src/errors';
import { startMetricsServer, type MetricsServer } from '../../../src/metrics/server';
import type { Metrics } from '../../../src/metrics/types';
import { parseExposition, value } from '../../unit/metrics/exposition';
import { real, snapshot, testMetrics, virtual } from '../../unit/metrics/fixtures';
import { httpGet } from './http-client';
import { skipOrFail } from '../../helpers/prerequisites';

const servers: MetricsServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function serve(
  metrics: Metrics,
  extra: { host?: string; scrapeTimeoutMs?: number } = {},
): Promise<{ server: MetricsServer; base: string }> {
  const server = await startMetricsServer({
    host: extra.host ?? '127.0.0.1',
    port: 0,
    metrics,
    ...(extra.scrapeTimeoutMs ? { scrapeTimeoutMs: extra.scrapeTimeoutMs } : {}),
  });
  servers.push(server);
  const { host, port } = server.address();
  return { server, base: `http://${host.includes(':') ? `[${host}]` : host}:${port}` };
}

describe('routes', () => {
  test('/metrics: 200, the registry content type, the exposition; a query string is ignored', async () => {
    const { metrics } = testMetrics({ engine: snapshot([virtual('tcp:192.0.2.1:80', [real('10.0.0.1:80')])]) });
    const { base } = await serve(metrics);
    const r = await httpGet(`${base}/metrics?x=1`);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    const e = parseExposition(r.body.toString('utf8'));
    assert.equal(value(e, 'ldir_real_server_up', { virtual: 'tcp:192.0.2.1:80', real: '10.0.0.1:80' }), 1);
  });

  test('gzip when the scraper asks for it; HEAD without a body', async () => {
    const { metrics } = testMetrics();
    const { base } = await serve(metrics);
    const zipped = await httpGet(`${base}/metrics`, { headers: { 'Accept-Encoding': 'gzip' } });
    assert.equal(zipped.headers['content-encoding'], 'gzip');
    assert.match(gunzipSync(zipped.body).toString('utf8'), /^ldir_build_info\{/m);
    const head = await httpGet(`${base}/metrics`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
  });

  test('404 elsewhere, 405 for other methods', async () => {
    const { metrics } = testMetrics();
    const { base } = await serve(metrics);
    for (const path of ['/', '/metricsx', '/metrics/', '/api/v1/query'])
      assert.equal((await httpGet(`${base}${path}`)).status, 404, path);
    const post = await httpGet(`${base}/metrics`, { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers['allow'], 'GET, HEAD');
  });

  test('/healthz: 200 ok; 503 with the reason when the last kernel sync failed', async () => {
    const { metrics, src } = testMetrics({ engine: snapshot([]) });
    const { base } = await serve(metrics);
    let r = await httpGet(`${base}/healthz`);
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'ok\n');
    src.engine = snapshot([], {
      lastSync: { at: 0, reason: 'resync', ok: false, durationMs: 1, ops: 0, failed: 0, error: 'netlink: EPERM' },
    });
    r = await httpGet(`${base}/healthz`);
    assert.equal(r.status, 503);
    assert.equal(
      r.body.toString(),
      'failing: kernel-sync-failed: last kernel sync failed at 1970-01-01T00:00:00.000Z: netlink: EPERM\n',
    );
  });
});

describe('time bounds', () => {
  test('a hung kernel read still gives a 200 scrape within its bound, with ldir_kernel_scrape_error 1', async () => {
    const { metrics } = testMetrics({ kernel: () => new Promise<never>(() => undefined) }, { kernelTimeoutMs: 100 });
    const { base } = await serve(metrics);
    const t0 = performance.now();
    const r = await httpGet(`${base}/metrics`, { timeoutMs: 5_000 });
    assert.ok(performance.now() - t0 < 3_000);
    assert.equal(r.status, 200);
    assert.equal(value(parseExposition(r.body.toString()), 'ldir_kernel_scrape_error'), 1);
  });

  test('a scrape that does not finish answers 503 at the scrape bound', async () => {
    const { metrics } = testMetrics();
    const stuck: Metrics = { ...metrics, scrape: () => new Promise<never>(() => undefined) };
    const { base } = await serve(stuck, { scrapeTimeoutMs: 150 });
    const r = await httpGet(`${base}/metrics`, { timeoutMs: 5_000 });
    assert.equal(r.status, 503);
    assert.match(r.body.toString(), /scrape failed: scrape not rendered within 150 ms/);
  });
});

describe('listening', () => {
  test('an address in use: METRICS_LISTEN_FAILED with errno EADDRINUSE', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const { metrics } = testMetrics();
      await assert.rejects(startMetricsServer({ host: '127.0.0.1', port, metrics }), (err: unknown) => {
        assert.ok(isLdirError(err, ErrorCodes.METRICS_LISTEN_FAILED));
        assert.equal(err.details['errno'], 'EADDRINUSE');
        assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${port}: EADDRINUSE`));
        return true;
      });
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  test('IPv6 loopback [::1]', async (t) => {
    const probe = createServer();
    const v6 = await new Promise<boolean>((resolve) => {
      probe.once('error', () => resolve(false));
      probe.listen(0, '::1', () => probe.close(() => resolve(true)));
    });
    if (!v6) {
      skipOrFail(t, 'no IPv6 loopback (::1) here');
      return;
    }
    const { metrics } = testMetrics();
    const { server, base } = await serve(metrics, { host: '::1' });
    assert.equal(server.address().host, '::1');
    assert.equal((await httpGet(`${base}/healthz`)).status, 200);
  });

  test('close() stops listening and is idempotent; keep-alive connections do not hold it open', async () => {
    const { metrics } = testMetrics();
    const { server, base } = await serve(metrics);
    const agent = new Agent({ keepAlive: true });
    await httpGet(`${base}/metrics`, { agent });
    const t0 = performance.now();
    await Promise.all([server.close(), server.close()]);
    await server.close();
    agent.destroy();
    assert.ok(performance.now() - t0 < 2_000);
    await assert.rejects(httpGet(`${base}/healthz`, { timeoutMs: 2_000 }), /ECONNREFUSED/);
  });
});
