// Fuzz tier: the running daemon's metrics endpoint fed random methods, targets and headers, oversized and malformed
// requests, 1,000 slow clients that drip their headers and reconnect when cut, and clients that ask and never read.
// Every request gets an HTTP answer or a closed connection within the header deadline; scrapes and /healthz keep
// working meanwhile; the control socket answers; the daemon's resident memory stays bounded (printed before and after).
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { MAX_REQUESTS_PER_CONNECTION } from '../../src/metrics/server';
import { startFuzzDaemon, type FuzzDaemon } from '../helpers/fuzz-daemon';
import { startSlowClients } from '../helpers/slow-clients';
import { freePort } from '../helpers/system';
import { httpGet } from '../integration/metrics/http-client';

const SEED = 1920;
let daemon: FuzzDaemon;
let real: http.Server;
let rssStart = 0;

before(async () => {
  const port = await freePort('127.0.0.2');
  real = http.createServer((_q, r) => r.end('ok'));
  await new Promise<void>((r) => real.listen(port, '127.0.0.2', r));
  // 100 reals (one healthy, the others refuse): an exposition of about 300 kB.
  const refused = Array.from({ length: 99 }, (_, i) => `\treal=127.0.0.3:${21_000 + i} masq 1`).join('\n');
  daemon = await startFuzzDaemon(
    'metrics',
    () => `checkinterval=5
checktimeout=1
virtual=127.0.0.1:80
\treal=127.0.0.2:${port} masq 1
${refused}
\tchecktype=connect
`,
  );
  rssStart = daemon.rssKb();
  console.log(`metrics fuzz: daemon pid ${daemon.pid}, RSS at start ${rssStart} kB`);
});

after(async () => {
  const end = daemon ? daemon.rssKb() : 0;
  console.log(`metrics fuzz: daemon RSS ${rssStart} kB before, ${end} kB after`);
  await daemon?.stop();
  real?.closeAllConnections();
  await new Promise((r) => real?.close(r));
});

const base = (): string => `http://127.0.0.1:${daemon.metricsPort}`;

/** A scrape that must work: status 200 and the up series of the healthy real. */
async function scrapeOk(localAddress = '127.0.0.1', timeoutMs = 10_000): Promise<number> {
  const t0 = Date.now();
  const r = await httpGet(`${base()}/metrics`, { localAddress, timeoutMs });
  assert.equal(r.status, 200);
  assert.match(r.body.toString('utf8'), /ldir_real_server_up\{[^}]*real="127\.0\.0\.2:\d+"[^}]*\} 1/);
  return Date.now() - t0;
}

/** Sends raw bytes on a new connection; the status of the first answer (0: none) and whether the daemon closed it. */
function rawRequest(bytes: Buffer | string, ms = 8_000): Promise<{ status: number; closed: boolean; ms: number }> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const socket = net.connect({ host: '127.0.0.1', port: daemon.metricsPort }, () => socket.write(bytes));
    let text = '';
    let done = false;
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const m = /^HTTP\/1\.[01] (\d{3}) /.exec(text);
      resolve({ status: m ? Number(m[1]) : 0, closed, ms: Date.now() - t0 });
    };
    const timer = setTimeout(() => finish(false), ms);
    socket.on('data', (d: Buffer) => {
      if (text.length < 4_096) text += d.toString('latin1');
    });
    socket.on('error', () => finish(true));
    socket.on('close', () => finish(true));
  });
}

