// Reads ldirectord.cf text into a ConfigDocument with ldirectord's exact line rules (read_config in ldirectord 4.12).
import type { ConfigDocument, DocumentEntry, RawDirective } from './document';

/** A line that starts a virtual section: `virtual=` or `virtual6=` in column 0. */
const VIRTUAL_LINE = /^virtual(6)?\s*=\s*(.*)$/;
/** `key = value`: the value is the rest of the line, as ldirectord's `(.*)` captures it. */
const KEY_VALUE = /^([A-Za-z0-9_-]+)\s*=\s*(.*)$/;
/** A comment line (skipped everywhere, and does not end a virtual section). */
const COMMENT_LINE = /^\s*#/;
/** A blank line (skipped at top level, ends a virtual section). */
const BLANK_LINE = /^\s*$/;
/** Indented body line after `#` stripping and tab expansion: four or more spaces, then at least one character. */
const BODY_LINE = /^ {4,}(.+)$/;

/** Splits text into lines; a trailing CR is dropped (ldir tolerates CRLF files, ldirectord does not). */
function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

/** Splits one directive line into key and value the way ldirectord's `^key\s*=\s*(.*)` regexes do. */
function toDirective(text: string, file: string, line: number): RawDirective {
  const m = KEY_VALUE.exec(text);
  if (m) return { key: m[1] as string, value: m[2] as string, pos: { file, line }, syntax: 'cf' };
  return { key: text.replace(/\s+$/, ''), value: undefined, pos: { file, line }, syntax: 'cf' };
}

/**
 * Lexes ldirectord.cf text. Globals are column-0 lines; a `virtual=` line opens a section whose body lines are
 * indented by four or more spaces (a tab counts as four); comment lines are skipped anywhere; inside a section
 * `#` starts a comment; the first other line (a blank line included) ends the section and is read as a global.
 */
export function lexCf(text: string, file: string): ConfigDocument {
  const lines = splitLines(text);
  const entries: DocumentEntry[] = [];
  let i = 0;
  while (i < lines.length) {
    const raw = lines[i] as string;
    const lineNo = i + 1;
    const vm = VIRTUAL_LINE.exec(raw);
    if (vm) {
      const body: RawDirective[] = [];
      let j = i + 1;
      for (; j < lines.length; j++) {
        const bodyRaw = lines[j] as string;
        if (COMMENT_LINE.test(bodyRaw)) continue;
        const stripped = bodyRaw.replace(/#.*/, '').replace(/\t/g, '    ');
        const bm = BODY_LINE.exec(stripped);
        if (!bm) break;
        body.push(toDirective(bm[1] as string, file, j + 1));
      }
      entries.push({
        kind: 'virtual',
        virtual: {
          keyword: vm[1] === '6' ? 'virtual6' : 'virtual',
          value: vm[2] as string,
          pos: { file, line: lineNo },
          syntax: 'cf',
          body,
          endLine: Math.min(j + 1, lines.length),
        },
      });
      i = j;
      continue;
    }
    if (!BLANK_LINE.test(raw) && !COMMENT_LINE.test(raw)) {
      entries.push({ kind: 'directive', directive: toDirective(raw, file, lineNo) });
    }
    i++;
  }
  return { file, format: 'cf', entries };
}
