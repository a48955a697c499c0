// Tests of the YAML form: value kinds, lists, real server mappings, positioned errors, format detection, defaults.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { sameMeaning } from '../../../src/config/compare';
import { formatDiagnostic, type Diagnostic } from '../../../src/config/diagnostics';
import { detectFormat, loadConfigFile } from '../../../src/config/load';
import type { VirtualService } from '../../../src/model';
import { load, loadErrors, loadValid, warnings } from '../../helpers/config';

const YAML_FILE = '/etc/ha.d/ldir.yaml';
const ROOT = join(__dirname, '..', '..', '..', '..');

/** Loads valid YAML text and returns its model. */
const yaml = (text: string) => loadValid(text, YAML_FILE);

/** Loads YAML with a single virtual service whose body is `body` (lines indented by four spaces). */
async function yamlVirtual(...body: string[]): Promise<VirtualService> {
  const c = await yaml(`virtuals:\n  - virtual: 192.0.2.1:80\n${body.map((l) => `    ${l}`).join('\n')}\n`);
  assert.equal(c.virtualServices.length, 1);
  return c.virtualServices[0] as VirtualService;
}

/** The only error of invalid YAML text. */
async function onlyError(text: string): Promise<Diagnostic> {
  const errs = await loadErrors(text, YAML_FILE);
  assert.equal(errs.length, 1, errs.map(formatDiagnostic).join('\n'));
  return errs[0] as Diagnostic;
}

/** Asserts an error's line, column and (part of its) message. */
function at(d: Diagnostic, line: number, column: number, message: RegExp): void {
  assert.deepEqual([d.pos.file, d.pos.line, d.pos.column], [YAML_FILE, line, column], formatDiagnostic(d));
  assert.match(d.message, message);
}

describe('YAML form: values', () => {
  it('reads strings and numbers as ldirectord reads the same text', async () => {
    const v = await yamlVirtual(
      'checktimeout: 7',
      'negotiatetimeout: "12"',
      'scheduler: wlc',
      'comment: a web farm',
      'servicename: "Web: main"',
      'real: 10.0.0.1:80 gate',
    );
    assert.equal(v.check.checkTimeout, 7);
    assert.equal(v.check.negotiateTimeout, 12);
    assert.equal(v.scheduler, 'wlc');
    assert.equal(v.comment, 'a web farm');
    assert.equal(v.serviceName, 'Web: main');
  });

  it('keeps number-like values as written (leading zeros, trailing zeros)', async () => {
    const v = await yamlVirtual(
      'service: mysql',
      'login: 007',
      'passwd: 0123',
      'database: 1e3',
      'request: 2024',
      'receive: 1.10',
      'real: 10.0.0.1:3306 gate',
    );
    assert.equal(v.check.login, '007');
    assert.equal(v.check.passwd, '0123');
    assert.equal(v.check.database, '1e3');
    assert.equal(v.check.request, '/2024');
    assert.equal(v.check.receive, '1.10');
  });

  it('reads true/false and yes/no for yes/no directives', async () => {
    const c = await yaml(
      [
        'autoreload: true',
        'fork: false',
        'readdquiescent: yes',
        'quiescent: no',
        'cleanstop: False',
        'virtuals:',
        '  - virtual: 192.0.2.1:53',
        '    protocol: udp',
        '    ops: yes',
        '    quiescent: TRUE',
        '    real: 10.0.0.1:53 gate',
        '',
      ].join('\n'),
    );
    assert.equal(c.globals.autoreload, true);
    assert.equal(c.globals.fork, false);
    assert.equal(c.globals.readdQuiescent, true);
    const v = c.virtualServices[0] as VirtualService;
    assert.equal(v.ops, true);
    assert.equal(v.quiescent, true);
    assert.equal(v.cleanstop, false);
  });

  it('reads null as an empty value', async () => {
    const v = await yamlVirtual('comment:', 'servicename: ~', 'virtualhost: null', 'real: 10.0.0.1:80 gate');
    assert.equal(v.comment, '');
    assert.equal(v.serviceName, '');
    assert.equal(v.check.virtualHost, undefined);
    const errs = await loadErrors('checktimeout:\n', YAML_FILE);
    assert.match(errs[0]?.message ?? '', /checktimeout must be a positive number of seconds/);
  });

  it('accepts an empty document and a document of only comments', async () => {
    for (const text of ['', '# nothing here\n', '---\n']) {
      const c = await yaml(text);
      assert.deepEqual(c.virtualServices, []);
    }
  });
});

