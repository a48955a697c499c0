// Tunnels: gue and gre reals, tunnelport= and tunnelflags= per virtual with a per-real override (cf tokens, YAML keys),
// tunnelled reals of the other address family, ldir convert both ways, and every refusal with its line.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sameMeaning } from '../../../src/config/compare';
import { formatRealLine, parseRealLine } from '../../../src/config/real-line';
import { convertRoundTrip, load, loadErrors, loadValid, onlyVirtual, vs, warnings } from '../../helpers/config';

const YAML_FILE = '/etc/ha.d/ldir.yaml';

/** The reals of the only virtual, without their source positions. */
async function reals(text: string, file?: string): Promise<unknown[]> {
  const c = await loadValid(text, file);
  return (c.virtualServices[0]?.reals ?? []).map(({ source: _source, ...r }) => r);
}

const real = (address: string, forward: string, extra: object = {}): object => ({
  address,
  port: 80,
  forward,
  weight: 1,
  lowerThreshold: 0,
  upperThreshold: 0,
  ...extra,
});

describe('gue and gre real servers', () => {
  test('the section gives its port and checksums to its gue and gre reals; a real line overrides them', async () => {
    assert.deepEqual(
      await reals(
        vs(
          'real=10.0.0.1:80 gue',
          'real=10.0.0.2:80 gre',
          'real=10.0.0.3:80 gue 3 tunnelport=6081 tunnelflags=remcsum',
          'real=10.0.0.4:80 gre tunnelflags=nocsum',
          'real=10.0.0.5:80 ipip',
          'real=10.0.0.6:80 gate',
          'tunnelport=6080',
          'tunnelflags=csum',
        ),
      ),
      [
        real('10.0.0.1', 'gue', { tunnelPort: 6080, tunnelFlags: 'csum' }),
        real('10.0.0.2', 'gre', { tunnelFlags: 'csum' }),
        real('10.0.0.3', 'gue', { weight: 3, tunnelPort: 6081, tunnelFlags: 'remcsum' }),
        real('10.0.0.4', 'gre', { tunnelFlags: 'nocsum' }),
        real('10.0.0.5', 'ipip'),
        real('10.0.0.6', 'gate'),
      ],
    );
  });

  test("checksums default to nocsum (the kernel's); the tunnel options end the line, after the thresholds", async () => {
    assert.deepEqual(
      await reals(
        vs('real=10.0.0.1:80 gre 2 "/up","OK" l:1 u:9', 'real=10.0.0.2:80 gue 0 u:5 tunnelflags=csum tunnelport=7000'),
      ),
      [
        real('10.0.0.1', 'gre', {
          weight: 2,
          request: '/up',
          receive: 'OK',
          lowerThreshold: 1,
          upperThreshold: 9,
          tunnelFlags: 'nocsum',
        }),
        real('10.0.0.2', 'gue', { weight: 0, upperThreshold: 5, tunnelPort: 7000, tunnelFlags: 'csum' }),
      ],
    );
  });

  test('the YAML form: the section keys, and tunnelport/tunnelflags in a real server mapping', async () => {
    const yaml = [
      'virtuals:',
      '  - virtual: 192.0.2.1:80',
      '    tunnelport: 6080',
      '    tunnelflags: csum',
      '    real:',
      '      - 10.0.0.1:80 gue',
      '      - { host: 10.0.0.3, port: 80, forward: gue, weight: 3, tunnelport: 6081, tunnelflags: remcsum }',
      '      - { host: 10.0.0.4, port: 80, forward: gre, tunnelflags: nocsum }',
      '',
    ].join('\n');
    const cf = vs(
      'real=10.0.0.1:80 gue',
      'real=10.0.0.3:80 gue 3 tunnelport=6081 tunnelflags=remcsum',
      'real=10.0.0.4:80 gre tunnelflags=nocsum',
      'tunnelport=6080',
      'tunnelflags=csum',
    );
    assert.ok(sameMeaning(await loadValid(yaml, YAML_FILE), await loadValid(cf)));
    assert.deepEqual(
      (await reals(yaml, YAML_FILE))[1],
      real('10.0.0.3', 'gue', { weight: 3, tunnelPort: 6081, tunnelFlags: 'remcsum' }),
    );
  });

  test('ldir convert carries them both ways (the per-real override as mapping keys, then as real line tokens)', async () => {
    const trip = await convertRoundTrip(
      vs(
        'real=10.0.0.1:80 gue',
        'real=10.0.0.2:80 gre 2 tunnelflags=nocsum',
        'real=10.0.0.3:80 gue tunnelport=6081',
        'tunnelport=6080',
        'tunnelflags=csum',
      ),
    );
    assert.match(trip.yaml, /tunnelport: 6080\n/);
    assert.match(trip.yaml, /tunnelflags: csum\n/);
    assert.match(trip.yaml, /forward: gre\n\s+weight: 2\n\s+tunnelflags: nocsum\n/);
    assert.match(trip.yaml, /forward: gue\n\s+tunnelport: 6081\n/);
    assert.match(trip.cf, /\treal=10\.0\.0\.2:80 gre 2 tunnelflags=nocsum\n/);
    assert.match(trip.cf, /\ttunnelport=6080\n\ttunnelflags=csum\n/);
    assert.equal(trip.yamlAgain, trip.yaml);
    assert.deepEqual(
      trip.config.virtualServices[0]?.reals.map((r) => [r.tunnelPort, r.tunnelFlags]),
      [
        [6080, 'csum'],
        [undefined, 'nocsum'],
        [6081, 'csum'],
      ],
    );
  });

  test('a YAML real mapping with an override converts to a real line that reads back the same', async () => {
    const yaml =
      'virtuals:\n  - virtual: 192.0.2.1:80\n    real:\n      - { host: 10.0.0.3, port: 80, forward: gue, tunnelport: 6081, tunnelflags: csum }\n';
    const r = await load(yaml, YAML_FILE);
    assert.ok(r.document && r.config);
    const { writeCf } = await import('../../../src/config/cf-writer');
    const cf = writeCf(r.document);
    assert.match(cf, /\treal=10\.0\.0\.3:80 gue tunnelport=6081 tunnelflags=csum\n/);
    assert.ok(sameMeaning(r.config, await loadValid(cf)));
  });

  test('formatRealLine and parseRealLine agree on the tunnel tokens', () => {
    const parsed = parseRealLine('10.0.0.1:80 gue 5 l:1 u:2 tunnelport=6080 tunnelflags=remcsum');
    assert.ok(parsed.ok);
    assert.equal(formatRealLine(parsed.value), '10.0.0.1:80 gue 5 l:1 u:2 tunnelport=6080 tunnelflags=remcsum');
  });
});

