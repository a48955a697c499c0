// `include=PATH-or-GLOB` (and YAML's `include:`): files read in place of the directive, relative to the including file,
// globs in sorted order, diagnostics naming the included file, cycles and repeats refused naming the chain, a missing
// plain path an error but an empty glob not, and the sources a reload reads and autoreload watches. Fixtures are
// written to a temp dir per test.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { contentDigest } from '../../../src/config/config-sources';
import { formatDiagnostic, type Diagnostic } from '../../../src/config/diagnostics';
import { loadConfigFile, type LoadResult } from '../../../src/config/load';
import { fakeResolver, TEST_PROBES } from '../../helpers/config';

let dir = '';
beforeEach(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'ldir-include-')));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Writes `text` to `name` under the temp dir (directories made as needed); returns its path. */
function put(name: string, text: string): string {
  const file = join(dir, name);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
}

const load = (name: string): Promise<LoadResult> =>
  loadConfigFile(join(dir, name), { resolver: fakeResolver(), probes: TEST_PROBES, hostname: 'director' });

/** A virtual section with one real, for fragments. */
const section = (vip: string, extra: readonly string[] = []): string =>
  `virtual=${vip}:80\n\treal=10.0.0.1:80 gate\n${extra.map((l) => `\t${l}\n`).join('')}\n`;

const errorsOf = (r: LoadResult): Diagnostic[] => r.diagnostics.filter((d) => d.severity === 'error');
const lines = (r: LoadResult): string[] => r.diagnostics.map(formatDiagnostic);

