// Tests of conversion between ldirectord.cf and YAML: round trips over the fixture corpus, writer refusals, `ldir convert`.
import { KNOWN_DIFFERENCES } from '../../helpers/known-differences';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../../../src/cli/run';
import { writeCf } from '../../../src/config/cf-writer';
import { sameMeaning } from '../../../src/config/compare';
import { formatDiagnostic } from '../../../src/config/diagnostics';
import { loadConfigText, systemProbes, type LoadResult } from '../../../src/config/load';
import { systemResolver, type Resolver } from '../../../src/config/resolver';
import { writeYaml } from '../../../src/config/yaml-writer';
import { ErrorCodes, isLdirError } from '../../../src/errors';
import type { Config } from '../../../src/model';
import { fakeResolver, loadValid } from '../../helpers/config';

const ROOT = join(__dirname, '..', '..', '..', '..');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'ldirectord');
const VALID_FIXTURES = readdirSync(FIXTURES)
  .filter((f) => /^valid-.*\.cf$/.test(f))
  .sort();

/** Fake host names (no DNS); service names from the test table, else from the system's services file. */
function corpusResolver(): Resolver {
  const fake = fakeResolver();
  const system = systemResolver();
  return {
    resolveHost: fake.resolveHost,
    resolvePort: (name, protocol) => fake.resolvePort(name, protocol) ?? system.resolvePort(name, protocol),
  };
}

/** Loads text in the given format with the corpus resolver and the real file system (fixtures name /tmp/ldir-fixtures). */
function loadAs(text: string, file: string, format: 'cf' | 'yaml'): Promise<LoadResult> {
  return loadConfigText(text, file, {
    resolver: corpusResolver(),
    probes: systemProbes(),
    hostname: 'director',
    format,
  });
}

/** The model of a result that must be valid. */
function valid(r: LoadResult, what: string): { config: Config; document: NonNullable<LoadResult['document']> } {
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  assert.ok(r.config && r.document, `${what} does not load:\n${errors.map(formatDiagnostic).join('\n')}`);
  return { config: r.config, document: r.document };
}

/** cf -> yaml -> cf -> yaml: every step means the same and the second YAML is byte-identical to the first. */
async function cfRoundTrip(source: Config, sourceDoc: LoadResult['document'] & object, file: string): Promise<void> {
  const yaml1 = writeYaml(sourceDoc);
  const y = valid(await loadAs(yaml1, `${file}.yaml`, 'yaml'), `YAML of ${file}:\n${yaml1}`);
  assert.ok(sameMeaning(source, y.config), `YAML of ${file} means something else:\n${yaml1}`);
  const cf2 = writeCf(y.document);
  const c = valid(await loadAs(cf2, `${file}.2.cf`, 'cf'), `cf of the YAML of ${file}:\n${cf2}`);
  assert.ok(sameMeaning(source, c.config), `cf of the YAML of ${file} means something else:\n${cf2}`);
  assert.equal(writeYaml(c.document), yaml1, 'cf -> yaml is not a fixpoint');
}

/** yaml -> cf -> yaml -> cf: every step means the same; the second YAML and cf are byte-identical to the first. */
async function yamlRoundTrip(text: string, file: string): Promise<void> {
  const y0 = valid(await loadAs(text, file, 'yaml'), file);
  const cf1 = writeCf(y0.document);
  const c1 = valid(await loadAs(cf1, `${file}.cf`, 'cf'), `cf of ${file}:\n${cf1}`);
  assert.ok(sameMeaning(y0.config, c1.config), `cf of ${file} means something else:\n${cf1}`);
  const yaml1 = writeYaml(c1.document);
  const y1 = valid(await loadAs(yaml1, `${file}.1.yaml`, 'yaml'), `YAML of the cf of ${file}:\n${yaml1}`);
  assert.ok(sameMeaning(y0.config, y1.config));
  const cf2 = writeCf(y1.document);
  assert.equal(cf2, cf1, 'yaml -> cf is not a fixpoint');
  const c2 = valid(await loadAs(cf2, `${file}.2.cf`, 'cf'), `second cf of ${file}`);
  assert.equal(writeYaml(c2.document), yaml1, 'cf -> yaml is not a fixpoint');
}

before(() => mkdirSync('/tmp/ldir-fixtures', { recursive: true }));

describe('round trip of every valid-*.cf fixture: cf -> yaml -> cf', () => {
  it('finds the fixture corpus', () =>
    assert.ok(VALID_FIXTURES.length >= 20, `only ${VALID_FIXTURES.length} fixtures`));
  for (const name of VALID_FIXTURES) {
    it(name, async () => {
      const file = join(FIXTURES, name);
      const r = await loadAs(readFileSync(file, 'utf8'), file, 'cf');
      const first = r.diagnostics.find((d) => d.severity === 'error');
      if (KNOWN_DIFFERENCES[name]?.kind === 'verdict') {
        // ldirectord accepts it, ldir refuses it on purpose: nothing to convert, but the refusal must hold.
        assert.ok(!r.config, `${name} is a known difference (ldir refuses it) but loaded`);
        return;
      }
      assert.ok(
        r.config && r.document,
        `ldir rejects ${name}, which is not a known difference: ${first ? formatDiagnostic(first) : '?'}`,
      );
      await cfRoundTrip(r.config, r.document, file);
    });
  }
});

