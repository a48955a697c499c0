// Writes a ConfigDocument as ldirectord.cf text.
import { isDeepStrictEqual } from 'node:util';
import { ErrorCodes, LdirError } from '../errors';
import type { ConfigDocument, RawDirective } from './document';
import { formatRealLine, parseRealLine, type RealLine } from './real-line';
import { OPTIONALLY_QUOTED, QUOTED } from './yaml-schema';

function unconvertible(d: { readonly key: string; readonly pos: RawDirective['pos'] }, why: string): never {
  const where = `${d.pos.file}:${d.pos.line}${d.pos.column !== undefined ? `:${d.pos.column}` : ''}`;
  throw new LdirError(ErrorCodes.CONFIG_UNCONVERTIBLE, `${where}: ${d.key} cannot be written as ldirectord.cf: ${why}`);
}

/** Refuses text that the cf lexer would not read back as written. */
function checkText(d: RawDirective, text: string, inSection: boolean): void {
  if (/[\r\n]/.test(text)) unconvertible(d, 'the value spans several lines');
  if (inSection && text.includes('#')) unconvertible(d, "'#' starts a comment inside a virtual section");
  if (inSection && text.includes('\t')) unconvertible(d, 'a tab inside a virtual section is read as four spaces');
}

/** A real server given as a mapping, written in ldirectord's `real=` grammar (and checked to read back the same). */
function realText(d: RawDirective, r: RealLine): string {
  const bracket = (host: string): string => (host.includes(':') && !host.startsWith('[') ? `[${host}]` : host);
  const line: RealLine = {
    ...r,
    host: bracket(r.host),
    ...(r.rangeEnd !== undefined ? { rangeEnd: bracket(r.rangeEnd) } : {}),
  };
  const text = formatRealLine(line);
  checkText(d, text, true);
  const back = parseRealLine(text);
  if (!back.ok || back.ignored !== undefined || !isDeepStrictEqual(back.value, line)) {
    unconvertible(
      d,
      `"${text}" does not read back as the same real server (a quote in request/receive, or a host or port outside the real= grammar)`,
    );
  }
  return text;
}

/** The cf text of a YAML value: quoted where ldirectord wants or allows quotes, refused where cf would change it. */
function valueText(d: RawDirective, value: string): string {
  if (QUOTED.has(d.key)) {
    if (value.includes('"') && d.key !== 'request' && d.key !== 'receive')
      unconvertible(d, 'the value contains a double quote');
    return `"${value}"`;
  }
  if (OPTIONALLY_QUOTED.has(d.key) && /^["\s]/.test(value)) return `"${value}"`;
  if (d.key === 'virtualhost' && value.includes('"')) unconvertible(d, 'the value contains a double quote');
  if ((d.key === 'virtualhost' || d.key === 'emailalert') && /^\s/.test(value) && !value.includes('"'))
    return `"${value}"`;
  if (/^\s/.test(value)) unconvertible(d, 'ldirectord.cf drops white space at the start of a value');
  return value;
}

/** One directive as a cf line (without indentation). */
function directiveLine(d: RawDirective, inSection: boolean): string {
  if (d.syntax === 'cf') return d.value === undefined ? d.key : `${d.key}=${d.value}`;
  if (d.real) return `${d.key}=${realText(d, d.real)}`;
  const value = d.value ?? '';
  checkText(d, value, inSection);
  return `${d.key}=${valueText(d, value)}`;
}

/** Renders `doc` as ldirectord.cf: globals in column 0, virtual bodies indented by a tab, a blank line after each section. */
export function writeCf(doc: ConfigDocument): string {
  const out: string[] = [];
  for (const e of doc.entries) {
    if (e.kind === 'directive') {
      out.push(directiveLine(e.directive, false));
      continue;
    }
    if (/[\r\n]/.test(e.virtual.value))
      unconvertible({ key: e.virtual.keyword, pos: e.virtual.pos }, 'the value spans several lines');
    if (out.length > 0 && out[out.length - 1] !== '') out.push('');
    out.push(`${e.virtual.keyword}=${e.virtual.value}`);
    for (const d of e.virtual.body) out.push(`\t${directiveLine(d, true)}`);
    out.push('');
  }
  return out.join('\n').replace(/\n*$/, '\n');
}
