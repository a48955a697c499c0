// Property tests: the configuration loaders and the cf lexer are total (never throw, never hang) on any input. How
// long a load of these inputs takes is a benchmark target, not a test bound: `npm run bench` loads the same seeded
// inputs and fails when the slowest one misses its target (bench/parse-config.ts).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { before, describe, test } from 'node:test';
import fc from 'fast-check';
import { lexCf } from '../../../src/config/cf-lexer';
import { detectFormat, loadConfigText, type LoadResult } from '../../../src/config/load';
import { writeYaml } from '../../../src/config/yaml-writer';
import { mutate, mutation, plausibleFile, PROPERTY_SEED as SEED, randomText } from '../../helpers/config-arbitraries';
import { fakeResolver, TEST_PROBES } from '../../helpers/config';
import { KNOWN_DIFFERENCES } from '../../helpers/known-differences';

const ROOT = join(__dirname, '..', '..', '..', '..');
/** One file name for every run, so that results of the three modes compare equal. */
const FILE = '/etc/ha.d/ldirectord.cf';

type Mode = 'cf' | 'yaml' | 'auto';
const MODES: readonly Mode[] = ['cf', 'yaml', 'auto'];

/** Number of lines of `text` as an editor counts them (a final newline opens one more, empty, line). */
function lineCount(text: string): number {
  return text.split('\n').length;
}

/** Loads `text` in `mode` with the fake resolver and probes. */
function load(text: string, mode: Mode): Promise<LoadResult> {
  return loadConfigText(text, FILE, {
    resolver: fakeResolver(),
    probes: TEST_PROBES,
    hostname: 'director',
    ...(mode === 'auto' ? {} : { format: mode }),
  });
}

/** The invariants every load result must satisfy, whatever the input. */
function checkResult(text: string, mode: Mode, r: LoadResult): void {
  const hasError = r.diagnostics.some((d) => d.severity === 'error');
  assert.equal(r.config === undefined, hasError, `${mode}: config must be undefined exactly when there is an error`);
  if (r.config) assert.ok(r.document, `${mode}: a valid config comes with its document`);
  const max = lineCount(text) + 1;
  for (const d of r.diagnostics) {
    assert.ok(d.severity === 'error' || d.severity === 'warning', `${mode}: bad severity ${String(d.severity)}`);
    assert.ok(
      Number.isInteger(d.pos.line) && d.pos.line >= 1 && d.pos.line <= max,
      `${mode}: line ${d.pos.line} outside 1..${max}: ${d.message}`,
    );
    if (d.pos.column !== undefined)
      assert.ok(Number.isInteger(d.pos.column) && d.pos.column >= 1, `${mode}: column ${d.pos.column}: ${d.message}`);
    assert.ok(d.message.trim().length > 0, `${mode}: empty message (code ${d.code}, line ${d.pos.line})`);
    assert.equal(d.pos.file, FILE);
  }
}

