// dns checker against a small DNS responder in the test (dns-packet), over UDP and TCP, on 127.0.0.1 and ::1.
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import * as dnsPacket from 'dns-packet';
import { after, before, test } from 'node:test';
import { dnsCheck, dnsQuestion } from '../../../src/checks/dns';
import { assertResult, makeJob, NEVER, refusedPort } from '../../helpers/check-job';

const V6_REVERSE = `${'0.'.repeat(31).replace(/^/, '1.')}ip6.arpa`;
const cleanups: (() => Promise<void>)[] = [];
const ports: Record<string, number> = {};

/** The answer to a query, or undefined to stay silent. `udp` answers `tc.example` with the truncation bit only. */
function respond(query: dnsPacket.DecodedPacket, udp: boolean): Buffer | undefined {
  const q = query.questions?.[0];
  if (!q || q.name === 'slow.example') return undefined;
  const reply = (answers: dnsPacket.Answer[], flags = 0): Buffer =>
    dnsPacket.encode({
      type: 'response',
      id: query.id,
      flags: dnsPacket.RECURSION_DESIRED | flags,
      questions: [q],
      answers,
    });
  if (q.type === 'A' && q.name === 'test.example')
    return reply([{ type: 'A', name: q.name, ttl: 60, data: '127.0.0.42' }]);
  if (q.type === 'A' && q.name === 'tc.example') {
    return udp
      ? reply([], dnsPacket.TRUNCATED_RESPONSE)
      : reply([{ type: 'A', name: q.name, ttl: 60, data: '127.0.0.43' }]);
  }
  if (q.type === 'A' && q.name === 'alias.example') {
    return reply([
      { type: 'CNAME', name: q.name, ttl: 60, data: 'test.example' },
      { type: 'A', name: 'test.example', ttl: 60, data: '127.0.0.42' },
    ]);
  }
  if (q.type === 'PTR' && q.name === '42.0.0.127.in-addr.arpa')
    return reply([{ type: 'PTR', name: q.name, ttl: 60, data: 'host.test.example' }]);
  if (q.type === 'PTR' && q.name === V6_REVERSE)
    return reply([{ type: 'PTR', name: q.name, ttl: 60, data: 'localhost6.test.example' }]);
  return reply([], 3); // NXDOMAIN
}

/** Binds UDP on a free port and TCP on the same number (as a DNS server does); retries when TCP's is taken. */
async function startResponder(host: string): Promise<void> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const udp = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    udp.on('message', (msg, rinfo) => {
      const answer = respond(dnsPacket.decode(msg), true);
      if (answer) udp.send(answer, rinfo.port, rinfo.address);
    });
    await new Promise<void>((resolve) => udp.bind(0, host, () => resolve()));
    const port = udp.address().port;
    const tcp = net.createServer((s) => {
      s.on('error', () => undefined);
      let buf = Buffer.alloc(0);
      s.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length < 2 || buf.length < 2 + buf.readUInt16BE(0)) return;
        const answer = respond(dnsPacket.decode(buf.subarray(2)), false);
        if (!answer) return;
        const len = Buffer.alloc(2);
        len.writeUInt16BE(answer.length);
        // Split the answer to exercise reassembly.
        s.write(Buffer.concat([len, answer.subarray(0, 5)]));
        setTimeout(() => s.end(answer.subarray(5)), 10);
      });
    });
    const listening = await new Promise<boolean>((resolve) => {
      tcp.once('error', () => resolve(false));
      tcp.listen(port, host, () => resolve(true));
    });
    const closeUdp = (): Promise<void> => new Promise((resolve) => udp.close(() => resolve()));
    if (!listening) {
      await closeUdp();
      continue;
    }
    ports[host] = port;
    cleanups.push(closeUdp, () => new Promise((resolve) => tcp.close(() => resolve())));
    return;
  }
  throw new Error(`no port free for both UDP and TCP on ${host}`);
}

before(async () => {
  await startResponder('127.0.0.1');
  await startResponder('::1');
});
after(async () => {
  for (const c of cleanups) await c();
});

for (const host of ['127.0.0.1', '::1']) {
  for (const protocol of ['udp', 'tcp'] as const) {
    const job = (request: string, receive: string, extra = {}) =>
      makeJob({
        service: 'dns',
        address: host,
        port: ports[host] as number,
        protocol,
        request,
        receive,
        negotiateTimeoutMs: 500,
        ...extra,
      });

    test(`dns ${host} ${protocol}: A answer matching receive is up; a different one is down`, async () => {
      assertResult(await dnsCheck(job('/test.example', '^127\\.0\\.0\\.42$'), NEVER), true, /^A 127\.0\.0\.42$/);
      assertResult(await dnsCheck(job('/alias.example', '127.0.0.42'), NEVER), true, /^A /);
      assertResult(await dnsCheck(job('/test.example', '^10\\.'), NEVER), false, /^no answer matched \/\^10\\.\/$/);
      assertResult(await dnsCheck(job('/missing.example', '.'), NEVER), false, /^rcode NXDOMAIN$/);
    });

    test(`dns ${host} ${protocol}: PTR of an address, silence times out, empty receive is down`, async () => {
      assertResult(await dnsCheck(job('/127.0.0.42', 'host\\.test'), NEVER), true, /^PTR host\.test\.example$/);
      assertResult(await dnsCheck(job('::1', 'localhost6'), NEVER), true, /^PTR localhost6/);
      assertResult(await dnsCheck(job('/slow.example', '.'), NEVER), false, /^timeout$/, 450);
      assertResult(await dnsCheck(job('/test.example', ''), NEVER), false, /no receive pattern/);
    });
  }
}

test('dns: a truncated UDP answer is asked again over TCP', async () => {
  const job = makeJob({
    service: 'dns',
    port: ports['127.0.0.1'] as number,
    protocol: 'udp',
    request: '/tc.example',
    receive: '127.0.0.43',
  });
  assertResult(await dnsCheck(job, NEVER), true, /^A 127\.0\.0\.43$/);
});

test('dns: refused over TCP and ICMP-refused over UDP are down', async () => {
  const port = await refusedPort();
  for (const protocol of ['tcp', 'udp'] as const) {
    const r = await dnsCheck(
      makeJob({ service: 'dns', port, protocol, request: '/test.example', receive: '.', negotiateTimeoutMs: 500 }),
      NEVER,
    );
    assertResult(r, false, /^refused$/);
  }
});

test('dns question: A for names, PTR for IPv4 and IPv6 addresses', () => {
  assert.deepEqual(dnsQuestion('/www.example.org'), { type: 'A', name: 'www.example.org' });
  assert.deepEqual(dnsQuestion('/192.0.2.1'), { type: 'PTR', name: '1.2.0.192.in-addr.arpa' });
  assert.deepEqual(dnsQuestion('::1'), { type: 'PTR', name: V6_REVERSE });
});
