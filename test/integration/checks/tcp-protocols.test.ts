// nntp, sip and simpletcp checkers against small protocol servers in the test (TCP on 127.0.0.1 and ::1, UDP too).
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { after, test } from 'node:test';
import { nntpCheck } from '../../../src/checks/nntp';
import { simpletcpCheck, simpletcpPayload } from '../../../src/checks/simpletcp';
import { sipCheck } from '../../../src/checks/sip';
import { assertResult, closeServer, listen, makeJob, NEVER, refusedPort, silentServer } from '../../helpers/check-job';

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups) await c();
});

/** A TCP server running `onConnection`, on `host`; resolves with its port. */
async function tcpServer(host: string, onConnection: (s: net.Socket) => void): Promise<number> {
  const server = net.createServer((s) => {
    s.on('error', () => undefined);
    onConnection(s);
  });
  const port = await listen(server, host);
  cleanups.push(() => closeServer(server));
  return port;
}

/** A UDP server answering each datagram with `reply(msg)` (nothing when it returns undefined). */
async function udpServer(host: string, reply: (msg: Buffer) => string | undefined): Promise<number> {
  const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  socket.on('message', (msg, rinfo) => {
    const answer = reply(msg);
    if (answer !== undefined) socket.send(answer, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, host, () => resolve()));
  cleanups.push(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  return socket.address().port;
}

async function silentPort(host: string): Promise<number> {
  const s = silentServer();
  const port = await listen(s, host);
  cleanups.push(() => closeServer(s));
  return port;
}

for (const host of ['127.0.0.1', '::1']) {
  test(`nntp ${host}: 200 greeting is up, 400 is down, silence times out, refused`, async () => {
    const ok = await tcpServer(host, (s) => s.write('200 news.example.org InterNetNews ready\r\n'));
    const busy = await tcpServer(host, (s) => s.end('400 too busy\r\n'));
    const job = (port: number) => makeJob({ service: 'nntp', address: host, port, negotiateTimeoutMs: 500 });
    assertResult(await nntpCheck(job(ok), NEVER), true, /^200 news/);
    assertResult(await nntpCheck(job(busy), NEVER), false, /unexpected greeting "400 too busy"/);
    assertResult(await nntpCheck(job(await silentPort(host)), NEVER), false, /^timeout$/, 450);
    assertResult(await nntpCheck(job(await refusedPort(host)), NEVER), false, /^refused$/);
  });

  test(`simpletcp ${host}: a reply line matching receive is up; no match, silence, refused are down`, async () => {
    const echo = await tcpServer(host, (s) => {
      let got = '';
      s.on('data', (d) => (got += d.toString()));
      s.on('end', () => s.end(`hello\nyou said ${JSON.stringify(got)}\nbye\n`)); // answers after our half-close
    });
    const job = (port: number, receive: string) =>
      makeJob({
        service: 'simpletcp',
        address: host,
        port,
        request: '/PING\\nPING2',
        receive,
        negotiateTimeoutMs: 500,
      });
    assertResult(await simpletcpCheck(job(echo, '^you said "PING\\\\nPING2"$'), NEVER), true, /matched/);
    assertResult(await simpletcpCheck(job(echo, 'PONG'), NEVER), false, /^no line matched \/PONG\/$/);
    assertResult(await simpletcpCheck(job(await silentPort(host), 'x'), NEVER), false, /^timeout$/, 450);
    assertResult(await simpletcpCheck(job(await refusedPort(host), 'x'), NEVER), false, /^refused$/);
  });

  test(`sip ${host} over TCP and UDP: 200 is up, 404 is down, silence times out`, async () => {
    const seen: string[] = [];
    const answer =
      (code: string) =>
      (msg: string): string => {
        seen.push(msg);
        return `SIP/2.0 ${code}\r\nVia: x\r\nContent-Length: 0\r\n\r\n`;
      };
    const tcpOk = await tcpServer(host, (s) => s.once('data', (d) => s.write(answer('200 OK')(d.toString()))));
    const tcpNo = await tcpServer(host, (s) => s.once('data', (d) => s.write(answer('404 Not Found')(d.toString()))));
    const udpOk = await udpServer(host, (m) => answer('200 OK')(m.toString()));
    const udpNo = await udpServer(host, (m) => answer('404 Not Found')(m.toString()));
    const udpSilent = await udpServer(host, () => undefined);
    const job = (port: number, protocol: 'tcp' | 'udp') =>
      makeJob({ service: 'sip', address: host, port, protocol, login: 'ldirectord@test', negotiateTimeoutMs: 500 });
    assertResult(await sipCheck(job(tcpOk, 'tcp'), NEVER), true, /^SIP\/2\.0 200 OK$/);
    assertResult(await sipCheck(job(tcpNo, 'tcp'), NEVER), false, /status "SIP\/2\.0 404 Not Found"/);
    assertResult(await sipCheck(job(udpOk, 'udp'), NEVER), true, /^SIP\/2\.0 200 OK$/);
    assertResult(await sipCheck(job(udpNo, 'udp'), NEVER), false, /404/);
    assertResult(await sipCheck(job(udpSilent, 'udp'), NEVER), false, /^timeout$/, 450);
    assertResult(await sipCheck(job(await silentPort(host), 'tcp'), NEVER), false, /^timeout$/, 450);
    const request = seen[0] ?? '';
    assert.match(request, /^OPTIONS sip:ldirectord@test SIP\/2\.0\r\n/);
    assert.match(request, /\r\nVia: SIP\/2\.0\/TCP (\[::1\]|127\.0\.0\.1):\d+;branch=z9hG4bK/);
    assert.match(request, /\r\nCSeq: 63104 OPTIONS\r\n/);
    assert.ok(request.endsWith('Content-Length: 0\r\n\r\n'));
  });
}

test('simpletcp over UDP: a matching datagram line is up; silence times out; ICMP refusal is down', async () => {
  const port = await udpServer('127.0.0.1', (m) => `got ${m.toString()}\nstatus: ready\n`);
  const silent = await udpServer('127.0.0.1', () => undefined);
  const job = (p: number, receive: string) =>
    makeJob({ service: 'simpletcp', protocol: 'udp', port: p, request: '/status', receive, negotiateTimeoutMs: 500 });
  assertResult(await simpletcpCheck(job(port, '^status: ready$'), NEVER), true, /matched/);
  assertResult(await simpletcpCheck(job(port, 'nope'), NEVER), false, /^timeout$/, 450);
  assertResult(await simpletcpCheck(job(silent, 'x'), NEVER), false, /^timeout$/, 450);
  const closed = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => closed.bind(0, '127.0.0.1', () => resolve()));
  const closedPort = closed.address().port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  assertResult(await simpletcpCheck(job(closedPort, 'x'), NEVER), false, /^refused$/);
});

test('simpletcp payload: leading slash removed, \\n escapes become newlines', () => {
  assert.equal(simpletcpPayload('/GET\\nHost: x\\n').toString(), 'GET\nHost: x\n');
  assert.equal(simpletcpPayload('').toString(), '');
});
