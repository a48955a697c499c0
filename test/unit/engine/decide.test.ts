// decide(): ldirectord's rules one by one (quiescent, readdquiescent, fallback, adoption, hand drain, runtime weights)
// and translation.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { Health } from '../../../src/model/health';
import { decide, type DecideInput, type Decision, type RealDecision } from '../../../src/engine/decide';
import { pairKey } from '../../../src/model/health';
import { plan } from '../../../src/engine/plan';
import { MemoryBackend } from '../../../src/ipvs/memory';
import type { DesiredService, ObservedService } from '../../../src/ipvs/types';
import type { Config } from '../../../src/model';
import { loadValid } from '../../helpers/config';
import { weights } from '../../helpers/engine';
import { addrService, dest, fwmService } from '../../helpers/ipvs-tables';

const VIP = 'tcp:192.0.2.1:80';

/** A web virtual with two NAT reals (weights 3 and 2), `extra` lines added to its body and `globals` before it. */
async function web(extra: string[] = [], globals: string[] = []): Promise<Config> {
  const body = ['real=10.0.0.1:80 masq 3', 'real=10.0.0.2:80 masq 2', ...extra].map((l) => `\t${l}`).join('\n');
  return loadValid(`${globals.join('\n')}\nvirtual=192.0.2.1:80\n${body}\n`);
}

function health(virtualId: string, states: Record<string, Health>): Map<string, Health> {
  return new Map(Object.entries(states).map(([real, h]) => [pairKey(virtualId, real), h]));
}

const observe = (table: readonly DesiredService[]): Promise<readonly ObservedService[]> =>
  new MemoryBackend(table).list();

function run(
  config: Config,
  states: Record<string, Health>,
  observed: readonly ObservedService[] = [],
  extra: Partial<DecideInput> = {},
): Decision {
  return decide({ config, health: health(VIP, states), observed, ...extra });
}

function real(d: Decision, key: string): RealDecision {
  const r = d.virtuals[0]?.reals.find((x) => x.realKey === key);
  assert.ok(r, `no decision for ${key}`);
  return r;
}

const WEB_SERVICE = addrService('192.0.2.1', 80);

describe('decide: up and down', () => {
  test('up reals get their configured weight', async () => {
    const d = run(await web(), { '10.0.0.1:80': 'up', '10.0.0.2:80': 'up' });
    assert.deepEqual(weights(d.desired), { [VIP]: ['10.0.0.1:80=3', '10.0.0.2:80=2'] });
    assert.equal(real(d, '10.0.0.1:80').reason, 'up');
    assert.equal(d.virtuals[0]?.fallbackState, 'inactive');
  });

  test('quiescent=no (ldirectord default): a down real is removed', async () => {
    const d = run(await web(), { '10.0.0.1:80': 'up', '10.0.0.2:80': 'down' });
    assert.deepEqual(weights(d.desired), { [VIP]: ['10.0.0.1:80=3'] });
    assert.deepEqual([real(d, '10.0.0.2:80').reason, real(d, '10.0.0.2:80').inTable], ['down-removed', false]);
  });

  test('quiescent=yes: a down real present in the kernel stays with weight 0', async () => {
    const observed = await observe([
      {
        service: WEB_SERVICE,
        destinations: [dest('10.0.0.1', 80, { weight: 3 }), dest('10.0.0.2', 80, { weight: 2 })],
      },
    ]);
    const d = run(await web(['quiescent=yes']), { '10.0.0.1:80': 'up', '10.0.0.2:80': 'down' }, observed);
    assert.deepEqual(weights(d.desired), { [VIP]: ['10.0.0.1:80=3', '10.0.0.2:80=0'] });
    assert.equal(real(d, '10.0.0.2:80').reason, 'down-quiescent');
  });

  test('quiescent=yes, down and absent (deleted by hand): readdquiescent=no leaves it out, yes adds it with weight 0', async () => {
    const observed = await observe([{ service: WEB_SERVICE, destinations: [dest('10.0.0.1', 80, { weight: 3 })] }]);
    const states = { '10.0.0.1:80': 'up', '10.0.0.2:80': 'down' } as const;
    const no = run(await web(['quiescent=yes']), states, observed);
    assert.deepEqual(weights(no.desired), { [VIP]: ['10.0.0.1:80=3'] });
    assert.equal(real(no, '10.0.0.2:80').reason, 'down-left-out');
    const yes = run(await web(['quiescent=yes'], ['readdquiescent=yes']), states, observed);
    assert.deepEqual(weights(yes.desired), { [VIP]: ['10.0.0.1:80=3', '10.0.0.2:80=0'] });
    assert.equal(real(yes, '10.0.0.2:80').reason, 'down-readded');
  });
});

