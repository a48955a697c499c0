// The ldir extension directives of HTTP checks: httpstatus, receivenot, tlsservername (virtual), tlsverify and
// tlscafile (global and per virtual): defaults, both forms, PATH:LINE errors, strict warnings, convert, check jobs.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { jobsFromConfig } from '../../../src/checks/jobs';
import { formatDiagnostic } from '../../../src/config/diagnostics';
import { convertRoundTrip, load, loadErrors, loadValid, onlyVirtual, vs, warnings } from '../../helpers/config';

const YAML = '/etc/ha.d/ldir.yaml';
const FILE = '/etc/ha.d/test.cf';
/** A CA certificate (only read, never used to verify here). */
const CA_PEM = `-----BEGIN CERTIFICATE-----
MIIBlDCCATmgAwIBAgIUSx/FyIHHzw1ru78PejNZ1jalt9gwCgYIKoZIzj0EAwIw
FzEVMBMGA1UEAwwMbGRpci10ZXN0LWNhMB4XDTI2MTIwNzA1NTA1OFoXDTI2MTIw
OTA1NTA1OFowFzEVMBMGA1UEAwwMbGRpci10ZXN0LWNhMFkwEwYHKoZIzj0CAQYI
KoZIzj0DAQcDQgAEAAWJmGBuCh+lNnuHRtbLzJc8FDWqxUsnNJaI0hwBokTSZg3t
ZDcK4EmvavNAORsMKkPijdiEAfHjPfTn5/Q+GqNjMGEwHQYDVR0OBBYEFMJsbVDT
awq08wm0BeyddU4PFSs1MB8GA1UdIwQYMBaAFMJsbVDTawq08wm0BeyddU4PFSs1
MA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQDAgEGMAoGCCqGSM49BAMCA0kA
MEYCIQCWYw1vMTHT0Kf2j9BQGy9bVTFpKIxjyjAUeEZ9NATxHQIhAPgaXnPA2rpA
S6GCtiTVvImbk27bNvo50nSnzutkCz1W
-----END CERTIFICATE-----
`;

let dir = '';
let caFile = '';
let notPem = '';
let broken = '';

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'ldir-http-directives-'));
  caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, CA_PEM);
  notPem = join(dir, 'not-pem.txt');
  writeFileSync(notPem, 'just text\n');
  broken = join(dir, 'broken.pem');
  writeFileSync(broken, `${CA_PEM}-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n`);
});
after(() => rmSync(dir, { recursive: true, force: true }));

const REAL = 'real=10.0.0.1:80 gate';

