// The native TCP prober against loopback servers: connect, exchanges (until close, HTTP framing, read limit),
// deadlines, aborts, close, many probes at once, and a process that exits on its own while the prober is idle.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { openTcpProber, type TcpProber } from '../../../src/checks/tcp-prober';
import { closeServer, listen, NEVER, refusedPort, silentServer } from '../../helpers/check-job';
import { IN_CI } from '../../helpers/system';

let prober: TcpProber | undefined;
const servers: net.Server[] = [];
const port: Record<string, number> = {};
let closedByPeer = 0;

/** Answers each connection with what its first line asks for: `echo`, `big N`, `http`, `hold`. */
function scriptedServer(): net.Server {
  return net.createServer((socket) => {
    socket.on('error', () => undefined);
    socket.on('close', () => closedByPeer++);
    let text = '';
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
      if (!text.includes('\n')) return;
      const [word, arg] = text.trim().split(' ');
      if (word === 'echo') socket.end(`you said ${arg ?? ''}`);
      else if (word === 'big') socket.end('x'.repeat(Number(arg)));
      else if (word === 'http')
        socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n'); // stays open
      // `hold`: says nothing, keeps the connection
    });
  });
}

before(async () => {
  prober = openTcpProber();
  for (const host of ['127.0.0.1', '::1']) {
    const s = scriptedServer();
    servers.push(s);
    port[host] = await listen(s, host);
  }
  const silent = silentServer();
  servers.push(silent);
  port['silent'] = await listen(silent, '127.0.0.1');
});
after(async () => {
  prober?.close();
  await Promise.all(servers.map(closeServer));
});

/** The prober, or skips (fails in CI: the addon is built there). */
function need(t: { skip(msg: string): void }): TcpProber | undefined {
  if (!prober) {
    assert.ok(!IN_CI, 'native addon not built');
    t.skip('native addon not built');
  }
  return prober;
}

const line = (text: string): Buffer => Buffer.from(`${text}\n`);

for (const host of ['127.0.0.1', '::1']) {
  test(`prober ${host}: connect, refused, and an exchange read until the server closes`, async (t) => {
    const p = need(t);
    if (!p) return;
    const ok = await p.probe(host, port[host] as number, 1000, NEVER);
    assert.equal(ok.error, undefined);
    assert.equal(ok.phase, 'connect');
    const refused = await p.probe(host, await refusedPort(host), 1000, NEVER);
    assert.equal(refused.error, 'ECONNREFUSED');
    const echo = await p.probe(host, port[host] as number, 1000, NEVER, { request: line('echo hi'), readLimit: 1000 });
    assert.equal(echo.error, undefined);
    assert.equal(echo.phase, 'read');
    assert.equal(echo.data?.toString(), 'you said hi');
  });
}

test('prober: the read limit cuts a long answer; HTTP framing ends a complete answer on a connection left open', async (t) => {
  const p = need(t);
  if (!p) return;
  const big = await p.probe('127.0.0.1', port['127.0.0.1'] as number, 2000, NEVER, {
    request: line('big 300000'),
    readLimit: 70000,
  });
  assert.equal(big.error, undefined);
  assert.equal(big.data?.length, 70000);
  const http = await p.probe('127.0.0.1', port['127.0.0.1'] as number, 2000, NEVER, {
    request: line('http'),
    readLimit: 70000,
    framing: 'http',
  });
  assert.equal(http.error, undefined);
  assert.ok(http.elapsedMs < 1000, `took ${http.elapsedMs} ms`);
  assert.match(http.data?.toString() ?? '', /0\r\n\r\n$/);
  const unframed = await p.probe('127.0.0.1', port['127.0.0.1'] as number, 300, NEVER, {
    request: line('http'),
    readLimit: 70000,
  });
  assert.equal(unframed.error, 'ETIMEDOUT', 'without framing the answer ends only with the close');
  assert.match(unframed.data?.toString() ?? '', /^HTTP\/1\.1 200/);
});