describe('YAML form: lists', () => {
  it('gives one real server per item of a real list, strings and mappings mixed', async () => {
    const v = await yamlVirtual(
      'real:',
      '  - 10.0.0.1:80 gate 2',
      '  - { host: 10.0.0.2, port: 8080, forward: masq }',
      '  - 10.0.0.3 ipip',
    );
    assert.deepEqual(
      v.reals.map((r) => [r.address, r.port, r.forward, r.weight]),
      [
        ['10.0.0.1', 80, 'gate', 2],
        ['10.0.0.2', 8080, 'masq', 1],
        ['10.0.0.3', 0, 'ipip', 1],
      ],
    );
    assert.deepEqual(
      v.reals.map((r) => [r.source.line, r.source.column]),
      [
        [4, 9],
        [5, 9],
        [6, 9],
      ],
    );
  });

  it('gives one execute directive per item', async () => {
    const c = await yaml('execute:\n  - /etc/ha.d/a.cf\n  - /etc/ha.d/b.cf\n');
    assert.deepEqual(c.globals.execute, ['/etc/ha.d/a.cf', '/etc/ha.d/b.cf']);
    const one = await yaml('execute: /etc/ha.d/a.cf\n');
    assert.deepEqual(one.globals.execute, ['/etc/ha.d/a.cf']);
  });

  it('joins emailalert and emailalertstatus lists as ldirectord.cf comma lists', async () => {
    const c = await yaml(
      [
        'emailalert: [ops@localhost, noc@localhost]',
        'emailalertstatus:',
        '  - starting',
        '  - stopping',
        'virtuals:',
        '  - virtual: 192.0.2.1:80',
        '    real: 10.0.0.1:80 gate',
        '    emailalert:',
        '      - web@localhost',
        '    emailalertstatus: [running]',
        '  - virtual: 192.0.2.1:81',
        '    real: 10.0.0.1:81 gate',
        '',
      ].join('\n'),
    );
    const [a, b] = c.virtualServices;
    assert.deepEqual(a?.alerts.emailAlert, ['web@localhost']);
    assert.deepEqual(a?.alerts.emailAlertStatus, ['running']);
    assert.deepEqual(b?.alerts.emailAlert, ['ops@localhost', 'noc@localhost']);
    assert.deepEqual(b?.alerts.emailAlertStatus, ['starting', 'stopping']);
    const cf = await loadValid(
      'emailalert="ops@localhost, noc@localhost"\nemailalertstatus=starting,stopping\n' +
        'virtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate\n\temailalert=web@localhost\n\temailalertstatus=running\n\n' +
        'virtual=192.0.2.1:81\n\treal=10.0.0.1:81 gate\n',
    );
    assert.ok(sameMeaning(c, cf));
  });
});

