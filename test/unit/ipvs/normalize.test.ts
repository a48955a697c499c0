// Unit tests of the canonical forms of IPVS services and destinations.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  canonicalAddress,
  canonicalFlags,
  canonicalNetmask,
  compareDestinations,
  destinationKeyString,
  normalizeDesired,
  normalizeDestination,
  normalizeObserved,
  normalizeService,
  sameDestinationSettings,
  sameServiceSettings,
  serviceKeyOf,
  serviceKeyString,
} from '../../../src/ipvs/normalize';
import type { ObservedDestination, ObservedService, SchedulerFlag } from '../../../src/ipvs/types';
import { addrService, dest, fwmService, specOf } from '../../helpers/ipvs-tables';

function observedDest(address: string, port = 80, over: Partial<ObservedDestination> = {}): ObservedDestination {
  return { ...dest(address, port), activeConns: 3, inactiveConns: 4, persistentConns: 5, ...over };
}

describe('canonicalAddress', () => {
  test('IPv6 is compressed and lowercase', () => {
    assert.equal(canonicalAddress('2001:DB8:0:0:0:0:0:1', 'inet6'), '2001:db8::1');
    assert.equal(canonicalAddress('2001:0db8:0000:0000:0001:0000:0000:0001', 'inet6'), '2001:db8::1:0:0:1');
    assert.equal(canonicalAddress('[2001:db8::1]', 'inet6'), '2001:db8::1');
  });
  test('IPv4 is a dotted quad; an IPv4-mapped form in the inet family becomes IPv4', () => {
    assert.equal(canonicalAddress(' 10.0.0.1 ', 'inet'), '10.0.0.1');
    assert.equal(canonicalAddress('::ffff:10.0.0.1', 'inet'), '10.0.0.1');
    assert.equal(canonicalAddress('::FFFF:a00:1', 'inet'), '10.0.0.1');
  });
  test('an IPv4-mapped form stays IPv6 in the inet6 family', () => {
    assert.equal(canonicalAddress('::ffff:10.0.0.1', 'inet6'), canonicalAddress('::ffff:a00:1', 'inet6'));
    assert.ok(canonicalAddress('::ffff:10.0.0.1', 'inet6').includes(':'));
  });
  test('text that is no address comes back trimmed and lowercase', () => {
    assert.equal(canonicalAddress(' Host.Example ', 'inet'), 'host.example');
  });
});

describe('canonicalNetmask', () => {
  test('the host mask is the default (undefined)', () => {
    assert.equal(canonicalNetmask('255.255.255.255', 'inet'), undefined);
    assert.equal(canonicalNetmask('32', 'inet'), undefined);
    assert.equal(canonicalNetmask('128', 'inet6'), undefined);
    assert.equal(canonicalNetmask('/128', 'inet6'), undefined);
    assert.equal(canonicalNetmask(undefined, 'inet'), undefined);
  });
  test('other masks are canonical', () => {
    assert.equal(canonicalNetmask('255.255.255.0', 'inet'), '255.255.255.0');
    assert.equal(canonicalNetmask('24', 'inet'), '255.255.255.0');
    assert.equal(canonicalNetmask('/64', 'inet6'), '64');
    assert.equal(canonicalNetmask('064', 'inet6'), '64');
    assert.equal(canonicalNetmask('wide', 'inet6'), 'wide');
  });
});

describe('scheduler flags', () => {
  test('aliases map to flag-N, sorted and deduplicated', () => {
    assert.deepEqual(canonicalFlags(['flag-3', 'sh-port', 'sh-fallback', 'flag-1', 'mh-port']), [
      'flag-1',
      'flag-2',
      'flag-3',
    ]);
    const flags: SchedulerFlag[] = ['flag-2', 'flag-1', 'flag-2'];
    assert.deepEqual(normalizeService(addrService('10.0.0.1', 80, { schedulerFlags: flags })).schedulerFlags, [
      'flag-1',
      'flag-2',
    ]);
  });
});

