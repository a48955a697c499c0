// Golden bytes for the netlink/IPVS codec: every message kind encoded, kernel replies decoded.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeAttrs, encodeAttrs, u32 } from '../../../src/ipvs/netlink/attributes';
import { IPVS_CMD, NLM_F } from '../../../src/ipvs/netlink/constants';
import { getFamilyRequest } from '../../../src/ipvs/netlink/family';
import {
  daemonAttrs,
  decodeDaemon,
  decodeDestination,
  decodeInfo,
  decodeService,
  decodeTimeouts,
  destinationSpecAttrs,
  serviceIdentityAttrs,
  serviceSpecAttrs,
  timeoutAttrs,
  withDestination,
  withService,
} from '../../../src/ipvs/netlink/ipvs-codec';
import { collect, decodeAck, encodeGenl, splitMessages } from '../../../src/ipvs/netlink/message';
import { opMessage } from '../../../src/ipvs/netlink/backend';
import { opResult } from '../../../src/ipvs/op-result';
import type { IpvsService } from '../../../src/ipvs/types';

/** Hex with spaces and | for readability. */
const hex = (s: string): Buffer => Buffer.from(s.replace(/[\s|]/g, ''), 'hex');

const TCP_SERVICE: IpvsService = {
  family: 'inet',
  protocol: 'tcp',
  address: '10.0.0.1',
  port: 80,
  scheduler: 'wrr',
  onePacket: false,
  schedulerFlags: [],
};

