// Differential test: ldir check must accept and refuse the same ldirectord.cf files as Debian's ldirectord 4.12, run
// side by side on every fixture; and ldirectord must still answer what expected.json recorded (else the recording,
// which test/unit/config/ldirectord-recorded.test.ts checks ldir against offline on every run, is stale).
// Needs ldirectord (installed here as root when missing, as test/provision.sh does) and `unshare --net`; without them
// the tier is skipped with the reason, and under CI=true it fails with it.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { differentialUnavailable, ldirVerdict, ldirectordVerdict } from '../helpers/ldirectord';
import {
  assertAgrees,
  FIXTURES,
  fixtureNames,
  prepareFixturePaths,
  recordedVerdicts,
} from '../helpers/ldirectord-verdicts';
import { needing } from '../helpers/prerequisites';

const files = fixtureNames();

describe(
  'ldir check agrees with ldirectord on every fixture',
  ...needing(differentialUnavailable(), { concurrency: 2 }, () => {
    const recorded = recordedVerdicts();
    before(prepareFixturePaths);
    test('the corpus is large enough', () => {
      assert.ok(files.length >= 50, `only ${files.length} fixtures`);
    });
    for (const name of files) {
      test(name, async () => {
        const file = join(FIXTURES, name);
        const [theirs, ours] = await Promise.all([ldirectordVerdict(file), ldirVerdict(file)]);
        assertAgrees(name, theirs, ours);
        const then = recorded.get(name);
        assert.deepEqual(
          { code: theirs.code, errorLine: theirs.errorLine, warningLines: theirs.warningLines.filter((l) => l > 0) },
          then && { code: then.code, errorLine: then.errorLine, warningLines: then.warningLines },
          `ldirectord's verdict on ${name} is not the recorded one: run test/tools/record-ldirectord-verdicts.sh`,
        );
      });
    }
  }),
);
