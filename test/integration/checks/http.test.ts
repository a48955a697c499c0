// http/https/http_proxy checker against node:http(s) servers on 127.0.0.1 and ::1 (self-signed certificate made
// with the openssl CLI): status, body match, redirects, Host header, timeouts, TLS verification, proxying. Every test
// runs twice: through undici alone, and with the native TCP prober (plain http as one native exchange).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { checkUrl, createHttpChecker } from '../../../src/checks/http';
import { openTcpProber, type TcpProber } from '../../../src/checks/tcp-prober';
import type { Checker } from '../../../src/checks/types';
import {
  assertResult,
  closeServer,
  listen,
  makeJob,
  NEVER,
  refusedPort,
  assertNotAtTimeout,
  UNREACHED_MS,
} from '../../helpers/check-job';
import { IN_CI } from '../../helpers/system';

const native = openTcpProber();
/** Counts the probes the fast path runs, so a test can tell that it was used. */
let probes = 0;
const counting: TcpProber | undefined = native && {
  accepts: (a) => native.accepts(a),
  probe: (...args) => {
    probes++;
    return native.probe(...args);
  },
  close: () => native.close(),
};
const modes: [string, Checker][] = [['undici', createHttpChecker()]];
if (counting) modes.push(['native', createHttpChecker({ prober: counting })]);
else assert.ok(!IN_CI, 'native addon not built: the fast path must be tested in CI');
const servers: net.Server[] = [];
const port: Record<string, number> = {};
let connections = 0;
let tmp = '';
let cert = '';
let otherCert = '';

/** Routes of the test server. */
function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = req.url ?? '/';
  if (url === '/ok') res.end('hello ok world\n');
  else if (url === '/host') res.end(`host=${req.headers.host ?? ''}`);
  else if (url === '/fail') {
    res.statusCode = 503;
    res.end('ok but failing');
  } else if (url === '/redirect') {
    res.writeHead(302, { location: '/ok' }).end();
  } else if (url.startsWith('/chain/')) {
    const n = Number(url.slice(7));
    res.writeHead(301, { location: n > 0 ? `/chain/${n - 1}` : '/ok' }).end();
  } else if (url === '/loop') {
    res.writeHead(302, { location: '/loop' }).end();
  } else if (url === '/slow') {
    // never answers
  } else if (url === '/chunked') {
    res.write('hello ');
    setTimeout(() => res.end('chunked world'), 5); // no content-length: chunked transfer coding
  } else if (url.startsWith('/weight/')) {
    res.setHeader('X-LB-Weight', decodeURIComponent(url.slice(8)));
    res.end('weighted ok');
  } else if (url === '/big-late') {
    res.write('a'.repeat(2 * 1024 * 1024));
    res.end('needle');
  } else if (url === '/big-early') {
    res.write('needle');
    res.end('a'.repeat(2 * 1024 * 1024));
  } else if (url.startsWith('http://')) {
    res.end(`proxied ${url} host=${req.headers.host ?? ''}`); // absolute-form target: we are the proxy
  } else {
    res.statusCode = 404;
    res.end('not found');
  }
}

function makeCert(dir: string, name: string): { key: string; cert: string } {
  const key = path.join(dir, `${name}.key`);
  const crt = path.join(dir, `${name}.crt`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      crt,
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'subjectAltName=IP:127.0.0.1,IP:::1',
    ],
    { stdio: 'ignore' },
  );
  return { key: fs.readFileSync(key, 'utf8'), cert: fs.readFileSync(crt, 'utf8') };
}

/** Raw answers for framing corner cases, by request path (the server ignores `Connection: close` throughout). */
const RAW: Record<string, string> = {
  '/keepalive': 'HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: keep-alive\r\n\r\nok there', // never closes
  '/premature': 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nok but short', // closes 88 bytes early
  '/garbage': 'SSH-2.0-OpenSSH_9.2\r\n\r\n',
  '/interim': 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nfinally',
  '/bare-lf': 'HTTP/1.0 200 OK\nContent-Type: text/plain\n\nbare ok',
  '/empty': '',
};

