// The metrics endpoint against slow and idle clients on loopback (issue 19): a connection that does not complete its
// request's headers is cut within a few seconds (not on Node's 30 s sweep), and 1,000 slow clients that reconnect
// whenever they are cut do not stop scrapes, from another address or from their own, nor make the endpoint hold more
// connections than its bound.
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { after, describe, test } from 'node:test';
import { DEFAULT_SLOT_LIMITS } from '../../../src/system/connection-slots';
import { startMetricsServer, type MetricsServer } from '../../../src/metrics/server';
import { startSlowClients, type SlowClients } from '../../helpers/slow-clients';
import { parseExposition, value } from '../../unit/metrics/exposition';
import { real, snapshot, testMetrics, virtual } from '../../unit/metrics/fixtures';
import { httpGet } from './http-client';

const servers: MetricsServer[] = [];
const floods: SlowClients[] = [];
after(async () => {
  for (const f of floods) f.stop();
  await Promise.all(servers.map((s) => s.close()));
});

async function serve(): Promise<{ server: MetricsServer; port: number }> {
  const { metrics } = testMetrics({ engine: snapshot([virtual('tcp:192.0.2.1:80', [real('10.0.0.1:80')])]) });
  const server = await startMetricsServer({ host: '127.0.0.1', port: 0, metrics });
  servers.push(server);
  return { server, port: server.address().port };
}

/** Milliseconds until the server closes a connection that sends `what` and nothing more; rejects after `ms`. */
function closedAfter(port: number, what: string, ms: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const socket = net.connect({ host: '127.0.0.1', port }, () => socket.write(what));
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the connection that sent ${JSON.stringify(what)} was still open after ${ms} ms`));
    }, ms);
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Date.now() - t0);
    });
  });
}

/** One scrape from `localAddress`: its status, the value of ldir_real_server_up, and how long it took. */
async function scrape(port: number, localAddress: string): Promise<{ ok: boolean; ms: number; what: string }> {
  const t0 = Date.now();
  try {
    const r = await httpGet(`http://127.0.0.1:${port}/metrics`, { localAddress, timeoutMs: 5_000 });
    const up = value(parseExposition(r.body.toString('utf8')), 'ldir_real_server_up', {
      virtual: 'tcp:192.0.2.1:80',
      real: '10.0.0.1:80',
    });
    return { ok: r.status === 200 && up === 1, ms: Date.now() - t0, what: `status ${r.status}, up ${up}` };
  } catch (err) {
    return { ok: false, ms: Date.now() - t0, what: (err as Error).message };
  }
}

describe('metrics endpoint against slow clients', () => {
  test('a connection that sends nothing, or only a request line, or drips a header, is cut within a few seconds', async () => {
    const { port } = await serve();
    const [silent, line] = await Promise.all([
      closedAfter(port, '', 8_000),
      closedAfter(port, 'GET /metrics HTTP/1.1\r\n', 8_000),
    ]);
    console.log(`header deadline: silent connection cut after ${silent} ms, request line only after ${line} ms`);
    assert.ok(silent < 6_000 && line < 6_000, `${silent} ms, ${line} ms`);
    const flood = startSlowClients({
      host: '127.0.0.1',
      port,
      count: 1,
      localAddresses: ['127.0.0.1'],
      dripMs: 100,
      reconnect: false,
    });
    floods.push(flood);
    const t0 = Date.now();
    for (let i = 0; i < 80 && flood.stats().cut === 0; i++) await new Promise((r) => setTimeout(r, 100));
    const drip = Date.now() - t0;
    console.log(`header deadline: a header dripped a byte every 100 ms cut after ${drip} ms`);
    assert.equal(flood.stats().cut, 1, 'the dripping client was cut');
    assert.ok(drip < 6_000, `${drip} ms`);
    flood.stop();
  });

  test('1,000 slow clients that reconnect when cut: scrapes from another address and from theirs succeed; connections stay bounded', async () => {
    const { server, port } = await serve();
    const rssBefore = process.memoryUsage().rss;
    const flood = startSlowClients({
      host: '127.0.0.1',
      port,
      count: 1_000,
      localAddresses: ['127.0.0.1'],
      dripMs: 500,
      maxConnectsPerClient: 100,
    });
    floods.push(flood);
    // All 1,000 have connected once, and the endpoint has had time to cut back (grace 1 s, header deadline 3 s).
    for (let i = 0; i < 200 && flood.stats().opened < 1_000; i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(flood.stats().opened >= 1_000, JSON.stringify(flood.stats()));
    await new Promise((r) => setTimeout(r, 1_500));
    const results: Array<{ from: string; ok: boolean; ms: number; what: string }> = [];
    let mostOpen = 0;
    for (let round = 0; round < 4; round++) {
      for (const from of ['127.0.0.2', '127.0.0.1']) {
        results.push({ from, ...(await scrape(port, from)) });
        mostOpen = Math.max(mostOpen, server.connections().open);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    const conns = server.connections();
    console.log(
      `1,000 slow clients: ${JSON.stringify(flood.stats())}; endpoint ${JSON.stringify(conns)}, at most ${mostOpen} open at a scrape; ` +
        `test process RSS ${Math.round(rssBefore / 1e6)} -> ${Math.round(process.memoryUsage().rss / 1e6)} MB`,
    );
    console.log(
      `scrapes: ${results.map((r) => `${r.from} ${r.ok ? 'ok' : 'FAILED'} ${r.ms} ms${r.ok ? '' : ` (${r.what})`}`).join('; ')}`,
    );
    flood.stop();
    assert.ok(flood.stats().cut > 0, 'the flood was cut back');
    assert.deepEqual(
      results.filter((r) => !r.ok),
      [],
      'every scrape answered during the flood',
    );
    assert.ok(mostOpen <= DEFAULT_SLOT_LIMITS.maxConnections, `${mostOpen} open`);
  });
});
