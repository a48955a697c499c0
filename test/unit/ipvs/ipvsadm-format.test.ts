// Golden `ipvsadm -R` lines for every kind of operation, and the refusals of what ipvsadm 1.31 cannot express.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCodes, isLdirError } from '../../../src/errors';
import {
  formatOp,
  formatRestore,
  formatServiceKey,
  formatSetTimeouts,
  formatStartDaemon,
  formatStopDaemon,
  formatZero,
} from '../../../src/ipvs/ipvsadm/format';
import { destinationSpec } from '../../../src/ipvs/normalize';
import type { IpvsDestination, IpvsOp, IpvsService, ServiceKey } from '../../../src/ipvs/types';
import { FIXTURE_TABLE, ipvsadmFixture } from '../../helpers/ipvsadm-table';

const TCP: IpvsService = {
  family: 'inet',
  protocol: 'tcp',
  address: '192.0.2.10',
  port: 80,
  scheduler: 'wlc',
  onePacket: false,
  schedulerFlags: [],
};
const KEY: ServiceKey = { family: 'inet', protocol: 'tcp', address: '192.0.2.10', port: 80 };
const MASQ: IpvsDestination = {
  address: '10.1.0.1',
  family: 'inet',
  port: 8080,
  forward: 'masq',
  weight: 1,
  upperThreshold: 0,
  lowerThreshold: 0,
};

/** Asserts that formatting `op` throws IPVS_PROTOCOL with a message matching `re`. */
function refuses(op: IpvsOp, re: RegExp): void {
  assert.throws(
    () => formatOp(op),
    (err: unknown) => {
      assert.ok(isLdirError(err, ErrorCodes.IPVS_PROTOCOL), String(err));
      assert.match(err.message, /^ipvsadm cannot express /);
      assert.match(err.message, re);
      return true;
    },
  );
}

const service = (s: Partial<IpvsService>): IpvsOp => ({ op: 'add-service', service: { ...TCP, ...s } as IpvsService });
const destination = (d: Partial<IpvsDestination>, key: ServiceKey = KEY): IpvsOp => ({
  op: 'add-destination',
  service: key,
  destination: { ...MASQ, ...d },
});