describe('requests', () => {
  test('CTRL_CMD_GETFAMILY for IPVS', () => {
    assert.equal(
      getFamilyRequest('IPVS', 1).toString('hex'),
      hex(`
      20000000 1000 0500 01000000 00000000 | 03 01 0000 | 0900 0200 49505653 00 000000`).toString('hex'),
    );
  });

  test('NEW_SERVICE tcp 10.0.0.1:80 wrr', () => {
    const msg = encodeGenl({
      family: 32,
      cmd: IPVS_CMD.NEW_SERVICE,
      version: 1,
      flags: NLM_F.REQUEST | NLM_F.ACK,
      seq: 7,
      attrs: withService(serviceSpecAttrs(TCP_SERVICE)),
    });
    assert.equal(
      msg.toString('hex'),
      hex(`
      68000000 2000 0500 07000000 00000000 | 01 01 0000 |
      5400 0180
        0600 0100 0200 0000
        0600 0200 0600 0000
        1400 0300 0a000001 00000000 00000000 00000000
        0600 0400 0050 0000
        0800 0600 77727200
        0c00 0700 00000000 ffffffff
        0800 0800 00000000
        0800 0900 ffffffff`).toString('hex'),
    );
  });

  test('SET_SERVICE with persistence, netmask, one-packet, scheduler flags and a persistence engine', () => {
    const svc: IpvsService = {
      family: 'inet',
      protocol: 'udp',
      address: '192.0.2.1',
      port: 5060,
      scheduler: 'sh',
      persistent: 300,
      netmask: '255.255.255.0',
      onePacket: true,
      schedulerFlags: ['flag-1', 'flag-2'],
      persistenceEngine: 'sip',
    };
    const attrs = decodeAttrs(encodeAttrs(withService(serviceSpecAttrs(svc))));
    const inner = decodeAttrs(attrs.get(1) as Buffer);
    assert.equal((inner.get(2) as Buffer).toString('hex'), '1100');
    assert.equal((inner.get(4) as Buffer).toString('hex'), '13c4');
    assert.equal((inner.get(7) as Buffer).toString('hex'), '1d000000ffffffff', 'PERSISTENT|ONEPACKET|SCHED1|SCHED2');
    assert.equal((inner.get(8) as Buffer).toString('hex'), '2c010000');
    assert.equal((inner.get(9) as Buffer).toString('hex'), 'ffffff00', 'IPv4 netmask in network order');
    assert.equal((inner.get(11) as Buffer).toString('hex'), '73697000');
    assert.equal(opMessage({ op: 'edit-service', service: svc }).cmd, IPVS_CMD.SET_SERVICE);
  });

  test('IPv6 service: 16-byte address, netmask as a host-order prefix length', () => {
    const svc: IpvsService = {
      family: 'inet6',
      protocol: 'tcp',
      address: '2001:db8::1',
      port: 443,
      scheduler: 'mh',
      persistent: 60,
      netmask: '64',
      onePacket: false,
      schedulerFlags: [],
    };
    const inner = decodeAttrs(encodeAttrs(serviceSpecAttrs(svc)));
    assert.equal((inner.get(1) as Buffer).toString('hex'), '0a00');
    assert.equal((inner.get(3) as Buffer).toString('hex'), '20010db8000000000000000000000001');
    assert.equal((inner.get(9) as Buffer).toString('hex'), '40000000');
  });

  test('fwmark service identity: AF + FWMARK only', () => {
    assert.equal(
      encodeAttrs(serviceIdentityAttrs({ family: 'inet', fwmark: 7 })).toString('hex'),
      hex(`
      0600 0100 0200 0000 | 0800 0500 07000000`).toString('hex'),
    );
  });

  test('NEW_DEST masq 10.0.0.2:8080 weight 3 thresholds', () => {
    const attrs = withDestination(
      serviceIdentityAttrs({ family: 'inet', fwmark: 7 }),
      destinationSpecAttrs({
        address: '10.0.0.2',
        family: 'inet',
        port: 8080,
        forward: 'masq',
        weight: 3,
        upperThreshold: 100,
        lowerThreshold: 10,
      }),
    );
    assert.equal(
      encodeAttrs(attrs).toString('hex'),
      hex(`
      1400 0180 | 0600 0100 0200 0000 | 0800 0500 07000000 |
      4800 0280
        1400 0100 0a000002 00000000 00000000 00000000
        0600 0200 1f90 0000
        0600 0b00 0200 0000
        0800 0300 00000000
        0800 0400 03000000
        0800 0500 64000000
        0800 0600 0a000000`).toString('hex'),
    );
  });

  test('tunnel destination: GUE type, port in network order, checksum flags; route and local methods', () => {
    const dest = decodeAttrs(
      encodeAttrs(
        destinationSpecAttrs({
          address: '10.0.0.9',
          family: 'inet',
          port: 443,
          forward: 'tunnel',
          weight: 1,
          upperThreshold: 0,
          lowerThreshold: 0,
          tunnelType: 'gue',
          tunnelPort: 6080,
          tunnelChecksum: 'csum',
        }),
      ),
    );
    assert.equal((dest.get(3) as Buffer).toString('hex'), '02000000');
    assert.equal((dest.get(13) as Buffer).toString('hex'), '01');
    assert.equal((dest.get(14) as Buffer).toString('hex'), '17c0');
    assert.equal((dest.get(15) as Buffer).toString('hex'), '0100');
    const route = decodeAttrs(
      encodeAttrs(
        destinationSpecAttrs({
          address: '10.0.0.9',
          family: 'inet',
          port: 0,
          forward: 'route',
          weight: 0,
          upperThreshold: 0,
          lowerThreshold: 0,
        }),
      ),
    );
    assert.equal((route.get(3) as Buffer).toString('hex'), '03000000');
    assert.equal(route.get(13), undefined, 'no tunnel attributes on a route destination');
  });

  test('DEL_DEST carries identity only; DEL_SERVICE identity only', () => {
    const del = opMessage({
      op: 'delete-destination',
      service: { family: 'inet', fwmark: 7 },
      destination: { address: '10.0.0.2', port: 80, family: 'inet' },
    });
    assert.equal(del.cmd, IPVS_CMD.DEL_DEST);
    const dest = decodeAttrs(decodeAttrs(encodeAttrs(del.attrs)).get(2) as Buffer);
    assert.deepEqual([...dest.keys()], [1, 2, 11]);
    const delSvc = opMessage({
      op: 'delete-service',
      service: { family: 'inet', protocol: 'tcp', address: '10.0.0.1', port: 80 },
    });
    assert.equal(delSvc.cmd, IPVS_CMD.DEL_SERVICE);
    assert.deepEqual([...decodeAttrs(decodeAttrs(encodeAttrs(delSvc.attrs)).get(1) as Buffer).keys()], [1, 2, 3, 4]);
  });

  test('SET_CONFIG timeouts, NEW_DAEMON', () => {
    assert.equal(
      encodeAttrs(timeoutAttrs({ tcp: 900, tcpFin: 120, udp: 0 })).toString('hex'),
      hex(`
      0800 0400 84030000 | 0800 0500 78000000 | 0800 0600 00000000`).toString('hex'),
    );
    const d = decodeAttrs(
      decodeAttrs(
        encodeAttrs(
          daemonAttrs({ state: 'backup', interface: 'eth1', syncId: 5, port: 8848, group: '224.0.0.81', ttl: 1 }),
        ),
      ).get(3) as Buffer,
    );
    assert.equal((d.get(1) as Buffer).toString('hex'), '02000000');
    assert.equal((d.get(2) as Buffer).toString('utf8'), 'eth1\0');
    assert.equal((d.get(5) as Buffer).toString('hex'), 'e0000051');
    assert.equal((d.get(7) as Buffer).toString('hex'), '9022', 'MCAST_PORT is host order');
  });
});

