// Property tests: the configuration loaders and the cf lexer are total (never throw, never hang) on any input.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { before, describe, test } from 'node:test';
import fc from 'fast-check';
import { lexCf } from '../../../src/config/cf-lexer';
import { detectFormat, loadConfigText, type LoadResult } from '../../../src/config/load';
import { writeYaml } from '../../../src/config/yaml-writer';
import { fakeResolver, TEST_PROBES } from '../../helpers/config';
import { KNOWN_DIFFERENCES } from '../../helpers/known-differences';

const ROOT = join(__dirname, '..', '..', '..', '..');
/** One file name for every run, so that results of the three modes compare equal. */
const FILE = '/etc/ha.d/ldirectord.cf';
/** Hang guard: one load of one input must finish within this many milliseconds. */
const DEADLINE_MS = 2000;
/** Fixed seed: the generated inputs are the same on every run. */
const SEED = 20240611;

type Mode = 'cf' | 'yaml' | 'auto';
const MODES: readonly Mode[] = ['cf', 'yaml', 'auto'];

/** Number of lines of `text` as an editor counts them (a final newline opens one more, empty, line). */
function lineCount(text: string): number {
  return text.split('\n').length;
}

/** Loads `text` in `mode` with the fake resolver and probes; asserts the hang deadline. */
async function timedLoad(text: string, mode: Mode): Promise<LoadResult> {
  const started = performance.now();
  const result = await loadConfigText(text, FILE, {
    resolver: fakeResolver(),
    probes: TEST_PROBES,
    hostname: 'director',
    ...(mode === 'auto' ? {} : { format: mode }),
  });
  const elapsed = performance.now() - started;
  assert.ok(elapsed < DEADLINE_MS, `${mode} load took ${elapsed.toFixed(0)} ms (limit ${DEADLINE_MS} ms) for ${JSON.stringify(text.slice(0, 200))}`);
  return result;
}

