// Differential test: ldir check must accept and refuse the same ldirectord.cf files as Debian's ldirectord 4.12.
import { KNOWN_DIFFERENCES } from '../helpers/known-differences';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { differentialUnavailable, ldirVerdict, ldirectordVerdict } from '../helpers/ldirectord';

const FIXTURES = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'ldirectord');


const skip = differentialUnavailable();
const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.cf')).sort();

describe('ldir check agrees with ldirectord on every fixture', { skip, concurrency: 2 }, () => {
  mkdirSync('/tmp/ldir-fixtures', { recursive: true });
  test('the corpus is large enough', () => {
    assert.ok(files.length >= 50, `only ${files.length} fixtures`);
  });
  for (const name of files) {
    test(name, async () => {
      const file = join(FIXTURES, name);
      const [theirs, ours] = await Promise.all([ldirectordVerdict(file), ldirVerdict(file)]);
      assert.ok(theirs.code === 2 || theirs.code === 3, `ldirectord exited ${theirs.code}`);
      const known = KNOWN_DIFFERENCES[name];
      const expectedCode = theirs.code === 3 ? 0 : 2;
      if (known?.kind === 'verdict') {
        assert.notEqual(ours.code, expectedCode, `${name} is listed as a known difference but ldir now agrees: remove it`);
        return;
      }
      assert.equal(ours.code, expectedCode, `ldirectord exit ${theirs.code} (${theirs.message ?? 'valid'}), ldir:\n${ours.stderr}`);
      if (name.startsWith('valid-')) assert.equal(theirs.code, 3, 'valid-* fixtures must be valid for ldirectord');
      if (name.startsWith('invalid-')) assert.equal(theirs.code, 2, 'invalid-* fixtures must be invalid for ldirectord');
      if (theirs.errorLine !== undefined && known?.kind !== 'line') {
        assert.ok(ours.errorLines.includes(theirs.errorLine),
          `ldirectord: line ${theirs.errorLine}: ${theirs.message}; ldir errors at lines ${ours.errorLines.join(', ')}:\n${ours.stderr}`);
      }
      for (const line of theirs.warningLines.filter((l) => l > 0)) {
        assert.ok(ours.warningLines.includes(line) || ours.errorLines.includes(line), `ldirectord warns at line ${line}; ldir:\n${ours.stderr}`);
      }
    });
  }
});
