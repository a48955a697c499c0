// The ldir extension directives sysctl= and ipvssysctl=: both forms, positioned errors, warnings, convert round trips.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runCli } from '../../../src/cli/run';
import { sameMeaning } from '../../../src/config/compare';
import { formatDiagnostic } from '../../../src/config/diagnostics';
import { writeYaml } from '../../../src/config/yaml-writer';
import { IPVS_TUNABLES, parseIpvsTunable } from '../../../src/system/sysctl-tunables';
import { capture } from '../../helpers/cli-io';
import { convertRoundTrip, load, loadErrors, loadValid, vs, warnings } from '../../helpers/config';

const CF = '/etc/ha.d/test.cf';
const YAML = '/etc/ha.d/ldir.yaml';
const REAL = vs('real=10.0.0.1:80 masq');

describe('sysctl and ipvssysctl in ldirectord.cf', () => {
  test('default: on, no tunables', async () => {
    assert.deepEqual((await loadValid(REAL)).globals.sysctl, { enabled: true, ipvs: [] });
  });

  test('accepted values reach the model: sorted by name, normalized, with their line', async () => {
    const c = await loadValid(
      [
        'sysctl=yes',
        'ipvssysctl=sync_threshold = 3   50',
        'ipvssysctl = expire_nodest_conn=1',
        'ipvssysctl=est_nice=-5',
        'ipvssysctl=amemthresh=01024',
        'ipvssysctl=sync_ports=8',
        REAL,
      ].join('\n'),
    );
    assert.deepEqual(c.globals.sysctl, {
      enabled: true,
      ipvs: [
        { name: 'amemthresh', value: '1024', source: { file: CF, line: 5 } },
        { name: 'est_nice', value: '-5', source: { file: CF, line: 4 } },
        { name: 'expire_nodest_conn', value: '1', source: { file: CF, line: 3 } },
        { name: 'sync_ports', value: '8', source: { file: CF, line: 6 } },
        { name: 'sync_threshold', value: '3 50', source: { file: CF, line: 2 } },
      ],
    });
    assert.ok(Object.isFrozen(c.globals.sysctl.ipvs[0]));
  });

  test('sysctl=no turns it off; tunables are then ignored with a warning at their line', async () => {
    const r = await load(`ipvssysctl=conntrack=1\nsysctl=no\n${REAL}`);
    assert.equal(r.config?.globals.sysctl.enabled, false);
    assert.deepEqual(
      warnings(r).map((w) => [w.pos.line, w.code]),
      [[1, 'ignored-setting']],
    );
    assert.match(warnings(r)[0]?.message ?? '', /not applied: sysctl=no/);
  });

  test('a tunable set twice: the last value, with a warning at the later line', async () => {
    const r = await load(`ipvssysctl=conntrack=1\nipvssysctl=conntrack=0\n${REAL}`);
    assert.deepEqual(
      r.config?.globals.sysctl.ipvs.map((t) => [t.name, t.value]),
      [['conntrack', '0']],
    );
    assert.deepEqual(
      warnings(r).map((w) => w.pos.line),
      [2],
    );
    assert.match(warnings(r)[0]?.message ?? '', /set again \(first at line 1\)/);
  });

  test('refused values, each at its own line', async () => {
    const cases: Array<[string, RegExp]> = [
      ['sysctl=maybe', /sysctl must be 'yes' or 'no', not "maybe"/],
      ['sysctl=yes ', /sysctl must be 'yes' or 'no'/],
      ['sysctl=', /sysctl must be 'yes' or 'no'/],
      ['ipvssysctl=', /ipvssysctl must be NAME=VALUE/],
      ['ipvssysctl=expire_nodest_conn', /ipvssysctl must be NAME=VALUE/],
      ['ipvssysctl==1', /ipvssysctl must be NAME=VALUE/],
      ['ipvssysctl=bogus=1', /unknown IPVS tunable "bogus" \(known: am_droprate, /],
      ['ipvssysctl=../../kernel/x=1', /unknown IPVS tunable/],
      ['ipvssysctl=debug_level=1', /unknown IPVS tunable/],
      ['ipvssysctl=expire_nodest_conn=2', /expire_nodest_conn must be 0 or 1, not "2"/],
      ['ipvssysctl=conntrack=yes', /conntrack must be 0 or 1/],
      ['ipvssysctl=conntrack=1 # on', /conntrack must be 0 or 1/],
      ['ipvssysctl=drop_entry=4', /drop_entry must be an integer from 0 to 3, not "4"/],
      ['ipvssysctl=amemthresh=-1', /amemthresh must be an integer 0 or more, not "-1"/],
      ['ipvssysctl=amemthresh=1e3', /amemthresh must be an integer/],
      ['ipvssysctl=amemthresh=2147483648', /amemthresh must be an integer 0 or more/],
      ['ipvssysctl=est_nice=20', /est_nice must be an integer from -20 to 19/],
      ['ipvssysctl=sync_ports=3', /sync_ports must be a power of two, not 3/],
      ['ipvssysctl=sync_ports=128', /sync_ports must be an integer from 1 to 64/],
      ['ipvssysctl=sync_retries=4', /sync_retries must be an integer from 0 to 3/],
      ['ipvssysctl=sync_threshold=3', /sync_threshold must be two non-negative integers/],
      ['ipvssysctl=sync_threshold=50 3', /threshold \(50\) must be less than the period \(3\)/],
      ['ipvssysctl=sync_threshold=3 50 7', /sync_threshold must be two/],
    ];
    for (const [line, pattern] of cases) {
      const errs = await loadErrors(`${line}\n${REAL}`);
      assert.equal(errs.length, 1, `${line}: ${errs.map(formatDiagnostic).join('; ')}`);
      assert.equal(errs[0]?.pos.line, 1, line);
      assert.equal(errs[0]?.directive, line.split('=')[0], line);
      assert.match(errs[0]?.message ?? '', pattern, line);
    }
  });

  test('a sync_threshold period of 0 allows any threshold (the kernel syncs on state changes only)', async () => {
    assert.equal((await loadValid(`ipvssysctl=sync_threshold=5 0\n${REAL}`)).globals.sysctl.ipvs[0]?.value, '5 0');
  });

  test('global only: inside a virtual section they are errors at their line', async () => {
    for (const line of ['sysctl=no', 'ipvssysctl=conntrack=1']) {
      const errs = await loadErrors(vs('real=10.0.0.1:80 masq', line));
      assert.deepEqual(
        errs.map((e) => [e.pos.line, e.code]),
        [[3, 'misplaced']],
        line,
      );
      assert.match(errs[0]?.message ?? '', /is a global directive/);
    }
  });

  test('every tunable of the table accepts its minimum and refuses a word', () => {
    for (const spec of IPVS_TUNABLES.values()) {
      const min = spec.kind === 'threshold' ? '0 1' : String(spec.min);
      assert.deepEqual(parseIpvsTunable(`${spec.name}=${min}`), { ok: true, name: spec.name, value: min }, spec.name);
      assert.equal(parseIpvsTunable(`${spec.name}=on`).ok, false, spec.name);
    }
  });
});

describe('sysctl and ipvssysctl in YAML', () => {
  test('a mapping of tunables, a list of NAME=VALUE, or one NAME=VALUE; sysctl takes yes/no and booleans', async () => {
    const mapping = await loadValid(
      'sysctl: false\nipvssysctl:\n  expire_nodest_conn: 1\n  sync_threshold: 3 50\n',
      YAML,
    );
    assert.equal(mapping.globals.sysctl.enabled, false);
    assert.deepEqual(mapping.globals.sysctl.ipvs, [
      { name: 'expire_nodest_conn', value: '1', source: { file: YAML, line: 3, column: 3 } },
      { name: 'sync_threshold', value: '3 50', source: { file: YAML, line: 4, column: 3 } },
    ]);
    const list = await loadValid('sysctl: yes\nipvssysctl: [expire_nodest_conn=1, "sync_threshold=3 50"]\n', YAML);
    assert.ok(
      sameMeaning(list, {
        ...mapping,
        globals: { ...mapping.globals, sysctl: { ...mapping.globals.sysctl, enabled: true } },
      }),
    );
    const one = await loadValid('ipvssysctl: conntrack=1\n', YAML);
    assert.deepEqual(
      one.globals.sysctl.ipvs.map((t) => `${t.name}=${t.value}`),
      ['conntrack=1'],
    );
  });

  test('bad values give LINE:COL errors at the offending key or item', async () => {
    const cases: Array<[string, number, number, RegExp]> = [
      ['sysctl: maybe\n', 1, 1, /sysctl must be 'yes' or 'no'/],
      ['ipvssysctl:\n  conntrack: 1\n  expire_nodest_conn: 2\n', 3, 3, /expire_nodest_conn must be 0 or 1/],
      ['ipvssysctl:\n  conntrack: [1]\n', 2, 3, /ipvssysctl: conntrack must be a plain value/],
      ['ipvssysctl:\n  conntrack:\n', 2, 3, /must be NAME=VALUE/],
      ['ipvssysctl:\n  - conntrack=1\n  - nosuch=1\n', 3, 5, /unknown IPVS tunable "nosuch"/],
      ['virtuals:\n  - virtual: 192.0.2.1:80\n    sysctl: no\n', 3, 5, /is a global directive/],
    ];
    for (const [text, line, column, message] of cases) {
      const errs = await loadErrors(text, YAML);
      assert.equal(errs.length, 1, `${text}: ${errs.map(formatDiagnostic).join('; ')}`);
      assert.deepEqual([errs[0]?.pos.line, errs[0]?.pos.column], [line, column], formatDiagnostic(errs[0] as never));
      assert.match(errs[0]?.message ?? '', message);
    }
  });
});

describe('convert round trips', () => {
  const cfText =
    'sysctl=no\nipvssysctl=conntrack=1\nipvssysctl = sync_threshold = 3 50\nipvssysctl=conntrack=0\n' +
    'virtual=192.0.2.1:80\n\treal=10.0.0.1:80 masq\n';

  test('cf -> yaml writes a mapping (a repeated tunable keeps its last value and place) -> cf means the same, a fixpoint', async () => {
    const { yaml, cf, yamlAgain } = await convertRoundTrip(cfText, YAML);
    assert.match(yaml, /^sysctl: no\nipvssysctl:\n {2}sync_threshold: 3 50\n {2}conntrack: 0\n/);
    assert.match(cf, /^sysctl=no\nipvssysctl=sync_threshold=3 50\nipvssysctl=conntrack=0\n/);
    assert.equal(yamlAgain, yaml);
  });

  test('ldir convert in both directions', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ldir-sysctl-convert-'));
    const cfFile = join(dir, 'nat.cf');
    writeFileSync(
      cfFile,
      'sysctl=yes\nipvssysctl=expire_quiescent_template=1\nvirtual=192.0.2.1:80\n\treal=192.0.2.11:80 masq\n',
    );
    const toYaml = capture();
    assert.equal(await runCli(['convert', cfFile, '--to', 'yaml', '-o', join(dir, 'nat.yaml')], toYaml), 0, toYaml.err);
    const toCf = capture();
    assert.equal(await runCli(['convert', join(dir, 'nat.yaml'), '--to', 'cf'], toCf), 0, toCf.err);
    assert.equal(
      toCf.out,
      'sysctl=yes\nipvssysctl=expire_quiescent_template=1\n\nvirtual=192.0.2.1:80\n\treal=192.0.2.11:80 masq\n',
    );
  });

  test('a YAML list of tunables is written back as a mapping', async () => {
    const y = await load('ipvssysctl: [conntrack=1, expire_nodest_conn=1]\n', YAML);
    assert.ok(y.document);
    assert.equal(writeYaml(y.document), 'ipvssysctl:\n  conntrack: 1\n  expire_nodest_conn: 1\n');
  });
});