describe('keys', () => {
  test('service key strings', () => {
    assert.equal(serviceKeyString(addrService('10.0.0.1', 80)), 'tcp:10.0.0.1:80');
    assert.equal(serviceKeyString(addrService('2001:DB8::1', 80)), 'tcp:[2001:db8::1]:80');
    assert.equal(serviceKeyString(addrService('10.0.0.1', 53, {}, 'udp')), 'udp:10.0.0.1:53');
    assert.equal(serviceKeyString(fwmService(7)), 'fwm:7');
    assert.equal(serviceKeyString(fwmService(7, {}, 'inet6')), 'fwm6:7');
    assert.equal(serviceKeyString(addrService('::ffff:10.0.0.1', 80, {}, 'tcp', 'inet')), 'tcp:10.0.0.1:80');
  });
  test('serviceKeyOf keeps the key fields only', () => {
    assert.deepEqual(serviceKeyOf(addrService('2001:db8:0::1', 443, { persistent: 300 })), {
      family: 'inet6',
      protocol: 'tcp',
      address: '2001:db8::1',
      port: 443,
    });
    assert.deepEqual(serviceKeyOf(fwmService(9, { scheduler: 'rr' })), { family: 'inet', fwmark: 9 });
  });
  test('destination key strings', () => {
    assert.equal(destinationKeyString(dest('10.0.0.2', 80)), '10.0.0.2:80');
    assert.equal(destinationKeyString(dest('2001:db8:0:0::2', 8080)), '[2001:db8::2]:8080');
    assert.equal(destinationKeyString({ address: '::ffff:10.0.0.2', port: 80, family: 'inet' }), '10.0.0.2:80');
  });
});

describe('normalizeService', () => {
  test('no undefined-valued properties; empty engine dropped; default netmask dropped', () => {
    const s = normalizeService(
      addrService('10.0.0.1', 80, { persistenceEngine: '', netmask: '255.255.255.255', persistent: undefined }),
    );
    assert.deepEqual(Object.keys(s).sort(), [
      'address',
      'family',
      'onePacket',
      'port',
      'protocol',
      'scheduler',
      'schedulerFlags',
    ]);
  });
  test('persistence: undefined stays undefined, a timeout is kept', () => {
    assert.equal(normalizeService(addrService('10.0.0.1')).persistent, undefined);
    assert.equal(normalizeService(addrService('10.0.0.1', 80, { persistent: 300 })).persistent, 300);
  });
  test('fwmark services carry no protocol, address or port', () => {
    const s = normalizeService({ ...fwmService(3), protocol: 'tcp', address: '10.0.0.1', port: 80 } as ReturnType<
      typeof fwmService
    >);
    assert.deepEqual(s, { family: 'inet', fwmark: 3, scheduler: 'wrr', onePacket: false, schedulerFlags: [] });
  });
});

describe('normalizeDestination', () => {
  test('tunnel fields only on tunnel destinations', () => {
    const masq = normalizeDestination(
      dest('10.0.0.2', 80, { tunnelType: 'gue', tunnelPort: 5555, tunnelChecksum: 'csum' }),
      'inet',
    );
    assert.deepEqual(masq, dest('10.0.0.2', 80));
  });
  test('tunnel defaults are explicit and a zero tunnel port is dropped', () => {
    const t = normalizeDestination(dest('10.0.0.2', 80, { forward: 'tunnel', tunnelPort: 0 }), 'inet');
    assert.deepEqual(t, {
      ...dest('10.0.0.2', 80, { forward: 'tunnel' }),
      tunnelType: 'ipip',
      tunnelChecksum: 'nocsum',
    });
    const gue = normalizeDestination(
      dest('10.0.0.2', 80, { forward: 'tunnel', tunnelType: 'gue', tunnelPort: 6080 }),
      'inet',
    );
    assert.equal(gue.tunnelPort, 6080);
  });
  test('the family defaults to the service family', () => {
    const { family: _omit, ...noFamily } = dest('10.0.0.2');
    void _omit;
    const d = normalizeDestination(noFamily as ReturnType<typeof dest>, 'inet');
    assert.equal(d.family, 'inet');
  });
  test('addresses sort numerically', () => {
    const sorted = [dest('10.0.0.10'), dest('2001:db8::1'), dest('10.0.0.2', 81), dest('10.0.0.2', 80)].sort(
      compareDestinations,
    );
    assert.deepEqual(sorted.map(destinationKeyString), [
      '10.0.0.2:80',
      '10.0.0.2:81',
      '10.0.0.10:80',
      '[2001:db8::1]:80',
    ]);
  });
});