describe('replies', () => {
  /** A NEW_SERVICE reply as the kernel sends it: HASHED set, 16-byte v4 address, STATS and STATS64 with PAD. */
  const SERVICE_REPLY = hex(`
    cc000000 2000 0200 09000000 00000000 | 01 01 0000 |
    b800 0100
      0600 0100 0200 0000
      0600 0200 0600 0000
      1400 0300 0a000001 00000000 00000000 00000000
      0600 0400 0050 0000
      0800 0600 77726300
      0c00 0700 03000000 ffffffff
      0800 0800 2c010000
      0800 0900 ffffff00
      2800 0a00
        0800 0100 01000000
        0800 0200 02000000
        0c00 0400 78000000 00000000
        0800 0900 07000000
      3c00 0c00
        0400 0b00
        0c00 0100 01000000 00000000
        0400 0b00
        0c00 0200 02000000 00000000
        0c00 0400 78000000 00000000
        0c00 0900 07000000 00000000`);

  test('a service reply decodes to the model (HASHED masked, persistence, stats64 preferred)', () => {
    const [msg] = splitMessages(SERVICE_REPLY);
    assert.ok(msg);
    assert.equal(msg.flags & NLM_F.MULTI, NLM_F.MULTI);
    const tx = collect(SERVICE_REPLY);
    const reply = tx.data.get(9)?.[0];
    assert.ok(reply);
    assert.equal(reply.cmd, IPVS_CMD.NEW_SERVICE);
    const { service, stats } = decodeService(reply.attrs);
    assert.deepEqual(service, {
      family: 'inet',
      protocol: 'tcp',
      address: '10.0.0.1',
      port: 80,
      scheduler: 'wrc',
      persistent: 300,
      netmask: '255.255.255.0',
      onePacket: false,
      schedulerFlags: [],
    });
    assert.equal(stats?.conns, 1n);
    assert.equal(stats?.inPackets, 2n);
    assert.equal(stats?.inBytes, 120n);
    assert.equal(stats?.inBps, 7n);
    assert.equal(stats?.outBytes, 0n);
    assert.equal(decodeService(reply.attrs, false).stats, undefined, 'no traffic counters when not asked for');
  });

  test('a destination reply decodes, with connection counts and legacy stats when STATS64 is absent', () => {
    const top = decodeAttrs(
      hex(`
      6400 0200
        1400 0100 0a000002 00000000 00000000 00000000
        0600 0200 1f90 0000
        0800 0300 03000000
        0800 0400 05000000
        0800 0500 00000000
        0800 0600 00000000
        0800 0700 02000000
        0800 0800 03000000
        0800 0900 00000000
        0c00 0a00 | 0800 0100 04000000`),
    );
    assert.deepEqual(decodeDestination(top, 'inet'), {
      address: '10.0.0.2',
      family: 'inet',
      port: 8080,
      forward: 'route',
      weight: 5,
      upperThreshold: 0,
      lowerThreshold: 0,
      activeConns: 2,
      inactiveConns: 3,
      persistentConns: 0,
      stats: {
        conns: 4n,
        inPackets: 0n,
        outPackets: 0n,
        inBytes: 0n,
        outBytes: 0n,
        cps: 0n,
        inPps: 0n,
        outPps: 0n,
        inBps: 0n,
        outBps: 0n,
      },
    });
    // A table pass's listing: the same without the traffic counters.
    assert.deepEqual(decodeDestination(top, 'inet', false), {
      address: '10.0.0.2',
      family: 'inet',
      port: 8080,
      forward: 'route',
      weight: 5,
      upperThreshold: 0,
      lowerThreshold: 0,
      activeConns: 2,
      inactiveConns: 3,
      persistentConns: 0,
    });
  });

  test('ACK, error with extended ack message, DONE, grouped by sequence', () => {
    const buf = Buffer.concat([
      hex('24000000 0200 0001 05000000 00000000 | 00000000 | 14000000 2000 0500 05000000 00000000'),
      hex(`38000000 0200 0003 06000000 00000000 | efffffff | 14000000 2000 0500 06000000 00000000 |
           1400 0100 ${Buffer.from('service exists\0\0', 'latin1').toString('hex')}`),
      hex('14000000 0300 0200 07000000 00000000 | 00000000'),
    ]);
    const tx = collect(buf);
    assert.deepEqual(tx.acks.get(5), { seq: 5, errno: undefined });
    assert.deepEqual(tx.acks.get(6), { seq: 6, errno: 'EEXIST', extMessage: 'service exists' });
    assert.ok(tx.done.has(7));
    const [, err] = splitMessages(buf);
    assert.ok(err);
    assert.equal(decodeAck(err).errno, 'EEXIST');
  });

  test('GET_INFO, GET_CONFIG and GET_DAEMON replies', () => {
    assert.deepEqual(decodeInfo(decodeAttrs(hex('0800 0100 01020100 | 0800 0200 00100000'))), {
      version: '1.2.1',
      connTableSize: 4096,
    });
    assert.deepEqual(decodeTimeouts(decodeAttrs(encodeAttrs(timeoutAttrs({ tcp: 900, tcpFin: 120, udp: 300 })))), {
      tcp: 900,
      tcpFin: 120,
      udp: 300,
    });
    const d = {
      state: 'master' as const,
      interface: 'eth0',
      syncId: 3,
      maxLength: 1472,
      group: '224.0.0.81',
      port: 8848,
      ttl: 1,
    };
    assert.deepEqual(decodeDaemon(decodeAttrs(encodeAttrs(daemonAttrs(d)))), d);
  });

  test('malformed lengths are protocol errors, never crashes', () => {
    assert.throws(() => decodeAttrs(hex('ff00 0100 00000000')), { code: 'LDIR_ERR_IPVS_PROTOCOL' });
    assert.throws(() => splitMessages(hex('ff000000 0200 0000 01000000 00000000')), { code: 'LDIR_ERR_IPVS_PROTOCOL' });
    assert.throws(() => decodeService(decodeAttrs(encodeAttrs([{ type: 1, value: [{ type: 1, value: u32(99) }] }]))), {
      code: 'LDIR_ERR_IPVS_PROTOCOL',
    });
  });
});