describe('YAML form: real servers', () => {
  it('reads a mapping with every field like the same real= line', async () => {
    const v = await yamlVirtual(
      'real:',
      '  - host: 10.0.0.1',
      '    to: 10.0.0.3',
      '    port: 8080',
      '    forward: masq',
      '    weight: 5',
      '    request: health',
      '    receive: OK',
      '    lower: 10',
      '    upper: 100',
    );
    assert.equal(v.reals.length, 3);
    assert.deepEqual(
      { ...v.reals[2], source: undefined },
      {
        address: '10.0.0.3',
        port: 8080,
        forward: 'masq',
        weight: 5,
        request: '/health',
        receive: 'OK',
        lowerThreshold: 10,
        upperThreshold: 100,
        source: undefined,
      },
    );
    const cf = await loadValid(
      'virtual=192.0.2.1:80\n\treal=10.0.0.1->10.0.0.3:8080 masq 5 "health","OK" l:10 u:100\n',
    );
    const y = await yaml(
      'virtuals:\n  - virtual: 192.0.2.1:80\n    real: {host: 10.0.0.1, to: 10.0.0.3, port: 8080, forward: masq, ' +
        'weight: 5, request: health, receive: OK, lower: 10, upper: 100}\n',
    );
    assert.ok(sameMeaning(cf, y));
  });

  it('reads a mapping with a service-name port, an IPv6 host and only the required fields', async () => {
    const v = await yamlVirtual('real: { host: localhost, port: http, forward: gate }');
    assert.deepEqual([v.reals[0]?.address, v.reals[0]?.port, v.reals[0]?.weight], ['127.0.0.1', 80, 1]);
    const c = await yaml(
      'virtuals:\n  - virtual6: "[2001:db8::1]:80"\n    real6:\n      - {host: "[2001:db8::2]", forward: gate}\n      - {host: "2001:db8::3", forward: gate}\n',
    );
    assert.deepEqual(
      c.virtualServices[0]?.reals.map((r) => r.address),
      ['2001:db8::2', '2001:db8::3'],
    );
  });

  it('reads a real given as a string in the ldirectord.cf grammar', async () => {
    const v = await yamlVirtual('real: 10.0.0.1:80 gate 2 "/check","alive" l:1 u:9');
    assert.deepEqual(
      { ...v.reals[0], source: undefined },
      {
        address: '10.0.0.1',
        port: 80,
        forward: 'gate',
        weight: 2,
        request: '/check',
        receive: 'alive',
        lowerThreshold: 1,
        upperThreshold: 9,
        source: undefined,
      },
    );
  });
});