const token = fc.stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,12}$/);
// Mostly plausible requests (so that the routes, methods and headers are reached), some garbage in every part.
const method = fc.oneof(
  {
    arbitrary: fc.constantFrom(
      'GET',
      'HEAD',
      'POST',
      'PUT',
      'DELETE',
      'OPTIONS',
      'TRACE',
      'CONNECT',
      'PATCH',
      'PRI',
      'get',
    ),
    weight: 6,
  },
  { arbitrary: token, weight: 2 },
  { arbitrary: fc.string({ maxLength: 10 }), weight: 1 },
);
const target = fc.oneof(
  {
    arbitrary: fc.constantFrom(
      '/metrics',
      '/healthz',
      '/',
      '*',
      '/metrics?x=1',
      '//metrics',
      '/metrics/../healthz',
      'http://127.0.0.1/metrics',
      '/%00',
      '/%zz',
    ),
    weight: 6,
  },
  { arbitrary: fc.webPath(), weight: 2 },
  { arbitrary: fc.string({ maxLength: 60 }), weight: 1 },
);
const header = fc.tuple(
  fc.oneof(
    {
      arbitrary: fc.constantFrom(
        'Content-Length',
        'Transfer-Encoding',
        'Accept-Encoding',
        'Connection',
        'Expect',
        'Host',
        'Range',
      ),
      weight: 4,
    },
    { arbitrary: token, weight: 4 },
    { arbitrary: fc.string({ maxLength: 20 }), weight: 1 },
  ),
  fc.oneof(
    {
      arbitrary: fc.constantFrom(
        'gzip',
        'chunked',
        '0',
        '-1',
        '99999999999999999999',
        'close',
        'keep-alive',
        '100-continue',
        'gzip, deflate, br',
        'bytes=0-10',
      ),
      weight: 4,
    },
    { arbitrary: fc.stringMatching(/^[ -~]{0,80}$/), weight: 4 },
    { arbitrary: fc.string({ maxLength: 80 }), weight: 1 },
  ),
);
const version = fc.oneof(
  { arbitrary: fc.constantFrom('HTTP/1.1', 'HTTP/1.0'), weight: 8 },
  { arbitrary: fc.constantFrom('HTTP/2.0', 'HTTP/1.1 x', '', 'HTTP/9.9'), weight: 1 },
);

