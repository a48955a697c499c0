// The ldir extension directives of connection sync (syncinterface, syncid, syncgroup, syncport, syncmaxlen, syncttl,
// syncrole): defaults, both forms, positioned errors, the cross-directive rules, convert round trip.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { convertRoundTrip, loadErrors, loadValid, vs } from '../../helpers/config';

const YAML = '/etc/ha.d/ldir.yaml';
const REAL = vs('real=10.0.0.1:80 gate');

/** The model's settings without their source position. */
async function syncOf(text: string, file?: string): Promise<unknown> {
  const s = (await loadValid(text, file)).globals.stateSync;
  if (s === null) return null;
  const { source: _source, ...rest } = s;
  return rest;
}

describe('connection sync directives', () => {
  test('default: not configured, no sync daemon touched', async () => {
    assert.equal((await loadValid(REAL)).globals.stateSync, null);
  });

  test('syncinterface alone: sync id 0, role backup, kernel defaults left to the kernel, global cleanstop', async () => {
    assert.deepEqual(await syncOf(`syncinterface=eth1\n${REAL}`), {
      interface: 'eth1',
      syncId: 0,
      role: 'backup',
      cleanstop: true,
    });
    assert.deepEqual(await syncOf(`cleanstop=no\nsyncinterface=eth1\n${REAL}`), {
      interface: 'eth1',
      syncId: 0,
      role: 'backup',
      cleanstop: false,
    });
  });

  test('ldirectord.cf: every directive reaches the model; addresses in canonical form; source is syncinterface', async () => {
    const text = `syncinterface=bond0.12\nsyncid=7\nsyncgroup=239.1.2.3\nsyncport=8850\nsyncmaxlen=1400\nsyncttl=2\nsyncrole=master\n${REAL}`;
    assert.deepEqual(await syncOf(text), {
      interface: 'bond0.12',
      syncId: 7,
      group: '239.1.2.3',
      port: 8850,
      maxLength: 1400,
      ttl: 2,
      role: 'master',
      cleanstop: true,
    });
    assert.equal((await loadValid(text)).globals.stateSync?.source.line, 1);
    assert.deepEqual(await syncOf(`syncinterface=eth0\nsyncgroup=FF02:0::81\nsyncrole=none\n${REAL}`), {
      interface: 'eth0',
      syncId: 0,
      group: 'ff02::81',
      role: 'none',
      cleanstop: true,
    });
  });

  test('bad values are errors at their line, naming the directive', async () => {
    const errs = await loadErrors(
      [
        'syncinterface=eth/0',
        'syncid=256',
        'syncgroup=192.0.2.1',
        'syncport=0',
        'syncmaxlen=70000',
        'syncttl=0',
        'syncrole=primary',
        'syncgroup=mcast.example.com',
        'syncid=7x',
        REAL,
      ].join('\n'),
    );
    assert.deepEqual(
      errs.map((e) => e.pos.line),
      [1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
    assert.match(errs[0]?.message ?? '', /syncinterface must be a network interface name/);
    assert.match(errs[1]?.message ?? '', /syncid must be a number from 0 to 255, not "256"/);
    assert.match(errs[2]?.message ?? '', /syncgroup must be a multicast address .* not 192\.0\.2\.1/);
    assert.match(errs[3]?.message ?? '', /syncport must be a number from 1 to 65535/);
    assert.match(errs[4]?.message ?? '', /syncmaxlen must be a number from 1 to 65507/);
    assert.match(errs[5]?.message ?? '', /syncttl must be a number from 1 to 255/);
    assert.match(errs[6]?.message ?? '', /syncrole must be none, master or backup, not "primary"/);
    assert.match(errs[7]?.message ?? '', /numeric multicast address/);
    assert.match(errs[8]?.message ?? '', /syncid must be a number/);
  });

  test('an interface name the kernel refuses: too long, or . and ..', async () => {
    for (const name of ['averyveryverylongname', '.', '..', 'eth:0']) {
      const errs = await loadErrors(`syncinterface=${name}\n${REAL}`);
      assert.deepEqual(
        errs.map((e) => e.pos.line),
        [1],
        name,
      );
    }
  });

  test('sync directives without syncinterface are errors at their own lines (they would do nothing)', async () => {
    const errs = await loadErrors(`syncid=7\ncheckinterval=5\nsyncrole=master\n${REAL}`);
    assert.deepEqual(
      errs.map((e) => [e.pos.line, e.directive]),
      [
        [1, 'syncid'],
        [3, 'syncrole'],
      ],
    );
    assert.match(errs[0]?.message ?? '', /syncid needs syncinterface/);
  });

  test('an IPv6 group lowers the largest syncmaxlen (larger headers)', async () => {
    const errs = await loadErrors(`syncinterface=eth0\nsyncgroup=ff02::81\nsyncmaxlen=65500\n${REAL}`);
    assert.deepEqual(
      errs.map((e) => e.pos.line),
      [3],
    );
    assert.match(errs[0]?.message ?? '', /at most 65487 with an IPv6 syncgroup/);
    await loadValid(`syncinterface=eth0\nsyncgroup=ff02::81\nsyncmaxlen=65487\n${REAL}`);
    await loadValid(`syncinterface=eth0\nsyncmaxlen=65500\n${REAL}`);
  });

  test('inside a virtual section they are misplaced', async () => {
    const errs = await loadErrors(vs('real=10.0.0.1:80 gate', 'syncinterface=eth0'));
    assert.match(errs[0]?.message ?? '', /syncinterface is a global directive/);
  });

  test('YAML: the same directives, line:column errors', async () => {
    const yaml =
      'syncinterface: eth1\nsyncid: 9\nsyncgroup: 224.0.0.81\nsyncport: 8848\nsyncmaxlen: 1472\nsyncttl: 1\nsyncrole: none\n';
    assert.deepEqual(await syncOf(yaml, YAML), {
      interface: 'eth1',
      syncId: 9,
      group: '224.0.0.81',
      port: 8848,
      maxLength: 1472,
      ttl: 1,
      role: 'none',
      cleanstop: true,
    });
    const errs = await loadErrors('syncinterface: eth1\nsyncid: -1\nsyncrole: yes\n', YAML);
    assert.deepEqual(
      errs.map((e) => e.pos.line),
      [2, 3],
    );
    assert.ok(
      errs.every((e) => e.pos.column !== undefined),
      'YAML errors carry a column',
    );
  });

  test('cf -> yaml -> cf means the same', async () => {
    const { config } = await convertRoundTrip(
      `syncinterface=eth1\nsyncid=7\nsyncgroup=ff02::81\nsyncport=8850\nsyncmaxlen=1400\nsyncttl=3\nsyncrole=master\n${REAL}`,
      YAML,
    );
    assert.equal(config.globals.stateSync?.group, 'ff02::81');
  });
});