describe('decide: fallback', () => {
  const fb = ['fallback=127.0.0.1:8080 masq'];

  test('no real up → fallback in with weight 1; a real up → fallback out', async () => {
    const config = await web(fb);
    const down = run(config, { '10.0.0.1:80': 'down', '10.0.0.2:80': 'down' });
    assert.deepEqual(weights(down.desired), { [VIP]: ['127.0.0.1:8080=1'] });
    assert.equal(down.virtuals[0]?.fallbackState, 'active');
    assert.deepEqual(down.virtuals[0]?.fallback, { destinationId: '127.0.0.1:8080', inTable: true });
    const one = run(config, { '10.0.0.1:80': 'down', '10.0.0.2:80': 'up' });
    assert.deepEqual(weights(one.desired), { [VIP]: ['10.0.0.2:80=2'] });
    assert.equal(one.virtuals[0]?.fallbackState, 'inactive');
  });

  test('the fallback is never quiesced; quiesced reals stay beside it', async () => {
    const observed = await observe([
      {
        service: WEB_SERVICE,
        destinations: [
          dest('10.0.0.1', 80, { weight: 3 }),
          dest('10.0.0.2', 80, { weight: 2 }),
          dest('127.0.0.1', 8080),
        ],
      },
    ]);
    const config = await web([...fb, 'quiescent=yes']);
    const down = run(config, { '10.0.0.1:80': 'down', '10.0.0.2:80': 'down' }, observed);
    assert.deepEqual(weights(down.desired), { [VIP]: ['10.0.0.1:80=0', '10.0.0.2:80=0', '127.0.0.1:8080=1'] });
    const up = run(config, { '10.0.0.1:80': 'up', '10.0.0.2:80': 'down' }, observed);
    assert.deepEqual(
      weights(up.desired),
      { [VIP]: ['10.0.0.1:80=3', '10.0.0.2:80=0'] },
      'deleted, not set to weight 0',
    );
  });

  test('a virtual with no real at all is in fallback mode at once', async () => {
    const config = await loadValid('virtual=192.0.2.1:80\n\tfallback=127.0.0.1:80 masq\n');
    const d = decide({ config, health: new Map(), observed: [] });
    assert.equal(d.virtuals[0]?.fallbackState, 'active');
    assert.deepEqual(weights(d.desired), { [VIP]: ['127.0.0.1:80=1'] });
  });

  test('a real that is also the fallback is never duplicated', async () => {
    const config = await web(['real=10.0.0.9:80 masq 5', 'fallback=10.0.0.9:80 masq', 'quiescent=yes']);
    const all = { '10.0.0.1:80': 'down', '10.0.0.2:80': 'down', '10.0.0.9:80': 'down' } as const;
    const observed = await observe([{ service: WEB_SERVICE, destinations: [dest('10.0.0.9', 80, { weight: 5 })] }]);
    const d = run(config, all, observed);
    assert.deepEqual(
      weights(d.desired),
      { [VIP]: ['10.0.0.9:80=1'] },
      'the others are down, absent, readdquiescent=no',
    );
    assert.deepEqual([real(d, '10.0.0.9:80').reason, real(d, '10.0.0.9:80').desiredWeight], ['fallback', 1]);
    const back = run(config, { ...all, '10.0.0.9:80': 'up' }, observed);
    assert.deepEqual(weights(back.desired), { [VIP]: ['10.0.0.9:80=5'] });
    assert.equal(back.virtuals[0]?.fallbackState, 'inactive');
  });
});

