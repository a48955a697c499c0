// The FRR driver: ldir's network statements read from `show running-config bgpd` (only those marked with its
// route-map, only in the default instance), the vtysh commands of a change, and the driver over a fake vtysh.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { canonicalPrefix } from '../../../src/announce/candidates';
import { frrCommands, parseFrrRunningConfig } from '../../../src/announce/frr-config';
import { frrDriver } from '../../../src/announce/frr-driver';
import { readRouteTarget } from '../../../src/announce/route-driver';
import type { ProcessOutcome, ProcessRequest } from '../../../src/process-runner';

const RUNNING = `Building configuration...

Current configuration:
!
frr version 8.4.4
frr defaults traditional
!
router bgp 65001
 bgp router-id 10.250.0.1
 neighbor 10.250.0.2 remote-as 65000
 !
 address-family ipv4 unicast
  network 192.0.2.10/32 route-map LDIR-ANNOUNCE
  network 198.51.100.0/24
  network 192.0.2.11/32 route-map OTHER
 exit-address-family
 !
 address-family ipv6 unicast
  network 2001:db8::10/128 route-map LDIR-ANNOUNCE
 exit-address-family
exit
!
router bgp 65002 vrf blue
 address-family ipv4 unicast
  network 192.0.2.50/32 route-map LDIR-ANNOUNCE
 exit-address-family
exit
!
route-map LDIR-ANNOUNCE permit 10
 set community 65001:100
exit
!
end
`;

describe('FRR running configuration', () => {
  test('reads the default instance, its ldir-marked network statements (both families) and the route-map', () => {
    assert.deepEqual(parseFrrRunningConfig(RUNNING), {
      asn: '65001',
      routeMap: true,
      announced: ['192.0.2.10/32', '2001:db8::10/128'],
    });
  });

  test('no router bgp, no route-map: nothing announced, both missing', () => {
    assert.deepEqual(parseFrrRunningConfig('frr version 8.4.4\n!\nroute-map LDIR-ANNOUNCE deny 10\nexit\n'), {
      routeMap: false,
      announced: [],
    });
  });

  test('IPv6 prefixes in one spelling', () => {
    assert.equal(canonicalPrefix('2001:DB8:0::A/128'), '2001:db8::a/128');
    assert.equal(canonicalPrefix('192.0.2.1/32'), '192.0.2.1/32');
  });

  test('the commands of a change: withdrawals and announcements per family; nothing when nothing changes', () => {
    assert.deepEqual(
      frrCommands('65001', ['192.0.2.10/32', '2001:db8::10/128'], ['192.0.2.11/32', '2001:DB8::10/128']),
      [
        'configure terminal',
        'router bgp 65001',
        'address-family ipv4 unicast',
        'no network 192.0.2.10/32 route-map LDIR-ANNOUNCE',
        'network 192.0.2.11/32 route-map LDIR-ANNOUNCE',
        'exit-address-family',
      ],
    );
    assert.deepEqual(frrCommands('65001', ['192.0.2.10/32'], ['192.0.2.10/32']), []);
    assert.deepEqual(frrCommands('65001', [], ['2001:db8::1/128']).slice(2), [
      'address-family ipv6 unicast',
      'network 2001:db8::1/128 route-map LDIR-ANNOUNCE',
      'exit-address-family',
    ]);
  });

  test('a guard line names its target; one without a driver is BIRD (a daemon of before FRR)', () => {
    assert.deepEqual(readRouteTarget({ driver: 'frr', socket: '/run/frr' }), { driver: 'frr', socket: '/run/frr' });
    assert.deepEqual(readRouteTarget({ socket: '/run/b.ctl', file: '/f' }), {
      driver: 'bird',
      socket: '/run/b.ctl',
      file: '/f',
    });
    assert.equal(readRouteTarget({ driver: 'gobgp', socket: '/x' }), undefined);
    assert.equal(readRouteTarget({ driver: 'bird', socket: '/x' }), undefined, 'BIRD needs its file');
  });
});

/** A vtysh that answers `show running-config bgpd` with `running` and records every other call. */
function fakeVtysh(running: string, fail?: { exitCode: number; stdout: string }) {
  const calls: string[][] = [];
  const run = async (r: ProcessRequest): Promise<ProcessOutcome> => {
    calls.push([...r.argv]);
    const base = { signal: null, timedOut: false, stderr: '', truncated: false };
    if (r.argv.includes('show running-config bgpd')) return { ...base, exitCode: 0, stdout: running };
    return fail ? { ...base, ...fail } : { ...base, exitCode: 0, stdout: '' };
  };
  return { calls, run };
}

describe('FRR driver', () => {
  test('announced() is what FRR holds; apply runs the difference in one vtysh call at the vty socket directory', async () => {
    const v = fakeVtysh(RUNNING);
    const d = frrDriver({ socket: '/run/frr/d1', run: v.run });
    assert.equal(d.describe, 'frr socket=/run/frr/d1');
    assert.deepEqual(await d.announced(), ['192.0.2.10/32', '2001:db8::10/128']);
    await d.apply(['192.0.2.10/32', '192.0.2.12/32']);
    assert.deepEqual(v.calls.at(-1), [
      'vtysh',
      '--vty_socket',
      '/run/frr/d1',
      '-c',
      'configure terminal',
      '-c',
      'router bgp 65001',
      '-c',
      'address-family ipv4 unicast',
      '-c',
      'network 192.0.2.12/32 route-map LDIR-ANNOUNCE',
      '-c',
      'exit-address-family',
      '-c',
      'address-family ipv6 unicast',
      '-c',
      'no network 2001:db8::10/128 route-map LDIR-ANNOUNCE',
      '-c',
      'exit-address-family',
    ]);
    const before = v.calls.length;
    await d.apply(['192.0.2.10/32', '2001:db8::10/128']);
    assert.equal(v.calls.length, before + 1, 'nothing to change: only the read');
  });

  test('refusals: no BGP instance, no route-map to announce with, vtysh failing; withdrawing without either is fine', async () => {
    const bare = frrDriver({ socket: '/s', run: fakeVtysh('frr version 8.4.4\n').run });
    await assert.rejects(bare.apply(['192.0.2.10/32']), /bgpd has no default "router bgp ASN" instance/);
    await bare.apply([]);
    const noMap = frrDriver({ socket: '/s', run: fakeVtysh('router bgp 65001\nexit\n').run });
    await assert.rejects(noMap.apply(['192.0.2.10/32']), /frr.conf has no "route-map LDIR-ANNOUNCE permit 10"/);
    await noMap.apply([]);
    const refusing = frrDriver({
      socket: '/s',
      run: fakeVtysh(RUNNING, { exitCode: 1, stdout: '% Unknown command: network' }).run,
    });
    await assert.rejects(
      refusing.apply([]),
      (err: Error & { code?: string }) =>
        err.code === 'LDIR_ERR_ANNOUNCE' && /exit 1: % Unknown command: network/.test(err.message),
    );
    const down = frrDriver({
      socket: '/s',
      run: async () => ({
        exitCode: 1,
        signal: null,
        timedOut: false,
        stdout: '',
        stderr: 'Exiting: failed to connect to any daemons.',
        truncated: false,
      }),
    });
    assert.deepEqual(await down.announced(), [], 'FRR down: nothing read');
    await assert.rejects(down.apply([]), /failed to connect to any daemons/);
  });
});
