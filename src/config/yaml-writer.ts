// Writes a ConfigDocument as the YAML form (same directive names; real servers as mappings where possible).
import { stringify } from 'yaml';
import { readOptionallyQuoted, readQuoted, valueText } from './cf-values';
import type { ConfigDocument, RawDirective } from './document';
import { INCLUDE_KEY } from './includes';
import { parseRealLine, type RealLine } from './real-line';
import {
  COMMA_LISTS,
  NAME_VALUE_MAPPINGS,
  OPTIONALLY_QUOTED,
  QUOTED,
  REPEATABLE,
  VIRTUALS_KEY,
  type YamlRealMapping,
} from './yaml-schema';

function realMapping(r: RealLine): YamlRealMapping {
  const port =
    r.port !== undefined && /^\d+$/.test(r.port) && String(Number(r.port)) === r.port ? Number(r.port) : r.port;
  return {
    host: r.host,
    ...(r.rangeEnd !== undefined ? { to: r.rangeEnd } : {}),
    ...(port !== undefined ? { port } : {}),
    forward: r.forward,
    ...(r.weight !== undefined ? { weight: r.weight } : {}),
    ...(r.request !== undefined ? { request: r.request, receive: r.receive ?? '' } : {}),
    ...(r.lowerThreshold !== undefined ? { lower: r.lowerThreshold } : {}),
    ...(r.upperThreshold !== undefined ? { upper: r.upperThreshold } : {}),
    ...(r.tunnelPort !== undefined ? { tunnelport: r.tunnelPort } : {}),
    ...(r.tunnelFlags !== undefined ? { tunnelflags: r.tunnelFlags } : {}),
  };
}

/** The YAML value of one directive. */
function yamlValue(d: RawDirective): unknown {
  if (d.real) return realMapping(d.real);
  if (d.syntax === 'yaml') return plain(d.value ?? '');
  if (d.key === 'supervised' && d.value === undefined) return 'yes';
  const text = valueText(d);
  if (QUOTED.has(d.key)) {
    const q = readQuoted(d);
    return q.ok ? q.value : text;
  }
  if (OPTIONALLY_QUOTED.has(d.key)) return readOptionallyQuoted(d);
  if (d.key === 'virtualhost') return /^"?([^"]*)"?/.exec(text)?.[1] ?? '';
  if (d.key === 'real' || d.key === 'real6') {
    const r = parseRealLine(text);
    return r.ok && !r.ignored ? realMapping(r.value) : text;
  }
  if (COMMA_LISTS.has(d.key)) {
    const unq = /^"([^"]*)"$/.exec(text)?.[1] ?? text;
    return unq;
  }
  return plain(text);
}

/** Numbers that read back identically (`5`, `0.5`) become YAML numbers; everything else stays a string. */
function plain(text: string): unknown {
  return /^\d+(?:\.\d+)?$/.test(text) && String(Number(text)) === text && Number.isSafeInteger(Math.floor(Number(text)))
    ? Number(text)
    : text;
}

/** Collects directives into a mapping: repeatable ones become lists, others keep their last value. */
function toMapping(directives: readonly RawDirective[], into: Record<string, unknown>): void {
  for (const d of directives) {
    const v = yamlValue(d);
    if (REPEATABLE.has(d.key)) {
      const list = (into[d.key] as unknown[] | undefined) ?? [];
      list.push(v);
      into[d.key] = list;
    } else {
      into[d.key] = v;
    }
  }
}

/**
 * A list of `NAME=VALUE` items as a mapping `{NAME: VALUE}` (a repeated name keeps its last value, as the directive
 * does); the list itself when an item is not of that shape.
 */
function nameValueMapping(list: unknown): unknown {
  if (!Array.isArray(list)) return list;
  const out: Record<string, unknown> = {};
  for (const item of list) {
    const m = typeof item === 'string' ? /^\s*([A-Za-z0-9_]+)\s*=\s*(.*?)\s*$/.exec(item) : null;
    if (!m) return list;
    delete out[m[1] as string];
    out[m[1] as string] = plain(m[2] as string);
  }
  return out;
}

/**
 * Renders `doc` as YAML. The `virtuals` list comes after the other directives, unless an `include` follows a virtual
 * section: then the list stands where the first section stood, so that the included files are still read after it.
 * (A YAML mapping has one `include` list and one `virtuals` list: includes between sections cannot keep their place,
 * and `ldir convert` refuses the output that would then mean something else.)
 */
export function writeYaml(doc: ConfigDocument): string {
  const root: Record<string, unknown> = {};
  const virtuals: Record<string, unknown>[] = [];
  const firstVirtual = doc.entries.findIndex((e) => e.kind === 'virtual');
  const includeAfter =
    firstVirtual >= 0 &&
    doc.entries.some((e, i) => i > firstVirtual && e.kind === 'directive' && e.directive.key === INCLUDE_KEY);
  doc.entries.forEach((e, i) => {
    if (e.kind === 'directive') toMapping([e.directive], root);
    else if (includeAfter && i === firstVirtual) root[VIRTUALS_KEY] = virtuals;
  });
  for (const key of NAME_VALUE_MAPPINGS) if (key in root) root[key] = nameValueMapping(root[key]);
  for (const e of doc.entries) {
    if (e.kind !== 'virtual') continue;
    const v: Record<string, unknown> = { [e.virtual.keyword]: plain(e.virtual.value) };
    toMapping(e.virtual.body, v);
    virtuals.push(v);
  }
  if (virtuals.length > 0) root[VIRTUALS_KEY] = virtuals;
  return stringify(root, { lineWidth: 0 });
}
