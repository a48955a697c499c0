// persistenceengine=NAME (an ldir extension): both forms, the model and the IPVS service, errors with their line.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { serviceOf } from '../../../src/engine/translate';
import { convertRoundTrip, load, loadErrors, loadValid, onlyVirtual, warnings } from '../../helpers/config';

/** A UDP SIP virtual with `body` lines (tab-indented). */
const sip = (...body: string[]): string =>
  `virtual=192.0.2.1:5060\n\treal=10.0.0.2:5060 masq\n\tprotocol=udp\n${body.map((l) => `\t${l}`).join('\n')}\n`;

describe('persistenceengine', () => {
  test('with persistent= on a UDP service: in the model and in the IPVS service', async () => {
    const v = await onlyVirtual(sip('persistent=60', 'persistenceengine=sip'));
    assert.equal(v.persistenceEngine, 'sip');
    assert.equal(v.persistent, 60);
    assert.deepEqual(
      { ...serviceOf(v) },
      {
        family: 'inet',
        protocol: 'udp',
        address: '192.0.2.1',
        port: 5060,
        scheduler: 'wrr',
        persistent: 60,
        persistenceEngine: 'sip',
        onePacket: false,
        schedulerFlags: [],
      },
    );
  });

  test('absent: no engine, and none in the IPVS service', async () => {
    const v = await onlyVirtual(sip('persistent=60'));
    assert.equal(v.persistenceEngine, undefined);
    assert.equal('persistenceEngine' in serviceOf(v), false);
  });

  test('on a firewall-mark service: accepted with a warning at its line (other packets with the mark are dropped)', async () => {
    const r = await load('virtual=7\n\treal=10.0.0.2 gate\n\tpersistent=60\n\tpersistenceengine=sip\n');
    assert.equal(r.config?.virtualServices[0]?.persistenceEngine, 'sip');
    assert.deepEqual(
      warnings(r).map((w) => [w.pos.line, w.code, w.directive]),
      [[4, 'ineffective-setting', 'persistenceengine']],
    );
    assert.match(
      warnings(r)[0]?.message ?? '',
      /on firewall mark 7: the engine reads UDP packets only; the kernel drops every other packet with this mark/,
    );
  });

  test('an engine Linux does not have: a warning (an out-of-tree module may provide it), as for schedulers', async () => {
    const r = await load(sip('persistent=60', 'persistenceengine=rtsp'));
    assert.equal(r.config?.virtualServices[0]?.persistenceEngine, 'rtsp');
    assert.deepEqual(
      warnings(r).map((w) => [w.pos.line, w.code]),
      [[5, 'unknown-persistence-engine']],
    );
    assert.match(
      warnings(r)[0]?.message ?? '',
      /persistence engine "rtsp" is not one of Linux's \(sip\): unless a module ip_vs_pe_rtsp is installed/,
    );
  });

  test('without persistent=: an error at the persistenceengine line', async () => {
    const errs = await loadErrors(sip('persistenceengine=sip'));
    assert.deepEqual(
      errs.map((e) => [e.pos.line, e.code, e.directive]),
      [[4, 'ineffective-setting', 'persistenceengine']],
    );
    assert.match(
      errs[0]?.message ?? '',
      /persistenceengine=sip without persistent: .* add persistent=SECONDS or remove persistenceengine/,
    );
  });

  test('on a TCP service: an error (the kernel would drop every new connection)', async () => {
    const errs = await loadErrors(
      'virtual=192.0.2.1:5060\n\treal=10.0.0.2:5060 masq\n\tpersistent=60\n\tpersistenceengine=sip\n',
    );
    assert.deepEqual(
      errs.map((e) => [e.pos.line, e.code, e.directive]),
      [[4, 'invalid-value', 'persistenceengine']],
    );
    assert.match(
      errs[0]?.message ?? '',
      /persistenceengine=sip on a TCP service: the engine reads UDP packets only .* drop every new connection to this service; use protocol=udp/,
    );
  });

  for (const value of ['', 'Sip', 'sip udp', '1sip', 'sip-x', 'abcdefghijklmnop']) {
    test(`refused with its line: persistenceengine=${value}`, async () => {
      const errs = await loadErrors(sip('persistent=60', `persistenceengine=${value}`));
      assert.equal(errs.length, 1, errs.map((e) => e.message).join('\n'));
      assert.deepEqual([errs[0]?.pos.line, errs[0]?.directive], [5, 'persistenceengine']);
      assert.match(
        errs[0]?.message ?? '',
        /persistenceengine must be the name of a persistence engine \(sip: lowercase letters, digits and _, at most 15\), not "/,
      );
    });
  }

  test('a global persistenceengine is misplaced', async () => {
    const errs = await loadErrors(`persistenceengine=sip\n${sip('persistent=60')}`);
    assert.deepEqual(
      errs.map((e) => [e.pos.line, e.code]),
      [[1, 'misplaced']],
    );
  });

  test('YAML gives the same model; ldir convert carries it both ways', async () => {
    const fromYaml = await loadValid(
      [
        'virtuals:',
        '  - virtual: 192.0.2.1:5060',
        '    protocol: udp',
        '    real: [{host: 10.0.0.2, port: 5060, forward: masq}]',
        '    persistent: 60',
        '    persistenceengine: sip',
        '',
      ].join('\n'),
      '/etc/ha.d/ldir.yaml',
    );
    assert.equal(fromYaml.virtualServices[0]?.persistenceEngine, 'sip');
    const trip = await convertRoundTrip(sip('persistent=60', 'persistenceengine=sip'));
    assert.match(trip.yaml, /\n {4}persistenceengine: sip\n/);
    assert.match(trip.cf, /\n\tpersistenceengine=sip\n/);
    assert.equal(trip.config.virtualServices[0]?.persistenceEngine, 'sip');
  });

  test('a YAML error names the file and line', async () => {
    const errs = await loadErrors(
      [
        'virtuals:',
        '  - virtual: 192.0.2.1:5060',
        '    real: [{host: 10.0.0.2, port: 5060, forward: masq}]',
        '    persistent: 60',
        '    persistenceengine: [sip]',
        '',
      ].join('\n'),
      '/etc/ha.d/ldir.yaml',
    );
    assert.deepEqual(
      errs.map((e) => [e.pos.file, e.pos.line, e.directive]),
      [['/etc/ha.d/ldir.yaml', 5, 'persistenceengine']],
    );
  });
});