/** The invariants every load result must satisfy, whatever the input. */
function checkResult(text: string, mode: Mode, r: LoadResult): void {
  const hasError = r.diagnostics.some((d) => d.severity === 'error');
  assert.equal(r.config === undefined, hasError, `${mode}: config must be undefined exactly when there is an error`);
  if (r.config) assert.ok(r.document, `${mode}: a valid config comes with its document`);
  const max = lineCount(text) + 1;
  for (const d of r.diagnostics) {
    assert.ok(d.severity === 'error' || d.severity === 'warning', `${mode}: bad severity ${String(d.severity)}`);
    assert.ok(Number.isInteger(d.pos.line) && d.pos.line >= 1 && d.pos.line <= max, `${mode}: line ${d.pos.line} outside 1..${max}: ${d.message}`);
    if (d.pos.column !== undefined) assert.ok(Number.isInteger(d.pos.column) && d.pos.column >= 1, `${mode}: column ${d.pos.column}: ${d.message}`);
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
      r = await timedLoad(text, mode);
    } catch (err) {
      if (err instanceof assert.AssertionError) throw err;
      assert.fail(`${mode} load rejected with ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    }
    checkResult(text, mode, r);
    results.set(mode, r);
  }
  const detected = results.get(detectFormat(FILE, text));
  assert.deepEqual(results.get('auto')?.diagnostics, detected?.diagnostics, 'auto-detection differs from the detected format');
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
    assert.ok(e.virtual.endLine >= e.virtual.pos.line, `endLine ${e.virtual.endLine} before the virtual at ${e.virtual.pos.line}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------------------------

/** Characters that matter to the cf and YAML grammars. */
const SYNTAX_CHARS = [
  '\n', '\r', '\t', ' ', ' ', '#', '=', '"', "'", ':', '-', '>', '[', ']', '{', '}', ',', '.', '/', '|', '&', '*', '!',
  '%', '@', '?', '\\', '0', '1', '5', '9', 'a', 'e', 'l', 'r', 'v', 'x', 'u', '\u0000', '\u00a0', '\u00e9', '\u{1f600}',
];

const syntaxChar = fc.constantFrom(...SYNTAX_CHARS);

/** Directive names of ldirectord (plus YAML-only keys, deprecated ones and near misses). */
const DIRECTIVES = [
  'virtual', 'virtual6', 'real', 'real6', 'fallback', 'fallback6', 'checktype', 'service', 'request', 'receive',
  'quiescent', 'checktimeout', 'negotiatetimeout', 'connecttimeout', 'timeout', 'checkinterval', 'checkcount',
  'failurecount', 'checkport', 'scheduler', 'persistent', 'netmask', 'protocol', 'httpmethod', 'virtualhost', 'login',
  'passwd', 'database', 'secret', 'load', 'checkcommand', 'fallbackcommand', 'monitorfile', 'servicename', 'comment',
  'emailalert', 'emailalertfreq', 'emailalertstatus', 'emailalertfrom', 'smtp', 'autoreload', 'callback', 'logfile',
  'execute', 'fork', 'supervised', 'readdquiescent', 'cleanstop', 'maintenancedir', 'ops', 'schedflags', 'virtuals',
  'host', 'port', 'forward', 'weight', 'to', 'Virtual', 'reals', 'check-type',
];

const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));
const ipv6 = fc.constantFrom('2001:db8::10', '::1', '2001:DB8::21', 'fe80::1', '::ffff:10.0.0.1', '2001:db8:::1');
const hostName = fc.constantFrom('localhost', 'web1', 'web3', 'www6', 'lb.example.com', 'nowhere.invalid', '');
const port = fc.oneof(fc.integer({ min: 0, max: 70000 }).map(String), fc.constantFrom('http', 'https', 'domain', 'smtp', 'nosuch', '080'));
const host = fc.oneof(ipv4, ipv6.map((a) => `[${a}]`), hostName);
const hostPort = fc.tuple(host, fc.option(port)).map(([h, p]) => (p === null ? h : `${h}:${p}`));
const forward = fc.constantFrom('gate', 'masq', 'ipip', 'Gate', 'route', '');
const quoted = fc.string({ unit: fc.constantFrom('a', '/', ' ', '"', ',', '#', 'O', 'K', '\\'), maxLength: 12 }).map((s) => `"${s}"`);
/** A small range only: large ones expand to up to 65536 real servers each, by design. */
const range = fc.tuple(fc.nat(250), fc.nat(5)).map(([a, n]) => `10.0.0.${a}->10.0.0.${a + n}`);
const realValue = fc
  .tuple(
    fc.oneof(hostPort, range.map((r) => `${r}:80`)),
    forward,
    fc.option(fc.nat(1_000_000)),
    fc.option(fc.tuple(quoted, fc.constantFrom(',', ' ', ', '), quoted).map((t) => t.join(''))),
    fc.option(fc.nat(99).map((n) => `l:${n}`)),
    fc.option(fc.nat(99).map((n) => `u:${n}`)),
  )
  .map((parts) => parts.filter((p) => p !== null).join(' '));

const value = fc.oneof(
  ipv4,
  hostPort,
  realValue,
  fc.tuple(hostPort, forward).map((t) => t.join(' ')),
  fc.nat(300).map(String),
  fc.constantFrom('0', '-1', '99999999999999999999', '1.5', 'yes', 'no', 'true', 'false', 'Yes', 'yes # c', ''),
  fc.constantFrom('connect', 'negotiate', 'on', 'off', 'ping', 'external', 'external-perl', 'combined', '3', 'ldap'),
  fc.constantFrom('http', 'https', 'ftp', 'smtp', 'dns', 'mysql', 'sip', 'none', 'rr', 'wlc', 'sh', 'WRR', 'tcp', 'udp', 'fwm'),
  fc.constantFrom('/tmp/ldir.log', '/tmp/missing/x', '/tmp/maint', 'local0', '"/tmp/a b"', 'root@localhost, x@y', 'all,none'),
  quoted,
  fc.string({ unit: syntaxChar, maxLength: 16 }),
);

const indent = fc.string({ unit: fc.constantFrom(' ', '\t'), maxLength: 6 });
const separator = fc.constantFrom('=', '=', '=', ' = ', '= ', ': ', ':', ' ', '');
const trailingComment = fc.option(fc.constantFrom(' # note', '#', ' #x=1'), { freq: 4 });

/** One plausible line of an ldirectord.cf or YAML file, without its line ending. */
const plausibleLine: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(fc.constantFrom('virtual', 'virtual6'), separator, fc.oneof(hostPort, fc.nat(300).map(String))).map((t) => t.join('')) },
  {
    weight: 8,
    arbitrary: fc
      .tuple(indent, fc.constantFrom(...DIRECTIVES), separator, value, trailingComment)
      .map(([i, k, s, v, c]) => `${i}${k}${s}${v}${c ?? ''}`),
  },
  { weight: 1, arbitrary: fc.tuple(indent, fc.string({ unit: syntaxChar, maxLength: 10 })).map(([i, t]) => `${i}#${t}`) },
  { weight: 1, arbitrary: indent },
  { weight: 1, arbitrary: fc.tuple(indent, fc.constantFrom(...DIRECTIVES), value).map(([i, k, v]) => `${i}- ${k}: ${v}`) },
  { weight: 1, arbitrary: fc.constantFrom('virtuals:', '---', '...', '- ', '  -', '[', '{a: 1}', '&a x', '*a', '%YAML 1.2') },
);