describe('golden restore input', () => {
  test('the fixture table and edits/deletes of every kind give restore-plan.txt', () => {
    const ops: IpvsOp[] = [];
    for (const o of FIXTURE_TABLE) {
      ops.push({ op: 'add-service', service: o.service });
      for (const d of o.destinations)
        if (d.forward !== 'local')
          ops.push({ op: 'add-destination', service: o.service, destination: destinationSpec(d) });
    }
    const v6: ServiceKey = { family: 'inet6', protocol: 'tcp', address: '2001:db8::10', port: 80 };
    ops.push(
      { op: 'edit-service', service: { ...TCP, scheduler: 'wrr', persistent: 60 } },
      {
        op: 'edit-destination',
        service: KEY,
        destination: { ...MASQ, address: '10.1.0.2', weight: 5, upperThreshold: 10, lowerThreshold: 2 },
      },
      { op: 'delete-destination', service: KEY, destination: { address: '10.1.0.2', port: 8080, family: 'inet' } },
      { op: 'delete-destination', service: v6, destination: { address: '2001:db8:1::1', port: 80, family: 'inet6' } },
      {
        op: 'delete-destination',
        service: { family: 'inet6', fwmark: 8 },
        destination: { address: '2001:db8:2::1', port: 0, family: 'inet6' },
      },
      { op: 'delete-service', service: { family: 'inet', fwmark: 9 } },
      { op: 'delete-service', service: { family: 'inet6', protocol: 'udp', address: '2001:db8::10', port: 53 } },
      { op: 'delete-service', service: { family: 'inet', protocol: 'sctp', address: '192.0.2.10', port: 3868 } },
    );
    assert.equal(formatRestore(ops), ipvsadmFixture('restore-plan.txt'));
  });

  test('service keys', () => {
    assert.deepEqual(formatServiceKey(KEY), ['-t', '192.0.2.10:80']);
    assert.deepEqual(formatServiceKey({ ...KEY, protocol: 'udp' }), ['-u', '192.0.2.10:80']);
    assert.deepEqual(formatServiceKey({ ...KEY, protocol: 'sctp' }), ['--sctp-service', '192.0.2.10:80']);
    assert.deepEqual(formatServiceKey({ family: 'inet6', protocol: 'tcp', address: 'fd00::1', port: 443 }), [
      '-t',
      '[fd00::1]:443',
    ]);
    assert.deepEqual(formatServiceKey({ family: 'inet', fwmark: 4294967295 }), ['-f', '4294967295']);
    assert.deepEqual(formatServiceKey({ family: 'inet6', fwmark: 1 }), ['-f', '1', '-6']);
  });

  test('service options in ipvsadm -S order', () => {
    assert.equal(
      formatOp(
        service({
          persistent: 300,
          netmask: '255.255.0.0',
          persistenceEngine: 'sip',
          protocol: 'udp',
          onePacket: true,
          schedulerFlags: ['flag-3', 'flag-1', 'flag-1'],
        }),
      ),
      '-A -u 192.0.2.10:80 -s wlc -p 300 -M 255.255.0.0 --pe sip -o -b flag-1,flag-3',
    );
    assert.equal(
      formatOp({
        op: 'edit-service',
        service: {
          family: 'inet6',
          fwmark: 3,
          scheduler: 'mh',
          persistent: 1,
          netmask: '128',
          onePacket: true,
          schedulerFlags: ['flag-2'],
        },
      }),
      '-E -f 3 -6 -s mh -p 1 -M 128 -o -b flag-2',
    );
    assert.equal(formatOp(service({ persistent: 2678400 })), '-A -t 192.0.2.10:80 -s wlc -p 2678400');
  });

  test('destination options', () => {
    assert.equal(formatOp(destination({ weight: 0 })), '-a -t 192.0.2.10:80 -r 10.1.0.1:8080 -m -w 0 -x 0 -y 0');
    assert.equal(
      formatOp(destination({ forward: 'route', port: 80, upperThreshold: 2147483647, lowerThreshold: 7 })),
      '-a -t 192.0.2.10:80 -r 10.1.0.1:80 -g -w 1 -x 2147483647 -y 7',
    );
    assert.equal(
      formatOp({ op: 'edit-destination', service: KEY, destination: { ...MASQ, forward: 'tunnel', port: 80 } }),
      '-e -t 192.0.2.10:80 -r 10.1.0.1:80 -i -w 1 -x 0 -y 0',
    );
    assert.equal(
      formatOp(
        destination({ forward: 'tunnel', port: 80, tunnelType: 'ipip', tunnelChecksum: 'nocsum', tunnelPort: 0 }),
      ),
      '-a -t 192.0.2.10:80 -r 10.1.0.1:80 -i -w 1 -x 0 -y 0 --tun-type ipip',
    );
    assert.equal(
      formatOp(destination({ forward: 'tunnel', port: 80, tunnelType: 'gue', tunnelPort: 6080 })),
      '-a -t 192.0.2.10:80 -r 10.1.0.1:80 -i -w 1 -x 0 -y 0 --tun-type gue --tun-port 6080',
    );
    assert.equal(
      formatOp(destination({ forward: 'tunnel', port: 80, tunnelType: 'gre' })),
      '-a -t 192.0.2.10:80 -r 10.1.0.1:80 -i -w 1 -x 0 -y 0 --tun-type gre',
    );
    // fwmark services keep the destination port, route included; a v6 tunnel destination in a v4 service.
    assert.equal(
      formatOp(destination({ forward: 'route', port: 0 }, { family: 'inet', fwmark: 5 })),
      '-a -f 5 -r 10.1.0.1:0 -g -w 1 -x 0 -y 0',
    );
    assert.equal(
      formatOp(destination({ forward: 'tunnel', port: 80, address: '2001:db8::5', family: 'inet6' })),
      '-a -t 192.0.2.10:80 -r [2001:db8::5]:80 -i -w 1 -x 0 -y 0',
    );
  });

  test('single commands', () => {
    assert.deepEqual(formatSetTimeouts({ tcp: 900, tcpFin: 0, udp: 300 }), ['--set', '900', '0', '300']);
    assert.deepEqual(formatZero(), ['-Z']);
    assert.deepEqual(formatZero({ family: 'inet6', fwmark: 2 }), ['-Z', '-f', '2', '-6']);
    assert.deepEqual(formatZero(KEY), ['-Z', '-t', '192.0.2.10:80']);
    assert.deepEqual(formatStartDaemon({ state: 'master', interface: 'eth0', syncId: 10 }), [
      '--start-daemon',
      'master',
      '--mcast-interface',
      'eth0',
      '--syncid',
      '10',
    ]);
    assert.deepEqual(
      formatStartDaemon({
        state: 'backup',
        interface: 'bond0.12',
        syncId: 255,
        maxLength: 1400,
        group: 'ff02::8:8',
        port: 8850,
        ttl: 3,
      }),
      [
        '--start-daemon',
        'backup',
        '--mcast-interface',
        'bond0.12',
        '--syncid',
        '255',
        '--sync-maxlen',
        '1400',
        '--mcast-group',
        'ff02::8:8',
        '--mcast-port',
        '8850',
        '--mcast-ttl',
        '3',
      ],
    );
    assert.deepEqual(formatStopDaemon('backup'), ['--stop-daemon', 'backup']);
  });
});

