// ICMP echo to loopback (127.0.0.1 and ::1 only) through a ping socket, or the raw-socket fallback when ping
// sockets are not permitted (net.ipv4.ping_group_range); skipped when neither is (under CI=true, failed).
import assert from 'node:assert/strict';
import type * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import { test } from 'node:test';
import { openPingSocket } from '../../../src/checks/icmp-socket';
import { ErrorCodes, isLdirError } from '../../../src/errors';
import { isNativeErrnoError, loadNativeAddon } from '../../../src/native/addon';
import { skipOrFail } from '../../helpers/prerequisites';

/** Internet checksum (RFC 1071). */
function checksum(b: Buffer): number {
  let sum = 0;
  for (let i = 0; i + 1 < b.length; i += 2) sum += b.readUInt16BE(i);
  if (b.length % 2 === 1) sum += (b[b.length - 1] as number) << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** An echo request (type 8 for IPv4, 128 for IPv6) with id, seq and a payload; IPv4 checksum filled in. */
function echoRequest(family: 4 | 6, id: number, seq: number): Buffer {
  const b = Buffer.alloc(8 + 16);
  b.writeUInt8(family === 6 ? 128 : 8, 0);
  b.writeUInt16BE(id, 4);
  b.writeUInt16BE(seq, 6);
  b.write('ldir-icmp-test!!', 8, 'latin1');
  if (family === 4) b.writeUInt16BE(checksum(b), 2); // the kernel computes ICMPv6 checksums itself
  return b;
}

/** Pings via a ping socket; resolves with the reply, rejects after 20 s (a hang guard: loopback answers at once). */
async function pingWithSocket(socket: dgram.Socket, family: 4 | 6, address: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no echo reply from ${address}`)), 20_000);
    socket.on('message', (msg) => {
      if (msg[0] === (family === 6 ? 129 : 0) && msg.readUInt16BE(6) === 7) {
        clearTimeout(timer);
        resolve(msg);
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.send(echoRequest(family, 0, 7), 1, address);
  });
}

/** Which kind of ICMP socket this host allows us, or the reason for none. */
function probe(family: 4 | 6): 'ping' | 'raw' | string {
  const addon = loadNativeAddon(); // not built: fail with the reason
  for (const raw of [false, true]) {
    try {
      fs.closeSync(addon.icmpOpen(family, raw));
      return raw ? 'raw' : 'ping';
    } catch (err) {
      if (!isNativeErrnoError(err) || !['EACCES', 'EPERM', 'EAFNOSUPPORT'].includes(err.code)) throw err;
    }
  }
  return `neither ping sockets (net.ipv4.ping_group_range) nor raw sockets (CAP_NET_RAW) are permitted for IPv${family}`;
}

for (const [family, address] of [
  [4, '127.0.0.1'],
  [6, '::1'],
] as const) {
  test(`ICMP echo to ${address}`, async (t) => {
    const kind = probe(family);
    if (kind !== 'ping' && kind !== 'raw') return skipOrFail(t, kind);
    t.diagnostic(`using a ${kind} socket`);
    if (kind === 'ping') {
      const socket = await openPingSocket(family);
      try {
        const reply = await pingWithSocket(socket, family, address);
        assert.equal(reply.subarray(8).toString('latin1'), 'ldir-icmp-test!!');
      } finally {
        socket.close();
      }
      return undefined;
    }
    await assert.rejects(
      openPingSocket(family),
      (err: unknown) =>
        isLdirError(err, ErrorCodes.ICMP_UNAVAILABLE) && ['EACCES', 'EPERM'].includes(String(err.details['errno'])),
    );
    const addon = loadNativeAddon();
    const fd = addon.icmpOpen(family, true);
    try {
      const id = process.pid & 0xffff;
      const reply = await addon.icmpRawTransact(fd, address, echoRequest(family, id, 7), 20_000); // a hang guard: loopback answers at once
      assert.ok(reply, `no echo reply from ${address}`);
      assert.equal(reply.from, address);
      assert.equal(reply.packet[0], family === 6 ? 129 : 0, 'echo reply type, IP header stripped');
      assert.equal(reply.packet.readUInt16BE(4), id);
      assert.equal(reply.packet.readUInt16BE(6), 7);
      assert.equal(reply.packet.subarray(8).toString('latin1'), 'ldir-icmp-test!!');
      assert.ok(
        reply.rttUs > 0 && reply.rttUs <= 20_000_000,
        `round trip ${reply.rttUs} us: positive, within the timeout`,
      );
    } finally {
      fs.closeSync(fd);
    }
    return undefined;
  });
}

test('raw transact to an unanswered address resolves null at the timeout', async (t) => {
  const addon = loadNativeAddon();
  let fd: number;
  try {
    fd = addon.icmpOpen(4, true);
  } catch (err) {
    return skipOrFail(t, `raw ICMP not permitted here (needs CAP_NET_RAW): ${(err as Error).message}`);
  }
  try {
    // A corrupted checksum makes the kernel drop the request, so no reply ever comes.
    const bad = echoRequest(4, process.pid & 0xffff, 9);
    bad.writeUInt16BE(bad.readUInt16BE(2) ^ 0xffff, 2);
    const started = performance.now();
    assert.equal(await addon.icmpRawTransact(fd, '127.0.0.1', bad, 300), null);
    assert.ok(performance.now() - started >= 250, 'it waited for its timeout');
    // A destination that is not a numeric address is rejected.
    await assert.rejects(
      addon.icmpRawTransact(fd, 'localhost', bad, 100),
      (err: unknown) => isNativeErrnoError(err) && err.code === 'EINVAL',
    );
  } finally {
    fs.closeSync(fd);
  }
  return undefined;
});