/** Joins lines, each ended by LF or CRLF (the last one sometimes not ended). */
function joinLines(lines: readonly (readonly [string, string])[], endLast: boolean): string {
  const text = lines.map(([l, eol]) => l + eol).join('');
  return endLast ? text : text.replace(/\r?\n$/, '');
}

const eol = fc.constantFrom('\n', '\n', '\r\n');

/** Free-form: plausible lines in any order and indentation. */
const freeFormFile = fc
  .tuple(fc.array(fc.tuple(plausibleLine, eol), { maxLength: 40 }), fc.boolean())
  .map(([lines, endLast]) => joinLines(lines, endLast));

/** cf-shaped: column-0 globals, then sections whose bodies are mostly indented by a tab or four spaces. */
const cfDirective = fc.tuple(fc.constantFrom(...DIRECTIVES), fc.constantFrom('=', '=', ' = '), value, trailingComment).map(([k, s, v, c]) => `${k}${s}${v}${c ?? ''}`);
const cfSection = fc
  .tuple(
    fc.constantFrom('virtual=', 'virtual6=', 'virtual = '),
    fc.oneof(hostPort, fc.nat(300).map(String)),
    fc.array(fc.tuple(fc.constantFrom('\t', '\t', '    ', '        ', '   ', ' \t'), fc.oneof({ weight: 6, arbitrary: cfDirective }, { weight: 1, arbitrary: plausibleLine })), { maxLength: 12 }),
    fc.constantFrom('', '\n', '# end'),
  )
  .map(([head, addr, body, tail]) => [`${head}${addr}`, ...body.map(([i, l]) => i + l), ...(tail === '' ? [] : [tail.trim()])]);
const cfFile = fc
  .tuple(fc.array(cfDirective, { maxLength: 8 }), fc.array(cfSection, { maxLength: 6 }), eol, fc.boolean())
  .map(([globals, sections, end, endLast]) => joinLines([...globals, ...sections.flat()].map((l) => [l, end] as const), endLast));

/** A YAML scalar: plain when that is safe (or, rarely, regardless), else double-quoted. */
const yamlScalar = fc
  .tuple(value, fc.nat(9))
  .map(([v, n]) => (n === 0 || (n > 3 && /^[\w./@\[\]-][\w ./@>-]*$/.test(v) && !/^(\[|.*\s$)/.test(v)) ? v : JSON.stringify(v)));
/** A mapping's key, for unique keys. */
const keyOf = (lines: readonly string[]): string => /^[^:]*/.exec(lines[0] ?? '')?.[0] ?? '';
const yamlPair = fc.oneof(
  { weight: 5, arbitrary: fc.tuple(fc.constantFrom(...DIRECTIVES), yamlScalar).map(([k, v]) => [`${k}: ${v}`]) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('real', 'real6', 'execute', 'emailalert', 'scheduler'), fc.array(yamlScalar, { maxLength: 3 })).map(([k, vs]) => [`${k}:`, ...vs.map((v) => `  - ${v}`)]) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom('real', 'real6'), fc.uniqueArray(fc.tuple(fc.constantFrom('host', 'to', 'port', 'forward', 'weight', 'request', 'receive', 'lower', 'upper', 'other'), yamlScalar), { maxLength: 6, selector: (f) => f[0] }))
      .map(([k, fields]) => [`${k}:`, ...fields.map(([f, v], n) => `  ${n === 0 ? '-' : ' '} ${f}: ${v}`)]),
  },
);
/** YAML-shaped: top-level directives, then a `virtuals:` list of mappings. */
const yamlFile = fc
  .tuple(
    fc.uniqueArray(yamlPair, { maxLength: 6, selector: keyOf }),
    fc.array(fc.tuple(fc.constantFrom('virtual', 'virtual6', 'servicename'), yamlScalar, fc.uniqueArray(yamlPair, { maxLength: 8, selector: keyOf })), { maxLength: 5 }),
    eol,
    fc.boolean(),
  )
  .map(([globals, virtuals, end, endLast]) => {
    const lines = globals.flat();
    if (virtuals.length > 0) lines.push('virtuals:');
    for (const [head, addr, body] of virtuals) lines.push(`  - ${head}: ${addr}`, ...body.flat().map((l) => `    ${l}`));
    return joinLines(lines.map((l) => [l, end] as const), endLast);
  });

