// Reads the YAML form into the same ConfigDocument as ldirectord.cf, with line/column positions.
import { isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node, type Pair } from 'yaml';
import type { ForwardMethod, SourcePos } from '../model';
import { FORWARD_METHODS } from '../model';
import type { ValueResult } from './cf-values';
import type { DiagnosticSink } from './diagnostics';
import { readTunnelFlags, readTunnelPort } from './directives-tunnel';
import type { ConfigDocument, DocumentEntry, RawDirective } from './document';
import { normalizeRequest, type RealLine } from './real-line';
import { listWords } from './strict-subject';
import { COMMA_LISTS, NAME_VALUE_MAPPINGS, REAL_MAPPING_KEYS, REPEATABLE, VIRTUALS_KEY } from './yaml-schema';

interface Reader {
  readonly file: string;
  readonly lines: LineCounter;
  readonly sink: DiagnosticSink;
}

function posOf(r: Reader, node: Node | Pair | null | undefined): SourcePos {
  const n = (node && 'key' in node ? node.key : node) as Node | null | undefined;
  const offset = n?.range?.[0] ?? 0;
  const { line, col } = r.lines.linePos(offset);
  return { file: r.file, line, column: col };
}

/**
 * Text of a scalar as ldirectord would have read it: booleans become yes/no, null an empty value, and a number keeps
 * the digits as written (`passwd: 0123` stays "0123", `receive: 1.10` stays "1.10": YAML would make them 123 and 1.1).
 */
function scalarText(node: Node | null | undefined): string | undefined {
  if (node === null || node === undefined) return '';
  if (!isScalar(node)) return undefined;
  const v = node.value;
  if (v === null) return '';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if ((typeof v === 'number' || typeof v === 'bigint') && typeof node.source === 'string') return node.source;
  return String(v);
}

function keyText(pair: Pair): string {
  return isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
}

/** Reads a real server mapping, checking each field. */
function readRealMapping(r: Reader, node: Node): RealLine | undefined {
  if (!isMap(node)) return undefined;
  const fields = new Map<string, { text: string; pos: SourcePos }>();
  let bad = false;
  for (const pair of node.items) {
    const key = keyText(pair);
    const pos = posOf(r, pair);
    if (!(REAL_MAPPING_KEYS as readonly string[]).includes(key)) {
      r.sink.error(
        'unknown-directive',
        pos,
        `unknown real server field "${key}" (allowed: ${REAL_MAPPING_KEYS.join(', ')})`,
        'real',
      );
      bad = true;
      continue;
    }
    const text = scalarText(pair.value as Node);
    if (text === undefined) {
      r.sink.error('invalid-value', pos, `real server field "${key}" must be a single value`, 'real');
      bad = true;
      continue;
    }
    fields.set(key, { text, pos });
  }
  const at = posOf(r, node);
  const int = (key: string): number | undefined => {
    const f = fields.get(key);
    if (!f) return undefined;
    if (!/^\d+$/.test(f.text)) {
      r.sink.error(
        'invalid-value',
        f.pos,
        `real server ${key} must be a non-negative integer, not "${f.text}"`,
        'real',
      );
      bad = true;
      return undefined;
    }
    return Number(f.text);
  };
  const host = fields.get('host')?.text;
  const forward = fields.get('forward')?.text;
  if (!host) {
    r.sink.error('invalid-value', at, 'real server mapping needs "host"', 'real');
    bad = true;
  }
  if (!forward || !FORWARD_METHODS.includes(forward as ForwardMethod)) {
    r.sink.error(
      'invalid-value',
      fields.get('forward')?.pos ?? at,
      `real server forward must be ${listWords(FORWARD_METHODS, 'or')}${forward ? `, not "${forward}"` : ''}`,
      'real',
    );
    bad = true;
  }
  const read = <T>(key: string, reader: (text: string) => ValueResult<T>): T | undefined => {
    const f = fields.get(key);
    if (!f) return undefined;
    const v = reader(f.text);
    if (v.ok) return v.value;
    r.sink.error('invalid-value', f.pos, `real server ${v.message}`, 'real');
    bad = true;
    return undefined;
  };
  const tunnelPort = read('tunnelport', readTunnelPort);
  const tunnelFlags = read('tunnelflags', readTunnelFlags);
  const request = fields.get('request')?.text;
  const receive = fields.get('receive')?.text;
  if ((request === undefined) !== (receive === undefined)) {
    r.sink.error('invalid-value', at, 'real server request and receive go together: give both or neither', 'real');
    bad = true;
  }
  const weight = int('weight');
  const lower = int('lower');
  const upper = int('upper');
  const to = fields.get('to')?.text;
  const port = fields.get('port')?.text;
  if (bad || !host) return undefined;
  return {
    host,
    ...(to !== undefined ? { rangeEnd: to } : {}),
    ...(port !== undefined ? { port } : {}),
    forward: forward as ForwardMethod,
    ...(weight !== undefined ? { weight } : {}),
    ...(request !== undefined ? { request: normalizeRequest(request), receive: receive ?? '' } : {}),
    ...(lower !== undefined ? { lowerThreshold: lower } : {}),
    ...(upper !== undefined ? { upperThreshold: upper } : {}),
    ...(tunnelPort !== undefined ? { tunnelPort } : {}),
    ...(tunnelFlags !== undefined ? { tunnelFlags } : {}),
  };
}

