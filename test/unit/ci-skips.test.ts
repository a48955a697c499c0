// The CI skip policy: the allow-list, where each allowance holds, and what a test does when a prerequisite is missing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allowanceFor, CI_ALLOWED_SKIPS, isCi, testPlace } from '../helpers/ci-skips';
import { missingInCi, mustFail, needing, skipOrFail } from '../helpers/prerequisites';

const GUEST_ON_HOST = 'runs inside the kernel-tier VM only (test/kernel/host-runs-guest-tests)';
const NO_DOCKERD =
  'no Docker engine (Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?), ' +
  'and a docker client without dockerd here to start one';

/** A test context that records its skip. */
function fakeContext(): { skip(message?: string): void; skipped: string[] } {
  const skipped: string[] = [];
  return { skipped, skip: (m) => skipped.push(m ?? '') };
}

test('CI is any value of CI but empty, false and 0; LDIR_IN_VM=1 is the VM', () => {
  assert.deepEqual(
    ['true', '1', 'yes', '', 'false', '0'].map((v) => isCi({ CI: v })),
    [true, true, true, false, false, false],
  );
  assert.equal(isCi({}), false);
  assert.deepEqual([testPlace({ LDIR_IN_VM: '1' }), testPlace({})], ['vm', 'host']);
});

test('every allowance has a name, a reason and a message pattern; names are unique', () => {
  assert.ok(CI_ALLOWED_SKIPS.length > 0);
  for (const a of CI_ALLOWED_SKIPS)
    assert.ok(a.id !== '' && a.reason.length > 20 && a.message.source.startsWith('^'), a.id);
  assert.equal(new Set(CI_ALLOWED_SKIPS.map((a) => a.id)).size, CI_ALLOWED_SKIPS.length);
});

test('allowances: a guest file on the host and a docker client without dockerd, nothing else, and only where they hold', () => {
  assert.equal(allowanceFor(GUEST_ON_HOST, 'host')?.id, 'guest-file-on-host');
  assert.equal(allowanceFor(GUEST_ON_HOST, 'vm'), undefined, 'inside the VM a guest file must run');
  assert.equal(allowanceFor(NO_DOCKERD, 'host')?.id, 'docker-engine');
  assert.equal(
    allowanceFor('no Docker engine (permission denied), and not root to start one', 'host'),
    undefined,
    'CI runs as root',
  );
  assert.equal(allowanceFor(`${GUEST_ON_HOST} (extra)`, 'host'), undefined);
  assert.equal(allowanceFor('/usr/sbin/ldirectord is not installed', 'host'), undefined);
});

test('skipOrFail: skips outside CI; under CI fails with one line naming what is missing, unless allowed', () => {
  const local = fakeContext();
  skipOrFail(local, 'no /dev/full here', { ci: false, place: 'host' });
  assert.deepEqual(local.skipped, ['no /dev/full here']);

  const ci = fakeContext();
  assert.throws(
    () => skipOrFail(ci, 'no /dev/full here', { ci: true, place: 'host' }),
    (err: Error) => err.message === missingInCi('no /dev/full here'),
  );
  assert.deepEqual(ci.skipped, []);
  assert.equal(missingInCi('no /dev/full here').split('\n').length, 1);

  const allowed = fakeContext();
  skipOrFail(allowed, NO_DOCKERD, { ci: true, place: 'host' });
  assert.deepEqual(allowed.skipped, [NO_DOCKERD]);
  assert.equal(mustFail(NO_DOCKERD, { ci: true, place: 'vm' }), true);
});

test('needing: a suite runs as written, is skipped with the reason, or under CI fails in its body with the one line', () => {
  const body = (): void => undefined;
  assert.deepEqual(needing(undefined, { concurrency: 2 }, body, { ci: true, place: 'host' }), [
    { concurrency: 2 },
    body,
  ]);
  assert.deepEqual(needing('not root', { concurrency: 2 }, body, { ci: false, place: 'host' }), [
    { concurrency: 2, skip: 'not root' },
    body,
  ]);
  const [options, failing] = needing('not root', { concurrency: 2 }, body, { ci: true, place: 'host' });
  assert.deepEqual(options, { concurrency: 2 });
  assert.throws(failing, (err: Error) => err.message === missingInCi('not root'));
  assert.deepEqual(needing(NO_DOCKERD, {}, body, { ci: true, place: 'host' }), [{ skip: NO_DOCKERD }, body]);
});