describe('tunnelled reals of the other address family', () => {
  test('real6 in a virtual and real in a virtual6, when the real is tunnelled (ipip, gue, gre)', async () => {
    const v4 = await onlyVirtual(
      vs('real6=[2001:db8::5]:80 gue', 'real6=[2001:DB8::6] ipip', 'real=10.0.0.1:80 gre', 'tunnelport=6080'),
    );
    assert.deepEqual(
      v4.reals.map((r) => [r.address, r.forward]),
      [
        ['2001:db8::5', 'gue'],
        ['2001:db8::6', 'ipip'],
        ['10.0.0.1', 'gre'],
      ],
    );
    const v6 = await onlyVirtual(
      'virtual6=[2001:db8::1]:80\n\treal=10.0.0.9:80 gre\n\treal=web1:80 ipip\n\treal6=www6:80 gate\n',
    );
    assert.deepEqual(
      v6.reals.map((r) => [r.address, r.forward]),
      [
        ['10.0.0.9', 'gre'],
        ['10.0.0.1', 'ipip'],
        ['2001:db8::80', 'gate'],
      ],
    );
  });

  test('the same in YAML, and through ldir convert', async () => {
    const yaml =
      'virtuals:\n  - virtual6: "[2001:db8::1]:80"\n    real:\n      - { host: 10.0.0.9, port: 80, forward: gre }\n    real6:\n      - "[2001:db8::2]:80 gate"\n';
    const v = (await loadValid(yaml, YAML_FILE)).virtualServices[0];
    assert.deepEqual(
      v?.reals.map((r) => [r.address, r.forward]),
      [
        ['10.0.0.9', 'gre'],
        ['2001:db8::2', 'gate'],
      ],
    );
    const trip = await convertRoundTrip(
      'virtual6=[2001:db8::1]:80\n\treal=10.0.0.9:80 gre tunnelflags=csum\n\treal6=[2001:db8::2]:80 gate\n',
    );
    assert.match(trip.cf, /\treal=10\.0\.0\.9:80 gre tunnelflags=csum\n/);
  });

  test('gate and masq reals stay in their own family, with the reason in the error', async () => {
    const errs = await loadErrors(vs('real6=[2001:db8::5]:80 masq'));
    assert.equal(errs.length, 1);
    assert.equal(errs[0]?.pos.line, 2);
    assert.equal(errs[0]?.directive, 'real6');
    assert.match(
      errs[0]?.message ?? '',
      /cannot specify "real6" here, please use "real" instead \(only a tunnelled real server, ipip, gue or gre, may be of the other address family; this one is masq\)/,
    );
    const v6 = await loadErrors('virtual6=[2001:db8::1]:80\n\treal=10.0.0.9:80 gate\n');
    assert.match(v6[0]?.message ?? '', /please use "real6" instead .*this one is gate/);
  });

  test('connection synchronisation refuses them: the kernel will not mix families beside a sync daemon', async () => {
    const errs = await loadErrors(`syncinterface=lo\n${vs('real=10.0.0.1:80 gre', 'real6=[2001:db8::5]:80 gre')}`);
    assert.equal(errs.length, 1);
    assert.deepEqual([errs[0]?.pos.line, errs[0]?.directive], [4, 'real6']);
    assert.match(
      errs[0]?.message ?? '',
      /an IPv6 real server in an IPv4 virtual service cannot be used with connection synchronisation \(syncinterface at line 1\)/,
    );
    await loadValid(`syncinterface=lo\n${vs('real=10.0.0.1:80 gre')}`);
  });
});

