// The status page routes of the metrics endpoint over HTTP on loopback (issue 18): `/` is one self-contained HTML page
// with a strict Content-Security-Policy, `/status.json` is the injected report builder's report, both read-only;
// unknown paths 404, methods other than GET/HEAD 405, large and slow requests are bounded.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { after, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { StatusReport } from '../../../src/daemon/protocol';
import { REDACTED, SecretRedactor } from '../../../src/secrets';
import { startMetricsServer, type MetricsServer } from '../../../src/metrics/server';
import { sampleReport } from '../../helpers/status-report';
import { testMetrics } from '../../unit/metrics/fixtures';
import { httpGet } from './http-client';

const servers: MetricsServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function serve(
  status: (() => Promise<StatusReport>) | undefined,
  extra: { scrapeTimeoutMs?: number; headersTimeoutMs?: number; redact?: (json: string) => string } = {},
): Promise<string> {
  const server = await startMetricsServer({
    host: '127.0.0.1',
    port: 0,
    metrics: testMetrics().metrics,
    ...(status ? { status: { report: status, ...(extra.redact ? { redact: extra.redact } : {}) } } : {}),
    ...(extra.scrapeTimeoutMs ? { scrapeTimeoutMs: extra.scrapeTimeoutMs } : {}),
    ...(extra.headersTimeoutMs ? { headersTimeoutMs: extra.headersTimeoutMs } : {}),
  });
  servers.push(server);
  return `http://127.0.0.1:${server.address().port}`;
}

/**
 * Sends raw bytes on a new connection and reads until the server closes it, or (`stopAtAnswer`) until a status line
 * came back, bounded by `waitMs`; resolves with what came back.
 */
function raw(
  base: string,
  bytes: string,
  waitMs: number,
  stopAtAnswer = false,
): Promise<{ text: string; closedAfterMs: number | null }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect(Number(port), hostname);
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text, closedAfterMs: null });
    }, waitMs);
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      text += d;
      if (stopAtAnswer && /^HTTP\/1\.1 \d{3}/.test(text)) socket.destroy();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closedAfterMs: Date.now() - started });
    });
    socket.on('connect', () => socket.write(bytes));
    socket.on('timeout', () => reject(new Error('socket timeout')));
  });
}

