// The sysctl planner: what a configuration needs (NAT v4/v6, redirects per interface, IPVS tunables), and nothing else.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { planSysctls } from '../../../src/system/sysctl-plan';
import { loadValid } from '../../helpers/config';

const INTERFACES = ['all', 'default', 'eth1', 'lo', 'eth0', 'eth0.100'];

/** The planned `key=value` pairs of a configuration, with the interfaces above. */
async function plan(text: string, interfaces: readonly string[] = INTERFACES): Promise<string[]> {
  return planSysctls(await loadValid(text), () => interfaces).map((s) => `${s.key}=${s.value}`);
}

const REDIRECTS_AND_FORWARD = [
  'net.ipv4.conf.all.send_redirects=0',
  'net.ipv4.conf.default.send_redirects=0',
  'net.ipv4.conf.eth0.send_redirects=0',
  'net.ipv4.conf.eth0/100.send_redirects=0',
  'net.ipv4.conf.eth1.send_redirects=0',
  'net.ipv4.ip_forward=1',
];

describe('planSysctls', () => {
  test('IPv4 masq: send_redirects=0 for all, default and every interface but lo (sorted), then ip_forward=1', async () => {
    assert.deepEqual(
      await plan('virtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate\n\treal=10.0.0.2:80 masq\n'),
      REDIRECTS_AND_FORWARD,
    );
  });

  test('the reason names the first masq virtual service', async () => {
    const c = await loadValid(
      'virtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate\n\nvirtual=192.0.2.1:443\n\treal=10.0.0.1:443 masq\n',
    );
    const [first] = planSysctls(c, () => []);
    assert.deepEqual(first, {
      key: 'net.ipv4.conf.all.send_redirects',
      value: '0',
      why: 'IPv4 masq forwarding (tcp:192.0.2.1:443)',
    });
  });

  test('IPv6 masq: net.ipv6.conf.all.forwarding=1 only (no IPv4 settings, no interface listing)', async () => {
    let listed = false;
    const c = await loadValid('virtual6=[2001:db8::1]:80\n\treal6=[2001:db8::2]:80 masq\n');
    const settings = planSysctls(c, () => {
      listed = true;
      return INTERFACES;
    });
    assert.deepEqual(
      settings.map((s) => `${s.key}=${s.value}`),
      ['net.ipv6.conf.all.forwarding=1'],
    );
    assert.equal(settings[0]?.why, 'IPv6 masq forwarding (tcp:[2001:db8::1]:80)');
    assert.equal(listed, false);
  });

  test('both families', async () => {
    const text =
      'virtual=192.0.2.1:80\n\treal=10.0.0.1:80 masq\n\nvirtual6=[2001:db8::1]:80\n\treal6=[2001:db8::2]:80 masq\n';
    assert.deepEqual(await plan(text), [...REDIRECTS_AND_FORWARD, 'net.ipv6.conf.all.forwarding=1']);
  });

  test('firewall-mark services count by their family', async () => {
    assert.deepEqual(await plan('virtual=100\n\treal=10.0.0.1 masq\n', []), [
      'net.ipv4.conf.all.send_redirects=0',
      'net.ipv4.conf.default.send_redirects=0',
      'net.ipv4.ip_forward=1',
    ]);
  });

  test('no masq server: nothing, and the interfaces are not listed', async () => {
    let listed = false;
    const c = await loadValid(
      'virtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate\n\treal=10.0.0.2:80 ipip\n\tfallback=127.0.0.1:80 masq\n',
    );
    assert.deepEqual(
      planSysctls(c, () => {
        listed = true;
        return INTERFACES;
      }),
      [],
    );
    assert.equal(listed, false);
  });

  test('a masq fallback counts unless it is a loopback address (local delivery)', async () => {
    assert.deepEqual(await plan('virtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate\n\tfallback=10.0.0.9:80 masq\n', []), [
      'net.ipv4.conf.all.send_redirects=0',
      'net.ipv4.conf.default.send_redirects=0',
      'net.ipv4.ip_forward=1',
    ]);
    assert.deepEqual(
      await plan('virtual6=[2001:db8::1]:80\n\treal6=[2001:db8::2]:80 gate\n\tfallback6=[::1]:80 masq\n'),
      [],
    );
  });

  test('sysctl=no: nothing at all, masq servers and tunables included', async () => {
    assert.deepEqual(
      await plan('sysctl=no\nipvssysctl=conntrack=1\nvirtual=192.0.2.1:80\n\treal=10.0.0.1:80 masq\n'),
      [],
    );
  });

  test('IPVS tunables come after the forwarding settings, sorted by name, with their line', async () => {
    const c = await loadValid(
      'ipvssysctl=sync_threshold=3 50\nipvssysctl=expire_nodest_conn=1\nvirtual=192.0.2.1:80\n\treal=10.0.0.1:80 masq\n',
    );
    const settings = planSysctls(c, () => []);
    assert.deepEqual(settings.slice(3), [
      { key: 'net.ipv4.vs.expire_nodest_conn', value: '1', why: 'ipvssysctl at /etc/ha.d/test.cf:2' },
      { key: 'net.ipv4.vs.sync_threshold', value: '3 50', why: 'ipvssysctl at /etc/ha.d/test.cf:1' },
    ]);
  });

  test('tunables alone (gate servers): only the tunables', async () => {
    assert.deepEqual(
      await plan('ipvssysctl=expire_quiescent_template=1\nvirtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate\n'),
      ['net.ipv4.vs.expire_quiescent_template=1'],
    );
  });

  test('an empty configuration plans nothing', async () => {
    assert.deepEqual(await plan(''), []);
  });
});
