// Generators of configuration text for the parser's property tests (test/unit/config/parser-properties.test.ts) and
// for the parse benchmark's slowest-input target (bench/parse-config.ts): random text, plausible cf and YAML files,
// and edits of valid configurations. Seeded by their callers, so both see the same inputs.
import fc from 'fast-check';

/** The seed of the property tests and the benchmark: the generated inputs are the same on every run. */
export const PROPERTY_SEED = 20240611;

/** Characters that matter to the cf and YAML grammars. */
const SYNTAX_CHARS = [
  '\n',
  '\r',
  '\t',
  ' ',
  ' ',
  '#',
  '=',
  '"',
  "'",
  ':',
  '-',
  '>',
  '[',
  ']',
  '{',
  '}',
  ',',
  '.',
  '/',
  '|',
  '&',
  '*',
  '!',
  '%',
  '@',
  '?',
  '\\',
  '0',
  '1',
  '5',
  '9',
  'a',
  'e',
  'l',
  'r',
  'v',
  'x',
  'u',
  '\u0000',
  '\u00a0',
  '\u00e9',
  '\u{1f600}',
];

const syntaxChar = fc.constantFrom(...SYNTAX_CHARS);

/** Directive names of ldirectord (plus YAML-only keys, deprecated ones and near misses). */
const DIRECTIVES = [
  'virtual',
  'virtual6',
  'real',
  'real6',
  'fallback',
  'fallback6',
  'checktype',
  'service',
  'request',
  'receive',
  'quiescent',
  'checktimeout',
  'negotiatetimeout',
  'connecttimeout',
  'timeout',
  'checkinterval',
  'checkcount',
  'failurecount',
  'checkport',
  'scheduler',
  'persistent',
  'netmask',
  'protocol',
  'httpmethod',
  'virtualhost',
  'login',
  'passwd',
  'database',
  'secret',
  'load',
  'checkcommand',
  'fallbackcommand',
  'monitorfile',
  'servicename',
  'comment',
  'emailalert',
  'emailalertfreq',
  'emailalertstatus',
  'emailalertfrom',
  'smtp',
  'autoreload',
  'callback',
  'logfile',
  'execute',
  'fork',
  'supervised',
  'readdquiescent',
  'cleanstop',
  'maintenancedir',
  'ops',
  'schedflags',
  'virtuals',
  'host',
  'port',
  'forward',
  'weight',
  'to',
  'Virtual',
  'reals',
  'check-type',
];

const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));
const ipv6 = fc.constantFrom('2001:db8::10', '::1', '2001:DB8::21', 'fe80::1', '::ffff:10.0.0.1', '2001:db8:::1');
const hostName = fc.constantFrom('localhost', 'web1', 'web3', 'www6', 'lb.example.com', 'nowhere.invalid', '');
const port = fc.oneof(
  fc.integer({ min: 0, max: 70000 }).map(String),
  fc.constantFrom('http', 'https', 'domain', 'smtp', 'nosuch', '080'),
);
const host = fc.oneof(
  ipv4,
  ipv6.map((a) => `[${a}]`),
  hostName,
);
const hostPort = fc.tuple(host, fc.option(port)).map(([h, p]) => (p === null ? h : `${h}:${p}`));
const forward = fc.constantFrom('gate', 'masq', 'ipip', 'Gate', 'route', '');
const quoted = fc
  .string({ unit: fc.constantFrom('a', '/', ' ', '"', ',', '#', 'O', 'K', '\\'), maxLength: 12 })
  .map((s) => `"${s}"`);
/** A small range only: large ones expand to up to 65536 real servers each, by design. */
const range = fc.tuple(fc.nat(250), fc.nat(5)).map(([a, n]) => `10.0.0.${a}->10.0.0.${a + n}`);
const realValue = fc
  .tuple(
    fc.oneof(
      hostPort,
      range.map((r) => `${r}:80`),
    ),
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
  fc.constantFrom(
    'http',
    'https',
    'ftp',
    'smtp',
    'dns',
    'mysql',
    'sip',
    'none',
    'rr',
    'wlc',
    'sh',
    'WRR',
    'tcp',
    'udp',
    'fwm',
  ),
  fc.constantFrom(
    '/tmp/ldir.log',
    '/tmp/missing/x',
    '/tmp/maint',
    'local0',
    '"/tmp/a b"',
    'root@localhost, x@y',
    'all,none',
  ),
  quoted,
  fc.string({ unit: syntaxChar, maxLength: 16 }),
);

const indent = fc.string({ unit: fc.constantFrom(' ', '\t'), maxLength: 6 });
const separator = fc.constantFrom('=', '=', '=', ' = ', '= ', ': ', ':', ' ', '');
const trailingComment = fc.option(fc.constantFrom(' # note', '#', ' #x=1'), { freq: 4 });

/** One plausible line of an ldirectord.cf or YAML file, without its line ending. */
const plausibleLine: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.constantFrom('virtual', 'virtual6'), separator, fc.oneof(hostPort, fc.nat(300).map(String)))
      .map((t) => t.join('')),
  },
  {
    weight: 8,
    arbitrary: fc
      .tuple(indent, fc.constantFrom(...DIRECTIVES), separator, value, trailingComment)
      .map(([i, k, s, v, c]) => `${i}${k}${s}${v}${c ?? ''}`),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(indent, fc.string({ unit: syntaxChar, maxLength: 10 })).map(([i, t]) => `${i}#${t}`),
  },
  { weight: 1, arbitrary: indent },
  {
    weight: 1,
    arbitrary: fc.tuple(indent, fc.constantFrom(...DIRECTIVES), value).map(([i, k, v]) => `${i}- ${k}: ${v}`),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom('virtuals:', '---', '...', '- ', '  -', '[', '{a: 1}', '&a x', '*a', '%YAML 1.2'),
  },
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
const cfDirective = fc
  .tuple(fc.constantFrom(...DIRECTIVES), fc.constantFrom('=', '=', ' = '), value, trailingComment)
  .map(([k, s, v, c]) => `${k}${s}${v}${c ?? ''}`);
