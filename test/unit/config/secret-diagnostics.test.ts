// Secrets never appear in a diagnostic: whatever the mistake around `passwd=`, `secret=` or `smtppasswd`, in either
// file form, the message names the directive and its line, never the value (issue 19, item 1).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { formatDiagnostic } from '../../../src/config/diagnostics';
import { loadConfigText, type LoadResult } from '../../../src/config/load';
import { fakeResolver, load, TEST_PROBES } from '../../helpers/config';

/** Asserts that no diagnostic (message or formatted line) holds any of `secrets`; returns the formatted lines. */
function assertNoSecret(r: LoadResult, secrets: readonly string[]): string[] {
  const lines = r.diagnostics.map(formatDiagnostic);
  for (const line of lines)
    for (const s of secrets) assert.ok(!line.includes(s), `secret ${JSON.stringify(s)} in: ${line}`);
  return lines;
}

describe('diagnostics about a credential never print its value (ldirectord.cf)', () => {
  test('unquoted secret= and passwd= (issue 19 reproduction): the error says what is wrong, without the value', async () => {
    const r = await load(
      [
        'checktimeout=3',
        'virtual=127.0.0.1:1812',
        '\treal=127.0.0.2:1812 gate',
        '\tservice=radius',
        '\tlogin="u"',
        '\tsecret=RADSHARED444',
        '\tpasswd=PLAINPW555',
        '\tprotocol=udp',
        '',
      ].join('\n'),
    );
    assert.equal(r.config, undefined);
    const lines = assertNoSecret(r, ['RADSHARED444', 'PLAINPW555']);
    assert.ok(
      lines.some((l) => /test\.cf:6: secret value must be in double quotes/.test(l)),
      lines.join('\n'),
    );
    assert.ok(
      lines.some((l) => /test\.cf:7: passwd value must be in double quotes/.test(l)),
      lines.join('\n'),
    );
  });

  test('a missing closing quote is said as such, without the value (and without a doubled quote)', async () => {
    const r = await load(
      'virtual=127.0.0.1:3306\n\treal=127.0.0.2:3306 gate\n\tservice=mysql\n\tlogin="u"\n\tpasswd="DBSECRET222\n\tdatabase="db"\n',
    );
    const lines = assertNoSecret(r, ['DBSECRET222']);
    assert.ok(
      lines.some((l) => /test\.cf:5: passwd value .*closing double quote is missing/.test(l)),
      lines.join('\n'),
    );
  });

  test("short values too: the directive's own messages never carry the value, whatever its length", async () => {
    for (const [line, value] of [
      ['\tsecret=ab', 'ab'],
      ['\tpasswd="xy', 'xy'],
      ['\tsecret="k"junk', 'k"junk'],
    ] as const) {
      const r = await load(`virtual=127.0.0.1:1812\n\treal=127.0.0.2:1812 gate\n\tservice=radius\n${line}\n`);
      const mine = r.diagnostics.filter((d) => d.pos.line === 4).map(formatDiagnostic);
      assert.ok(mine.length > 0, `${line}: expected a diagnostic on line 4`);
      for (const m of mine)
        assert.ok(!m.split(': ').slice(1).join(': ').includes(`"${value}`), `value of ${line} in: ${m}`);
    }
  });

  test('a credential line without "=", or indented outside a section, is reported without its value', async () => {
    const r = await load(
      [
        'smtppasswd SMTPNOEQ88',
        'virtual=127.0.0.1:1812',
        '\treal=127.0.0.2:1812 gate',
        '\tservice=radius',
        '\tsecret RADSPACE123',
        '\tpasswd: COLONPW777',
        '',
        '    smtppasswd=SMTPINDENT77',
        '',
      ].join('\n'),
    );
    assert.equal(r.config, undefined);
    const lines = assertNoSecret(r, ['SMTPNOEQ88', 'RADSPACE123', 'COLONPW777', 'SMTPINDENT77']);
    for (const n of [1, 5, 6, 8])
      assert.ok(
        lines.some((l) => l.startsWith(`/etc/ha.d/test.cf:${n}: `)),
        `line ${n} still reported:\n${lines.join('\n')}`,
      );
  });

  test('text after the closing quote is ignored with a warning that does not quote the line', async () => {
    const r = await load(
      'virtual=127.0.0.1:1812\n\treal=127.0.0.2:1812 gate\n\tservice=radius\n\tsecret="TAILSECRET1"TAILSECRET2\n',
    );
    assert.ok(r.config, r.diagnostics.map(formatDiagnostic).join('\n'));
    assertNoSecret(r, ['TAILSECRET1', 'TAILSECRET2']);
    assert.ok(
      r.diagnostics.some((d) => d.severity === 'warning' && d.pos.line === 4),
      'the ignored text is still reported',
    );
  });
});

