// ipvsadm 1.31 output parsing: listings in every table format, timeouts, daemons, and -R stderr attribution.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCodes, isLdirError } from '../../../src/errors';
import {
  classifyRestoreStderr,
  errnoOfMessage,
  parseAddressPort,
  parseDaemons,
  parseInfo,
  parseListing,
  parseListingSections,
  parseTimeouts,
  parseTunnelInfo,
} from '../../../src/ipvs/ipvsadm/parse';
import { restoreInput } from '../../../src/ipvs/ipvsadm/restore';
import type { ObservedService } from '../../../src/ipvs/types';
import { FIXTURE_TABLE, ipvsadmFixture } from '../../helpers/ipvsadm-table';

/** The fixture table without what a listing format does not carry. */
function strip(
  table: readonly ObservedService[],
  opts: { stats?: boolean; tunnel?: boolean; thresholds?: boolean; persist?: boolean },
): ObservedService[] {
  return table.map((o) => ({
    service: o.service,
    ...(opts.stats && o.stats ? { stats: o.stats } : {}),
    destinations: o.destinations.map((d) => {
      const { stats, tunnelType, tunnelPort, tunnelChecksum, ...rest } = d;
      return {
        ...rest,
        upperThreshold: opts.thresholds ? d.upperThreshold : 0,
        lowerThreshold: opts.thresholds ? d.lowerThreshold : 0,
        persistentConns: opts.persist ? d.persistentConns : 0,
        ...(opts.tunnel && tunnelType !== undefined ? { tunnelType } : {}),
        ...(opts.tunnel && tunnelPort !== undefined ? { tunnelPort } : {}),
        ...(opts.tunnel && tunnelChecksum !== undefined ? { tunnelChecksum } : {}),
        ...(opts.stats && stats ? { stats } : {}),
      };
    }),
  }));
}

