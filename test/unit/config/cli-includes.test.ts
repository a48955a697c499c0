// The CLI with includes. `ldir convert` keeps `include` directives (it does not inline them): cf -> yaml and yaml -> cf
// write the includes, the included files stay as they are (each in its own form) and the output means the same; `-o`
// into another directory rewrites relative include paths; includes between virtual sections, which YAML cannot place,
// are refused. `ldir check` lists the files read.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { runCli } from '../../../src/cli/run';
import { sameMeaning } from '../../../src/config/compare';
import { loadConfigFile } from '../../../src/config/load';
import type { Config } from '../../../src/model';

let dir = '';
beforeEach(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'ldir-convert-inc-')));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function put(name: string, text: string): string {
  const file = join(dir, name);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
}

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) });
  return { code, stdout, stderr };
}

async function model(file: string): Promise<Config> {
  const r = await loadConfigFile(file);
  assert.ok(r.config, r.diagnostics.map((d) => `${d.pos.file}:${d.pos.line}: ${d.message}`).join('\n'));
  return r.config;
}

const section = (vip: string): string => `virtual=${vip}:80\n\treal=10.0.0.1:80 gate\n\n`;

test('cf -> yaml keeps the includes as a list (after the virtuals when they followed them); yaml -> cf writes include lines', async () => {
  put('conf.d/a.cf', section('192.0.2.1'));
  put('conf.d/b.yaml', 'virtuals:\n  - virtual: 192.0.2.2:80\n    real: 10.0.0.2:80 gate\n');
  const main = put('main.cf', `checktimeout=4\n${section('192.0.2.9')}include=conf.d/*.cf\ninclude="conf.d/b.yaml"\n`);
  const toYaml = await cli('convert', main, '--to', 'yaml');
  assert.equal(toYaml.code, 0, toYaml.stderr);
  assert.equal(
    toYaml.stdout,
    'checktimeout: 4\nvirtuals:\n  - virtual: 192.0.2.9:80\n    real:\n      - host: 10.0.0.1\n        port: 80\n        forward: gate\ninclude:\n  - conf.d/*.cf\n  - conf.d/b.yaml\n',
  );
  const yamlFile = put('main.yaml', toYaml.stdout);
  const source = await model(main);
  const converted = await model(yamlFile);
  assert.ok(sameMeaning(source, converted));
  assert.deepEqual(
    converted.virtualServices.map((v) => v.address),
    ['192.0.2.9', '192.0.2.1', '192.0.2.2'],
  );
  assert.deepEqual(converted.includedFiles, [join(dir, 'conf.d/a.cf'), join(dir, 'conf.d/b.yaml')]);

  const toCf = await cli('convert', yamlFile, '--to', 'cf');
  assert.equal(toCf.code, 0, toCf.stderr);
  assert.match(toCf.stdout, /^include=conf\.d\/\*\.cf\ninclude=conf\.d\/b\.yaml\n$/m);
  assert.ok(sameMeaning(source, await model(put('again.cf', toCf.stdout))));
});

test('-o into another directory rewrites relative include paths to name the same files from there', async () => {
  put('etc/conf.d/a.cf', section('192.0.2.1'));
  const main = put('etc/main.cf', 'include=conf.d/*.cf\ninclude=/nonexistent-ldir-dir/*.cf\n');
  const out = join(dir, 'elsewhere', 'deep', 'main.yaml');
  mkdirSync(dirname(out), { recursive: true });
  const r = await cli('convert', main, '--to', 'yaml', '-o', out);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readFileSync(out, 'utf8'), 'include:\n  - ../../etc/conf.d/*.cf\n  - /nonexistent-ldir-dir/*.cf\n');
  assert.deepEqual((await model(out)).includedFiles, [join(dir, 'etc/conf.d/a.cf')]);
});

test('includes between virtual sections cannot keep their place in YAML: refused, nothing written', async () => {
  put('conf.d/a.cf', section('192.0.2.1'));
  const main = put('main.cf', `${section('192.0.2.8')}include=conf.d/*.cf\n${section('192.0.2.9')}`);
  const out = join(dir, 'out.yaml');
  const r = await cli('convert', main, '--to', 'yaml', '-o', out);
  assert.equal(r.code, 2);
  assert.match(
    r.stderr,
    /the yaml output would read the included files at another place than the source does \(YAML has one "include" list and one "virtuals" list\): move the include lines before or after all virtual sections; nothing written/,
  );
  assert.throws(() => readFileSync(out), /ENOENT/);
});

test('a source whose included file is broken is not converted (exit 2, the error names the included file)', async () => {
  const broken = put('conf.d/a.cf', `${section('192.0.2.1')}bogus=1\n`);
  const main = put('main.cf', 'include=conf.d/*.cf\n');
  const r = await cli('convert', main, '--to', 'yaml');
  assert.equal(r.code, 2);
  assert.match(r.stderr, new RegExp(`^${broken.replace(/[.]/g, '\\.')}:4: unknown directive "bogus"$`, 'm'));
});

test('ldir check lists the included files (and --json has them in the model)', async () => {
  const a = put('conf.d/a.cf', section('192.0.2.1'));
  const b = put('conf.d/b.cf', section('192.0.2.2'));
  const main = put('main.cf', 'sysctl=no\ninclude=conf.d/*.cf\n');
  const r = await cli('check', main);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `include: ${a}\ninclude: ${b}\n`);
  const json = await cli('check', main, '--json');
  assert.deepEqual((JSON.parse(json.stdout) as Config).includedFiles, [a, b]);
});