describe('httpstatus', () => {
  test('default: 200-299 (ldirectord is_success), and no receivenot', async () => {
    const v = await onlyVirtual(vs(REAL));
    assert.deepEqual(v.check.httpStatus, [[200, 299]]);
    assert.equal(v.check.receiveNot, '');
    assert.equal(jobsFromConfig(await loadValid(vs(REAL)))[0]?.job.receiveNot, undefined);
  });

  test('codes, ranges and classes, sorted and merged into ranges', async () => {
    const cases: Array<[string, number[][]]> = [
      [
        '200-299,301,302',
        [
          [200, 299],
          [301, 302],
        ],
      ],
      [
        '2xx,304',
        [
          [200, 299],
          [304, 304],
        ],
      ],
      [
        '404, 2XX',
        [
          [200, 299],
          [404, 404],
        ],
      ],
      ['200, 201-299', [[200, 299]]],
      ['500 - 503', [[500, 503]]],
    ];
    for (const [text, ranges] of cases) {
      const v = await onlyVirtual(vs(REAL, `httpstatus=${text}`));
      assert.deepEqual(v.check.httpStatus, ranges, text);
    }
  });

  test('bad values are errors at their line, naming the directive and the item', async () => {
    const errs = await loadErrors(
      vs(
        REAL,
        'httpstatus=abc',
        'httpstatus=99',
        'httpstatus=600',
        'httpstatus=300-200',
        'httpstatus=2xx,,3xx',
        'httpstatus=',
      ),
    );
    assert.deepEqual(errs.map(formatDiagnostic), [
      `${FILE}:3: httpstatus: "abc" is not a status code (100-599), a range (200-299) or a class (2xx); write them separated by commas`,
      `${FILE}:4: httpstatus: "99" is not a status code (100-599), a range (200-299) or a class (2xx); write them separated by commas`,
      `${FILE}:5: httpstatus: "600" is not a status code (100-599), a range (200-299) or a class (2xx); write them separated by commas`,
      `${FILE}:6: httpstatus: "300-200" is not a status code (100-599), a range (200-299) or a class (2xx); write them separated by commas`,
      `${FILE}:7: httpstatus: "" is not a status code (100-599), a range (200-299) or a class (2xx); write them separated by commas`,
      `${FILE}:8: httpstatus: "" is not a status code (100-599), a range (200-299) or a class (2xx); write them separated by commas`,
    ]);
  });

  test('only in a virtual section', async () => {
    const errs = await loadErrors(`httpstatus=2xx\n${vs(REAL)}`);
    assert.match(formatDiagnostic(errs[0] as never), /:1: httpstatus is only valid inside a virtual section/);
  });

  test('the check job carries it, and two statuses make two checks of one real', async () => {
    const c = await loadValid(`${vs(REAL, 'httpstatus=2xx,404')}\nvirtual=192.0.2.2:80\n\t${REAL}\n`);
    const targets = jobsFromConfig(c);
    assert.deepEqual(targets[0]?.job.httpStatus, [
      [200, 299],
      [404, 404],
    ]);
    assert.equal(targets.length, 2, 'different answer rules: different checks');
  });
});

describe('receivenot', () => {
  test('quoted or bare, a regular expression; empty is an error; a pattern JS cannot read is a warning', async () => {
    assert.equal((await onlyVirtual(vs(REAL, 'receivenot="maintenance mode"'))).check.receiveNot, 'maintenance mode');
    assert.equal((await onlyVirtual(vs(REAL, 'receivenot=maint\\w+'))).check.receiveNot, 'maint\\w+');
    const errs = await loadErrors(vs(REAL, 'receivenot=""'));
    assert.deepEqual(errs.map(formatDiagnostic), [`${FILE}:3: invalid receivenot string: empty`]);
    const r = await load(vs(REAL, 'receivenot="a(b"'));
    assert.ok(r.config);
    assert.match(
      formatDiagnostic(warnings(r)[0] as never),
      /:3: warning: receivenot pattern "a\(b" is not a JavaScript regular expression .*plain text/,
    );
  });

  test('the check job carries it', async () => {
    const c = await loadValid(vs(REAL, 'receivenot="maintenance"'));
    assert.equal(jobsFromConfig(c)[0]?.job.receiveNot, 'maintenance');
  });
});