describe('round trip of YAML: yaml -> cf -> yaml', () => {
  it('conf/ldir.yaml.example', async () => {
    const file = join(ROOT, 'conf', 'ldir.yaml.example');
    await yamlRoundTrip(readFileSync(file, 'utf8'), file);
  });

  it('conf/ldirectord.cf.example (cf -> yaml -> cf)', async () => {
    const file = join(ROOT, 'conf', 'ldirectord.cf.example');
    const r = valid(await loadAs(readFileSync(file, 'utf8'), file, 'cf'), file);
    await cfRoundTrip(r.config, r.document, file);
  });

  it('YAML-only spellings: real mappings, bare IPv6 hosts, lists, booleans, numbers as written, values cf must quote', async () => {
    await yamlRoundTrip(
      [
        'quiescent: true',
        'autoreload: no',
        'emailalert: [a@localhost, b@localhost]',
        'emailalertstatus: [starting, running]',
        'execute: [/etc/ha.d/other.cf]',
        'callback: "/usr/local/bin/notify # not a comment at the top level"',
        'virtuals:',
        '  - virtual: 192.0.2.1:3306',
        '    real:',
        '      - {host: localhost, to: 127.0.0.3, port: 3306, forward: masq, weight: 0, request: "SELECT 1", receive: "1", lower: 5, upper: 50}',
        '      - 10.0.0.9:3306 masq 3',
        '    service: mysql',
        '    login: "0123"',
        '    passwd: 00042',
        '    receive: 1.10',
        '    ops: false',
        '    checkcommand: \'"/usr/lib/check" --x\'',
        '    fallbackcommand: " /usr/lib/fb"',
        '    virtualhost: " spaced"',
        '  - virtual6: "[2001:db8::1]:80"',
        '    real6: [{host: "2001:db8::2", port: 80, forward: gate}, "[2001:db8::3]:80 gate"]',
        '    checktype: 3',
        '',
      ].join('\n'),
      '/etc/ha.d/yaml-only.yaml',
    );
  });
});

describe('values ldirectord.cf cannot hold', () => {
  /** Loads valid YAML (fake resolver) and returns the LdirError writeCf throws. */
  async function refusal(text: string): Promise<string> {
    const r = await loadConfigText(text, '/etc/ha.d/bad.yaml', { resolver: fakeResolver(), hostname: 'director' });
    assert.ok(r.document && r.config, r.diagnostics.map(formatDiagnostic).join('\n'));
    const doc = r.document;
    let message = '';
    assert.throws(
      () => writeCf(doc),
      (err: unknown) => {
        assert.ok(isLdirError(err));
        assert.equal(err.code, ErrorCodes.CONFIG_UNCONVERTIBLE);
        message = err.message;
        return true;
      },
    );
    return message;
  }
  const head = 'virtuals:\n  - virtual: 192.0.2.1:80\n    real: 10.0.0.1:80 gate\n';

  it("a '#' inside a virtual service's value", async () => {
    assert.match(
      await refusal(`${head}    comment: "web # main"\n`),
      /^\/etc\/ha\.d\/bad\.yaml:4:5: comment cannot be written as ldirectord\.cf: '#' starts a comment/,
    );
  });

  it("a '#' in a real server mapping", async () => {
    assert.match(
      await refusal(
        'virtuals:\n  - virtual: 192.0.2.1:80\n    real: {host: 10.0.0.1, forward: gate, request: /, receive: "a#b"}\n',
      ),
      /^\/etc\/ha\.d\/bad\.yaml:3:5: real cannot be written.*'#'/,
    );
  });

  it('a value on several lines, a tab inside a section, a quote where cf has none, leading white space', async () => {
    assert.match(await refusal(`${head}    comment: "two\\nlines"\n`), /:4:5: .*spans several lines/);
    assert.match(await refusal(`${head}    comment: "a\\tb"\n`), /:4:5: .*tab/);
    assert.match(await refusal(`${head}    login: 'say "hi"'\n`), /:4:5: login .*double quote/);
    assert.match(await refusal(`${head}    virtualhost: 'a"b'\n`), /:4:5: virtualhost .*double quote/);
    assert.match(await refusal(`${head}    comment: "  indented"\n`), /:4:5: comment .*white space at the start/);
    assert.match(
      await refusal(
        'virtuals:\n  - virtual: 192.0.2.1:80\n    real: {host: 10.0.0.1, forward: gate, request: /, receive: \'x", "y\'}\n',
      ),
      /:3:5: real .*does not read back/,
    );
  });
});