describe('decide: first check not finished (unknown)', () => {
  test('present in the kernel: the kernel weight is adopted; absent: not added (quiescent=no)', async () => {
    const observed = await observe([{ service: WEB_SERVICE, destinations: [dest('10.0.0.1', 80, { weight: 7 })] }]);
    const d = run(await web(['fallback=127.0.0.1:80 masq']), {}, observed);
    assert.deepEqual(weights(d.desired), { [VIP]: ['10.0.0.1:80=7'] });
    assert.deepEqual(
      [real(d, '10.0.0.1:80').reason, real(d, '10.0.0.2:80').reason],
      ['unknown-adopted', 'unknown-waiting'],
    );
    assert.equal(d.virtuals[0]?.fallbackState, 'inactive', 'an adopted real with weight > 0 serves');
  });

  test('absent with quiescent=yes: present with weight 0, the state ldirectord reaches at start', async () => {
    const d = run(await web(['quiescent=yes']), {});
    assert.deepEqual(weights(d.desired), { [VIP]: ['10.0.0.1:80=0', '10.0.0.2:80=0'] });
    assert.equal(real(d, '10.0.0.1:80').reason, 'unknown-quiescent');
  });

  test('the fallback is neither added nor removed while no real is up and some are unknown', async () => {
    const config = await web(['fallback=127.0.0.1:80 masq']);
    const empty = run(config, { '10.0.0.1:80': 'down' });
    assert.equal(empty.virtuals[0]?.fallbackState, 'pending');
    assert.deepEqual(weights(empty.desired), { [VIP]: [] });
    const observed = await observe([{ service: WEB_SERVICE, destinations: [dest('127.0.0.1', 80)] }]);
    const kept = run(config, { '10.0.0.1:80': 'down' }, observed);
    assert.deepEqual(weights(kept.desired), { [VIP]: ['127.0.0.1:80=1'] });
  });
});

describe('decide: drained by hand', () => {
  test('an up real drained by hand stays with weight 0 and does not count as up for the fallback', async () => {
    const config = await web(['fallback=127.0.0.1:80 masq']);
    const manualDrains = new Set([pairKey(VIP, '10.0.0.1:80')]);
    const d = run(config, { '10.0.0.1:80': 'up', '10.0.0.2:80': 'up' }, [], { manualDrains });
    assert.deepEqual(weights(d.desired), { [VIP]: ['10.0.0.1:80=0', '10.0.0.2:80=2'] });
    assert.deepEqual([real(d, '10.0.0.1:80').reason, real(d, '10.0.0.1:80').manuallyDrained], ['drained', true]);
    const alone = run(config, { '10.0.0.1:80': 'up', '10.0.0.2:80': 'down' }, [], { manualDrains });
    assert.deepEqual(weights(alone.desired), { [VIP]: ['10.0.0.1:80=0', '127.0.0.1:80=1'] });
  });

  test('a drained real that goes down follows quiescent (removed with quiescent=no)', async () => {
    const d = run(await web(), { '10.0.0.1:80': 'down', '10.0.0.2:80': 'up' }, [], {
      manualDrains: new Set([pairKey(VIP, '10.0.0.1:80')]),
    });
    assert.deepEqual(weights(d.desired), { [VIP]: ['10.0.0.2:80=2'] });
  });
});