describe('listings', () => {
  test('list-all.txt (the one -R read: tun-info, thresholds, persistent-conn, stats, rate) gives the whole table', () => {
    assert.deepEqual(parseListing(ipvsadmFixture('list-all.txt')), FIXTURE_TABLE);
  });

  test('captured from ipvsadm 1.31 on Debian 6.1 (the plan of restore-plan.txt, no traffic): the same table with zero counters', () => {
    const zero = {
      conns: 0n,
      inPackets: 0n,
      outPackets: 0n,
      inBytes: 0n,
      outBytes: 0n,
      cps: 0n,
      inPps: 0n,
      outPps: 0n,
      inBps: 0n,
      outBps: 0n,
    };
    const expected = FIXTURE_TABLE.map((o) => ({
      service: o.service,
      stats: zero,
      destinations: o.destinations
        .filter((d) => d.forward !== 'local')
        .map((d) => ({ ...d, activeConns: 0, inactiveConns: 0, persistentConns: 0, stats: zero })),
    }));
    assert.deepEqual(parseListing(ipvsadmFixture('captured-list-all.txt')), expected);
    assert.deepEqual(
      parseDaemons(ipvsadmFixture('captured-daemon.txt')).map((d) => d.interface),
      ['lo', 'lo'],
    );
  });

  test('the plain listing (-Ln --exact): no tunnel details, no thresholds, no stats', () => {
    assert.deepEqual(parseListing(ipvsadmFixture('list-plain.txt')), strip(FIXTURE_TABLE, {}));
  });

  test('the --tun-info listing', () => {
    assert.deepEqual(parseListing(ipvsadmFixture('list-tun-info.txt')), strip(FIXTURE_TABLE, { tunnel: true }));
  });

  test('plain + --thresholds + --persistent-conn, joined by identity', () => {
    const text = ['list-plain.txt', 'list-thresholds.txt', 'list-persistent-conn.txt'].map(ipvsadmFixture).join('');
    assert.deepEqual(parseListing(text), strip(FIXTURE_TABLE, { thresholds: true, persist: true }));
  });

  test('stats without rates: rates are 0', () => {
    const table = parseListing(ipvsadmFixture('list-plain.txt') + ipvsadmFixture('list-stats.txt'));
    assert.deepEqual(table[0]?.stats, {
      conns: 1234n,
      inPackets: 56789n,
      outPackets: 43210n,
      inBytes: 987654321n,
      outBytes: 12345678901n,
      cps: 0n,
      inPps: 0n,
      outPps: 0n,
      inBps: 0n,
      outBps: 0n,
    });
  });

  test('each section is recognised by its title lines', () => {
    const kinds = parseListingSections(ipvsadmFixture('list-all.txt') + ipvsadmFixture('list-plain.txt')).map(
      (s) => s.kind,
    );
    assert.deepEqual(kinds, ['tun-info', 'thresholds', 'persistent-conn', 'stats', 'rate', 'plain']);
  });

  test('a listing without the header (-L -n -t SERVICE) and an empty table', () => {
    const text = [
      'Prot LocalAddress:Port Scheduler Flags',
      '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
      'TCP  10.0.0.1:80 rr',
      '  -> 10.0.0.2:80                   Masq    1      0          0         ',
      '',
    ].join('\n');
    assert.deepEqual(parseListing(text), [
      {
        service: {
          family: 'inet',
          protocol: 'tcp',
          address: '10.0.0.1',
          port: 80,
          scheduler: 'rr',
          onePacket: false,
          schedulerFlags: [],
        },
        destinations: [
          {
            address: '10.0.0.2',
            family: 'inet',
            port: 80,
            forward: 'masq',
            weight: 1,
            activeConns: 0,
            inactiveConns: 0,
            upperThreshold: 0,
            lowerThreshold: 0,
            persistentConns: 0,
          },
        ],
      },
    ]);
    const empty =
      'IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n';
    assert.deepEqual(parseListing(empty), []);
  });

  test('entries added between two listings are left out; destinations too', () => {
    const stats = ipvsadmFixture('list-stats.txt');
    const plain = ipvsadmFixture('list-plain.txt')
      .replace(/^TCP {2}192\.0\.2\.10:80 wlc\n( {2}->.*\n)+/m, '')
      .replace(/^ {2}-> 10\.1\.0\.3:53 .*\n/m, '');
    const table = parseListing(plain + stats);
    assert.equal(table.length, FIXTURE_TABLE.length - 1);
    assert.deepEqual(
      table.find((o) => 'port' in o.service && o.service.port === 53 && o.service.family === 'inet')?.destinations,
      [],
    );
  });

  test('errors: rounded numbers (no --exact), names (no -n), garbage', () => {
    const rounded = ipvsadmFixture('list-stats.txt').replace('987654321', '  987654K');
    assert.throws(
      () => parseListing(ipvsadmFixture('list-plain.txt') + rounded),
      (e: unknown) => isLdirError(e, ErrorCodes.IPVS_PROTOCOL) && /--exact/.test(e.message),
    );
    assert.throws(
      () => parseListing(ipvsadmFixture('list-plain.txt').replace('192.0.2.10:80', 'www.example.org:http')),
      /-n given/,
    );
    assert.throws(() => parseListing('TCP  10.0.0.1:80 rr\n'), /before any title/);
    assert.throws(
      () => parseListing(ipvsadmFixture('list-plain.txt').replace(' ops', ' bogus')),
      /service option 'bogus'/,
    );
    assert.throws(
      () => parseListing(ipvsadmFixture('list-plain.txt').replace('Masq    1      0          9', 'Masq    1      0')),
      /columns/,
    );
  });

  test('address/port and tunnel info pieces', () => {
    assert.deepEqual(parseAddressPort('[2001:DB8::1]:443'), { address: '2001:db8::1', family: 'inet6', port: 443 });
    assert.deepEqual(parseAddressPort('[::ffff:10.0.0.1]:0'), { address: '::ffff:10.0.0.1', family: 'inet6', port: 0 });
    assert.deepEqual(parseAddressPort('10.0.0.1:65535'), { address: '10.0.0.1', family: 'inet', port: 65535 });
    assert.throws(() => parseAddressPort('10.0.0.1:65536'));
    assert.deepEqual(parseTunnelInfo('n/a'), {});
    assert.deepEqual(parseTunnelInfo('ipip'), { tunnelType: 'ipip' });
    assert.deepEqual(parseTunnelInfo('gue:6080:-c'), { tunnelType: 'gue', tunnelPort: 6080, tunnelChecksum: 'nocsum' });
    assert.deepEqual(parseTunnelInfo('gre:+c'), { tunnelType: 'gre', tunnelChecksum: 'csum' });
    assert.throws(() => parseTunnelInfo('gue:6080:x'));
  });
});

describe('info, timeouts, daemons', () => {
  test('the version header', () => {
    assert.deepEqual(parseInfo(ipvsadmFixture('list-plain.txt')), { version: '1.2.1', connTableSize: 4096 });
    assert.deepEqual(parseInfo('IP Virtual Server version 1.2.1 (size=1048576)\n'), {
      version: '1.2.1',
      connTableSize: 1048576,
    });
    assert.throws(
      () => parseInfo('nothing\n'),
      (e: unknown) => isLdirError(e, ErrorCodes.IPVS_PROTOCOL),
    );
  });

  test('--timeout', () => {
    assert.deepEqual(parseTimeouts(ipvsadmFixture('timeout.txt')), { tcp: 900, tcpFin: 120, udp: 300 });
    assert.throws(() => parseTimeouts(''), /Timeout/);
  });

  test('--daemon', () => {
    assert.deepEqual(parseDaemons(ipvsadmFixture('daemon.txt')), [
      { state: 'master', interface: 'eth0', syncId: 10, maxLength: 1472, group: '224.0.0.81', port: 8848, ttl: 1 },
      { state: 'backup', interface: 'eth1', syncId: 20, maxLength: 1400, group: 'ff02::8:8', port: 8850, ttl: 3 },
    ]);
    assert.deepEqual(parseDaemons('master sync daemon (mcast=eth0, syncid=0)\n'), [
      { state: 'master', interface: 'eth0', syncId: 0 },
    ]);
    assert.deepEqual(parseDaemons(''), []);
    assert.throws(() => parseDaemons('master sync daemon (mcast=eth0)\n'), /syncid/);
  });
});

