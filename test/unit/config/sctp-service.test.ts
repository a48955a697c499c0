// SCTP virtual services (`protocol=sctp`, an ldir extension) in both forms: the model, the IPVS service they make, the
// default check (an SCTP association), port names, the global fallback, `ldir convert` both ways, and naming them in
// `ldir drain`/`weight`. The checks refused on SCTP are in strict-validation.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { writeCf } from '../../../src/config/cf-writer';
import { sameMeaning } from '../../../src/config/compare';
import { formatDiagnostic } from '../../../src/config/diagnostics';
import { loadConfigText } from '../../../src/config/load';
import { parseServices, portFromTable, type Resolver } from '../../../src/config/resolver';
import { writeYaml } from '../../../src/config/yaml-writer';
import { resolvePair } from '../../../src/engine/targets';
import { serviceOf } from '../../../src/engine/translate';
import type { Config } from '../../../src/model';
import { fakeResolver, TEST_PROBES } from '../../helpers/config';

/** The test resolver, with one SCTP entry (as Debian's /etc/services has a few). */
function sctpResolver(): Resolver {
  const base = fakeResolver();
  const table = parseServices('diameter 3868/sctp\ndiameter 3868/tcp\nsimco 7626/sctp\nhttp 80/tcp www\n');
  return { resolveHost: base.resolveHost, resolvePort: (name, protocol) => portFromTable(table, name, protocol) };
}

async function valid(text: string, file = '/etc/ha.d/sctp.cf'): Promise<Config> {
  const r = await loadConfigText(text, file, { resolver: sctpResolver(), probes: TEST_PROBES, hostname: 'director' });
  assert.ok(r.config, r.diagnostics.map(formatDiagnostic).join('\n'));
  return r.config;
}

const CF = 'virtual=192.0.2.1:3868\n\tprotocol=sctp\n\treal=10.0.0.1:3868 masq\n\treal=10.0.0.2:3868 masq 3\n';
const YAML =
  'virtuals:\n  - virtual: 192.0.2.1:3868\n    protocol: sctp\n    real:\n      - 10.0.0.1:3868 masq\n      - { host: 10.0.0.2, port: 3868, forward: masq, weight: 3 }\n';

describe('protocol=sctp', () => {
  test('in both forms: an SCTP virtual service whose default check opens an association', async () => {
    for (const [text, file] of [
      [CF, '/etc/ha.d/sctp.cf'],
      [YAML, '/etc/ha.d/sctp.yaml'],
    ] as const) {
      const v = (await valid(text, file)).virtualServices[0];
      assert.ok(v, file);
      assert.deepEqual(
        [v.id, v.protocol, v.port, v.check.type],
        ['sctp:192.0.2.1:3868', 'sctp', 3868, 'connect'],
        file,
      );
      assert.deepEqual(serviceOf(v), {
        family: 'inet',
        protocol: 'sctp',
        address: '192.0.2.1',
        port: 3868,
        scheduler: 'wrr',
        onePacket: false,
        schedulerFlags: [],
      });
    }
  });

  test('a TCP service keeps negotiate as its default check', async () => {
    const v = (await valid('virtual=192.0.2.1:3868\n\treal=10.0.0.1:3868 masq\n')).virtualServices[0];
    assert.equal(v?.check.type, 'negotiate');
  });

  test('the checks that can run on it are accepted as written', async () => {
    for (const type of ['connect', 'ping', 'on', 'off', 'external']) {
      const v = (await valid(`${CF}\tchecktype=${type}\n\tcheckcommand=/bin/true\n`)).virtualServices[0];
      assert.equal(v?.check.type, type);
    }
  });

  test('a port name is looked up for sctp, then for tcp', async () => {
    const c = await valid(
      'virtual=192.0.2.1:simco\n\tprotocol=sctp\n\treal=10.0.0.1 masq\n\nvirtual=192.0.2.1:www\n\tprotocol=sctp\n\treal=10.0.0.1 masq\n',
    );
    assert.deepEqual(
      c.virtualServices.map((v) => v.port),
      [7626, 80],
    );
  });

  test('the global fallback serves SCTP services too, on their port when it has none', async () => {
    const c = await valid(`fallback=127.0.0.1 gate\n${CF}\nvirtual=192.0.2.1:diameter\n\treal=10.0.0.1 gate\n`);
    assert.deepEqual(
      c.virtualServices.map((v) => [v.id, v.fallback?.address, v.fallback?.port]),
      [
        ['sctp:192.0.2.1:3868', '127.0.0.1', 3868],
        ['tcp:192.0.2.1:3868', '127.0.0.1', 3868],
      ],
    );
    const numbered = await valid(`fallback=127.0.0.1:3869 gate\n${CF}`);
    assert.equal(numbered.virtualServices[0]?.fallback?.port, 3869);
  });

  test('ldir convert keeps it both ways', async () => {
    const fromCf = await loadConfigText(CF, '/etc/ha.d/sctp.cf', {
      resolver: sctpResolver(),
      probes: TEST_PROBES,
      hostname: 'director',
    });
    assert.ok(fromCf.config && fromCf.document);
    const yaml = writeYaml(fromCf.document);
    assert.match(yaml, /protocol: sctp/);
    const back = await valid(yaml, '/etc/ha.d/sctp.yaml');
    assert.ok(sameMeaning(fromCf.config, back));
    const fromYaml = await loadConfigText(YAML, '/etc/ha.d/sctp.yaml', {
      resolver: sctpResolver(),
      probes: TEST_PROBES,
      hostname: 'director',
    });
    assert.ok(fromYaml.document && fromYaml.config);
    const cf = writeCf(fromYaml.document);
    assert.match(cf, /^\tprotocol=sctp$/m);
    assert.ok(sameMeaning(fromYaml.config, await valid(cf)));
  });

  test('ldir drain/weight name it as sctp:VIP:PORT, or VIP:PORT when no other protocol has that address', async () => {
    const c = await valid(CF);
    assert.equal(resolvePair(c, 'sctp:192.0.2.1:3868', '10.0.0.2').virtual.id, 'sctp:192.0.2.1:3868');
    assert.equal(resolvePair(c, '192.0.2.1:3868', '10.0.0.2:3868').realKey, '10.0.0.2:3868');
    const both = await valid(`${CF}\nvirtual=192.0.2.1:3868\n\treal=10.0.0.1:3868 masq\n`);
    assert.throws(
      () => resolvePair(both, '192.0.2.1:3868', '10.0.0.1'),
      /192\.0\.2\.1:3868 is ambiguous: say tcp:192\.0\.2\.1:3868 or sctp:192\.0\.2\.1:3868/,
    );
  });
});
