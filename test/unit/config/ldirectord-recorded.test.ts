// ldir against ldirectord's recorded verdicts, offline, on every run: each fixture of test/fixtures/ldirectord/ is
// loaded in-process as `ldir check` would load it in the recorder's empty network namespace, and its verdict (valid
// or not), error line and warning lines are compared with what Debian's real ldirectord 4.12 answered
// (expected.json, written by test/tools/record-ldirectord-verdicts.sh). The differential tier runs ldirectord itself
// where it is installed; this one needs nothing but the recording.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { KNOWN_DIFFERENCES } from '../../helpers/known-differences';
import {
  assertAgrees,
  FIXTURES,
  fixtureNames,
  ldirVerdictOffline,
  prepareFixturePaths,
  recordedVerdicts,
} from '../../helpers/ldirectord-verdicts';

const recorded = recordedVerdicts();
const files = fixtureNames();

describe('ldir agrees with the verdicts recorded from ldirectord (expected.json)', { concurrency: 1 }, () => {
  before(prepareFixturePaths);

  test('every fixture has a recorded verdict and every recorded verdict a fixture', () => {
    assert.ok(files.length >= 50, `only ${files.length} fixtures`);
    const unrecorded = files.filter((f) => !recorded.has(f));
    const stale = [...recorded.keys()].filter((f) => !files.includes(f));
    assert.deepEqual(
      unrecorded,
      [],
      'fixtures without a recorded verdict: run test/tools/record-ldirectord-verdicts.sh (root, ldirectord installed)',
    );
    assert.deepEqual(
      stale,
      [],
      'recorded verdicts of fixtures that are gone: run test/tools/record-ldirectord-verdicts.sh',
    );
  });

  test('every known difference names a fixture', () => {
    assert.deepEqual(
      Object.keys(KNOWN_DIFFERENCES).filter((f) => !files.includes(f)),
      [],
    );
  });

  for (const name of files) {
    test(name, async () => {
      const theirs = recorded.get(name);
      assert.ok(theirs, `${name} has no recorded verdict`);
      assertAgrees(name, theirs, await ldirVerdictOffline(join(FIXTURES, name)));
    });
  }
});