describe('decide: runtime weights (ldir weight)', () => {
  const at = (weights: Record<string, number>): Map<string, number> =>
    new Map(Object.entries(weights).map(([r, w]) => [pairKey(VIP, r), w]));

  test('an up real gets its runtime weight instead of the configured one; the others keep theirs', async () => {
    const d = run(await web(), { '10.0.0.1:80': 'up', '10.0.0.2:80': 'up' }, [], {
      weightOverrides: at({ '10.0.0.1:80': 9 }),
    });
    assert.deepEqual(weights(d.desired), { [VIP]: ['10.0.0.1:80=9', '10.0.0.2:80=2'] });
    const [a, b] = [real(d, '10.0.0.1:80'), real(d, '10.0.0.2:80')];
    assert.deepEqual([a.reason, a.configuredWeight, a.targetWeight, a.overridden, a.serving], ['up', 3, 9, true, true]);
    assert.deepEqual([b.reason, b.configuredWeight, b.targetWeight, b.overridden], ['up', 2, 2, false]);
  });

  test('runtime weight 0: up, in the table at 0, but not serving: the fallback comes in when no other real serves', async () => {
    const config = await web(['fallback=127.0.0.1:8080 masq']);
    const zero = at({ '10.0.0.1:80': 0 });
    const both = run(config, { '10.0.0.1:80': 'up', '10.0.0.2:80': 'up' }, [], { weightOverrides: zero });
    assert.deepEqual(weights(both.desired), { [VIP]: ['10.0.0.1:80=0', '10.0.0.2:80=2'] });
    assert.deepEqual([real(both, '10.0.0.1:80').reason, real(both, '10.0.0.1:80').serving], ['up', false]);
    assert.equal(both.virtuals[0]?.quorum.serving, 1);
    const alone = run(config, { '10.0.0.1:80': 'up', '10.0.0.2:80': 'down' }, [], { weightOverrides: zero });
    assert.deepEqual(weights(alone.desired), { [VIP]: ['10.0.0.1:80=0', '127.0.0.1:8080=1'] });
    assert.equal(alone.virtuals[0]?.fallbackState, 'active');
    assert.equal(
      real(alone, '10.0.0.1:80').reason,
      'up',
      'it keeps its place: not below-quorum, which only quiesces serving reals',
    );
  });

  test('a configured weight of 0 still serves (as in ldirectord): only a runtime 0 is taken as a soft drain', async () => {
    const config = await loadValid('virtual=192.0.2.1:80\n\treal=10.0.0.1:80 masq 0\n\tfallback=127.0.0.1:8080 masq\n');
    const d = run(config, { '10.0.0.1:80': 'up' });
    assert.deepEqual([real(d, '10.0.0.1:80').serving, d.virtuals[0]?.fallbackState], [true, 'inactive']);
    const raised = run(config, { '10.0.0.1:80': 'up' }, [], { weightOverrides: at({ '10.0.0.1:80': 4 }) });
    assert.deepEqual(weights(raised.desired), { [VIP]: ['10.0.0.1:80=4'] });
  });

  test('a hand drain wins over a runtime weight, which waits for the undrain', async () => {
    const d = run(await web(), { '10.0.0.1:80': 'up', '10.0.0.2:80': 'up' }, [], {
      weightOverrides: at({ '10.0.0.1:80': 9 }),
      manualDrains: new Set([pairKey(VIP, '10.0.0.1:80')]),
    });
    assert.deepEqual(weights(d.desired), { [VIP]: ['10.0.0.1:80=0', '10.0.0.2:80=2'] });
    assert.deepEqual(
      [real(d, '10.0.0.1:80').reason, real(d, '10.0.0.1:80').targetWeight, real(d, '10.0.0.1:80').overridden],
      ['drained', 9, true],
    );
  });

  test('down and unknown reals follow their own rules: quiescent 0, removal, adoption of the kernel weight', async () => {
    const observed = await observe([
      {
        service: WEB_SERVICE,
        destinations: [dest('10.0.0.1', 80, { weight: 3 }), dest('10.0.0.2', 80, { weight: 2 })],
      },
    ]);
    const weightOverrides = at({ '10.0.0.1:80': 9, '10.0.0.2:80': 8 });
    const quiet = run(await web(['quiescent=yes']), { '10.0.0.1:80': 'down' }, observed, { weightOverrides });
    assert.deepEqual(weights(quiet.desired), { [VIP]: ['10.0.0.1:80=0', '10.0.0.2:80=2'] });
    assert.deepEqual(
      [real(quiet, '10.0.0.1:80').reason, real(quiet, '10.0.0.2:80').reason],
      ['down-quiescent', 'unknown-adopted'],
    );
    const removed = run(await web(), { '10.0.0.1:80': 'down', '10.0.0.2:80': 'up' }, observed, { weightOverrides });
    assert.deepEqual(weights(removed.desired), { [VIP]: ['10.0.0.2:80=8'] });
  });

  test('below the quorum a real with a runtime weight is set to 0 like the others, and back to it above', async () => {
    const config = await web(['fallback=127.0.0.1:8080 masq', 'quorum=2']);
    const weightOverrides = at({ '10.0.0.1:80': 9 });
    const below = run(config, { '10.0.0.1:80': 'up', '10.0.0.2:80': 'down' }, [], { weightOverrides });
    assert.deepEqual(weights(below.desired), { [VIP]: ['10.0.0.1:80=0', '127.0.0.1:8080=1'] });
    assert.equal(real(below, '10.0.0.1:80').reason, 'below-quorum');
    const met = run(config, { '10.0.0.1:80': 'up', '10.0.0.2:80': 'up' }, [], { weightOverrides });
    assert.deepEqual(weights(met.desired), { [VIP]: ['10.0.0.1:80=9', '10.0.0.2:80=2'] });
  });

  test('a runtime weight of a pair the configuration does not have changes nothing', async () => {
    const d = run(await web(), { '10.0.0.1:80': 'up', '10.0.0.2:80': 'up' }, [], {
      weightOverrides: new Map([
        [pairKey(VIP, '10.0.0.9:80'), 7],
        [pairKey('tcp:192.0.2.9:80', '10.0.0.1:80'), 7],
      ]),
    });
    assert.deepEqual(weights(d.desired), { [VIP]: ['10.0.0.1:80=3', '10.0.0.2:80=2'] });
    assert.ok(d.virtuals[0]?.reals.every((r) => !r.overridden));
  });
});

