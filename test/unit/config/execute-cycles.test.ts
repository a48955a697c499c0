// `execute=` cycles (issue 21 item 2): a configuration executing itself, directly, through others, through a symbolic
// link or an included file, is an error at its `execute=` line naming the chain; a family without a cycle (a chain,
// a diamond), and a name that finds no file, load. `ldir check` exits 2 on a cycle.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { runCli } from '../../../src/cli/run';
import { formatDiagnostic } from '../../../src/config/diagnostics';
import { loadConfigFile, type LoadOptions } from '../../../src/config/load';

let dir = '';
beforeEach(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'ldir-execute-')));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const SECTION = 'virtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate\n';

function put(name: string, text: string): string {
  const file = join(dir, name);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
}

/** Names are found in the test directory, as `ldir NAME start` finds them in /etc/ha.d. */
const options = (): LoadOptions => ({ locateExecuted: (name) => (name.startsWith('/') ? name : join(dir, name)) });

async function errorsOf(file: string): Promise<string[]> {
  const r = await loadConfigFile(file, options());
  return r.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);
}

test('a configuration that executes itself is an error at the line', async () => {
  const a = put('a.cf', `execute=a.cf\n${SECTION}`);
  assert.deepEqual(await errorsOf(a), [
    `${a}:1: execute=a.cf names this configuration itself (${a}): it would start and reload itself forever`,
  ]);
});

test("A executes B executes A: an error at A's line naming the chain; the same from B", async () => {
  const a = put('a.cf', `checkinterval=5\nexecute=b.cf\n${SECTION}`);
  const b = put('b.cf', `execute=a.cf\n${SECTION}`);
  assert.deepEqual(await errorsOf(a), [
    `${a}:2: execute=b.cf leads to a cycle: ${a} executes ${b} executes ${a}; each instance would start the next forever`,
  ]);
  assert.deepEqual(await errorsOf(b), [
    `${b}:1: execute=a.cf leads to a cycle: ${b} executes ${a} executes ${b}; each instance would start the next forever`,
  ]);
});

test("a cycle among the executed files (A -> B -> C -> B) is an error at A's line", async () => {
  const a = put('a.cf', `execute=b.cf\n${SECTION}`);
  const b = put('b.cf', `execute=c.cf\n${SECTION}`);
  const c = put('c.cf', `execute=b.cf\n${SECTION}`);
  assert.deepEqual(await errorsOf(a), [
    `${a}:1: execute=b.cf leads to a cycle: ${b} executes ${c} executes ${b}; each instance would start the next forever`,
  ]);
});

test('through a symbolic link, an absolute path, an included file of an executed one, and the YAML form', async () => {
  const a = put('a.cf', `execute=link.cf\n${SECTION}`);
  symlinkSync(a, join(dir, 'link.cf'));
  assert.equal((await errorsOf(a)).length, 1, 'the link is the file itself');
  const y = put(
    'y.yaml',
    `execute:\n  - ${join(dir, 'b.cf')}\nvirtuals:\n  - virtual: 192.0.2.1:80\n    real: 10.0.0.1:80 gate\n`,
  );
  put('b.cf', `include=conf.d/*.cf\n${SECTION}`);
  put('conf.d/back.cf', 'execute=y.yaml\n');
  const errors = await errorsOf(y);
  assert.equal(errors.length, 1, errors.join('\n'));
  assert.match(
    errors[0] ?? '',
    new RegExp(
      `^${y}:2:5: execute=${join(dir, 'b.cf')} leads to a cycle: ${y} executes ${join(dir, 'b.cf')} executes ${y};`,
    ),
  );
});

test('no cycle: a chain, a diamond, repeats, a name that finds no file, a file that does not parse', async () => {
  const a = put('a.cf', `execute=b.cf\nexecute=c.cf\nexecute=b.cf\nexecute=nowhere.cf\nexecute=broken.cf\n${SECTION}`);
  put('b.cf', `execute=d.cf\n${SECTION}`);
  put('c.cf', `execute=d.cf\n${SECTION}`);
  put('d.cf', SECTION);
  put('broken.cf', 'virtual=not an address\nexecute=a.cf\n');
  const r = await loadConfigFile(a, options());
  // broken.cf executes a.cf: a cycle although broken.cf itself is invalid (its own check says why).
  assert.deepEqual(
    r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.pos.line),
    [5],
  );
  put('broken.cf', 'virtual=not an address\n');
  const fixed = await loadConfigFile(a, options());
  assert.deepEqual(
    fixed.diagnostics.filter((d) => d.severity === 'error'),
    [],
  );
  assert.deepEqual(fixed.config?.globals.execute, ['b.cf', 'c.cf', 'nowhere.cf', 'broken.cf']);
});

test('ldir check exits 2 on a cycle and names it', async () => {
  const a = put('a.cf', `execute=${join(dir, 'b.cf')}\n${SECTION}`);
  put('b.cf', `execute=${a}\n${SECTION}`);
  let stderr = '';
  const code = await runCli(['check', a], { stdout: () => undefined, stderr: (t) => void (stderr += t) });
  assert.equal(code, 2, stderr);
  assert.match(stderr, new RegExp(`${a}:1: execute=${join(dir, 'b.cf')} leads to a cycle`));
});

test('the walk is bounded: past 256 names a warning says where checking stopped', async () => {
  const lines = Array.from({ length: 300 }, (_, i) => `execute=site-${i}.cf`);
  const a = put('a.cf', `${lines.join('\n')}\n${SECTION}`);
  const r = await loadConfigFile(a, options());
  assert.ok(r.config);
  assert.deepEqual(r.diagnostics.map(formatDiagnostic), [
    `${a}:257: warning: execute=: more than 256 configurations to follow; cycles from this line on are not checked`,
  ]);
});