/** Turns one `key: value` pair into directives (several for lists of repeatable directives). */
function readPair(r: Reader, pair: Pair, out: RawDirective[]): void {
  const key = keyText(pair);
  const pos = posOf(r, pair);
  const value = pair.value as Node | null;
  const items = isSeq(value) ? (value.items as Node[]) : [value];
  if (isMap(value) && NAME_VALUE_MAPPINGS.has(key)) {
    for (const item of value.items) {
      const text = scalarText(item.value as Node);
      if (text === undefined)
        r.sink.error('invalid-value', posOf(r, item), `${key}: ${keyText(item)} must be a plain value`, key);
      else out.push({ key, value: `${keyText(item)}=${text}`, pos: posOf(r, item), syntax: 'yaml' });
    }
    return;
  }
  if (isSeq(value) && COMMA_LISTS.has(key)) {
    const texts = items.map((n) => scalarText(n));
    const bad = texts.indexOf(undefined);
    if (bad >= 0) {
      r.sink.error('invalid-value', posOf(r, items[bad]), `${key} must be a list of plain values`, key);
      return;
    }
    out.push({ key, value: texts.join(','), pos, syntax: 'yaml' });
    return;
  }
  if (isSeq(value) && !REPEATABLE.has(key)) {
    r.sink.error('invalid-value', pos, `${key} takes one value, not a list`, key);
    return;
  }
  for (const item of items) {
    const itemPos = item && item !== value ? posOf(r, item) : pos;
    if ((key === 'real' || key === 'real6') && item && isMap(item)) {
      const real = readRealMapping(r, item);
      if (real) out.push({ key, value: undefined, pos: itemPos, syntax: 'yaml', real });
      continue;
    }
    const text = scalarText(item);
    if (text === undefined) {
      r.sink.error(
        'invalid-value',
        itemPos,
        `${key} must be a plain value${REPEATABLE.has(key) ? ' or a list of them' : ''}`,
        key,
      );
      continue;
    }
    out.push({ key, value: text, pos: itemPos, syntax: 'yaml' });
  }
}

