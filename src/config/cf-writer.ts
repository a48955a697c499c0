// Writes a ConfigDocument as ldirectord.cf text.
import { ErrorCodes, LdirError } from '../errors';
import type { ConfigDocument, RawDirective } from './document';
import { formatRealLine } from './real-line';
import { QUOTED } from './yaml-schema';

function unconvertible(d: RawDirective, why: string): never {
  throw new LdirError(ErrorCodes.CONFIG_UNCONVERTIBLE, `${d.pos.file}:${d.pos.line}: ${d.key} cannot be written as ldirectord.cf: ${why}`);
}

/** One directive as a cf line (without indentation). */
function directiveLine(d: RawDirective, inSection: boolean): string {
  if (d.syntax === 'cf') return d.value === undefined ? d.key : `${d.key}=${d.value}`;
  if (d.real) return `${d.key}=${formatRealLine(d.real)}`;
  const value = d.value ?? '';
  if (/[\r\n]/.test(value)) unconvertible(d, 'the value spans several lines');
  if (inSection && value.includes('#')) unconvertible(d, "'#' starts a comment inside a virtual section");
  if (QUOTED.has(d.key)) {
    if (value.includes('"') && d.key !== 'request' && d.key !== 'receive') unconvertible(d, 'the value contains a double quote');
    return `${d.key}="${value}"`;
  }
  return `${d.key}=${value}`;
}

/** Renders `doc` as ldirectord.cf: globals in column 0, virtual bodies indented by a tab, a blank line after each section. */
export function writeCf(doc: ConfigDocument): string {
  const out: string[] = [];
  for (const e of doc.entries) {
    if (e.kind === 'directive') {
      out.push(directiveLine(e.directive, false));
      continue;
    }
    if (out.length > 0 && out[out.length - 1] !== '') out.push('');
    out.push(`${e.virtual.keyword}=${e.virtual.value}`);
    for (const d of e.virtual.body) out.push(`\t${directiveLine(d, true)}`);
    out.push('');
  }
  return out.join('\n').replace(/\n*$/, '\n');
}