describe('YAML form: errors carry line and column', () => {
  it('an unknown directive in a virtual service', async () => {
    at(
      await onlyError('virtuals:\n  - virtual: 192.0.2.1:80\n    real: 10.0.0.1:80 gate\n    bogus: 1\n'),
      4,
      5,
      /unknown directive "bogus"/,
    );
  });

  it('a global directive inside a virtual service', async () => {
    at(
      await onlyError('virtuals:\n  - virtual: 192.0.2.1:80\n    real: 10.0.0.1:80 gate\n    autoreload: yes\n'),
      4,
      5,
      /autoreload is a global directive/,
    );
  });

  it('an unknown field of a real server mapping', async () => {
    at(
      await onlyError(
        'virtuals:\n  - virtual: 192.0.2.1:80\n    real:\n      - host: 10.0.0.1\n        forward: gate\n        wieght: 3\n',
      ),
      6,
      9,
      /unknown real server field "wieght"/,
    );
  });

  it('a real server mapping without forward, or with a bad one', async () => {
    at(
      await onlyError('virtuals:\n  - virtual: 192.0.2.1:80\n    real:\n      - host: 10.0.0.1\n        port: 80\n'),
      4,
      9,
      /forward must be gate, masq, ipip, gue or gre/,
    );
    at(
      await onlyError(
        'virtuals:\n  - virtual: 192.0.2.1:80\n    real:\n      - host: 10.0.0.1\n        forward: nat\n',
      ),
      5,
      9,
      /not "nat"/,
    );
  });

  it('bad values inside a real server mapping', async () => {
    const base = 'virtuals:\n  - virtual: 192.0.2.1:80\n    real:\n      - host: 10.0.0.1\n        forward: gate\n';
    at(await onlyError(`${base}        weight: heavy\n`), 6, 9, /weight must be a non-negative integer/);
    at(await onlyError(`${base}        upper: [1]\n`), 6, 9, /"upper" must be a single value/);
    at(await onlyError(`${base}        request: /x\n`), 4, 9, /request and receive go together/);
    at(
      await onlyError('virtuals:\n  - virtual: 192.0.2.1:80\n    real: {port: 80, forward: gate}\n'),
      3,
      11,
      /needs "host"/,
    );
    at(
      await onlyError('virtuals:\n  - virtual: 192.0.2.1:80\n    real:\n      - [10.0.0.1:80 gate]\n'),
      4,
      9,
      /real must be a plain value/,
    );
  });

  it('a list where one value is required', async () => {
    at(
      await onlyError('checktimeout: 3\nquiescent:\n  - yes\n  - no\n'),
      2,
      1,
      /quiescent takes one value, not a list/,
    );
    at(
      await onlyError('virtuals:\n  - virtual: 192.0.2.1:80\n    real: 10.0.0.1:80 gate\n    scheduler: [rr, wlc]\n'),
      4,
      5,
      /scheduler takes one value/,
    );
    at(await onlyError('virtuals:\n  - virtual: [192.0.2.1:80]\n'), 2, 5, /virtual must be a single value/);
    at(
      await onlyError('emailalert:\n  - a@localhost\n  - {to: b@localhost}\n'),
      3,
      5,
      /emailalert must be a list of plain values/,
    );
    at(await onlyError('checkinterval: {seconds: 5}\n'), 1, 1, /checkinterval must be a plain value/);
  });

  it('duplicate keys, at the top and inside a virtual service', async () => {
    at(
      await onlyError('checktimeout: 1\nquiescent: yes\ncheckinterval: 3\nquiescent: no\n'),
      4,
      1,
      /YAML: Map keys must be unique/,
    );
    at(
      await onlyError('virtuals:\n  - virtual: 192.0.2.1:80\n    real: 10.0.0.1:80 gate\n    real: 10.0.0.2:80 gate\n'),
      4,
      5,
      /unique/,
    );
  });

  it('broken YAML syntax', async () => {
    at(await onlyError('checktimeout: 1\nvirtuals:\n  - virtual: [192.0.2.1:80\n'), 4, 1, /^YAML: /);
    at(await onlyError('checktimeout: 1\nvirtuals:\n\t- virtual: 1\n'), 3, 1, /YAML: Tabs are not allowed/);
    const errs = await loadErrors('a: "unterminated\n', YAML_FILE);
    assert.ok(errs.every((d) => d.code === 'syntax' && d.pos.column !== undefined && /^YAML: /.test(d.message)));
  });

  it('a root that is not a mapping', async () => {
    at(await onlyError('- checktimeout: 1\n'), 1, 1, /must be a mapping of directives/);
    at(await onlyError('# header\nhello\n'), 2, 1, /must be a mapping of directives/);
  });

  it('virtuals that is not a list, and items that are not virtual services', async () => {
    at(await onlyError('checktimeout: 2\nvirtuals:\n  virtual: 192.0.2.1:80\n'), 2, 1, /"virtuals" must be a list/);
    at(await onlyError('virtuals:\n  - real: 10.0.0.1:80 gate\n'), 2, 5, /exactly one of "virtual" or "virtual6"/);
    at(
      await onlyError('virtuals:\n  - virtual: 192.0.2.1:80\n    virtual6: "[2001:db8::1]:80"\n'),
      3,
      5,
      /exactly one of .*not several/,
    );
    at(await onlyError('virtuals:\n  - 192.0.2.1:80\n'), 2, 5, /must be a mapping/);
    at(await onlyError('checktimeout: 3\nvirtual: 192.0.2.1:80\n'), 2, 1, /belongs in an item of the "virtuals" list/);
  });

  it('positions of later errors (name resolution) keep the YAML column', async () => {
    at(
      await onlyError(
        'virtuals:\n  - virtual: 192.0.2.1:80\n    real:\n      - 10.0.0.1:80 gate\n      - nosuchhost:80 gate\n',
      ),
      5,
      9,
      /could not resolve host/,
    );
    const r = await load(
      'virtuals:\n  - virtual: 192.0.2.1:80\n    real: 10.0.0.1:80 gate\n    checkcount: 2\n',
      YAML_FILE,
    );
    assert.equal(
      formatDiagnostic(warnings(r)[0] as Diagnostic),
      `${YAML_FILE}:4:5: warning: checkcount is deprecated and slated for removal, see 'failurecount'`,
    );
  });
});