describe('include in ldirectord.cf', () => {
  test('a glob relative to the including file: its matches are read in sorted order, in place of the directive', async () => {
    put('conf.d/20-b.cf', section('192.0.2.2'));
    put('conf.d/10-a.cf', section('192.0.2.1'));
    put('conf.d/notes.txt', 'not a configuration');
    put('conf.d/.hidden.cf', 'garbage=1\n');
    put('main.cf', `checktimeout=7\nvirtual=192.0.2.9:80\n\treal=10.0.0.1:80 gate\n\ninclude=conf.d/*.cf\n`);
    const r = await load('main.cf');
    assert.deepEqual(errorsOf(r), []);
    assert.ok(r.config);
    assert.deepEqual(
      r.config.virtualServices.map((v) => v.address),
      ['192.0.2.9', '192.0.2.1', '192.0.2.2'],
    );
    assert.deepEqual(
      r.config.virtualServices.map((v) => v.check.checkTimeout),
      [7, 7, 7],
      'globals of the main file apply to included sections',
    );
    assert.deepEqual(r.config.includedFiles, [join(dir, 'conf.d/10-a.cf'), join(dir, 'conf.d/20-b.cf')]);
    assert.deepEqual(
      r.config.virtualServices.map((v) => v.source.file),
      [join(dir, 'main.cf'), join(dir, 'conf.d/10-a.cf'), join(dir, 'conf.d/20-b.cf')],
    );
  });

  test('the sources: every file read with the digest of its bytes, every glob with its matches', async () => {
    const a = put('conf.d/a.cf', section('192.0.2.1'));
    const main = put('main.cf', 'include=conf.d/*.cf\ninclude=empty.d/*.cf\n');
    const r = await load('main.cf');
    assert.deepEqual(r.sources, {
      files: [
        { path: main, digest: contentDigest(Buffer.from('include=conf.d/*.cf\ninclude=empty.d/*.cf\n')) },
        { path: a, digest: contentDigest(Buffer.from(section('192.0.2.1'))) },
      ],
      globs: [
        { pattern: join(dir, 'conf.d/*.cf'), matches: [a] },
        { pattern: join(dir, 'empty.d/*.cf'), matches: [] },
      ],
    });
  });

  test('a glob matching nothing is not an error: an empty conf.d is a valid director', async () => {
    put('main.cf', 'checktimeout=3\ninclude=/nonexistent-ldir-dir/*.cf\ninclude=conf.d/*.cf\n');
    const r = await load('main.cf');
    assert.deepEqual(lines(r), []);
    assert.ok(r.config);
    assert.equal(r.config.includedFiles, undefined);
  });

  test('a missing plain path is an error at the include line', async () => {
    put('main.cf', 'checktimeout=3\ninclude=services.cf\n');
    const r = await load('main.cf');
    assert.equal(r.config, undefined);
    assert.deepEqual(lines(r), [
      `${join(dir, 'main.cf')}:2: include: ${join(dir, 'services.cf')} does not exist (a glob matching nothing is not an error, a missing file is)`,
    ]);
    assert.equal(errorsOf(r)[0]?.code, 'missing-path');
    assert.deepEqual(
      r.sources.files.map((f) => [f.path, f.digest === undefined]),
      [
        [join(dir, 'main.cf'), false],
        [join(dir, 'services.cf'), true],
      ],
      'the missing file is watched: its arrival reloads',
    );
  });

  test('a directory is an error that says how to include the files in it', async () => {
    put('conf.d/a.cf', section('192.0.2.1'));
    put('main.cf', 'include="conf.d"\n');
    const r = await load('main.cf');
    assert.match(
      lines(r).join('\n'),
      new RegExp(
        `main\\.cf:1: include: ${join(dir, 'conf.d')} is a directory: include the files in it with a glob \\(.*conf\\.d/\\*\\.cf\\)`,
      ),
    );
  });

  test("an error in an included file names that file and its line; the main file's come first", async () => {
    put('conf.d/a.cf', `${section('192.0.2.1')}\ncheckinterval=soon\n`);
    put('main.cf', 'include=conf.d/a.cf\nbogus=1\n');
    const r = await load('main.cf');
    assert.equal(r.config, undefined);
    assert.deepEqual(lines(r), [
      `${join(dir, 'main.cf')}:2: unknown directive "bogus"`,
      `${join(dir, 'conf.d/a.cf')}:5: checkinterval must be a positive number of seconds, not "soon"`,
    ]);
  });

  test('a relative include inside an included file is relative to that file', async () => {
    put('sub/inner/x.cf', section('192.0.2.3'));
    put('sub/outer.cf', 'include=inner/x.cf\n');
    put('main.cf', 'include=sub/outer.cf\n');
    const r = await load('main.cf');
    assert.deepEqual(lines(r), []);
    assert.deepEqual(r.config?.includedFiles, [join(dir, 'sub/outer.cf'), join(dir, 'sub/inner/x.cf')]);
  });

  test('a cycle is refused with the chain that makes it', async () => {
    put('a.cf', 'checktimeout=3\ninclude=b.cf\n');
    put('b.cf', '\ninclude=c.cf\n');
    put('c.cf', 'include=a.cf\n');
    put('main.cf', 'include=a.cf\n');
    const r = await load('main.cf');
    assert.equal(r.config, undefined);
    const d = errorsOf(r);
    assert.equal(d.length, 1, lines(r).join('\n'));
    assert.equal(d[0]?.code, 'include-cycle');
    assert.equal(
      formatDiagnostic(d[0] as Diagnostic),
      `${join(dir, 'c.cf')}:1: include cycle: ${join(dir, 'a.cf')}:2 includes ${join(dir, 'b.cf')}, ${join(dir, 'b.cf')}:2 includes ${join(dir, 'c.cf')}, ` +
        `${join(dir, 'c.cf')}:1 includes ${join(dir, 'a.cf')}; a file cannot include itself`,
    );
  });

  test('a glob that matches the including file is a cycle (also through a symbolic link)', async () => {
    put('main.cf', 'include=*.cf\n');
    const r = await load('main.cf');
    assert.match(
      lines(r).join('\n'),
      new RegExp(`main\\.cf:1: include cycle: ${join(dir, 'main.cf')}:1 includes ${join(dir, 'main.cf')};`),
    );
    rmSync(join(dir, 'main.cf'));
    put('real/main.cf', 'include=../links/*.cf\n');
    mkdirSync(join(dir, 'links'));
    symlinkSync(join(dir, 'real/main.cf'), join(dir, 'links/main.cf'));
    const linked = await load('real/main.cf');
    assert.equal(errorsOf(linked)[0]?.code, 'include-cycle', lines(linked).join('\n'));
  });

  test('a file read twice is refused, naming where it was first included', async () => {
    put('conf.d/a.cf', section('192.0.2.1'));
    put('main.cf', 'include=conf.d/*.cf\ninclude=conf.d/a.cf\n');
    const r = await load('main.cf');
    assert.equal(r.config, undefined);
    assert.deepEqual(lines(r), [
      `${join(dir, 'main.cf')}:2: ${join(dir, 'conf.d/a.cf')} is already read (included at ${join(dir, 'main.cf')}:1): each file may be included once`,
    ]);
    assert.equal(errorsOf(r)[0]?.code, 'duplicate-include');
  });

  test('include inside a virtual section is refused there', async () => {
    put('a.cf', section('192.0.2.1'));
    put('main.cf', 'virtual=192.0.2.9:80\n\treal=10.0.0.1:80 gate\n\tinclude=a.cf\n');
    const r = await load('main.cf');
    assert.deepEqual(lines(r), [
      `${join(dir, 'main.cf')}:3: include is only valid at the top level (write it in column 0, outside virtual sections): an included file holds whole virtual sections`,
    ]);
  });

  test('an empty include is an error', async () => {
    put('main.cf', 'include=\n');
    assert.match(lines(await load('main.cf')).join('\n'), /main\.cf:1: include needs a file path or a glob pattern/);
  });

  test('a global in an included file applies; one after the include in the main file wins over it', async () => {
    put('globals.cf', 'checktimeout=4\nnegotiatetimeout=9\n');
    put('main.cf', `include=globals.cf\nchecktimeout=6\n${section('192.0.2.1')}`);
    const c = (await load('main.cf')).config;
    assert.deepEqual(
      [c?.virtualServices[0]?.check.checkTimeout, c?.virtualServices[0]?.check.negotiateTimeout],
      [6, 9],
    );
  });

  test('the same virtual service in two files: the error names the other file', async () => {
    put('a.cf', section('192.0.2.1'));
    put('main.cf', `${section('192.0.2.1')}include=a.cf\n`);
    const r = await load('main.cf');
    assert.match(
      lines(r).join('\n'),
      new RegExp(
        `a\\.cf:\\d+: duplicate virtual server tcp:192\\.0\\.2\\.1:80: the section at line 1 repeats the one at ${join(dir, 'main.cf')}:1`,
      ),
    );
  });
});