/** A file of plausible lines: free-form, cf-shaped or YAML-shaped. */
const plausibleFile = fc.oneof(freeFormFile, cfFile, yamlFile);

/** Random text: any code points, ASCII, or characters that matter to the grammars. */
const randomText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.string({ unit: 'grapheme-ascii', maxLength: 300 }),
  fc.string({ unit: syntaxChar, maxLength: 400 }),
);

/** An edit of a text, positions taken modulo the text's length. */
type Mutation =
  | { readonly kind: 'insert' | 'replace'; readonly at: number; readonly text: string }
  | { readonly kind: 'delete'; readonly at: number; readonly length: number }
  | { readonly kind: 'delete-line' | 'duplicate-line'; readonly line: number }
  | { readonly kind: 'swap-lines'; readonly line: number; readonly other: number }
  | { readonly kind: 'insert-line' | 'replace-line'; readonly line: number; readonly text: string };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constantFrom('insert' as const, 'replace' as const), at: fc.nat(), text: fc.string({ unit: syntaxChar, minLength: 1, maxLength: 3 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constantFrom('delete-line' as const, 'duplicate-line' as const), line: fc.nat() }),
  fc.record({ kind: fc.constant('swap-lines' as const), line: fc.nat(), other: fc.nat() }),
  fc.record({ kind: fc.constantFrom('insert-line' as const, 'replace-line' as const), line: fc.nat(), text: plausibleLine }),
);

/** Applies one mutation. */
function mutate(text: string, m: Mutation): string {
  const at = 'at' in m ? m.at % (text.length + 1) : 0;
  const lines = text.split('\n');
  const i = 'line' in m ? m.line % lines.length : 0;
  switch (m.kind) {
    case 'insert':
      return text.slice(0, at) + m.text + text.slice(at);
    case 'replace':
      return text.slice(0, at) + m.text + text.slice(at + 1);
    case 'delete':
      return text.slice(0, at) + text.slice(at + m.length);
    case 'delete-line':
      lines.splice(i, 1);
      break;
    case 'duplicate-line':
      lines.splice(i, 0, lines[i] ?? '');
      break;
    case 'swap-lines': {
      const j = m.other % lines.length;
      [lines[i], lines[j]] = [lines[j] ?? '', lines[i] ?? ''];
      break;
    }
    case 'insert-line':
      lines.splice(i, 0, m.text);
      break;
    case 'replace-line':
      lines[i] = m.text;
      break;
  }
  return lines.join('\n');
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
      ...readdirSync(fixtures).filter((f) => /^valid-.*\.cf$/.test(f)).sort().map((f) => join(fixtures, f)),
    ];
    for (const path of files) {
      const text = readFileSync(path, 'utf8');
      const r = await loadConfigText(text, path, { resolver: fakeResolver(), probes: TEST_PROBES, hostname: 'director' });
      const name = basename(path);
      if (KNOWN_DIFFERENCES[name]?.kind === 'verdict') {
        // ldirectord accepts it, ldir refuses it on purpose (docs/compatibility.md): no base, but the refusal holds.
        assert.equal(r.config, undefined, `${name} is a known difference (ldir refuses it) but loads`);
        continue;
      }
      assert.ok(r.config && r.document, `ldir rejects ${name}, which ldirectord accepts and which is not a known difference: `
        + r.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.pos.line}: ${d.message}`).join('; '));
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
      const r = await timedLoad(text, 'auto');
      checkResult(text, 'auto', r);
      assert.ok(r.config, `base does not load: ${r.diagnostics.map((d) => `${d.pos.line}: ${d.message}`).join('; ')}`);
    }
  });
});

describe('the cf lexer is total', () => {
  test('lexCf never throws and every line number is a line of the file, in order', () => {
    fc.assert(fc.property(fc.oneof(randomText, plausibleFile), (text) => lexesTotally(text)), { seed: SEED, numRuns: 1000 });
  });

  test('lexCf on mutated valid configurations', () => {
    const text = readFileSync(join(ROOT, 'conf', 'ldirectord.cf.example'), 'utf8');
    const mutated = fc.array(mutation, { minLength: 1, maxLength: 10 }).map((edits) => edits.reduce(mutate, text));
    fc.assert(fc.property(mutated, (t) => lexesTotally(t)), { seed: SEED, numRuns: 500 });
  });
});