describe('ipvsadm -R stderr', () => {
  test('markers follow every line of the input', () => {
    assert.equal(
      restoreInput(['-A -f 1 -s rr', '-D -f 1']),
      '-A -f 1 -s rr\n-L --ldir-op-0\n-D -f 1\n-L --ldir-op-1\n',
    );
    assert.equal(restoreInput([]), '');
  });

  test('each message belongs to the line before its marker', () => {
    const { settled, trailing } = classifyRestoreStderr(ipvsadmFixture('restore-stderr-mixed.txt'), 10);
    assert.deepEqual(settled, [
      ['Service already exists'],
      [],
      ['Destination already exists'],
      ['No such destination'],
      ['Service not defined'],
      ['No such service'],
      ['Scheduler or persistence engine not found'],
      ['Invalid operation.  Possibly wrong module version, address not unicast, ...'],
      ['Numerical result out of range'],
      [],
    ]);
    assert.deepEqual(trailing, []);
  });

  test('captured: a mixed batch (captured-restore-input.txt) on a real kernel, one message per failed line', () => {
    const lines = ipvsadmFixture('captured-restore-input.txt').trimEnd().split('\n');
    const { settled, trailing } = classifyRestoreStderr(ipvsadmFixture('captured-restore-stderr.txt'), lines.length);
    assert.equal(settled.length, lines.length);
    assert.deepEqual(trailing, []);
    assert.deepEqual(
      settled.map((m) => (m.length === 0 ? 'ok' : m.map(errnoOfMessage).join(','))),
      [
        'EEXIST',
        'ok',
        'EEXIST',
        'ENOENT',
        'ESRCH',
        'ESRCH',
        'ENOENT',
        'ESRCH',
        'ENOENT',
        'ERANGE',
        'EINVAL',
        'ESRCH',
        'EEXIST',
        'ok',
      ],
    );
  });

  test('a run that stopped early: the version warning is noise, the fatal message trails', () => {
    const { settled, trailing } = classifyRestoreStderr(ipvsadmFixture('restore-stderr-fatal.txt'), 5);
    assert.deepEqual(settled, [['No such service'], []]);
    assert.deepEqual(trailing, ['illegal weight specified']);
  });

  test('markers out of order are a protocol error', () => {
    assert.throws(
      () => classifyRestoreStderr('--ldir-op-1: unknown option\n', 3),
      (e: unknown) => isLdirError(e, ErrorCodes.IPVS_PROTOCOL),
    );
    assert.throws(
      () => classifyRestoreStderr('--ldir-op-0: unknown option\n--ldir-op-1: unknown option\n', 1),
      /out of order/,
    );
  });

  test('messages map to the errno the kernel returned', () => {
    const cases: [string, string | undefined][] = [
      ['Service already exists', 'EEXIST'],
      ['Destination already exists', 'EEXIST'],
      ['No such service', 'ESRCH'],
      ['Service not defined', 'ESRCH'],
      ['No such destination', 'ENOENT'],
      ['Memory allocation problem', 'ENOMEM'],
      ['Scheduler or persistence engine not found', 'ENOENT'],
      ['Scheduler not found: ip_vs_foo', 'ENOENT'],
      ['Invalid operation.  Possibly wrong module version, address not unicast, ...', 'EINVAL'],
      ['Invalid argument', 'EINVAL'],
      ['Numerical result out of range', 'ERANGE'],
      ['Permission denied (you must be root)', 'EPERM'],
      ['Operation not supported with IPv6', 'EOPNOTSUPP'],
      ['Operation not supported with specified address family', 'EAFNOSUPPORT'],
      ['Protocol not available', 'ENOPROTOOPT'],
      ['Module is wrong version', 'EMSGSIZE'],
      ['Daemon has already run', 'EEXIST'],
      ['No daemon is running', 'ESRCH'],
      ['Device or resource busy', 'EBUSY'],
      ['illegal weight specified', 'EINVAL'],
      ["Illegal 'weight' option with the 'delete-server' command", 'EINVAL'],
      ['Zero port specified for non-persistent service', 'EINVAL'],
      ["invalid scheduler flag `flag-9'", 'EINVAL'],
      ['--bogus: unknown option', 'EINVAL'],
      ["Try `ipvsadm -h' or 'ipvsadm --help' for more information.", 'EINVAL'],
      ['something else entirely', undefined],
    ];
    for (const [line, errno] of cases) assert.equal(errnoOfMessage(line), errno, line);
  });
});