const cfSection = fc
  .tuple(
    fc.constantFrom('virtual=', 'virtual6=', 'virtual = '),
    fc.oneof(hostPort, fc.nat(300).map(String)),
    fc.array(
      fc.tuple(
        fc.constantFrom('\t', '\t', '    ', '        ', '   ', ' \t'),
        fc.oneof({ weight: 6, arbitrary: cfDirective }, { weight: 1, arbitrary: plausibleLine }),
      ),
      { maxLength: 12 },
    ),
    fc.constantFrom('', '\n', '# end'),
  )
  .map(([head, addr, body, tail]) => [
    `${head}${addr}`,
    ...body.map(([i, l]) => i + l),
    ...(tail === '' ? [] : [tail.trim()]),
  ]);
const cfFile = fc
  .tuple(fc.array(cfDirective, { maxLength: 8 }), fc.array(cfSection, { maxLength: 6 }), eol, fc.boolean())
  .map(([globals, sections, end, endLast]) =>
    joinLines(
      [...globals, ...sections.flat()].map((l) => [l, end] as const),
      endLast,
    ),
  );

/** A YAML scalar: plain when that is safe (or, rarely, regardless), else double-quoted. */
const yamlScalar = fc
  .tuple(value, fc.nat(9))
  .map(([v, n]) =>
    n === 0 || (n > 3 && /^[\w./@[\]-][\w ./@>-]*$/.test(v) && !/^(\[|.*\s$)/.test(v)) ? v : JSON.stringify(v),
  );
/** A mapping's key, for unique keys. */
const keyOf = (lines: readonly string[]): string => /^[^:]*/.exec(lines[0] ?? '')?.[0] ?? '';
const yamlPair = fc.oneof(
  { weight: 5, arbitrary: fc.tuple(fc.constantFrom(...DIRECTIVES), yamlScalar).map(([k, v]) => [`${k}: ${v}`]) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.constantFrom('real', 'real6', 'execute', 'emailalert', 'scheduler'),
        fc.array(yamlScalar, { maxLength: 3 }),
      )
      .map(([k, vs]) => [`${k}:`, ...vs.map((v) => `  - ${v}`)]),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.constantFrom('real', 'real6'),
        fc.uniqueArray(
          fc.tuple(
            fc.constantFrom('host', 'to', 'port', 'forward', 'weight', 'request', 'receive', 'lower', 'upper', 'other'),
            yamlScalar,
          ),
          { maxLength: 6, selector: (f) => f[0] },
        ),
      )
      .map(([k, fields]) => [`${k}:`, ...fields.map(([f, v], n) => `  ${n === 0 ? '-' : ' '} ${f}: ${v}`)]),
  },
);
/** YAML-shaped: top-level directives, then a `virtuals:` list of mappings. */
const yamlFile = fc
  .tuple(
    fc.uniqueArray(yamlPair, { maxLength: 6, selector: keyOf }),
    fc.array(
      fc.tuple(
        fc.constantFrom('virtual', 'virtual6', 'servicename'),
        yamlScalar,
        fc.uniqueArray(yamlPair, { maxLength: 8, selector: keyOf }),
      ),
      { maxLength: 5 },
    ),
    eol,
    fc.boolean(),
  )
  .map(([globals, virtuals, end, endLast]) => {
    const lines = globals.flat();
    if (virtuals.length > 0) lines.push('virtuals:');
    for (const [head, addr, body] of virtuals)
      lines.push(`  - ${head}: ${addr}`, ...body.flat().map((l) => `    ${l}`));
    return joinLines(
      lines.map((l) => [l, end] as const),
      endLast,
    );
  });

/** A file of plausible lines: free-form, cf-shaped or YAML-shaped. */
export const plausibleFile = fc.oneof(freeFormFile, cfFile, yamlFile);

/** Random text: any code points, ASCII, or characters that matter to the grammars. */
export const randomText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.string({ unit: 'grapheme-ascii', maxLength: 300 }),
  fc.string({ unit: syntaxChar, maxLength: 400 }),
);

/** An edit of a text, positions taken modulo the text's length. */
export type Mutation =
  | { readonly kind: 'insert' | 'replace'; readonly at: number; readonly text: string }
  | { readonly kind: 'delete'; readonly at: number; readonly length: number }
  | { readonly kind: 'delete-line' | 'duplicate-line'; readonly line: number }
  | { readonly kind: 'swap-lines'; readonly line: number; readonly other: number }
  | { readonly kind: 'insert-line' | 'replace-line'; readonly line: number; readonly text: string };

/** One edit of any kind: characters inserted, replaced or deleted, lines deleted, duplicated, swapped, inserted or replaced. */
export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constantFrom('insert' as const, 'replace' as const),
    at: fc.nat(),
    text: fc.string({ unit: syntaxChar, minLength: 1, maxLength: 3 }),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constantFrom('delete-line' as const, 'duplicate-line' as const), line: fc.nat() }),
  fc.record({ kind: fc.constant('swap-lines' as const), line: fc.nat(), other: fc.nat() }),
  fc.record({
    kind: fc.constantFrom('insert-line' as const, 'replace-line' as const),
    line: fc.nat(),
    text: plausibleLine,
  }),
);

/** Applies one mutation. */
export function mutate(text: string, m: Mutation): string {
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