/** A TCP server answering each request with {@link RAW}; closes after it unless the answer is keep-alive. */
function rawServer(): net.Server {
  return net.createServer((socket) => {
    socket.on('error', () => undefined);
    let head = '';
    socket.on('data', (chunk) => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      const path = head.split(' ')[1] ?? '';
      const answer = RAW[path] ?? 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n';
      if (path === '/keepalive') socket.write(answer);
      else socket.end(answer);
    });
  });
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-http-'));
  const tls = makeCert(tmp, 'ldir-test');
  cert = tls.cert;
  otherCert = makeCert(tmp, 'other').cert;
  for (const host of ['127.0.0.1', '::1']) {
    const plain = http.createServer(handler);
    plain.on('connection', () => connections++);
    servers.push(plain);
    port[`http ${host}`] = await listen(plain, host);
    const secure = https.createServer({ key: tls.key, cert: tls.cert }, handler);
    servers.push(secure);
    port[`https ${host}`] = await listen(secure, host);
    const raw = rawServer();
    servers.push(raw);
    port[`raw ${host}`] = await listen(raw, host);
  }
});
after(async () => {
  native?.close();
  await Promise.all(servers.map(closeServer));
  fs.rmSync(tmp, { recursive: true, force: true });
});

for (const [mode, check] of modes) {
  for (const host of ['127.0.0.1', '::1']) {
    for (const service of ['http', 'https'] as const) {
      const job = (request: string, receive = '', extra = {}) =>
        makeJob({ service, address: host, port: port[`${service} ${host}`] as number, request, receive, ...extra });

      test(`${mode} ${service} ${host}: 200 with matching body is up`, async () => {
        assertResult(await check(job('/ok', 'ok w.rld'), NEVER), true, /status 200/);
      });
      test(`${mode} ${service} ${host}: wrong content is down`, async () => {
        assertResult(await check(job('/ok', 'goodbye'), NEVER), false, /^body did not match \/goodbye\/$/);
      });
      test(`${mode} ${service} ${host}: 5xx is down even when the body matches`, async () => {
        assertResult(await check(job('/fail', 'ok'), NEVER), false, /^status 503$/);
      });
      test(`${mode} ${service} ${host}: a redirect is followed`, async () => {
        assertResult(await check(job('/redirect', 'hello'), NEVER), true, /status 200/);
      });
      test(`${mode} ${service} ${host}: a silent server times out`, async () => {
        const slow = job('/slow', '', { negotiateTimeoutMs: 500, checkTimeoutMs: UNREACHED_MS }); // ends at negotiatetimeout
        const r = await check(slow, NEVER);
        assertResult(r, false, /^timeout$/, 450);
        assertNotAtTimeout(r, '/slow at its negotiatetimeout');
      });
    }

    test(`${mode} http ${host}: refused port is down`, async () => {
      const r = await check(makeJob({ service: 'http', address: host, port: await refusedPort(host) }), NEVER);
      assertResult(r, false, /^refused$/);
    });
  }

  test(`${mode} http: redirects are followed up to 7 hops, not 8`, async () => {
    const p = port['http 127.0.0.1'] as number;
    assertResult(await check(makeJob({ service: 'http', port: p, request: '/chain/6' }), NEVER), true, /status 200/);
    assertResult(
      await check(makeJob({ service: 'http', port: p, request: '/chain/7' }), NEVER),
      false,
      /too many redirects/,
    );
    assertResult(
      await check(makeJob({ service: 'http', port: p, request: '/loop' }), NEVER),
      false,
      /too many redirects/,
    );
  });

  test(`${mode} http: the weightheader's value is the reported weight; a value that is not a whole number is none`, async () => {
    for (const service of ['http', 'https'] as const) {
      const p = port[`${service} 127.0.0.1`] as number;
      const job = (request: string, weightHeader?: string): ReturnType<typeof makeJob> =>
        makeJob({ service, port: p, request, receive: 'ok', ...(weightHeader ? { weightHeader } : {}) });
      const r = await check(job('/weight/7', 'x-lb-weight'), NEVER);
      assertResult(r, true, /^status 200, body matched, weight 7$/);
      assert.equal(r.weight, 7);
      assert.equal((await check(job('/weight/%207%20', 'x-lb-weight'), NEVER)).weight, 7, 'spaces around');
      assert.equal(
        (await check(job('/weight/5%2C%209', 'x-lb-weight'), NEVER)).weight,
        9,
        'a list: its last value, on both paths',
      );
      for (const bad of ['seven', '-1', '2.5', '99999999999']) {
        const b = await check(job(`/weight/${encodeURIComponent(bad)}`, 'x-lb-weight'), NEVER);
        assert.deepEqual([b.up, b.weight], [true, undefined], `${service} ${bad}`);
      }
      assert.equal((await check(job('/weight/7'), NEVER)).weight, undefined, 'no weightheader: not read');
      assert.equal((await check(job('/ok', 'x-lb-weight'), NEVER)).weight, undefined, 'no such header in the answer');
    }
  });

  test(`${mode} http: Host header is the virtualhost, else the address`, async () => {
    const p = port['http 127.0.0.1'] as number;
    assertResult(
      await check(
        makeJob({
          service: 'http',
          port: p,
          request: '/host',
          receive: '^host=www\\.example\\.org$',
          httpHost: 'www.example.org',
        }),
        NEVER,
      ),
      true,
      /200/,
    );
    assertResult(
      await check(makeJob({ service: 'http', port: p, request: '/host', receive: '^host=127\\.0\\.0\\.1$' }), NEVER),
      true,
      /200/,
    );
    const p6 = port['http ::1'] as number;
    assertResult(
      await check(
        makeJob({ service: 'http', address: '::1', port: p6, request: '/host', receive: '^host=\\[::1\\]$' }),
        NEVER,
      ),
      true,
      /200/,
    );
  });

  test(`${mode} http: HEAD, 404, absolute per-real URL, bounded body`, async () => {
    const p = port['http 127.0.0.1'] as number;
    assertResult(
      await check(makeJob({ service: 'http', port: p, request: '/ok', httpMethod: 'HEAD' }), NEVER),
      true,
      /200/,
    );
    assertResult(await check(makeJob({ service: 'http', port: p, request: '/nope' }), NEVER), false, /^status 404$/);
    const absolute = `/http://127.0.0.1:${p}/ok`;
    assertResult(
      await check(makeJob({ service: 'http', port: 1, request: absolute, receive: 'hello' }), NEVER),
      true,
      /200/,
    );
    assertResult(
      await check(makeJob({ service: 'http', port: p, request: '/big-early', receive: 'needle' }), NEVER),
      true,
      /200/,
    );
    assertResult(
      await check(makeJob({ service: 'http', port: p, request: '/big-late', receive: 'needle' }), NEVER),
      false,
      /did not match/,
    );
  });

  test(`${mode} http: every check opens one fresh connection (no keep-alive), none left behind when cut short`, async () => {
    const p = port['http 127.0.0.1'] as number;
    const before = connections;
    for (const request of ['/ok', '/ok', '/big-early', '/slow']) {
      await check(
        makeJob({
          service: 'http',
          port: p,
          request,
          receive: request === '/big-early' ? 'needle' : '',
          negotiateTimeoutMs: 300,
        }),
        NEVER,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(connections - before, 4);
  });

  test(`${mode} http_proxy: the real server is the proxy and request the absolute URL`, async () => {
    const p = port['http 127.0.0.1'] as number;
    const job = makeJob({
      service: 'http_proxy',
      port: p,
      request: '/http://www.example.org/index.html',
      receive: '^proxied http://www\\.example\\.org/index\\.html host=www\\.example\\.org$',
    });
    assertResult(await check(job, NEVER), true, /200/);
    assertResult(await check({ ...job, receive: 'nothing-like-this' }, NEVER), false, /did not match/);
    assertResult(await check({ ...job, request: '/index.html' }, NEVER), false, /absolute/);
  });

  test(`${mode} https: certificates are not verified without tlsVerify; verified against tlsCa with it`, async () => {
    const p = port['https 127.0.0.1'] as number;
    const job = makeJob({ service: 'https', port: p, request: '/ok', receive: 'hello' });
    assertResult(await check({ ...job, tlsCa: otherCert }, NEVER), true, /200/);
    assertResult(await check({ ...job, tlsVerify: true, tlsCa: cert }, NEVER), true, /200/);
    assertResult(await check({ ...job, tlsVerify: true, tlsCa: otherCert }, NEVER), false, /certificate|self.signed/i);
  });
}

for (const [mode, check] of modes) {
  for (const host of ['127.0.0.1', '::1']) {
    const raw = (request: string, receive = '', extra = {}) =>
      makeJob({
        service: 'http',
        address: host,
        port: port[`raw ${host}`] as number,
        request,
        receive,
        negotiateTimeoutMs: 800,
        ...extra,
      });
    test(`${mode} http ${host}: answer framing (chunked, length with keep-alive; natively also interim 1xx, bare LF)`, async () => {
      const chunked = makeJob({
        service: 'http',
        address: host,
        port: port[`http ${host}`] as number,
        request: '/chunked',
        receive: '^hello chunked world$',
      });
      assertResult(await check(chunked, NEVER), true, /^status 200, body matched$/);
      if (mode === 'native') {
        // Lenient like ldirectord's LWP; undici (https, proxies, no addon) rejects both as protocol errors.
        assertResult(await check(raw('/interim', '^finally$'), NEVER), true, /^status 200, body matched$/);
        assertResult(await check(raw('/bare-lf', '^bare ok$'), NEVER), true, /^status 200, body matched$/);
      }
      // A server that keeps the connection open despite `Connection: close`: the answer ends at its Content-Length.
      assertResult(await check(raw('/keepalive', '^ok there$'), NEVER), true, /^status 200, body matched$/);
    });
    test(`${mode} http ${host}: broken answers are down with a reason`, async () => {
      assertResult(
        await check(raw('/premature', 'ok'), NEVER),
        false,
        /^connection closed|terminated|other side closed/,
      );
      assertResult(await check(raw('/empty'), NEVER), false, /^connection closed|other side closed/);
      assertResult(
        await check(raw('/garbage'), NEVER),
        false,
        /not an HTTP response|Parse Error|invalid|expected HTTP/i,
      );
    });
  }
}

test('http: the native fast path serves plain http and hands https, proxies and redirects to undici', async (t) => {
  const native = modes.find(([mode]) => mode === 'native')?.[1];
  if (!native) return t.skip('native addon not built');
  const plain = makeJob({ service: 'http', port: port['http 127.0.0.1'] as number, request: '/ok', receive: 'hello' });
  let before = probes;
  assertResult(await native(plain, NEVER), true, /200/);
  assert.equal(probes - before, 1, 'plain http is one native probe');
  before = probes;
  assertResult(
    await native({ ...plain, service: 'https', port: port['https 127.0.0.1'] as number }, NEVER),
    true,
    /200/,
  );
  assert.equal(probes - before, 0, 'https goes through undici');
  before = probes;
  const seen = connections;
  assertResult(await native({ ...plain, request: '/redirect' }, NEVER), true, /200/);
  assert.equal(probes - before, 1, 'a redirect is seen natively once');
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(connections - seen, 3, 'then undici runs the whole check again: redirect + target');
  return undefined;
});

test('http: https URL building brackets IPv6', () => {
  assert.equal(
    checkUrl(makeJob({ service: 'https', address: '::1', port: 8443, request: '/a?b=1' })).href,
    'https://[::1]:8443/a?b=1',
  );
  assert.equal(checkUrl(makeJob({ service: 'http', port: 80, request: '/' })).href, 'http://127.0.0.1/');
});