describe('status page routes', () => {
  test('GET /: one self-contained HTML page (no external resource), a CSP that allows only its own inline parts', async () => {
    const base = await serve(async () => sampleReport());
    const r = await httpGet(`${base}/?refresh=5`);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(r.headers['cache-control'], 'no-store');
    const html = r.body.toString('utf8');
    assert.match(html, /^<!DOCTYPE html>/);
    assert.match(html, /<meta name="viewport" content="width=device-width/);
    // Nothing is loaded from elsewhere: no src/href to another origin, no @import or url() in the style.
    assert.doesNotMatch(html, /\b(?:src|href)\s*=\s*"(?:https?:)?\/\//i);
    assert.doesNotMatch(html, /@import|url\(/i);
    assert.doesNotMatch(html, /<script[^>]+src=/i);
    assert.doesNotMatch(html, /<link\b/i);
    const csp = String(r.headers['content-security-policy']);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /connect-src 'self'/);
    assert.match(csp, /form-action 'none'/);
    // The CSP hashes are those of the page's own script and style: the browser runs them and nothing else.
    const script = /<script>([\s\S]*)<\/script>/.exec(html)?.[1] ?? '';
    const style = /<style>([\s\S]*)<\/style>/.exec(html)?.[1] ?? '';
    const hash = (s: string): string => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`;
    assert.ok(csp.includes(`script-src ${hash(script)}`), csp);
    assert.ok(csp.includes(`style-src ${hash(style)}`), csp);
    // Read-only: the only request the page makes is a GET of status.json, relative (works under a proxy's prefix).
    assert.match(script, /fetch\("status\.json"/);
    assert.doesNotMatch(script, /method\s*:/);
    assert.doesNotMatch(script, /innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  });

  test('GET /status.json: the injected report as JSON, fresh per request; gzip on request; HEAD without a body', async () => {
    let calls = 0;
    const base = await serve(async () => {
      calls++;
      return { ...sampleReport(), generatedAt: new Date(Date.UTC(2024, 0, 1, 0, 0, calls)).toISOString() };
    });
    const r = await httpGet(`${base}/status.json`);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/json; charset=utf-8');
    const report = JSON.parse(r.body.toString('utf8')) as StatusReport;
    assert.deepEqual(report.virtualServices, sampleReport().virtualServices);
    const zipped = await httpGet(`${base}/status.json`, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(zipped.headers['content-encoding'], 'gzip');
    assert.deepEqual(
      (JSON.parse(gunzipSync(zipped.body).toString('utf8')) as StatusReport).daemon,
      sampleReport().daemon,
    );
    const head = await httpGet(`${base}/status.json`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    await new Promise((r2) => setTimeout(r2, 1_100)); // past the longest reuse of one rendering (REUSE_MAX_MS)
    const later = JSON.parse((await httpGet(`${base}/status.json`)).body.toString('utf8')) as StatusReport;
    assert.notEqual(later.generatedAt, report.generatedAt, 'a later request gets a new report');
  });

  test("the report is redacted as the control socket's answers are: a secret in a check reason is not served", async () => {
    const secret = 'S3cr3t-Radius-Key';
    const redactor = new SecretRedactor([secret]);
    const leaky = sampleReport();
    const v = leaky.virtualServices[0]!;
    const r0 = v.reals[0]!;
    const report: StatusReport = {
      ...leaky,
      virtualServices: [
        {
          ...v,
          reals: [
            {
              ...r0,
              lastCheck: { up: false, reason: `answer "${secret}"`, durationMs: 1, at: r0.since ?? leaky.generatedAt },
            },
            ...v.reals.slice(1),
          ],
        },
      ],
    };
    const base = await serve(async () => report, { redact: (json) => redactor.jsonLine(json) });
    const body = (await httpGet(`${base}/status.json`)).body.toString('utf8');
    assert.doesNotMatch(body, /S3cr3t/);
    const served = JSON.parse(body) as StatusReport;
    assert.equal(served.virtualServices[0]?.reals[0]?.lastCheck?.reason, `answer "${REDACTED}"`);
    assert.deepEqual(served.virtualServices[0]?.reals.slice(1), v.reals.slice(1));
  });

  test('a report that fails or hangs answers 503 (within the bound), and the endpoint goes on', async () => {
    const failing = await serve(async () => {
      throw new Error('engine\nexploded');
    });
    const r = await httpGet(`${failing}/status.json`);
    assert.equal(r.status, 503);
    assert.match(r.body.toString('utf8'), /engine exploded/);
    const hung = await serve(() => new Promise<StatusReport>(() => undefined), { scrapeTimeoutMs: 300 });
    const started = Date.now();
    const h = await httpGet(`${hung}/status.json`, { timeoutMs: 10_000 });
    assert.equal(h.status, 503);
    assert.ok(Date.now() - started < 5_000, `answered after ${Date.now() - started} ms`);
    assert.equal((await httpGet(`${hung}/metrics`)).status, 200);
    assert.equal((await httpGet(`${hung}/`)).status, 200);
  });

  test('unknown paths 404, other methods 405 (nothing changes the director), no status source: / is 404', async () => {
    let calls = 0;
    const base = await serve(async () => {
      calls++;
      return sampleReport();
    });
    for (const path of ['/index.html', '/status', '/status.json/x', '/../etc/passwd', '/favicon.ico']) {
      assert.equal((await httpGet(`${base}${path}`)).status, 404, path);
    }
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      for (const path of ['/', '/status.json']) {
        const r = await httpGet(`${base}${path}`, { method });
        assert.equal(r.status, 405, `${method} ${path}`);
        assert.equal(r.headers['allow'], 'GET, HEAD');
      }
    }
    assert.equal(calls, 0, 'no refused request built a report');
    const without = await serve(undefined);
    assert.equal((await httpGet(`${without}/`)).status, 404);
    assert.equal((await httpGet(`${without}/status.json`)).status, 404);
  });

  test('large and slow requests are bounded: huge headers 431, a POST body is not read, a dripping header is cut', async () => {
    const base = await serve(async () => sampleReport(), { headersTimeoutMs: 500 });
    const big = await raw(base, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`, 10_000, true);
    assert.match(big.text, /^HTTP\/1\.1 431/);
    const post = await raw(
      base,
      `POST /status.json HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n${'x'.repeat(1024)}`,
      10_000,
      true,
    );
    assert.match(post.text, /^HTTP\/1\.1 405/);
    const slow = await raw(base, 'GET / HTTP/1.1\r\nHost: x\r\n', 10_000);
    assert.notEqual(slow.closedAfterMs, null, 'a request whose headers never end is cut');
    assert.ok((slow.closedAfterMs ?? Infinity) < 5_000, `cut after ${slow.closedAfterMs} ms`);
    assert.equal((await httpGet(`${base}/status.json`)).status, 200);
  });
});