describe('diagnostics about a credential in an included file never print its value', () => {
  test('a broken credential line in an included file, cf and YAML', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ldir-secret-include-'));
    try {
      writeFileSync(join(dir, 'alerts.cf'), 'smtppasswd SMTPINC777\n');
      writeFileSync(
        join(dir, 'radius.cf'),
        'virtual=127.0.0.1:1812\n\treal=127.0.0.2:1812 gate\n\tservice=radius\n\tsecret=RADINC888\n\tpasswd="INCUNTERM999\n',
      );
      writeFileSync(
        join(dir, 'more.yaml'),
        'virtuals:\n  - virtual: 127.0.0.1:3306\n    real: "127.0.0.2:3306 gate"\n    service: mysql\n    passwd: "YAMLINC111\n',
      );
      const main = join(dir, 'main.cf');
      const text = 'checktimeout=3\ninclude=alerts.cf\ninclude=radius.cf\ninclude=more.yaml\n';
      writeFileSync(main, text);
      const r = await loadConfigText(text, main, {
        resolver: fakeResolver(),
        probes: TEST_PROBES,
        hostname: 'director',
      });
      assert.equal(r.config, undefined);
      const lines = assertNoSecret(r, ['SMTPINC777', 'RADINC888', 'INCUNTERM999', 'YAMLINC111']);
      for (const [f, n] of [
        ['alerts.cf', 1],
        ['radius.cf', 4],
        ['radius.cf', 5],
      ] as const) {
        assert.ok(
          lines.some((l) => l.startsWith(`${join(dir, f)}:${n}: `)),
          `${f}:${n} still reported:\n${lines.join('\n')}`,
        );
      }
      assert.ok(
        r.secrets.includes('RADINC888') && r.secrets.includes('SMTPINC777'),
        "the included files' secrets are known to the redaction",
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('diagnostics about a credential never print its value (YAML)', () => {
  const yaml = (value: string, key = 'secret'): string =>
    [
      'checktimeout: 3',
      'virtuals:',
      '  - virtual: 127.0.0.1:1812',
      '    real: [ "127.0.0.2:1812 gate" ]',
      '    service: radius',
      `    ${key}: ${value}`,
      '    protocol: udp',
      '',
    ].join('\n');

  for (const [what, value, key] of [
    ['an unterminated double quote', '"YAMLUNTERM1', 'secret'],
    ['an unterminated single quote', "'YAMLUNTERM2", 'passwd'],
    ['a list', '[YAMLLIST3, x]', 'passwd'],
    ['a mapping', '{YAMLMAP4: 1}', 'secret'],
    ['a nested mapping on one line', 'YAMLNEST5: x', 'secret'],
    ['a list for smtppasswd', '[YAMLSMTP6]', 'smtppasswd'],
  ] as const) {
    test(`${key} as ${what}`, async () => {
      const r = await load(yaml(value, key), '/etc/ha.d/test.yaml');
      assert.equal(r.config, undefined, `${what} is an error`);
      assertNoSecret(r, [/[A-Z]+\d/.exec(value)?.[0] as string]);
    });
  }
});

describe('property: a credential written wrongly never reaches a diagnostic', () => {
  const templates: ReadonlyArray<(s: string) => string> = [
    (s) => `virtual=127.0.0.1:1812\n\treal=127.0.0.2:1812 gate\n\tservice=radius\n\tsecret=${s}\n`,
    (s) => `virtual=127.0.0.1:1812\n\treal=127.0.0.2:1812 gate\n\tservice=radius\n\tsecret="${s}\n`,
    (s) => `virtual=127.0.0.1:3306\n\treal=127.0.0.2:3306 gate\n\tservice=mysql\n\tpasswd=${s}\n`,
    (s) => `virtual=127.0.0.1:3306\n\treal=127.0.0.2:3306 gate\n\tservice=mysql\n\tpasswd="${s}\n`,
    (s) => `virtual=127.0.0.1:3306\n\treal=127.0.0.2:3306 gate\n\tservice=mysql\n\tpasswd ${s}\n`,
    (s) => `smtppasswd ${s}\nvirtual=127.0.0.1:80\n\treal=127.0.0.2:80 gate\n`,
    (s) => `virtual=127.0.0.1:80\n\treal=127.0.0.2:80 gate\n\n    smtppasswd=${s}\n`,
    (s) =>
      `virtuals:\n  - virtual: 127.0.0.1:1812\n    real: "127.0.0.2:1812 gate"\n    service: radius\n    secret: "${s}\n`,
    (s) =>
      `virtuals:\n  - virtual: 127.0.0.1:1812\n    real: "127.0.0.2:1812 gate"\n    service: radius\n    passwd: [${s}]\n`,
  ];
  // Values of at least 6 characters from a mixed alphabet (quotes, #, spaces, backslashes, colons included).
  const secret = fc
    .stringMatching(/^[A-Za-z0-9!#$%&'()*+,./:;<=>?@[\]^_`{|}~" \\-]{6,24}$/)
    .filter((s) => /[A-Za-z0-9]{3}/.test(s) && s.trim() === s && !s.includes('#'));

  test('random values in nine broken forms', async () => {
    await fc.assert(
      fc.asyncProperty(secret, fc.integer({ min: 0, max: templates.length - 1 }), async (s, i) => {
        const text = (templates[i] as (s: string) => string)(s);
        const file = text.startsWith('virtuals:') ? '/etc/ha.d/p.yaml' : '/etc/ha.d/p.cf';
        const r = await loadConfigText(text, file, {
          resolver: fakeResolver(),
          probes: TEST_PROBES,
          hostname: 'director',
        });
        for (const d of r.diagnostics) {
          const line = formatDiagnostic(d);
          assert.ok(!line.includes(s), `template ${i}, secret ${JSON.stringify(s)} in: ${line}`);
        }
      }),
      { seed: 19_2026, numRuns: 300 },
    );
  });
});