describe('decide: translation to IPVS words', () => {
  test('IPv6 virtual with gate reals: route forwarding, the virtual port forced as ipvsadm does', async () => {
    const config = await loadValid(
      'virtual6=[2001:db8::1]:443\n\treal6=[2001:db8::a]:8443 gate 4\n\treal6=[2001:db8::b] ipip\n\tscheduler=sh\n\tschedflags=sh-port\n\tpersistent=300\n\tnetmask=64\n',
    );
    const id = 'tcp:[2001:db8::1]:443';
    const d = decide({
      config,
      health: new Map([
        [pairKey(id, '[2001:db8::a]:8443'), 'up'],
        [pairKey(id, '[2001:db8::b]:0'), 'up'],
      ]),
      observed: [],
    });
    assert.deepEqual(d.desired, [
      {
        service: {
          family: 'inet6',
          protocol: 'tcp',
          address: '2001:db8::1',
          port: 443,
          scheduler: 'sh',
          persistent: 300,
          netmask: '64',
          onePacket: false,
          schedulerFlags: ['flag-2'],
        },
        destinations: [
          {
            address: '2001:db8::a',
            family: 'inet6',
            port: 443,
            forward: 'route',
            weight: 4,
            upperThreshold: 0,
            lowerThreshold: 0,
          },
          {
            address: '2001:db8::b',
            family: 'inet6',
            port: 443,
            forward: 'tunnel',
            weight: 1,
            upperThreshold: 0,
            lowerThreshold: 0,
          },
        ],
      },
    ]);
    assert.equal(d.virtuals[0]?.serviceId, id);
  });

  test('fwmark virtuals (IPv4 and IPv6) keep the real port; masq keeps its port; thresholds and UDP one-packet pass through', async () => {
    const config = await loadValid(
      [
        'virtual=100',
        '\treal=10.0.0.1 gate',
        '',
        'virtual6=100',
        '\treal6=[2001:db8::c] gate 2',
        '',
        'virtual=192.0.2.1:53',
        '\treal=10.0.0.5:5353 masq 1 l:10 u:100',
        '\tops=yes',
        '',
      ].join('\n'),
    );
    const d = decide({
      config,
      observed: [],
      health: new Map([
        [pairKey('fwm:100', '10.0.0.1:0'), 'up'],
        [pairKey('fwm6:100', '[2001:db8::c]:0'), 'up'],
        [pairKey('udp:192.0.2.1:53', '10.0.0.5:5353'), 'up'],
      ]),
    });
    assert.deepEqual(weights(d.desired), {
      'fwm:100': ['10.0.0.1:0=1/route'],
      'fwm6:100': ['[2001:db8::c]:0=2/route'],
      'udp:192.0.2.1:53': ['10.0.0.5:5353=1'],
    });
    assert.deepEqual(d.desired[1]?.service, fwmService(100, {}, 'inet6'));
    assert.equal(d.desired[2]?.service.onePacket, true);
    assert.deepEqual(
      [d.desired[2]?.destinations[0]?.lowerThreshold, d.desired[2]?.destinations[0]?.upperThreshold],
      [10, 100],
    );
  });

  test('two gate reals that differ only by port map to one destination: the better one takes it, never a repeat', async () => {
    const config = await loadValid('virtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate 1\n\treal=10.0.0.1:8080 gate 9\n');
    const d = run(config, { '10.0.0.1:80': 'up', '10.0.0.1:8080': 'up' });
    assert.deepEqual(weights(d.desired), { [VIP]: ['10.0.0.1:80=9/route'] });
    assert.deepEqual([real(d, '10.0.0.1:80').reason, real(d, '10.0.0.1:8080').reason], ['duplicate', 'up']);
  });
});

