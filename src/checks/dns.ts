// `service=dns`: ask the real server for `request` (A, or PTR when it is an address), UDP or TCP as the virtual
// service; up when an A address or PTR name in the answer matches `receive` (ldirectord's check_dns).
import { randomInt } from 'node:crypto';
import * as net from 'node:net';
import type * as DnsPacket from 'dns-packet';

/** dns-packet, loaded with the first dns check (most directors have none: start-up time saved; require caches it). */
const packet = (): typeof DnsPacket => require('dns-packet') as typeof DnsPacket;
import * as ipaddr from 'ipaddr.js';
import { fail, guardCheck, pass, receivePattern, type CheckVerdict } from './guard';
import { readUntil, udpExchange, withTcp } from './sockets';
import type { Checker } from './types';

const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];

/** The question ldirectord's `search(request)` asks: PTR of the reverse name for an address, else A of the name. */
export function dnsQuestion(request: string): DnsPacket.Question {
  const name = request.replace(/^\//, '');
  if (!net.isIP(name)) return { type: 'A', name };
  const bytes = ipaddr.parse(name).toByteArray();
  const reverse =
    bytes.length === 4
      ? `${[...bytes].reverse().join('.')}.in-addr.arpa`
      : `${bytes
          .flatMap((b) => [b >> 4, b & 15])
          .reverse()
          .map((n) => n.toString(16))
          .join('.')}.ip6.arpa`;
  return { type: 'PTR', name: reverse };
}

/** The verdict on a decoded answer: the first A address or PTR name that matches `pattern`. */
function judge(reply: DnsPacket.DecodedPacket, pattern: RegExp, receive: string): CheckVerdict {
  const rcode = (reply.flags ?? 0) & 15;
  if (rcode !== 0) return fail(`rcode ${RCODES[rcode] ?? rcode}`);
  const answers = reply.answers ?? [];
  for (const rr of answers) {
    if ((rr.type === 'A' || rr.type === 'PTR') && typeof rr.data === 'string' && pattern.test(rr.data)) {
      return pass(`${rr.type} ${rr.data}`);
    }
  }
  return fail(answers.length === 0 ? 'no answer' : `no answer matched /${receive}/`);
}

/** Decodes a reply; undefined when it is not the answer to query `id` (stray or malformed datagram). */
function decodeReply(buf: Buffer, id: number): DnsPacket.DecodedPacket | undefined {
  try {
    const reply = packet().decode(buf);
    return reply.id === id && reply.type === 'response' ? reply : undefined;
  } catch {
    return undefined;
  }
}

/** Asks over TCP (two-byte length prefix) and resolves with the reply. */
function askTcp(
  address: string,
  port: number,
  query: DnsPacket.Packet,
  signal: AbortSignal,
): Promise<DnsPacket.DecodedPacket> {
  return withTcp(address, port, signal, (socket) => {
    socket.write(packet().streamEncode(query));
    return readUntil(socket, signal, (data) => {
      if (data.length < 2) return undefined;
      const length = data.readUInt16BE(0);
      if (data.length < 2 + length) return undefined;
      const reply = decodeReply(data.subarray(2, 2 + length), query.id as number);
      if (!reply) throw new Error('malformed DNS reply');
      return reply;
    });
  });
}

/** Asks over UDP; a truncated reply is asked again over TCP, as resolvers do. */
async function askUdp(
  address: string,
  port: number,
  query: DnsPacket.Packet,
  signal: AbortSignal,
): Promise<DnsPacket.DecodedPacket> {
  const reply = await udpExchange(
    address,
    port,
    signal,
    () => packet().encode(query),
    (msg) => decodeReply(msg, query.id as number),
  );
  return reply.flag_tc ? askTcp(address, port, query, signal) : reply;
}

/** Up when the DNS server's answer to `request` has an A address or PTR name matching `receive`. */
export const dnsCheck: Checker = (job, signal) =>
  guardCheck(signal, job.negotiateTimeoutMs, async (s) => {
    const pattern = receivePattern(job.receive);
    if (!pattern) return fail('no receive pattern (dns checks need one)');
    const question = dnsQuestion(job.request);
    if (question.name === '') return fail('no request (the name to look up)');
    const query: DnsPacket.Packet = {
      type: 'query',
      id: randomInt(1, 65536),
      flags: packet().RECURSION_DESIRED,
      questions: [question],
    };
    const reply =
      job.protocol === 'tcp'
        ? await askTcp(job.address, job.port, query, s)
        : await askUdp(job.address, job.port, query, s);
    return judge(reply, pattern, job.receive);
  });