describe('normalizeObserved / normalizeDesired', () => {
  const kernel: ObservedService[] = [
    {
      service: { ...fwmService(5, { netmask: '128', schedulerFlags: ['flag-2', 'flag-1'] }, 'inet6') },
      destinations: [observedDest('2001:db8::b'), observedDest('2001:db8:0::a')],
    },
    {
      service: addrService('::ffff:10.0.0.1', 80, { netmask: '255.255.255.255' }, 'tcp', 'inet'),
      destinations: [
        observedDest('::ffff:10.0.0.3', 80, { family: 'inet' }),
        observedDest('10.0.0.2'),
        observedDest('10.0.0.3'),
      ],
    },
  ];
  test('a kernel dump equals the desired table it came from', () => {
    const desired = normalizeDesired([
      { service: addrService('10.0.0.1', 80), destinations: [dest('10.0.0.2'), dest('10.0.0.3')] },
      {
        service: fwmService(5, { schedulerFlags: ['flag-1', 'flag-2'] }, 'inet6'),
        destinations: [dest('2001:db8::a'), dest('2001:DB8::B')],
      },
    ]);
    assert.deepEqual(specOf(kernel), desired);
  });
  test('counters are kept, repeated entries dropped, order canonical', () => {
    const n = normalizeObserved(kernel);
    assert.equal(n.length, 2);
    assert.equal(serviceKeyString(n[0]!.service), 'tcp:10.0.0.1:80');
    assert.deepEqual(
      n[0]!.destinations.map((d) => [d.address, d.activeConns]),
      [
        ['10.0.0.2', 3],
        ['10.0.0.3', 3],
      ],
    );
    assert.deepEqual(normalizeObserved([...kernel, kernel[0]!]).length, 2);
  });
  test('settings comparisons', () => {
    const a = normalizeService(addrService('10.0.0.1', 80, { schedulerFlags: ['flag-2', 'flag-1'] }));
    const b = normalizeService(
      addrService('10.0.0.1', 80, { schedulerFlags: ['flag-1', 'flag-2'], netmask: '255.255.255.255' }),
    );
    assert.ok(sameServiceSettings(a, b));
    assert.ok(!sameServiceSettings(a, { ...b, scheduler: 'rr' }));
    assert.ok(sameDestinationSettings(dest('10.0.0.2'), dest('10.0.0.2')));
    assert.ok(!sameDestinationSettings(dest('10.0.0.2'), dest('10.0.0.2', 80, { weight: 2 })));
  });
});

test('netmask and persistence engine only count on persistent services', async () => {
  const { normalizeService } = await import('../../../src/ipvs/normalize');
  const base = {
    family: 'inet' as const,
    protocol: 'udp' as const,
    address: '192.0.2.1',
    port: 5060,
    scheduler: 'rr',
    onePacket: false,
    schedulerFlags: [],
  };
  assert.deepEqual(normalizeService({ ...base, netmask: '255.255.255.0', persistenceEngine: 'sip' }), base);
  assert.equal(
    normalizeService({ ...base, persistent: 60, netmask: '255.255.255.0', persistenceEngine: 'sip' }).persistenceEngine,
    'sip',
  );
});
