// The one redaction (src/secrets.ts) and where it is applied: model fields, free text, JSON lines (log records and
// control answers stay valid JSON), the daemon's logger on every destination, and the credential values found in
// configuration text of both forms (src/config/secret-directives.ts).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { credentialValuesInText, redactCredentialLine } from '../../src/config/secret-directives';
import { createDaemonLogger } from '../../src/logging/daemon-logger';
import type { TextWriter } from '../../src/logging/fd-writer';
import { MIN_SEARCHED_LENGTH, REDACTED, redactSecretFields, SecretRedactor } from '../../src/secrets';

describe('SecretRedactor', () => {
  test('hides every occurrence, the longest value first; values shorter than the minimum are not searched', () => {
    const r = new SecretRedactor(['RADSHARED444', 'RADSHARED444-and-more', 'ab']);
    assert.equal(r.size, 2);
    assert.equal(r.text('x RADSHARED444-and-more y RADSHARED444 z ab'), `x ${REDACTED} y ${REDACTED} z ab`);
    assert.equal(MIN_SEARCHED_LENGTH, 4);
    r.add(['later-secret']);
    assert.equal(r.text('later-secret and RADSHARED444'), `${REDACTED} and ${REDACTED}`, 'values accumulate');
  });

  test('a JSON line keeps its structure: values with quotes, backslashes or JSON syntax inside are hidden in their strings', () => {
    // Secrets start with a character the other strings (printable ASCII) never hold; each holds a quote and a backslash.
    const secrets = fc.string({ minLength: 2, maxLength: 20 }).map((s) => `\u00a7${s}"\\`);
    fc.assert(
      fc.property(secrets, fc.string({ maxLength: 10 }), (secret, other) => {
        const r = new SecretRedactor([secret]);
        const record = { msg: `before ${secret} after`, reason: other, n: 3 };
        const line = `${JSON.stringify(record)}\n`;
        const out = r.jsonLine(line);
        assert.ok(out.endsWith('\n'));
        const parsed = JSON.parse(out) as typeof record;
        assert.equal(parsed.msg, `before ${REDACTED} after`);
        assert.equal(parsed.reason, other);
        assert.equal(parsed.n, 3);
        assert.ok(!out.includes(JSON.stringify(secret).slice(1, -1)), out);
      }),
      { seed: 1919, numRuns: 500 },
    );
  });

  test('a line without a secret is returned as it is (no parse)', () => {
    const r = new SecretRedactor(['RADSHARED444']);
    const line = '{"msg":"ok", "spacing":  "kept"}\n';
    assert.equal(r.jsonLine(line), line);
    assert.equal(
      r.jsonLine('not json RADSHARED444\n'),
      `not json ${REDACTED}\n`,
      'text that is not JSON is still redacted',
    );
  });
});

test('redactSecretFields hides passwd, secret, password and smtppasswd at any depth, keeping empty ones empty', () => {
  const out = redactSecretFields({
    a: [{ check: { passwd: 'p', secret: 's', login: 'l' } }],
    alerts: { smtpAuth: { passwd: 'x' } },
    password: '',
  });
  assert.deepEqual(out, {
    a: [{ check: { passwd: REDACTED, secret: REDACTED, login: 'l' } }],
    alerts: { smtpAuth: { passwd: REDACTED } },
    password: '',
  });
});

test('the daemon logger hides known secrets in messages and fields, on its destination, as valid JSON', () => {
  const chunks: string[] = [];
  const stdout: TextWriter = { isTTY: false, write: (s: string) => void chunks.push(s) };
  const redactor = new SecretRedactor();
  const log = createDaemonLogger({ logfile: 'local0', supervised: true, stdout, redactor, now: () => 0 });
  redactor.add(['POPSECRET666']);
  log.logger
    .child({ module: 'checks' })
    .info(
      { reason: 'login rejected: -ERR password POPSECRET666 is wrong', check: { passwd: 'x' } },
      'health transition POPSECRET666',
    );
  log.close();
  const text = chunks.join('');
  assert.ok(!text.includes('POPSECRET666'), text);
  const record = JSON.parse(text.trim()) as { msg: string; reason: string; check: { passwd: string } };
  assert.equal(record.msg, `health transition ${REDACTED}`);
  assert.equal(record.reason, `login rejected: -ERR password ${REDACTED} is wrong`);
  assert.equal(record.check.passwd, REDACTED, 'fields named as secrets, by key');
});

describe('credential values in configuration text', () => {
  test('found in every form a file may hold them (cf, YAML, broken, commented out)', () => {
    const text = [
      'passwd=BARE1',
      '\tpasswd="QUOTED2"',
      'secret="UNTERM3',
      'secret SPACE4',
      '    smtppasswd=INDENT5',
      '#passwd=OLD6',
      '    passwd: YAML7',
      "  - secret: 'YAML8'",
      '    smtppasswd: "YAML9" # comment',
      '    passwd: [LIST10]',
      'password=NOTADIRECTIVE',
    ].join('\n');
    const found = credentialValuesInText(text);
    for (const v of ['BARE1', 'QUOTED2', 'UNTERM3', 'SPACE4', 'INDENT5', 'OLD6', 'YAML7', 'YAML8', 'YAML9', 'LIST10']) {
      assert.ok(found.includes(v), `${v} in ${JSON.stringify(found)}`);
    }
    assert.ok(!found.some((v) => v.includes('NOTADIRECTIVE')));
  });

  test('a line quoted in a message keeps the directive name and loses the value', () => {
    assert.equal(redactCredentialLine('secret RADSPACE123'), `secret ${REDACTED}`);
    assert.equal(redactCredentialLine('    smtppasswd=x'), `    smtppasswd=${REDACTED}`);
    assert.equal(redactCredentialLine('passwd: "p w"'), `passwd: ${REDACTED}`);
    assert.equal(redactCredentialLine('bogus line here'), 'bogus line here');
    assert.equal(redactCredentialLine('secretary=bob'), 'secretary=bob');
  });
});