describe('tlsverify, tlscafile, tlsservername', () => {
  const HTTPS = ['real=10.0.0.1:443 gate', 'service=https'];

  test('defaults: nothing verified, no server name (as ldirectord)', async () => {
    const v = await onlyVirtual(vs(...HTTPS));
    assert.deepEqual(v.check.tls, { verify: false });
    const job = jobsFromConfig(await loadValid(vs(...HTTPS)))[0]?.job;
    assert.deepEqual([job?.tlsVerify, job?.tlsCa, job?.tlsServerName], [undefined, undefined, undefined]);
  });

  test('the virtualhost is the server name unless tlsservername says otherwise; an address is never one', async () => {
    const name = async (...lines: string[]): Promise<string | undefined> =>
      (await onlyVirtual(vs(...HTTPS, ...lines))).check.tls.serverName;
    assert.equal(await name('virtualhost=www.example.com'), 'www.example.com');
    assert.equal(await name('virtualhost=www.example.com:8443'), 'www.example.com');
    assert.equal(await name('virtualhost=192.0.2.80'), undefined);
    assert.equal(await name('virtualhost=[2001:db8::80]:443'), undefined);
    assert.equal(await name('virtualhost=www.example.com', 'tlsservername=sni.example.net'), 'sni.example.net');
    assert.equal(await name('tlsservername=sni.example.net'), 'sni.example.net');
    const ldaps = (...lines: string[]): Promise<string | undefined> =>
      onlyVirtual(vs('real=10.0.0.1:636 gate', 'service=ldaps', ...lines)).then((v) => v.check.tls.serverName);
    assert.equal(await ldaps('virtualhost=www.example.com'), undefined, 'only the http services read the virtualhost');
    assert.equal(await ldaps('tlsservername=ldap.example.com'), 'ldap.example.com');
  });

  test('tlsservername must be a host name: an address or other text is an error at its line', async () => {
    const errs = await loadErrors(vs(...HTTPS, 'tlsservername=192.0.2.1', 'tlsservername=bad name', 'tlsservername='));
    assert.deepEqual(errs.map(formatDiagnostic), [
      `${FILE}:4: tlsservername must be a host name (TLS sends no IP address as server name), not "192.0.2.1"`,
      `${FILE}:5: tlsservername must be a host name (TLS sends no IP address as server name), not "bad name"`,
      `${FILE}:6: tlsservername must be a host name (TLS sends no IP address as server name), not ""`,
    ]);
  });

  test('tlsverify globally, overridden per virtual; the CA file read when loading, global or per virtual', async () => {
    const c = await loadValid(
      `tlsverify=yes\ntlscafile=${caFile}\n${vs(...HTTPS)}\nvirtual=192.0.2.2:443\n\t${HTTPS[0]}\n\t${HTTPS[1]}\n\ttlsverify=no\n`,
    );
    assert.deepEqual(
      c.virtualServices.map((v) => v.check.tls),
      [{ verify: true, caFile, ca: CA_PEM }, { verify: false }],
    );
    const jobs = jobsFromConfig(c).map((t) => t.job);
    assert.deepEqual(
      jobs.map((j) => [j.tlsVerify, j.tlsCa]),
      [
        [true, CA_PEM],
        [undefined, undefined],
      ],
    );
    const own = await onlyVirtual(vs(...HTTPS, 'tlsverify=yes', `tlscafile="${caFile}"`));
    assert.deepEqual(own.check.tls, { verify: true, caFile, ca: CA_PEM });
    assert.deepEqual((await onlyVirtual(vs(...HTTPS, 'tlsverify=yes'))).check.tls, { verify: true }, 'the system CAs');
  });

  test('bad values: tlsverify not yes/no, a relative, missing, unreadable or non-PEM CA file, each at its line', async () => {
    const errs = await loadErrors(
      vs(
        ...HTTPS,
        'tlsverify=maybe',
        'tlscafile=ca.pem',
        `tlscafile=${join(dir, 'missing.pem')}`,
        `tlscafile=${notPem}`,
        `tlscafile=${broken}`,
        `tlscafile=${dir}`,
      ),
    );
    const text = errs.map(formatDiagnostic);
    assert.equal(text[0], `${FILE}:4: tlsverify must be 'yes' or 'no', not "maybe"`);
    assert.equal(text[1], `${FILE}:5: tlscafile must be an absolute path, not "ca.pem"`);
    assert.match(text[2] ?? '', new RegExp(`^${FILE}:6: tlscafile: cannot read ${join(dir, 'missing.pem')}: ENOENT`));
    assert.equal(text[3], `${FILE}:7: tlscafile ${notPem} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
    assert.match(text[4] ?? '', new RegExp(`^${FILE}:8: tlscafile ${broken} certificate 2 cannot be read`));
    assert.match(text[5] ?? '', new RegExp(`^${FILE}:9: tlscafile: cannot read ${dir}: EISDIR`));
    assert.equal(text.length, 6);
  });

  test('a CA file that no check would use is an error: in a virtual without tlsverify=yes, or global with none', async () => {
    const own = await loadErrors(vs(...HTTPS, `tlscafile=${caFile}`));
    assert.deepEqual(own.map(formatDiagnostic), [
      `${FILE}:4: tlscafile: without tlsverify=yes no certificate is verified, and the CA file is not used`,
    ]);
    const global = await loadErrors(`tlscafile=${caFile}\n${vs(...HTTPS)}`);
    assert.deepEqual(global.map(formatDiagnostic), [
      `${FILE}:1: tlscafile: without tlsverify=yes no certificate is verified, and the CA file is not used (no virtual service sets tlsverify=yes)`,
    ]);
    // A global CA file used by the virtuals that turn verification on: fine.
    await loadValid(`tlscafile=${caFile}\n${vs(...HTTPS, 'tlsverify=yes')}`);
  });

  test('strict validation: a TLS or HTTP rule the check never reads is a warning naming who reads it', async () => {
    const r = await load(
      vs(REAL, 'checktype=connect', 'httpstatus=2xx', 'receivenot=x', 'tlsverify=yes', 'tlsservername=a.example'),
    );
    assert.ok(r.config);
    assert.deepEqual(warnings(r).map(formatDiagnostic), [
      `${FILE}:4: warning: httpstatus is not used by checktype=connect: only negotiate checks of http, https and http_proxy read it`,
      `${FILE}:5: warning: receivenot is not used by checktype=connect: only negotiate checks of http, https and http_proxy read it`,
      `${FILE}:6: warning: tlsverify is not used by checktype=connect: only negotiate checks of http, https, http_proxy, ldaps, imaps and pops read it`,
      `${FILE}:7: warning: tlsservername is not used by checktype=connect: only negotiate checks of http, https, http_proxy, ldaps, imaps and pops read it`,
    ]);
    const imaps = await load(
      'virtual=192.0.2.1:993\n\treal=10.0.0.1:993 gate\n\ttlsverify=yes\n\ttlsservername=mail.example.org\n',
    );
    assert.deepEqual(warnings(imaps), [], 'imaps reads the TLS settings');
  });

  test('YAML: the same directives; httpstatus as a list; positioned errors', async () => {
    const c = await loadValid(
      `tlsverify: yes\ntlscafile: ${caFile}\nvirtuals:\n  - virtual: 192.0.2.1:443\n    real: 10.0.0.1:443 gate\n` +
        '    service: https\n    httpstatus: [2xx, 404]\n    receivenot: maintenance\n    tlsservername: www.example.org\n',
      YAML,
    );
    const check = c.virtualServices[0]?.check;
    assert.deepEqual(
      [check?.httpStatus, check?.receiveNot, check?.tls],
      [
        [
          [200, 299],
          [404, 404],
        ],
        'maintenance',
        { verify: true, caFile, ca: CA_PEM, serverName: 'www.example.org' },
      ],
    );
    const errs = await loadErrors(
      'virtuals:\n  - virtual: 192.0.2.1:443\n    real: 10.0.0.1:443 gate\n    httpstatus: [200, 7xx]\n',
      YAML,
    );
    assert.match(
      formatDiagnostic(errs[0] as never),
      /^\/etc\/ha\.d\/ldir\.yaml:4:5: httpstatus: "7xx" is not a status code/,
    );
  });

  test('convert: cf -> YAML -> cf keeps every one of them', async () => {
    const { yaml, cf, config } = await convertRoundTrip(
      `tlsverify=yes\ntlscafile=${caFile}\n` +
        `${vs(...HTTPS, 'httpstatus=2xx,404', 'receivenot="in maintenance"', 'tlsservername=www.example.org', 'tlsverify=no')}`,
    );
    assert.match(yaml, /^ {4}httpstatus: 2xx,404$/m);
    assert.match(yaml, /^ {4}receivenot: in maintenance$/m);
    assert.match(yaml, /^tlsverify: yes$/m);
    assert.match(cf, /^\treceivenot="in maintenance"$|^\treceivenot=in maintenance$/m);
    assert.deepEqual(config.virtualServices[0]?.check.tls, { verify: false, serverName: 'www.example.org' });
  });
});

describe('httpredirect', () => {
  test('default samehost; no, samehost, any; globally, overridden per virtual; the check job carries it', async () => {
    assert.equal((await onlyVirtual(vs(REAL))).check.httpRedirect, 'samehost');
    for (const policy of ['no', 'samehost', 'any'] as const) {
      assert.equal((await onlyVirtual(vs(REAL, `httpredirect=${policy}`))).check.httpRedirect, policy);
    }
    const c = await loadValid(`httpredirect=any\n${vs(REAL)}\nvirtual=192.0.2.2:80\n\t${REAL}\n\thttpredirect=no\n`);
    assert.deepEqual(
      c.virtualServices.map((v) => v.check.httpRedirect),
      ['any', 'no'],
    );
    assert.deepEqual(
      jobsFromConfig(c).map((t) => t.job.httpRedirect),
      ['any', 'no'],
    );
  });

  test('two policies make two checks of one real (the policy can change the verdict)', async () => {
    const c = await loadValid(`${vs(REAL)}\nvirtual=192.0.2.2:80\n\t${REAL}\n\thttpredirect=any\n`);
    assert.equal(jobsFromConfig(c).length, 2, 'different redirect policies: different checks');
    const same = await loadValid(`${vs(REAL)}\nvirtual=192.0.2.2:80\n\t${REAL}\n\thttpredirect=samehost\n`);
    assert.equal(jobsFromConfig(same).length, 1, 'the default written out is the same check');
  });

  test('a value other than no, samehost or any is an error at its line, in both forms', async () => {
    const errs = await loadErrors(vs(REAL, 'httpredirect=yes'));
    assert.deepEqual(errs.map(formatDiagnostic), [
      `${FILE}:3: httpredirect must be one of no, samehost, any, not "yes"`,
    ]);
    const global = await loadErrors(`httpredirect=all\n${vs(REAL)}`);
    assert.deepEqual(global.map(formatDiagnostic), [
      `${FILE}:1: httpredirect must be one of no, samehost, any, not "all"`,
    ]);
    const yaml = await loadErrors(
      'virtuals:\n  - virtual: 192.0.2.1:80\n    real: 10.0.0.1:80 gate\n    httpredirect: other\n',
      YAML,
    );
    assert.match(
      formatDiagnostic(yaml[0] as never),
      /^\/etc\/ha\.d\/ldir\.yaml:4:5: httpredirect must be one of no, samehost, any, not "other"$/,
    );
  });

  test('strict validation: with a check that does not speak http it is a warning', async () => {
    const r = await load(vs(REAL, 'checktype=connect', 'httpredirect=any'));
    assert.deepEqual(warnings(r).map(formatDiagnostic), [
      `${FILE}:4: warning: httpredirect is not used by checktype=connect: only negotiate checks of http, https and http_proxy read it`,
    ]);
  });

  test('YAML and convert: cf -> YAML -> cf keeps it, global and per virtual', async () => {
    const c = await loadValid(
      'httpredirect: no\nvirtuals:\n  - virtual: 192.0.2.1:80\n    real: 10.0.0.1:80 gate\n    httpredirect: any\n' +
        '  - virtual: 192.0.2.2:80\n    real: 10.0.0.1:80 gate\n',
      YAML,
    );
    assert.deepEqual(
      c.virtualServices.map((v) => v.check.httpRedirect),
      ['any', 'no'],
    );
    const { yaml, cf, config } = await convertRoundTrip(`httpredirect=no\n${vs(REAL, 'httpredirect=any')}`);
    assert.match(yaml, /^httpredirect: no$/m);
    assert.match(yaml, /^ {4}httpredirect: any$/m);
    assert.match(cf, /^httpredirect=no$/m);
    assert.match(cf, /^\thttpredirect=any$/m);
    assert.equal(config.virtualServices[0]?.check.httpRedirect, 'any');
  });
});