describe('what ipvsadm cannot express', () => {
  test('service fields', () => {
    refuses(service({ port: 0 }), /non-persistent service on port 0/);
    refuses(service({ persistent: 0 }), /persistence timeout 0/);
    refuses(service({ persistent: 2678401 }), /persistence timeout 2678401/);
    refuses(service({ onePacket: true }), /one-packet scheduling on a tcp service/);
    refuses(service({ protocol: 'sctp', onePacket: true }), /one-packet scheduling on a sctp service/);
    refuses(service({ netmask: '24' }), /IPv4 persistence netmask '24'/);
    refuses(
      {
        op: 'add-service',
        service: { family: 'inet6', fwmark: 1, scheduler: 'rr', netmask: '129', onePacket: false, schedulerFlags: [] },
      },
      /prefix length '129'/,
    );
    refuses(service({ scheduler: 'rr -C' }), /scheduler name 'rr -C'/);
    refuses(service({ scheduler: 'averyveryverylongname' }), /scheduler name/);
    refuses(service({ persistenceEngine: 'sip\n-C' }), /persistence engine name/);
    refuses(service({ schedulerFlags: ['sh-port' as 'flag-2'] }), /scheduler flag 'sh-port'/);
    refuses(service({ address: 'www.example.org' }), /not a numeric IPv4 address/);
    refuses(service({ address: '2001:db8::1' }), /not a numeric IPv4 address/);
    refuses(service({ family: 'inet6', address: 'fe80::1%eth0' }), /without zone/);
    refuses(service({ port: 65536 }), /service port 65536/);
    refuses({ op: 'delete-service', service: { family: 'inet', fwmark: 0 } }, /firewall mark 0/);
  });

  test('destination fields', () => {
    refuses(destination({ forward: 'local' }), /local forwarding method/);
    refuses(destination({ forward: 'route' }), /port 8080 on a route destination of a service on port 80/);
    refuses(destination({ forward: 'tunnel' }), /port 8080 on a tunnel destination/);
    refuses(destination({ weight: -1 }), /weight -1/);
    refuses(destination({ weight: 2147483648 }), /weight 2147483648/);
    refuses(destination({ weight: 1.5 }), /weight 1.5/);
    refuses(destination({ upperThreshold: 2 ** 31 }), /upper threshold/);
    refuses(destination({ lowerThreshold: -3 }), /lower threshold/);
    refuses(destination({ address: '2001:db8::5', family: 'inet6' }), /inet6 masq destination in an inet service/);
    refuses(destination({ address: '2001:db8::5' }), /destination address '2001:db8::5' in family inet/);
    refuses(destination({ tunnelType: 'gue', tunnelPort: 1 }), /tunnel options on a masq destination/);
    refuses(destination({ forward: 'tunnel', port: 80, tunnelType: 'gue' }), /GUE tunnel port undefined/);
    refuses(
      destination({ forward: 'tunnel', port: 80, tunnelType: 'ipip', tunnelPort: 5 }),
      /tunnel port on an ipip tunnel/,
    );
    refuses(
      destination({ forward: 'tunnel', port: 80, tunnelChecksum: 'csum' }),
      /checksum mode 'csum' on an ipip tunnel/,
    );
    refuses(
      destination({ forward: 'tunnel', port: 80, tunnelType: 'gre', tunnelPort: 5 }),
      /tunnel port on a gre tunnel/,
    );
    refuses(
      destination({ forward: 'tunnel', port: 80, tunnelType: 'gre', tunnelChecksum: 'remcsum' }),
      /remote checksum offload on a gre tunnel/,
    );
  });

  test('single commands', () => {
    assert.throws(() => formatSetTimeouts({ tcp: 2678401, tcpFin: 0, udp: 0 }), /tcp timeout 2678401/);
    assert.throws(
      () => formatStartDaemon({ state: 'master', interface: 'eth0 --syncid', syncId: 1 }),
      /interface name/,
    );
    assert.throws(() => formatStartDaemon({ state: 'master', interface: 'eth0', syncId: 256 }), /sync id 256/);
    assert.throws(
      () => formatStartDaemon({ state: 'master', interface: 'eth0', syncId: 1, group: 'x' }),
      /multicast group 'x'/,
    );
  });
});