describe('tunnel refusals, each at its line', () => {
  for (const [value, why] of [
    ['0', /tunnelport must be a number from 1 to 65535, not "0"/],
    ['65536', /not "65536"/],
    ['http', /not "http"/],
    ['', /not ""/],
    ['6080 x', /not "6080 x"/],
  ] as const) {
    test(`tunnelport=${value}`, async () => {
      const errs = await loadErrors(vs('real=10.0.0.1:80 gue', `tunnelport=${value}`));
      assert.equal(errs.length, 1, errs.map((e) => e.message).join('\n'));
      assert.match(errs[0]?.message ?? '', why);
      assert.deepEqual([errs[0]?.pos.line, errs[0]?.directive], [3, 'tunnelport']);
    });
  }

  for (const value of ['CSUM', 'checksum', '', 'csum nocsum']) {
    test(`tunnelflags=${value}`, async () => {
      const errs = await loadErrors(vs('real=10.0.0.1:80 gre', `tunnelflags=${value}`));
      assert.equal(errs.length, 1);
      assert.match(errs[0]?.message ?? '', /tunnelflags must be nocsum, csum or remcsum, not "/);
      assert.deepEqual([errs[0]?.pos.line, errs[0]?.directive], [3, 'tunnelflags']);
    });
  }

  const realLineCases: Array<[string, RegExp]> = [
    ['real=10.0.0.1:80 gue tunnelport=0', /tunnelport must be a number from 1 to 65535, not "0"/],
    ['real=10.0.0.1:80 gue tunnelport=6080 tunnelflags=crc', /tunnelflags must be nocsum, csum or remcsum, not "crc"/],
    ['real=10.0.0.1:80 gue tunnelport=6080 tunnelport=6081', /tunnelport= is given twice on the real server line/],
    ['real=10.0.0.1:80 gue tunnelport=6080 5', /tunnelport= and tunnelflags= go at the end of a real server line/],
    [
      'real=10.0.0.1:80 gue',
      /a gue real server needs the UDP port its GUE decapsulation listens on .*set tunnelport= in the virtual section, or on this real server/,
    ],
    [
      'real=10.0.0.1:80 gre tunnelport=6080',
      /tunnelport=6080 is for gue real servers; this one forwards with gre: it would be ignored/,
    ],
    ['real=10.0.0.1:80 ipip tunnelport=6080', /this one forwards with ipip/],
    [
      'real=10.0.0.1:80 gate tunnelflags=csum',
      /tunnelflags=csum is for gue and gre real servers; this one forwards with gate: it would be ignored/,
    ],
    [
      'real=10.0.0.1:80 gre tunnelflags=remcsum',
      /tunnelflags=remcsum \(remote checksum offload\) is for gue real servers only; a gre real server takes nocsum or csum/,
    ],
    ['real=10.0.0.1:80 tunnel', /forward method must be gate, masq, ipip, gue or gre, not "tunnel"/],
  ];
  for (const [line, why] of realLineCases) {
    test(line, async () => {
      const errs = await loadErrors(vs(line));
      assert.equal(errs.length, 1, errs.map((e) => e.message).join('\n'));
      assert.match(errs[0]?.message ?? '', why);
      assert.deepEqual([errs[0]?.pos.line, errs[0]?.directive], [2, 'real']);
    });
  }

  test("a section's remcsum reaching gre reals is an error at tunnelflags naming their lines; overriding them fixes it", async () => {
    const errs = await loadErrors(
      vs(
        'real=10.0.0.1:80 gue',
        'real=10.0.0.2:80 gre',
        'real=10.0.0.3:80 gre',
        'tunnelport=6080',
        'tunnelflags=remcsum',
      ),
    );
    assert.equal(errs.length, 1);
    assert.deepEqual([errs[0]?.pos.line, errs[0]?.directive], [6, 'tunnelflags']);
    assert.match(
      errs[0]?.message ?? '',
      /applies to the gre real servers at lines 3 and 4: give them tunnelflags=nocsum or csum/,
    );
    await loadValid(
      vs('real=10.0.0.1:80 gue', 'real=10.0.0.2:80 gre tunnelflags=csum', 'tunnelport=6080', 'tunnelflags=remcsum'),
    );
  });

  test('section options no real takes are warnings', async () => {
    const r = await load(
      vs(
        'real=10.0.0.1:80 gate',
        'real=10.0.0.2:80 gue tunnelport=7000 tunnelflags=csum',
        'tunnelport=6080',
        'tunnelflags=csum',
      ),
    );
    assert.ok(r.config);
    assert.deepEqual(
      warnings(r).map((w) => [w.pos.line, w.directive, w.message]),
      [
        [4, 'tunnelport', 'tunnelport=6080 is not used: no gue real server of this virtual service takes it'],
        [5, 'tunnelflags', 'tunnelflags=csum is not used: no gue or gre real server of this virtual service takes it'],
      ],
    );
  });

  test('YAML mapping values are checked at their own line and column', async () => {
    const yaml =
      'virtuals:\n  - virtual: 192.0.2.1:80\n    real:\n      - host: 10.0.0.3\n        forward: gue\n        tunnelport: 99999\n        tunnelflags: xor\n';
    const errs = await loadErrors(yaml, YAML_FILE);
    assert.deepEqual(
      errs.map((e) => [e.pos.line, e.pos.column, e.directive, e.message]),
      [
        [6, 9, 'real', 'real server tunnelport must be a number from 1 to 65535, not "99999"'],
        [7, 9, 'real', 'real server tunnelflags must be nocsum, csum or remcsum, not "xor"'],
      ],
    );
    const forward = await loadErrors(
      'virtuals:\n  - virtual: 192.0.2.1:80\n    real:\n      - { host: 10.0.0.3, forward: vxlan }\n',
      YAML_FILE,
    );
    assert.match(forward[0]?.message ?? '', /real server forward must be gate, masq, ipip, gue or gre, not "vxlan"/);
  });

  test('the tunnel directives belong in a virtual section; a fallback server is not reached through gue or gre', async () => {
    const global = await loadErrors(`tunnelport=6080\n${vs('real=10.0.0.1:80 gue tunnelport=6080')}`);
    assert.match(global[0]?.message ?? '', /tunnelport is only valid inside a virtual section/);
    const fallback = await loadErrors(vs('real=10.0.0.1:80 gate', 'fallback=127.0.0.1:80 gue'));
    assert.match(
      fallback[0]?.message ?? '',
      /forward method must be gate, masq or ipip, not "gue" \(gue is for real servers only\)/,
    );
  });
});