describe('ldir convert', () => {
  let dir = '';
  const cfText =
    'checktimeout=4\n\nvirtual=192.0.2.1:80\n\treal=198.51.100.1:80 gate 2\n\treal=198.51.100.2:80 gate\n\tscheduler=rr\n';
  const yamlText =
    'checktimeout: 4\nvirtuals:\n  - virtual: 192.0.2.1:80\n    real: [198.51.100.1:80 gate 2, {host: 198.51.100.2, forward: gate}]\n    scheduler: rr\n';

  /** Runs the CLI with captured output. */
  async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = '';
    let stderr = '';
    const code = await runCli(args, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) });
    return { code, stdout, stderr };
  }

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ldir-convert-'));
    writeFileSync(join(dir, 'ldirectord.cf'), cfText);
    writeFileSync(join(dir, 'ldir.yaml'), yamlText);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('cf to YAML on stdout (exit 0), meaning the same', async () => {
    const r = await cli('convert', join(dir, 'ldirectord.cf'), '--to', 'yaml');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.ok(sameMeaning(await loadValid(r.stdout, 'x.yaml'), await loadValid(cfText)));
  });

  it('YAML to cf with -o writes the file and nothing on stdout', async () => {
    const out = join(dir, 'out.cf');
    const r = await cli('convert', '--to=cf', join(dir, 'ldir.yaml'), '-o', out);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    const written = readFileSync(out, 'utf8');
    assert.match(written, /^checktimeout=4\n\nvirtual=192\.0\.2\.1:80\n\treal=198\.51\.100\.1:80 gate 2\n/);
    assert.ok(sameMeaning(await loadValid(written), await loadValid(yamlText, 'x.yaml')));
    const back = await cli('convert', out, '--to', 'yaml', '--output', join(dir, 'back.yaml'));
    assert.equal(back.code, 0, back.stderr);
    assert.ok(
      sameMeaning(
        await loadValid(readFileSync(join(dir, 'back.yaml'), 'utf8'), 'x.yaml'),
        await loadValid(yamlText, 'x.yaml'),
      ),
    );
  });

  it('refuses an invalid source with exit 2 and its diagnostics, writing nothing', async () => {
    const bad = join(dir, 'bad.cf');
    writeFileSync(bad, 'checktimeout=0\n');
    const out = join(dir, 'never.yaml');
    const r = await cli('convert', bad, '--to', 'yaml', '-o', out);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      new RegExp(`${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:1: checktimeout must be a positive number of seconds`),
    );
    assert.equal(existsSync(out), false);
    const badYaml = join(dir, 'bad.yaml');
    writeFileSync(badYaml, 'virtuals:\n  - virtual: 192.0.2.1:80\n    bogus: 1\n');
    const y = await cli('convert', badYaml, '--to', 'cf');
    assert.equal(y.code, 2);
    assert.match(y.stderr, /bad\.yaml:3:5: unknown directive "bogus"/);
  });

  it('refuses a YAML value cf cannot represent with exit 2, naming file and line', async () => {
    const file = join(dir, 'hash.yaml');
    writeFileSync(file, `${yamlText}    comment: "rack 4 # row 2"\n`);
    const r = await cli('convert', file, '--to', 'cf', '-o', join(dir, 'hash.cf'));
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(
      r.stderr,
      /hash\.yaml:6:5: comment cannot be written as ldirectord\.cf: '#' starts a comment inside a virtual section/,
    );
    assert.equal(existsSync(join(dir, 'hash.cf')), false);
  });

  it('usage errors exit 255', async () => {
    const file = join(dir, 'ldirectord.cf');
    for (const args of [
      ['convert'],
      ['convert', file],
      ['convert', file, '--to', 'json'],
      ['convert', file, file, '--to', 'yaml'],
      ['convert', file, '--to', 'yaml', '--frobnicate'],
      ['convert', file, '--to'],
    ]) {
      const r = await cli(...args);
      assert.equal(r.code, 255, args.join(' '));
      assert.match(r.stderr, /^ldir: .*\nUsage:/);
      assert.equal(r.stdout, '');
    }
  });

  it('a missing source or an unwritable output exits 1', async () => {
    const missing = await cli('convert', join(dir, 'nope.cf'), '--to', 'yaml');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read .*nope\.cf/);
    const unwritable = await cli(
      'convert',
      join(dir, 'ldirectord.cf'),
      '--to',
      'yaml',
      '-o',
      join(dir, 'no', 'such', 'dir.yaml'),
    );
    assert.equal(unwritable.code, 1);
    assert.match(unwritable.stderr, /cannot write .*dir\.yaml/);
  });
});