describe('metrics endpoint under fuzzing', () => {
  test('random methods, targets and headers: an HTTP answer or a closed connection within the header deadline, never a hang', async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(method, target, fc.array(header, { maxLength: 3 }), version, async (m, t, hs, version) => {
        // A Host header first (HTTP/1.1 requires one; Node answers 400 without), then the random ones.
        const request = `${m} ${t} ${version}\r\nHost: ldir\r\nConnection: close\r\n${hs.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
        const r = await rawRequest(request);
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        assert.ok(
          r.closed || r.status > 0,
          `no answer and still open after ${r.ms} ms: ${JSON.stringify(request).slice(0, 300)}`,
        );
        assert.ok(r.ms < 7_000, `${r.ms} ms: ${JSON.stringify(request).slice(0, 300)}`);
      }),
      { seed: SEED, numRuns: 300 },
    );
    console.log(
      `metrics fuzz: answers by status (0 = closed without one): ${[...statuses]
        .sort((a, b) => a[0] - b[0])
        .map(([s, n]) => `${s}×${n}`)
        .join(' ')}`,
    );
    await scrapeOk();
  });

  test('malformed and oversized requests: refused or cut, never buffered', async () => {
    const rss0 = daemon.rssKb();
    const cases: Array<[string, Buffer | string, (s: number) => boolean]> = [
      [
        '64 kB header',
        `GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`,
        (s) => s === 431 || s === 0,
      ],
      [
        '10,000 headers',
        `GET /metrics HTTP/1.1\r\n${'X-A: b\r\n'.repeat(10_000)}\r\n`,
        (s) => s === 431 || s === 400 || s === 0 || s === 200,
      ],
      ['NUL bytes', Buffer.from('GET /metrics\u0000 HTTP/1.1\r\n\r\n', 'latin1'), (s) => s === 400 || s === 0],
      [
        'binary garbage',
        Buffer.from(Array.from({ length: 4_096 }, (_, i) => (i * 7919) & 255)),
        (s) => s === 400 || s === 0,
      ],
      [
        'request smuggling',
        'POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
        (s) => s === 400 || s === 405 || s === 0,
      ],
      [
        'huge Content-Length',
        'GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\nabc',
        (s) => s === 200 || s === 400 || s === 413 || s === 0,
      ],
      ['TLS hello', Buffer.from('16030100a5010000a10303', 'hex'), (s) => s === 400 || s === 0],
      [
        'HTTP/2 preface',
        'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
        (s) => s === 400 || s === 405 || s === 404 || s === 505 || s === 0,
      ],
    ];
    for (const [what, bytes, acceptable] of cases) {
      const r = await rawRequest(bytes);
      assert.ok(
        acceptable(r.status) && (r.closed || r.status > 0),
        `${what}: status ${r.status}, closed ${r.closed}, ${r.ms} ms`,
      );
      assert.ok(r.ms < 7_000, `${what}: ${r.ms} ms`);
    }
    // 50 pipelined requests on one connection: the first MAX_REQUESTS_PER_CONNECTION answered, the rest refused.
    const pipelined = await new Promise<string>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port: daemon.metricsPort }, () =>
        socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(50)),
      );
      let text = '';
      const timer = setTimeout(() => socket.destroy(), 8_000);
      socket.on('data', (d: Buffer) => {
        text += d.toString('latin1');
      });
      socket.on('error', () => undefined);
      socket.on('close', () => {
        clearTimeout(timer);
        resolve(text);
      });
    });
    const answers = [...pipelined.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1]);
    assert.deepEqual(
      answers.slice(0, MAX_REQUESTS_PER_CONNECTION),
      new Array<string>(MAX_REQUESTS_PER_CONNECTION).fill('200'),
    );
    assert.ok(
      answers.slice(MAX_REQUESTS_PER_CONNECTION).every((a) => a === '503'),
      answers.join(' '),
    );
    const rss1 = daemon.rssKb();
    console.log(`metrics fuzz: malformed and oversized requests: RSS ${rss0} -> ${rss1} kB`);
    await scrapeOk();
  });

  test('1,000 slow clients that reconnect when cut: scrapes (from their address and another), /healthz and ping answer', async () => {
    const rss0 = daemon.rssKb();
    const flood = startSlowClients({
      host: '127.0.0.1',
      port: daemon.metricsPort,
      count: 1_000,
      localAddresses: ['127.0.0.1'],
      dripMs: 500,
      maxConnectsPerClient: 60,
    });
    try {
      for (let i = 0; i < 200 && flood.stats().opened < 1_000; i++) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 1_500));
      const scrapes: number[] = [];
      for (let i = 0; i < 3; i++) {
        scrapes.push(await scrapeOk('127.0.0.1'), await scrapeOk('127.0.0.4'));
        const health = await httpGet(`${base()}/healthz`, { timeoutMs: 10_000 });
        assert.equal(health.status, 200);
      }
      const ping = await daemon.ping();
      const rss1 = daemon.rssKb();
      console.log(
        `metrics fuzz: 1,000 slow clients ${JSON.stringify(flood.stats())}: scrapes in ${scrapes.join(', ')} ms, ping ${ping} ms; RSS ${rss0} -> ${rss1} kB`,
      );
      assert.ok(flood.stats().cut > 0, 'slow clients were cut');
      assert.ok(rss1 - rss0 < 64 * 1024, `RSS grew by ${rss1 - rss0} kB`);
    } finally {
      flood.stop();
    }
  });

  test('100 clients that pipeline scrapes and never read the answers: memory stays bounded, others are served', async () => {
    const rss0 = daemon.rssKb();
    const sockets: net.Socket[] = [];
    for (let i = 0; i < 100; i++) {
      const s = net.connect({ host: '127.0.0.1', port: daemon.metricsPort, localAddress: `127.0.1.${1 + i}` }, () => {
        s.write('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(20));
      });
      s.on('error', () => undefined);
      s.pause(); // never reads
      sockets.push(s);
    }
    try {
      await new Promise((r) => setTimeout(r, 3_000));
      const ms = await scrapeOk('127.0.0.5');
      const rss1 = daemon.rssKb();
      console.log(
        `metrics fuzz: 100 clients asking 20 scrapes each and never reading: RSS ${rss0} -> ${rss1} kB; a scrape meanwhile in ${ms} ms`,
      );
      assert.ok(rss1 - rss0 < 96 * 1024, `RSS grew by ${rss1 - rss0} kB`);
    } finally {
      for (const s of sockets) s.destroy();
    }
  });
});