describe('YAML form: format detection', () => {
  it('by extension, whatever the content', () => {
    for (const f of ['ldir.yaml', 'ldir.yml', '/etc/ha.d/LDIR.YML'])
      assert.equal(detectFormat(f, 'checktimeout=3\n'), 'yaml');
    assert.equal(detectFormat('ldirectord.cf', 'checktimeout=3\n'), 'cf');
  });

  it('by the first significant line of the content', () => {
    const cases: Array<[string, 'cf' | 'yaml']> = [
      ['checktimeout: 3\n', 'yaml'],
      ['# comment\n\n  \nvirtuals:\n', 'yaml'],
      ['---\ncheckinterval: 5\n', 'yaml'],
      ['%YAML 1.2\n---\n', 'yaml'],
      ['checktimeout=3\n', 'cf'],
      ['# ldirectord.cf\nvirtual=192.0.2.1:80\n', 'cf'],
      ['checktimeout = 3\n', 'cf'],
      ['supervised\n', 'cf'],
      ['', 'cf'],
      ['# only comments\n', 'cf'],
      ['fallback=127.0.0.1:80\n', 'cf'],
    ];
    for (const [text, want] of cases)
      assert.equal(detectFormat('/etc/ha.d/ldirectord', text), want, JSON.stringify(text));
  });

  it('decides how a file is loaded', async () => {
    const y = await load(
      'checktimeout: 3\nvirtuals:\n  - virtual: 192.0.2.1:80\n    real: 10.0.0.1:80 gate\n',
      '/etc/ha.d/ldirectord.cf',
    );
    assert.equal(y.config?.format, 'yaml');
    const c = await load('checktimeout=3\n', '/etc/ha.d/ldirectord');
    assert.equal(c.config?.format, 'cf');
  });
});

describe('YAML form: same defaults as ldirectord.cf', () => {
  it('a minimal YAML and a minimal cf configuration mean the same', async () => {
    const y = await yaml('virtuals:\n  - virtual: 192.0.2.1:80\n    real: 10.0.0.1:80 gate\n');
    const cf = await loadValid('virtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate\n');
    assert.ok(sameMeaning(y, cf));
    const v = y.virtualServices[0] as VirtualService;
    assert.deepEqual(
      [
        v.scheduler,
        v.protocol,
        v.check.type,
        v.check.service,
        v.check.checkTimeout,
        v.check.negotiateTimeout,
        v.quiescent,
      ],
      ['wrr', 'tcp', 'negotiate', 'http', 5, 30, false],
    );
    assert.ok(sameMeaning(await yaml(''), await loadValid('')));
  });

  it('UDP for port 53 and fwm for marks, as in cf', async () => {
    const y = await yaml(
      'virtuals:\n  - virtual: 192.0.2.1:53\n    real: 10.0.0.1:53 gate\n  - virtual: 7\n    real: 10.0.0.1 gate\n' +
        '  - virtual6: "[2001:db8::1]:80"\n    real6: "[2001:db8::2]:80 gate"\n',
    );
    const cf = await loadValid(
      'virtual=192.0.2.1:53\n\treal=10.0.0.1:53 gate\n\nvirtual=7\n\treal=10.0.0.1 gate\n\n' +
        'virtual6=[2001:db8::1]:80\n\treal6=[2001:db8::2]:80 gate\n',
    );
    assert.ok(sameMeaning(y, cf));
    assert.deepEqual(
      y.virtualServices.map((v) => v.id),
      ['udp:192.0.2.1:53', 'fwm:7', 'tcp:[2001:db8::1]:80'],
    );
  });
});

describe('conf/ examples', () => {
  it('ldirectord.cf.example and ldir.yaml.example load cleanly with the real resolver and mean the same', async () => {
    const cf = await loadConfigFile(join(ROOT, 'conf', 'ldirectord.cf.example'));
    const y = await loadConfigFile(join(ROOT, 'conf', 'ldir.yaml.example'));
    assert.deepEqual(cf.diagnostics.map(formatDiagnostic), []);
    assert.deepEqual(y.diagnostics.map(formatDiagnostic), []);
    assert.ok(cf.config && y.config);
    assert.equal(cf.config.format, 'cf');
    assert.equal(y.config.format, 'yaml');
    assert.ok(sameMeaning(cf.config, y.config));
    assert.equal(cf.config.virtualServices.length, 9);
  });
});
