// ensureSocketDirectory: a missing directory is created 0700; an existing one, or a parent, that another user could
// write or owns is refused with its path, mode and the fix. Real directories for modes; owners through an injected stat.
import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { ensureSocketDirectory, formatMode } from '../../../src/daemon/socket-directory';
import { ErrorCodes, isLdirError } from '../../../src/errors';

const base = realpathSync(mkdtempSync(join(tmpdir(), 'ldir-sockdir-')));
after(() => rmSync(base, { recursive: true, force: true }));
const me = process.geteuid?.() ?? 0;

/** The refusal `fn` throws: LDIR_ERR_CONTROL_UNSAFE whose message matches `message`. */
function refused(fn: () => void, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isLdirError(err, ErrorCodes.CONTROL_UNSAFE), `expected ${ErrorCodes.CONTROL_UNSAFE}, got ${String(err)}`);
    assert.match(err.message, message);
    return true;
  });
}

const quoted = (p: string): string => p.replace(/[.]/g, '\\.');

test('formatMode writes what chmod takes', () => {
  assert.equal(formatMode(0o40777), '0777');
  assert.equal(formatMode(0o41777), '1777');
  assert.equal(formatMode(0o700), '0700');
});

test('a missing directory is created 0700 whatever the umask, its missing parents too', () => {
  const dir = join(base, 'a', 'b', 'sock');
  const umask = process.umask(0o000);
  try {
    ensureSocketDirectory(dir);
  } finally {
    process.umask(umask);
  }
  assert.equal(statSync(dir).mode & 0o7777, 0o700);
  ensureSocketDirectory(dir); // and accepted as it is next time
});

test('an existing directory writable only by its owner is accepted and keeps its mode', () => {
  const dir = join(base, 'kept');
  mkdirSync(dir);
  chmodSync(dir, 0o755);
  ensureSocketDirectory(dir);
  assert.equal(statSync(dir).mode & 0o7777, 0o755);
});

test('an existing directory writable by others or by its group is refused, named with its mode and the fix', () => {
  const dir = join(base, 'loose');
  mkdirSync(dir);
  for (const [mode, who] of [
    [0o777, 'its group and every other user'],
    [0o757, 'every other user'],
    [0o775, 'its group'],
    [0o1777, 'its group and every other user'],
  ] as const) {
    chmodSync(dir, mode);
    refused(
      () => ensureSocketDirectory(dir),
      new RegExp(
        `^control socket directory ${quoted(dir)} has mode ${formatMode(mode)}: ${who} could replace the control socket.*Run "chmod 0700 ${quoted(dir)}", or set LDIR_SOCKET_DIR`,
      ),
    );
    assert.equal(statSync(dir).mode & 0o7777, mode, 'never changed by ldir');
  }
});

test('a parent anyone can write is refused unless it is sticky (as /tmp); nothing is created under it', () => {
  const parent = join(base, 'open');
  mkdirSync(parent);
  chmodSync(parent, 0o777);
  const dir = join(parent, 'sock');
  refused(
    () => ensureSocketDirectory(dir),
    new RegExp(
      `^parent of the control socket directory ${quoted(parent)} has mode 0777: .*"chmod go-w ${quoted(parent)}" \\(or "chmod \\+t ${quoted(parent)}"`,
    ),
  );
  assert.equal(existsSync(dir), false);
  chmodSync(parent, 0o1777);
  ensureSocketDirectory(dir);
  assert.equal(statSync(dir).mode & 0o7777, 0o700);
});

test('a symbolic link is judged by the directory it leads to', () => {
  const real = join(base, 'real-loose');
  mkdirSync(real);
  chmodSync(real, 0o777);
  const link = join(base, 'link');
  symlinkSync(real, link);
  refused(() => ensureSocketDirectory(link), new RegExp(`control socket directory ${quoted(real)} has mode 0777`));
});

test("a directory or parent owned by another user is refused; root's and the daemon's own are accepted", () => {
  const dir = join(base, 'owned', 'sock');
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o700);
  const owners = new Map<string, number>();
  const stat = (p: string): { uid: number; mode: number } => ({ uid: owners.get(p) ?? 0, mode: statSync(p).mode });
  owners.set(dir, 1000);
  refused(
    () => ensureSocketDirectory(dir, { uid: 0, stat }),
    new RegExp(
      `^control socket directory ${quoted(dir)} is owned by uid 1000, not by root \\(uid 0\\): that user could replace the control socket.*Run "chown root:root ${quoted(dir)} && chmod 0700 ${quoted(dir)}"`,
    ),
  );
  // A daemon run by uid 1000 (a trial on the memory backend) may use its own directory.
  ensureSocketDirectory(dir, { uid: 1000, stat });
  refused(
    () => ensureSocketDirectory(dir, { uid: 1001, stat }),
    /is owned by uid 1000, not by root or uid 1001 \(the daemon's user\)/,
  );
  owners.delete(dir);
  owners.set(dirname(dir), 1000);
  refused(
    () => ensureSocketDirectory(dir, { uid: 0, stat }),
    new RegExp(
      `^parent of the control socket directory ${quoted(dirname(dir))} is owned by uid 1000.*Run "chown root ${quoted(dirname(dir))}"`,
    ),
  );
  owners.clear();
  ensureSocketDirectory(dir, { uid: me, stat });
});

test('a file where the directory should be is a control failure, not a refusal about modes', () => {
  const dir = join(base, 'file');
  mkdirSync(dirname(dir), { recursive: true });
  rmSync(dir, { force: true });
  writeFileSync(dir, '');
  assert.throws(
    () => ensureSocketDirectory(dir),
    (err: unknown) => isLdirError(err, ErrorCodes.CONTROL_FAILED) && /is not a directory/.test(err.message),
  );
});
