// Route health injection directives: announce, announcesocket, announcefile, announcedelay, withdrawdelay; both forms,
// global with per-virtual overrides, refusals at their line, warnings for settings that do nothing.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { announcePlanLines } from '../../../src/cli/check-command';
import { convertRoundTrip, load, loadErrors, loadValid, vs, warnings } from '../../helpers/config';

const two = (global: string, first: string[] = [], second: string[] = []): string =>
  `${global}virtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate\n${first.map((l) => `\t${l}\n`).join('')}` +
  `virtual6=[2001:db8::1]:443\n\treal6=[2001:db8::10]:443 gate\n${second.map((l) => `\t${l}\n`).join('')}`;

describe('announce directives', () => {
  test('off by default: no driver, no virtual announced', async () => {
    const c = await loadValid(vs('real=10.0.0.1:80 masq'));
    assert.equal(c.globals.announce, undefined);
    assert.equal(c.virtualServices[0]?.announce, undefined);
  });

  test('global announce=bird with defaults; per-virtual delays and announce=none override', async () => {
    const c = await loadValid(two('announce=bird\nwithdrawdelay=3\n', ['announcedelay=5'], ['announce=none']));
    assert.deepEqual(c.globals.announce, {
      driver: 'bird',
      socket: '/run/bird/bird.ctl',
      file: '/etc/bird/ldir-announce.conf',
    });
    const [a, b] = c.virtualServices;
    assert.deepEqual([a?.announce?.delay, a?.announce?.withdrawDelay], [5, 3]);
    assert.equal(b?.announce, undefined);
  });

  test('announce=bird in one virtual only, with the socket and file set globally', async () => {
    const c = await loadValid(
      two('announcesocket=/run/b.ctl\nannouncefile="/etc/bird/x.conf"\n', [], ['announce=bird']),
    );
    assert.deepEqual(c.globals.announce, { driver: 'bird', socket: '/run/b.ctl', file: '/etc/bird/x.conf' });
    assert.deepEqual(
      c.virtualServices.map((v) => v.announce?.delay),
      [undefined, 0],
    );
    assert.deepEqual(announcePlanLines(c), [
      'announce: bird socket=/run/b.ctl file=/etc/bird/x.conf',
      'announce: 2001:db8::1/128 while tcp:[2001:db8::1]:443 can serve (announcedelay 0s, withdrawdelay 0s)',
    ]);
  });

  test('YAML and ldir convert carry every directive both ways', async () => {
    const trip = await convertRoundTrip(
      two(
        'announce=bird\nannouncesocket=/run/b.ctl\nannouncefile=/etc/bird/x.conf\nannouncedelay=4\n',
        ['withdrawdelay=2'],
        ['announce=none'],
      ),
    );
    for (const re of [
      /announce: bird/,
      /announcesocket: \/run\/b\.ctl/,
      /announcefile: \/etc\/bird\/x\.conf/,
      /announcedelay: 4/,
      /withdrawdelay: 2/,
      /announce: none/,
    ]) {
      assert.match(trip.yaml, re);
    }
    assert.deepEqual(
      trip.config.virtualServices.map((v) => v.announce && [v.announce.delay, v.announce.withdrawDelay]),
      [[4, 2], undefined],
    );
    assert.equal(trip.config.globals.announce?.socket, '/run/b.ctl');
  });

  test('announce=frr: the vty socket directory defaults to /run/frr; announcefile is unused (a warning at its line)', async () => {
    const c = await loadValid(two('announce=frr\n'));
    assert.deepEqual(c.globals.announce, { driver: 'frr', socket: '/run/frr' });
    assert.deepEqual(
      c.virtualServices.map((v) => v.announce?.driver),
      ['frr', 'frr'],
    );
    assert.deepEqual(announcePlanLines(c)[0], 'announce: frr socket=/run/frr');
    const r = await load(two('announce=frr\nannouncesocket=/var/run/frr/d1\nannouncefile=/etc/frr/x.conf\n'));
    assert.deepEqual(r.config?.globals.announce, { driver: 'frr', socket: '/var/run/frr/d1' });
    const unused = warnings(r).filter((w) => w.directive === 'announcefile');
    assert.deepEqual(
      unused.map((w) => w.pos.line),
      [3],
    );
    assert.match(unused[0]?.message ?? '', /announcefile is unused with announce=frr/);
  });

  test('one routing daemon per configuration: announce=bird in one virtual and frr in another is an error at the second', async () => {
    const errs = await loadErrors(two('', ['announce=bird'], ['announce=frr']));
    assert.equal(errs.length, 1, errs.map((e) => e.message).join('; '));
    assert.deepEqual([errs[0]?.pos.line, errs[0]?.directive], [6, 'announce']);
    assert.match(
      errs[0]?.message ?? '',
      /announce=frr here but announce=bird at \/etc\/ha.d\/test.cf:3: one configuration announces through one routing daemon/,
    );
  });

  test('YAML and ldir convert carry announce=frr both ways', async () => {
    const trip = await convertRoundTrip(
      two('announce=frr\nannouncesocket=/run/frr/d1\n', ['announcedelay=2'], ['announce=none']),
    );
    assert.match(trip.yaml, /announce: frr/);
    assert.match(trip.yaml, /announcesocket: \/run\/frr\/d1/);
    assert.deepEqual(trip.config.globals.announce, { driver: 'frr', socket: '/run/frr/d1' });
    assert.deepEqual(
      trip.config.virtualServices.map((v) => v.announce?.driver),
      ['frr', undefined],
    );
  });

  const refusals: Array<[string, string, RegExp, string]> = [
    ['announce=gobgp', 'announce', /announce must be bird, frr or none, not "gobgp"/, 'announce'],
    ['announcedelay=-1', 'announcedelay', /announcedelay \(seconds\) must be a number from 0 to 3600/, 'announcedelay'],
    [
      'withdrawdelay=3601',
      'withdrawdelay',
      /withdrawdelay \(seconds\) must be a number from 0 to 3600/,
      'withdrawdelay',
    ],
  ];
  for (const [line, , message, directive] of refusals) {
    test(`refused with its line: ${line}`, async () => {
      const errs = await loadErrors(vs('real=10.0.0.1:80 masq', line));
      assert.equal(errs.length, 1, errs.map((e) => e.message).join('; '));
      assert.match(errs[0]?.message ?? '', message);
      assert.deepEqual([errs[0]?.pos.line, errs[0]?.directive], [3, directive]);
    });
  }

  test('announcesocket and announcefile must be absolute paths (global only)', async () => {
    const errs = await loadErrors(
      `announce=bird\nannouncesocket=bird.ctl\nannouncefile=x.conf\n${vs('real=10.0.0.1:80 masq')}`,
    );
    assert.deepEqual(
      errs.map((e) => [e.pos.line, e.directive]),
      [
        [2, 'announcesocket'],
        [3, 'announcefile'],
      ],
    );
    assert.match(errs[0]?.message ?? '', /announcesocket must be an absolute path, not "bird.ctl"/);
    const inVirtual = await loadErrors(vs('real=10.0.0.1:80 masq', 'announcesocket=/run/b.ctl'));
    assert.equal(inVirtual.length, 1);
    assert.equal(inVirtual[0]?.pos.line, 3);
  });

  test('a fwmark virtual: announce=bird in it is an error; a global one leaves it out', async () => {
    const fw = 'virtual=7\n\treal=10.0.0.1 gate\n\tprotocol=fwm\n';
    const errs = await loadErrors(`${fw}\tannounce=bird\n`);
    assert.equal(errs.length, 1);
    assert.match(
      errs[0]?.message ?? '',
      /announce=bird needs a virtual address: a fwmark virtual service has no prefix to announce/,
    );
    assert.equal(errs[0]?.pos.line, 4);
    const c = await loadValid(`announce=bird\n${fw}${vs('real=10.0.0.1:80 gate')}`);
    assert.deepEqual(
      c.virtualServices.map((v) => v.announce !== undefined),
      [false, true],
    );
  });

  test('settings that do nothing are warned about at their line', async () => {
    const r = await load(
      `announcesocket=/run/b.ctl\nwithdrawdelay=2\n${vs('real=10.0.0.1:80 masq', 'announcedelay=3')}`,
    );
    assert.ok(r.config);
    assert.deepEqual(
      warnings(r).map((w) => [w.pos.line, w.directive]),
      [
        [5, 'announcedelay'],
        [1, 'announcesocket'],
        [2, 'withdrawdelay'],
      ].sort((x, y) => Number(x[0]) - Number(y[0])),
    );
    assert.ok(warnings(r).every((w) => /is unused/.test(w.message)));
  });
});
