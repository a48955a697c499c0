// `ldir convert -o OUT` writes OUT as a careful tool does (issue 19, item 2): with the source's mode, 0600 when the
// output holds a secret, through a temporary file renamed over OUT (a reader never sees half a file), and never
// through a symbolic link found at OUT (its target stays as it was).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli } from '../../../src/cli/run';
import { capture } from '../../helpers/cli-io';

const PLAIN = 'checktimeout=4\n\nvirtual=127.0.0.1:80\n\treal=127.0.0.2:80 gate 2\n\tchecktype=connect\n';
const SECRETS = [
  'smtp=127.0.0.1:25',
  'smtplogin=alerts',
  'smtppasswd=SMTPPW333',
  '',
  'virtual=127.0.0.1:1812',
  '\treal=127.0.0.2:1812 gate',
  '\tservice=radius',
  '\tprotocol=udp',
  '\tlogin="u"',
  '\tsecret="RADSHARED444"',
  '\tpasswd="PLAINPW555"',
  '',
].join('\n');

let dir = '';
let oldUmask = 0;

/** Runs `ldir convert ARGS`; its exit code and output. */
async function convert(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = capture();
  const code = await runCli(['convert', ...args], io);
  return { code, out: io.out, err: io.err };
}

/** Writes a source file with `mode` (chmod after writing: the umask does not apply). */
function source(name: string, text: string, mode: number): string {
  const file = join(dir, name);
  fs.writeFileSync(file, text);
  fs.chmodSync(file, mode);
  return file;
}

const modeOf = (file: string): number => fs.lstatSync(file).mode & 0o7777;
const octal = (mode: number): string => `0${mode.toString(8)}`;

before(() => {
  dir = fs.mkdtempSync(join(tmpdir(), 'ldir-convert-out-'));
  oldUmask = process.umask(0o022); // the usual umask: a plain create gives 0644
});
after(() => {
  process.umask(oldUmask);
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('ldir convert -o OUT: mode, temporary file, symbolic links', () => {
  test('a 0600 source with passwd=, secret= and smtppasswd gives a 0600 output (it was 0644 with the secrets in clear)', async () => {
    const src = source('secret.cf', SECRETS, 0o600);
    const out = join(dir, 'secret.yaml');
    const r = await convert(src, '--to', 'yaml', '-o', out);
    assert.equal(r.code, 0, r.err);
    assert.equal(octal(modeOf(out)), '0600');
    assert.match(
      fs.readFileSync(out, 'utf8'),
      /RADSHARED444/,
      'the output is the configuration itself: its secrets are in it',
    );
  });

  test('secrets in a world-readable source still give 0600; an existing output file does not keep its mode', async () => {
    const src = source('secret-0644.yaml', '', 0o644);
    const cf = await convert(source('s2.cf', SECRETS, 0o600), '--to', 'yaml');
    fs.writeFileSync(src, cf.out);
    const out = join(dir, 'existing.cf');
    fs.writeFileSync(out, 'old\n');
    fs.chmodSync(out, 0o666);
    const r = await convert(src, '--to', 'cf', '-o', out);
    assert.equal(r.code, 0, r.err);
    assert.equal(octal(modeOf(out)), '0600');
  });

  test("without secrets the output gets the source's mode (0640 stays 0640, 0444 stays 0444)", async () => {
    for (const mode of [0o640, 0o444]) {
      const src = source(`plain-${octal(mode)}.cf`, PLAIN, mode);
      const out = join(dir, `plain-${octal(mode)}.yaml`);
      const r = await convert(src, '--to', 'yaml', '-o', out);
      assert.equal(r.code, 0, r.err);
      assert.equal(octal(modeOf(out)), octal(mode));
    }
  });

  test('OUT is replaced by rename: a new file (a hard link to the old one keeps the old text), no temporary file left', async () => {
    const src = source('plain.cf', PLAIN, 0o644);
    const out = join(dir, 'renamed.yaml');
    fs.writeFileSync(out, 'previous: text\n');
    fs.linkSync(out, join(dir, 'renamed-link.yaml'));
    const inode = fs.statSync(out).ino;
    const r = await convert(src, '--to', 'yaml', '-o', out);
    assert.equal(r.code, 0, r.err);
    assert.notEqual(fs.statSync(out).ino, inode, 'a new inode: written beside and renamed over');
    assert.equal(
      fs.readFileSync(join(dir, 'renamed-link.yaml'), 'utf8'),
      'previous: text\n',
      'the old file was not written in place',
    );
    assert.deepEqual(
      fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')),
      [],
    );
  });

  test('a symbolic link at OUT is replaced, never followed: its target is untouched', async () => {
    const victim = join(dir, 'victim');
    fs.writeFileSync(victim, 'do not touch\n');
    fs.chmodSync(victim, 0o644);
    const out = join(dir, 'link.yaml');
    fs.symlinkSync(victim, out);
    const dangling = join(dir, 'dangling.yaml');
    const created = join(dir, 'created-through-link');
    fs.symlinkSync(created, dangling);
    const src = source('secret-link.cf', SECRETS, 0o600);
    for (const target of [out, dangling]) {
      const r = await convert(src, '--to', 'yaml', '-o', target);
      assert.equal(r.code, 0, r.err);
      assert.match(
        r.err,
        /was a symbolic link \(to .*\): it is now the file; .* was left as it was/,
        'the replaced link is said',
      );
      assert.ok(fs.lstatSync(target).isFile(), `${target} is now a regular file, not a link`);
      assert.equal(octal(modeOf(target)), '0600');
    }
    assert.equal(fs.readFileSync(victim, 'utf8'), 'do not touch\n', "the link's target was not written");
    assert.equal(octal(modeOf(victim)), '0644');
    assert.equal(fs.existsSync(created), false, 'a dangling link does not create its target');
  });

  test('a refused conversion leaves OUT as it was', async () => {
    const out = join(dir, 'kept.yaml');
    fs.writeFileSync(out, 'kept: yes\n');
    const r = await convert(source('broken.cf', 'checktimeout=0\n', 0o644), '--to', 'yaml', '-o', out);
    assert.equal(r.code, 2);
    assert.equal(fs.readFileSync(out, 'utf8'), 'kept: yes\n');
  });
});