/** Loads `text` as cf, as YAML and auto-detected; checks each result; auto must equal the format it detects. */
async function loadsTotally(text: string): Promise<void> {
  const results = new Map<Mode, LoadResult>();
  for (const mode of MODES) {
    let r: LoadResult;
    try {
      r = await load(text, mode);
    } catch (err) {
      if (err instanceof assert.AssertionError) throw err;
      assert.fail(`${mode} load rejected with ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    }
    checkResult(text, mode, r);
    results.set(mode, r);
  }
  const detected = results.get(detectFormat(FILE, text));
  assert.deepEqual(
    results.get('auto')?.diagnostics,
    detected?.diagnostics,
    'auto-detection differs from the detected format',
  );
  assert.deepEqual(results.get('auto')?.config, detected?.config, 'auto-detection differs from the detected format');
}

/** Lexes `text`; the lexer must not throw and every position must be a line of the file, in file order. */
function lexesTotally(text: string): void {
  const doc = lexCf(text, FILE);
  const lines = lineCount(text);
  const within = (line: number, what: string): void =>
    assert.ok(Number.isInteger(line) && line >= 1 && line <= lines, `${what} line ${line} outside 1..${lines}`);
  let previous = 0;
  for (const e of doc.entries) {
    const head = e.kind === 'directive' ? e.directive.pos.line : e.virtual.pos.line;
    within(head, e.kind);
    assert.ok(head > previous, `entries out of order: ${head} after ${previous}`);
    previous = head;
    if (e.kind !== 'virtual') continue;
    for (const d of e.virtual.body) {
      within(d.pos.line, 'body');
      assert.ok(d.pos.line > previous, `body line ${d.pos.line} not after ${previous}`);
      previous = d.pos.line;
    }
    within(e.virtual.endLine, 'endLine');
    assert.ok(
      e.virtual.endLine >= e.virtual.pos.line,
      `endLine ${e.virtual.endLine} before the virtual at ${e.virtual.pos.line}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------------------------

/** Valid configurations to mutate (cf and YAML), filled in `before`. */
const bases: string[] = [];

describe('configuration loading is total', { timeout: 120_000 }, () => {
  before(async () => {
    const fixtures = join(ROOT, 'test', 'fixtures', 'ldirectord');
    const files = [
      join(ROOT, 'conf', 'ldirectord.cf.example'),
      join(ROOT, 'conf', 'ldir.yaml.example'),
      ...readdirSync(fixtures)
        .filter((f) => /^valid-.*\.cf$/.test(f))
        .sort()
        .map((f) => join(fixtures, f)),
    ];
    for (const path of files) {
      const text = readFileSync(path, 'utf8');
      const r = await loadConfigText(text, path, {
        resolver: fakeResolver(),
        probes: TEST_PROBES,
        hostname: 'director',
      });
      const name = basename(path);
      if (KNOWN_DIFFERENCES[name]?.kind === 'verdict') {
        // ldirectord accepts it, ldir refuses it on purpose (docs/compatibility.md): no base, but the refusal holds.
        assert.equal(r.config, undefined, `${name} is a known difference (ldir refuses it) but loads`);
        continue;
      }
      assert.ok(
        r.config && r.document,
        `ldir rejects ${name}, which ldirectord accepts and which is not a known difference: ` +
          r.diagnostics
            .filter((d) => d.severity === 'error')
            .map((d) => `${d.pos.line}: ${d.message}`)
            .join('; '),
      );
      bases.push(text);
      if (r.document.format === 'cf' && r.document.entries.length > 0) bases.push(writeYaml(r.document));
    }
    assert.ok(bases.length >= 40, `only ${bases.length} valid base configurations`);
  });

  test('random strings come back as diagnostics, never as exceptions', async () => {
    await fc.assert(fc.asyncProperty(randomText, loadsTotally), { seed: SEED, numRuns: 300 });
  });

  test('random sequences of plausible lines come back as diagnostics', async () => {
    await fc.assert(fc.asyncProperty(plausibleFile, loadsTotally), { seed: SEED, numRuns: 600 });
  });

  test('mutated valid configurations come back as diagnostics', async () => {
    const mutated = fc
      .tuple(fc.nat(), fc.array(mutation, { minLength: 1, maxLength: 6 }))
      .map(([pick, edits]) => edits.reduce(mutate, bases[pick % bases.length] ?? ''));
    await fc.assert(fc.asyncProperty(mutated, loadsTotally), { seed: SEED, numRuns: 600 });
  });

  test('the unmutated bases load without errors in every mode that detects their format', async () => {
    for (const text of bases) {
      const r = await load(text, 'auto');
      checkResult(text, 'auto', r);
      assert.ok(r.config, `base does not load: ${r.diagnostics.map((d) => `${d.pos.line}: ${d.message}`).join('; ')}`);
    }
  });
});

describe('the cf lexer is total', () => {
  test('lexCf never throws and every line number is a line of the file, in order', () => {
    fc.assert(
      fc.property(fc.oneof(randomText, plausibleFile), (text) => lexesTotally(text)),
      { seed: SEED, numRuns: 1000 },
    );
  });

  test('lexCf on mutated valid configurations', () => {
    const text = readFileSync(join(ROOT, 'conf', 'ldirectord.cf.example'), 'utf8');
    const mutated = fc.array(mutation, { minLength: 1, maxLength: 10 }).map((edits) => edits.reduce(mutate, text));
    fc.assert(
      fc.property(mutated, (t) => lexesTotally(t)),
      { seed: SEED, numRuns: 500 },
    );
  });
});
