// `ldir check` reports the sysctls the daemon would change (human lines and the --json array) and writes nothing.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runCheck } from '../../../src/cli/check-command';
import { procSysStore, type SysctlResult, type SysctlStore } from '../../../src/system/sysctl';
import { capture } from '../../helpers/cli-io';
import { fakeResolver, TEST_PROBES } from '../../helpers/config';
import { DIRECTOR_SYSCTLS, sysctlTree, treeValue } from '../../helpers/sysctl-tree';

const LOAD = { resolver: fakeResolver(), probes: TEST_PROBES, hostname: 'director' };

/** Writes a configuration file into a fresh directory; returns its path. */
function configFile(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'ldir-sysctl-check-')), 'ldirectord.cf');
  writeFileSync(path, text);
  return path;
}

/** A store that fails the test if it is used at all. */
const UNTOUCHABLE: SysctlStore = {
  read: (k) => assert.fail(`read ${k}`),
  write: (k) => assert.fail(`write ${k}`),
  list: (k) => assert.fail(`list ${k}`),
};

const NAT = 'ipvssysctl=conntrack=1\nvirtual=192.0.2.1:80\n\treal=10.0.0.1:80 masq\n';

describe('ldir check: sysctl report', () => {
  test('human: one "sysctl:" line per value that would change or cannot be set; nothing is written', async () => {
    const root = sysctlTree();
    const io = capture();
    assert.equal(
      await runCheck({ config: configFile(NAT), json: false, load: LOAD, sysctlStore: procSysStore(root) }, io),
      0,
    );
    assert.equal(
      io.out,
      [
        'sysctl: net.ipv4.conf.all.send_redirects 1 -> 0',
        'sysctl: net.ipv4.conf.default.send_redirects 1 -> 0',
        'sysctl: net.ipv4.conf.eth0.send_redirects 1 -> 0',
        'sysctl: net.ipv4.conf.eth0/100.send_redirects 1 -> 0',
        'sysctl: net.ipv4.ip_forward 0 -> 1',
        'sysctl: net.ipv4.vs.conntrack cannot be set to 1: no such sysctl: the ip_vs module is not loaded, or this kernel does not have this tunable',
        '',
      ].join('\n'),
    );
    assert.equal(io.err, '');
    for (const [key, value] of Object.entries(DIRECTOR_SYSCTLS)) assert.equal(treeValue(root, key), `${value}\n`, key);
  });

  test('--json: the model plus a sysctl array with every planned key, unchanged ones included', async () => {
    const root = sysctlTree();
    const file = configFile(NAT);
    const io = capture();
    assert.equal(await runCheck({ config: file, json: true, load: LOAD, sysctlStore: procSysStore(root) }, io), 0);
    const out = JSON.parse(io.out) as { globals: { sysctl: unknown }; sysctl: SysctlResult[] };
    assert.deepEqual(out.globals.sysctl, {
      enabled: true,
      ipvs: [{ name: 'conntrack', value: '1', source: { file, line: 1 } }],
    });
    assert.deepEqual(
      out.sysctl.map((r) => [r.key, r.old, r.new, r.status]),
      [
        ['net.ipv4.conf.all.send_redirects', '1', '0', 'would-change'],
        ['net.ipv4.conf.default.send_redirects', '1', '0', 'would-change'],
        ['net.ipv4.conf.eth0.send_redirects', '1', '0', 'would-change'],
        ['net.ipv4.conf.eth0/100.send_redirects', '1', '0', 'would-change'],
        ['net.ipv4.conf.eth1.send_redirects', '0', '0', 'unchanged'],
        ['net.ipv4.ip_forward', '0', '1', 'would-change'],
        ['net.ipv4.vs.conntrack', undefined, '1', 'failed'],
      ],
    );
    assert.deepEqual(out.sysctl[6], {
      key: 'net.ipv4.vs.conntrack',
      new: '1',
      why: `ipvssysctl at ${file}:1`,
      status: 'failed',
      reason: 'no such sysctl: the ip_vs module is not loaded, or this kernel does not have this tunable',
      errno: 'ENOENT',
    });
    assert.equal(out.sysctl[0]?.why, 'IPv4 masq forwarding (tcp:192.0.2.1:80)');
  });

  test('already set: nothing on stdout', async () => {
    const root = sysctlTree({
      ...DIRECTOR_SYSCTLS,
      'net.ipv4.ip_forward': '1',
      'net.ipv4.conf.all.send_redirects': '0',
      'net.ipv4.conf.default.send_redirects': '0',
      'net.ipv4.conf.eth0.send_redirects': '0',
      'net.ipv4.conf.eth0/100.send_redirects': '0',
    });
    const io = capture();
    assert.equal(
      await runCheck(
        {
          config: configFile('virtual=192.0.2.1:80\n\treal=10.0.0.1:80 masq\n'),
          json: false,
          load: LOAD,
          sysctlStore: procSysStore(root),
        },
        io,
      ),
      0,
    );
    assert.equal(io.out, '');
  });

  test('sysctl=no, or no masq server and no tunable: the store is not touched; --json gives an empty array', async () => {
    for (const text of [`sysctl=no\n${NAT}`, 'virtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate\n']) {
      const human = capture();
      assert.equal(
        await runCheck({ config: configFile(text), json: false, load: LOAD, sysctlStore: UNTOUCHABLE }, human),
        0,
      );
      assert.equal(human.out, '');
      const json = capture();
      assert.equal(
        await runCheck({ config: configFile(text), json: true, load: LOAD, sysctlStore: UNTOUCHABLE }, json),
        0,
      );
      assert.deepEqual((JSON.parse(json.out) as { sysctl: unknown }).sysctl, []);
    }
  });

  test('an invalid configuration: exit 2, the store is not touched', async () => {
    const io = capture();
    assert.equal(
      await runCheck(
        { config: configFile(`ipvssysctl=conntrack=2\n${NAT}`), json: false, load: LOAD, sysctlStore: UNTOUCHABLE },
        io,
      ),
      2,
    );
    assert.match(io.err, /:1: ipvssysctl conntrack must be 0 or 1, not "2"/);
    assert.equal(io.out, '');
  });
});
