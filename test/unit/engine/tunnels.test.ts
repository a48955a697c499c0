// Tunnelled reals through the engine: gue and gre destinations with their port and checksums, a real of the other
// address family, a reload that changes only tunnel settings (one edit each), the ipvsadm lines, and the status.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { realDestination } from '../../../src/engine/translate';
import { formatOpArgs } from '../../../src/ipvs/ipvsadm/format';
import type { IpvsDestination } from '../../../src/ipvs/types';
import { loadValid, vs } from '../../helpers/config';
import { EngineHarness } from '../../helpers/engine';
import { specOf } from '../../helpers/ipvs-tables';

const VIP = 'tcp:192.0.2.1:80';
const REALS = ['10.0.0.1:80', '10.0.0.2:80', '[2001:db8::5]:80', '10.0.0.3:8080'];

/** The destinations of the web virtual as the memory kernel holds them, by address. */
async function destinations(h: EngineHarness): Promise<Map<string, IpvsDestination>> {
  const table = specOf(await h.backend.list());
  return new Map((table[0]?.destinations ?? []).map((d) => [d.address, d]));
}

const config = (flags: string, override = 'tunnelflags=nocsum') =>
  loadValid(
    vs(
      'real=10.0.0.1:80 gue 2',
      `real=10.0.0.2:80 gre ${override}`,
      'real6=[2001:db8::5]:80 gue tunnelport=6081',
      'real=10.0.0.3:8080 ipip',
      'tunnelport=6080',
      `tunnelflags=${flags}`,
      'checktype=on',
    ),
  );

describe('tunnelled reals in the kernel table', () => {
  test('gue and gre destinations carry type, port and checksums; ipip stays plain; the IPv6 real sits in the IPv4 service', async () => {
    const h = new EngineHarness();
    await h.apply(await config('csum'));
    await h.health(VIP, Object.fromEntries(REALS.map((r) => [r, 'up'])));
    const d = await destinations(h);
    assert.deepEqual(d.get('10.0.0.1'), {
      address: '10.0.0.1',
      family: 'inet',
      port: 80,
      forward: 'tunnel',
      weight: 2,
      upperThreshold: 0,
      lowerThreshold: 0,
      tunnelType: 'gue',
      tunnelPort: 6080,
      tunnelChecksum: 'csum',
    });
    assert.deepEqual(
      [d.get('10.0.0.2')?.tunnelType, d.get('10.0.0.2')?.tunnelPort, d.get('10.0.0.2')?.tunnelChecksum],
      ['gre', undefined, 'nocsum'],
    );
    assert.deepEqual(
      [
        d.get('2001:db8::5')?.family,
        d.get('2001:db8::5')?.forward,
        d.get('2001:db8::5')?.tunnelType,
        d.get('2001:db8::5')?.tunnelPort,
        d.get('2001:db8::5')?.tunnelChecksum,
      ],
      ['inet6', 'tunnel', 'gue', 6081, 'csum'],
    );
    assert.deepEqual(
      [d.get('10.0.0.3')?.forward, d.get('10.0.0.3')?.port, d.get('10.0.0.3')?.tunnelType],
      ['tunnel', 80, 'ipip'],
      "ipip: the kernel's default type, the virtual's port",
    );
  });

  test('a reload that changes only checksums edits those destinations in place (no delete, no add)', async () => {
    const h = new EngineHarness();
    await h.apply(await config('csum'));
    await h.health(VIP, Object.fromEntries(REALS.map((r) => [r, 'up'])));
    h.opsSinceMark();
    await h.apply(await config('remcsum', 'tunnelflags=csum'));
    assert.deepEqual(h.opsSinceMark().sort(), [
      `edit-destination ${VIP} 10.0.0.1:80`,
      `edit-destination ${VIP} 10.0.0.2:80`,
      `edit-destination ${VIP} [2001:db8::5]:80`,
    ]);
    const d = await destinations(h);
    assert.deepEqual([...d.values()].map((x) => `${x.address} ${x.tunnelType} ${x.tunnelChecksum}`).sort(), [
      '10.0.0.1 gue remcsum',
      '10.0.0.2 gre csum',
      '10.0.0.3 ipip nocsum',
      '2001:db8::5 gue remcsum',
    ]);
  });

  test("the status shows each real's tunnel settings", async () => {
    const h = new EngineHarness();
    await h.apply(await config('csum'));
    const reals = h.engine
      .snapshot()
      .virtuals[0]?.reals.map((r) => [r.address, r.forward, r.tunnelPort, r.tunnelFlags]);
    assert.deepEqual(reals, [
      ['10.0.0.1', 'gue', 6080, 'csum'],
      ['10.0.0.2', 'gre', null, 'nocsum'],
      ['2001:db8::5', 'gue', 6081, 'csum'],
      ['10.0.0.3', 'ipip', null, null],
    ]);
  });

  test('the ipvsadm backend writes them as ipvsadm takes them', async () => {
    const c = await config('csum');
    const v = c.virtualServices[0]!;
    const line = (i: number): string =>
      formatOpArgs({
        op: 'add-destination',
        service: { family: 'inet', protocol: 'tcp', address: '192.0.2.1', port: 80 },
        destination: realDestination(v, v.reals[i]!, 1),
      }).join(' ');
    assert.equal(
      line(0),
      '-a -t 192.0.2.1:80 -r 10.0.0.1:80 -i -w 1 -x 0 -y 0 --tun-type gue --tun-port 6080 --tun-csum',
    );
    assert.equal(line(1), '-a -t 192.0.2.1:80 -r 10.0.0.2:80 -i -w 1 -x 0 -y 0 --tun-type gre --tun-nocsum');
    assert.equal(
      line(2),
      '-a -t 192.0.2.1:80 -r [2001:db8::5]:80 -i -w 1 -x 0 -y 0 --tun-type gue --tun-port 6081 --tun-csum',
    );
    assert.equal(
      line(3),
      '-a -t 192.0.2.1:80 -r 10.0.0.3:80 -i -w 1 -x 0 -y 0',
      'ipip: no --tun-type (ipvsadm before 1.30 has none)',
    );
  });
});