/** Reads one item of `virtuals:`. */
function readVirtual(r: Reader, node: Node): DocumentEntry | undefined {
  const at = posOf(r, node);
  if (!isMap(node)) {
    r.sink.error('syntax', at, 'each item of "virtuals" must be a mapping with "virtual" or "virtual6"');
    return undefined;
  }
  const heads = node.items.filter((p) => ['virtual', 'virtual6'].includes(keyText(p)));
  if (heads.length !== 1) {
    const where = heads.length > 1 ? posOf(r, heads[1]) : at;
    r.sink.error(
      'syntax',
      where,
      `a virtual service needs exactly one of "virtual" or "virtual6"${heads.length > 1 ? ', not several' : ''}`,
    );
    return undefined;
  }
  const head = heads[0] as Pair;
  const value = scalarText(head.value as Node);
  if (value === undefined) {
    r.sink.error('invalid-value', posOf(r, head), `${keyText(head)} must be a single value`);
    return undefined;
  }
  const body: RawDirective[] = [];
  for (const pair of node.items) if (pair !== head) readPair(r, pair, body);
  return {
    kind: 'virtual',
    virtual: {
      keyword: keyText(head) as 'virtual' | 'virtual6',
      value,
      pos: posOf(r, head),
      syntax: 'yaml',
      body,
      endLine: posOf(r, head).line,
    },
  };
}

/**
 * Every key that repeats an earlier key of its mapping (scalar keys compared by value, as the yaml library does with
 * `uniqueKeys: true`), in linear time: the offset of the repeated key and the library's message.
 */
function duplicateKeys(doc: Document): Array<{ offset: number; message: string }> {
  const out: Array<{ offset: number; message: string }> = [];
  visit(doc, {
    Map(_key, map) {
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        if (seen.has(pair.key.value))
          out.push({ offset: pair.key.range?.[0] ?? 0, message: 'Map keys must be unique' });
        else seen.add(pair.key.value);
      }
    },
  });
  return out;
}

/** Parses YAML text into a ConfigDocument; returns undefined (with diagnostics) when the YAML itself is broken. */
export function readYamlDocument(text: string, file: string, sink: DiagnosticSink): ConfigDocument | undefined {
  const lines = new LineCounter();
  // The library's own duplicate-key check compares each key with every key before it: 40,000 top-level keys took
  // 12 s (and froze a daemon reloading them). duplicateKeys does the same check with a set per mapping.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  const r: Reader = { file, lines, sink };
  const errors = [
    ...doc.errors.map((e) => ({ offset: e.pos[0], message: e.message.split('\n')[0] ?? '' })),
    ...duplicateKeys(doc),
  ];
  if (errors.length > 0) {
    for (const e of errors.sort((a, b) => a.offset - b.offset)) {
      const { line, col } = lines.linePos(e.offset);
      sink.error('syntax', { file, line, column: col }, `YAML: ${e.message}`);
    }
    return undefined;
  }
  const root = doc.contents as Node | null;
  if (root === null || (isScalar(root) && root.value === null)) return { file, format: 'yaml', entries: [] }; // `---` alone
  if (!isMap(root)) {
    sink.error('syntax', posOf(r, root), 'the YAML configuration must be a mapping of directives');
    return undefined;
  }
  const entries: DocumentEntry[] = [];
  for (const pair of root.items) {
    if (keyText(pair) === 'virtual' || keyText(pair) === 'virtual6') {
      sink.error(
        'misplaced',
        posOf(r, pair),
        `${keyText(pair)} belongs in an item of the "${VIRTUALS_KEY}" list`,
        keyText(pair),
      );
      continue;
    }
    if (keyText(pair) !== VIRTUALS_KEY) {
      const ds: RawDirective[] = [];
      readPair(r, pair, ds);
      for (const directive of ds) entries.push({ kind: 'directive', directive });
      continue;
    }
    const list = pair.value as Node | null;
    if (list === null) continue;
    if (!isSeq(list)) {
      sink.error('syntax', posOf(r, pair), `"${VIRTUALS_KEY}" must be a list of virtual services`);
      continue;
    }
    for (const item of list.items as Node[]) {
      const entry = readVirtual(r, item);
      if (entry) entries.push(entry);
    }
  }
  return { file, format: 'yaml', entries };
}
