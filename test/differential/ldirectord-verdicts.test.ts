// Differential test: ldir check must accept and refuse the same ldirectord.cf files as Debian's ldirectord 4.12.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { differentialUnavailable, ldirVerdict, ldirectordVerdict } from '../helpers/ldirectord';

const FIXTURES = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'ldirectord');

/**
 * Fixtures where ldir deliberately differs from ldirectord, each listed in docs/compatibility.md.
 * `verdict`: ldir gives another verdict; `line`: same verdict, another error line.
 */
export const KNOWN_DIFFERENCES: Readonly<Record<string, { kind: 'verdict' | 'line'; why: string }>> = {
  'valid-fwmark-leading-zero.cf': { kind: 'verdict', why: 'fwmarks 100 and 0100 are the same kernel service: ldir refuses the duplicate' },
  'valid-persistent-zero-weights.cf': { kind: 'verdict', why: 'persistent=0: ipvsadm refuses -p 0 at run time, ldir refuses it in the file (strict validation)' },
  'valid-multicast-virtual-unspecified-real.cf': { kind: 'verdict', why: 'a multicast virtual and a real 0.0.0.0 can never work (the kernel refuses the destination): ldir refuses them in the file' },
  'valid-netmask-without-persistent.cf': { kind: 'verdict', why: 'netmask without persistent is dropped by ldirectord: ldir refuses the option it would not apply' },
  'valid-ops-on-tcp.cf': { kind: 'verdict', why: 'ops=yes on TCP is dropped by ldirectord: ldir refuses the option it would not apply' },
  'valid-schedflags-not-a-flag.cf': { kind: 'verdict', why: 'ipvsadm refuses the unknown flag at run time: ldir refuses it in the file' },
  'valid-threshold-order-swapped.cf': { kind: 'verdict', why: 'u:100 is skipped, leaving l:10 above u:0, which the kernel refuses (ERANGE): ldir refuses it in the file' },
};

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