describe('include in YAML, and between the forms', () => {
  test('a YAML include list reads ldirectord.cf and YAML files, each in its own form', async () => {
    put('conf.d/a.cf', section('192.0.2.1'));
    put('conf.d/b.yaml', 'virtuals:\n  - virtual: 192.0.2.2:80\n    real: 10.0.0.2:80 gate\n');
    put('main.yaml', 'checktimeout: 5\ninclude:\n  - conf.d/*.cf\n  - conf.d/b.yaml\n');
    const r = await load('main.yaml');
    assert.deepEqual(lines(r), []);
    assert.deepEqual(
      r.config?.virtualServices.map((v) => [v.address, v.check.checkTimeout]),
      [
        ['192.0.2.1', 5],
        ['192.0.2.2', 5],
      ],
    );
  });

  test('a single YAML include, and an error in an included YAML file with its line and column', async () => {
    put('b.yaml', 'virtuals:\n  - virtual: 192.0.2.2:80\n    real: 10.0.0.2:80 gate\n    checkport: 0\n');
    put('main.yaml', 'include: b.yaml\n');
    const r = await load('main.yaml');
    assert.deepEqual(lines(r), [`${join(dir, 'b.yaml')}:4:5: checkport must be in range 1..65535, not 0`]);
  });

  test('a cf file includes a YAML fragment', async () => {
    put('b.yml', 'virtuals:\n  - virtual: 192.0.2.2:80\n    real: 10.0.0.2:80 gate\n');
    put('main.cf', 'include=b.yml\n');
    assert.deepEqual(
      (await load('main.cf')).config?.virtualServices.map((v) => v.address),
      ['192.0.2.2'],
    );
  });

  test('include inside a YAML virtual is refused there', async () => {
    put('main.yaml', 'virtuals:\n  - virtual: 192.0.2.2:80\n    real: 10.0.0.2:80 gate\n    include: x.cf\n');
    assert.deepEqual(lines(await load('main.yaml')), [
      `${join(dir, 'main.yaml')}:4:5: include is only valid at the top level (write it at the top level, outside "virtuals"): an included file holds whole virtual sections`,
    ]);
  });

  test('broken YAML in an included file is reported there, naming it', async () => {
    put('b.yaml', 'virtuals: [\n');
    put('main.cf', 'include=b.yaml\n');
    const r = await load('main.cf');
    assert.equal(r.config, undefined);
    assert.ok(
      r.diagnostics.every((d) => d.pos.file === join(dir, 'b.yaml')),
      lines(r).join('\n'),
    );
    assert.match(lines(r)[0] ?? '', /b\.yaml:\d+:\d+: YAML: /);
  });
});