describe('decide: drain leftovers', () => {
  test('a removed destination keeps its kernel settings with weight 0; a removed service keeps all its destinations at 0', async () => {
    const gone = addrService('192.0.2.9', 443, { scheduler: 'rr' });
    const observed = await observe([
      {
        service: WEB_SERVICE,
        destinations: [dest('10.0.0.1', 80, { weight: 3 }), dest('10.0.0.7', 80, { weight: 4, upperThreshold: 50 })],
      },
      { service: gone, destinations: [dest('10.0.1.1', 443, { weight: 2, forward: 'route' })] },
    ]);
    const d = run(await web(), { '10.0.0.1:80': 'up', '10.0.0.2:80': 'up' }, observed, {
      draining: [
        { kind: 'destination', service: WEB_SERVICE, destination: { address: '10.0.0.7', port: 80, family: 'inet' } },
        { kind: 'service', service: gone },
        { kind: 'destination', service: WEB_SERVICE, destination: { address: '10.0.0.8', port: 80, family: 'inet' } },
      ],
    });
    assert.deepEqual(weights(d.desired), {
      [VIP]: ['10.0.0.1:80=3', '10.0.0.2:80=2', '10.0.0.7:80=0'],
      'tcp:192.0.2.9:443': ['10.0.1.1:443=0/route'],
    });
    assert.equal(
      d.desired
        .find((s) => 'port' in s.service && s.service.port === 80)
        ?.destinations.find((x) => x.address === '10.0.0.7')?.upperThreshold,
      50,
    );
    assert.equal(d.desired.find((s) => 'port' in s.service && s.service.port === 443)?.service.scheduler, 'rr');
    assert.deepEqual(
      d.draining.map((x) => x.inTable),
      [true, true, false],
    );
  });
});

describe('decide: invariants', () => {
  test('for any health, drains and kernel table the desired table never repeats a destination and plans cleanly', async () => {
    const config = await loadValid(
      [
        'virtual=192.0.2.1:80',
        '\treal=10.0.0.1:80 gate 2',
        '\treal=10.0.0.1:81 gate 3',
        '\treal=10.0.0.2:80 masq 1',
        '\treal=10.0.0.3:80 masq 4',
        '\tfallback=10.0.0.3:80 masq',
        '\tquiescent=yes',
        '',
      ].join('\n'),
    );
    const reals = ['10.0.0.1:80', '10.0.0.1:81', '10.0.0.2:80', '10.0.0.3:80'];
    const kernel = [
      dest('10.0.0.1', 80, { forward: 'route', weight: 2 }),
      dest('10.0.0.2', 80),
      dest('10.0.0.3', 80),
      dest('10.0.0.4', 80),
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom<Health>('up', 'down', 'unknown'), { minLength: 4, maxLength: 4 }),
        fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
        fc.subarray(kernel),
        fc.array(fc.option(fc.nat({ max: 20 }), { nil: undefined }), { minLength: 4, maxLength: 4 }),
        async (hs, drained, present, runtime) => {
          const observed = await observe([{ service: WEB_SERVICE, destinations: present }]);
          const d = decide({
            config,
            observed,
            health: new Map(reals.map((r, i) => [pairKey(VIP, r), hs[i] ?? 'unknown'])),
            manualDrains: new Set(reals.filter((_, i) => drained[i]).map((r) => pairKey(VIP, r))),
            weightOverrides: new Map(
              reals.flatMap((r, i) =>
                runtime[i] === undefined ? [] : [[pairKey(VIP, r), runtime[i] as number] as const],
              ),
            ),
          });
          const ids = d.desired[0]?.destinations.map((x) => `${x.address}:${x.port}`) ?? [];
          assert.equal(new Set(ids).size, ids.length);
          plan(d.desired, observed, () => true);
          for (const [i, r] of reals.entries()) {
            const rd = d.virtuals[0]?.reals.find((x) => x.realKey === r);
            assert.equal(rd?.targetWeight, runtime[i] ?? config.virtualServices[0]?.reals[i]?.weight);
            if (rd?.reason === 'up') assert.equal(rd.desiredWeight, rd.targetWeight);
          }
          const up = hs.some((h, i) => h === 'up' && !drained[i] && runtime[i] !== 0);
          if (up) assert.equal(d.virtuals[0]?.fallbackState, 'inactive');
          if (hs.every((h) => h === 'down')) assert.equal(d.virtuals[0]?.fallbackState, 'active');
        },
      ),
      { numRuns: 200 },
    );
  });
});