test('prober: a silent server times out at the deadline, in the read phase', async (t) => {
  const p = need(t);
  if (!p) return;
  const started = performance.now();
  const r = await p.probe('127.0.0.1', port['silent'] as number, 300, NEVER, { request: line('hold'), readLimit: 100 });
  const took = performance.now() - started;
  assert.equal(r.error, 'ETIMEDOUT');
  assert.equal(r.phase, 'read');
  assert.ok(took >= 280 && took < 1000, `took ${took} ms`);
});

test('prober: an abort ends the probe at once and closes its socket', async (t) => {
  const p = need(t);
  if (!p) return;
  const ctl = new AbortController();
  const closedBefore = closedByPeer;
  const pending = p.probe('127.0.0.1', port['127.0.0.1'] as number, 5000, ctl.signal, {
    request: line('hold'),
    readLimit: 100,
  });
  await new Promise((r) => setTimeout(r, 100));
  const started = performance.now();
  ctl.abort();
  const r = await pending;
  assert.equal(r.error, 'ABORT_ERR');
  assert.ok(performance.now() - started < 100);
  for (let i = 0; i < 50 && closedByPeer === closedBefore; i++) await new Promise((res) => setTimeout(res, 10));
  assert.equal(closedByPeer, closedBefore + 1, 'the server saw the connection close');
  const already = new AbortController();
  already.abort();
  assert.equal((await p.probe('127.0.0.1', port['127.0.0.1'] as number, 1000, already.signal)).error, 'ABORT_ERR');
});

test('prober: 2,000 probes at once all finish, each with its own answer', async (t) => {
  const p = need(t);
  if (!p) return;
  const results = await Promise.all(
    Array.from({ length: 2000 }, (_, i) =>
      p.probe('127.0.0.1', port['127.0.0.1'] as number, 10_000, NEVER, { request: line(`echo ${i}`), readLimit: 100 }),
    ),
  );
  results.forEach((r, i) => {
    assert.equal(r.error, undefined, `probe ${i}: ${r.error}`);
    assert.equal(r.data?.toString(), `you said ${i}`);
  });
});

test('prober: accepts numeric addresses only; a bad address is a rejection, not a crash', async (t) => {
  const p = need(t);
  if (!p) return;
  assert.equal(p.accepts('127.0.0.1'), true);
  assert.equal(p.accepts('::1'), true);
  assert.equal(p.accepts('localhost'), false);
  assert.equal(p.accepts('fe80::1%eth0'), false);
  await assert.rejects(p.probe('localhost', 80, 100, NEVER), /EINVAL/);
});

test('prober: close() ends probes in flight; a closed prober answers ABORT_ERR', async (t) => {
  if (!need(t)) return;
  const own = openTcpProber() as TcpProber;
  const pending = own.probe('127.0.0.1', port['silent'] as number, 5000, NEVER, {
    request: line('hold'),
    readLimit: 10,
  });
  await new Promise((r) => setTimeout(r, 50));
  own.close();
  assert.equal((await pending).error, 'ABORT_ERR');
  assert.equal((await own.probe('127.0.0.1', port['127.0.0.1'] as number, 1000, NEVER)).error, 'ABORT_ERR');
  own.close();
});

test('prober: an idle prober never keeps the process alive; one in flight does until it ends', (t) => {
  if (!need(t)) return;
  const module = path.resolve(__dirname, '../../../src/checks/tcp-prober.js');
  const script = `
    const net = require('node:net');
    const { openTcpProber } = require(${JSON.stringify(module)});
    const server = net.createServer((s) => setTimeout(() => s.end('late'), 300)).listen(0, '127.0.0.1', async () => {
      const p = openTcpProber();
      const r = p.probe('127.0.0.1', server.address().port, 2000, new AbortController().signal, { request: Buffer.from('x'), readLimit: 10 });
      server.unref();
      r.then((o) => console.log('answer', o.data && o.data.toString()));
    });`;
  const started = Date.now();
  const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /answer late/, 'the probe in flight kept the process alive');
  assert.ok(Date.now() - started < 5000, 'and the idle prober let it exit');
});