describe('results', () => {
  test('adds that find the entry and deletes that find it gone converge; other errors fail', () => {
    const svcKey = { family: 'inet' as const, fwmark: 1 };
    assert.deepEqual(
      opResult(
        { op: 'add-service', service: { ...svcKey, scheduler: 'rr', onePacket: false, schedulerFlags: [] } },
        'EEXIST',
      ),
      { status: 'converged', errno: 'EEXIST' },
    );
    assert.deepEqual(opResult({ op: 'delete-service', service: svcKey }, 'ESRCH'), {
      status: 'converged',
      errno: 'ESRCH',
    });
    const dest = { address: '10.0.0.1', port: 80, family: 'inet' as const };
    assert.deepEqual(opResult({ op: 'delete-destination', service: svcKey, destination: dest }, 'ENOENT'), {
      status: 'converged',
      errno: 'ENOENT',
    });
    assert.deepEqual(
      opResult(
        {
          op: 'edit-destination',
          service: svcKey,
          destination: { ...dest, forward: 'masq', weight: 1, upperThreshold: 0, lowerThreshold: 0 },
        },
        'ENOENT',
        'no dest',
      ),
      { status: 'failed', errno: 'ENOENT', message: 'ENOENT: no dest' },
    );
    assert.deepEqual(
      opResult(
        { op: 'add-service', service: { ...svcKey, scheduler: 'nope', onePacket: false, schedulerFlags: [] } },
        undefined,
      ),
      { status: 'done' },
    );
  });
});
