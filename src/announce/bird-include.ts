// The include file ldir writes for BIRD 2: the announced prefixes as two prefix sets (BIRD refuses mixed families).
import { sortPrefixes } from './decide-announce';

/** The set of announced IPv4 host prefixes, for the operator's export filter (`net ~ LDIR_ANNOUNCED_V4`). */
export const BIRD_SET_V4 = 'LDIR_ANNOUNCED_V4';
/** The set of announced IPv6 host prefixes. */
export const BIRD_SET_V6 = 'LDIR_ANNOUNCED_V6';

/** The include file's text for `prefixes` (an empty set is `[]`, which BIRD 2 accepts). */
export function renderBirdInclude(prefixes: readonly string[]): string {
  const sorted = sortPrefixes(prefixes);
  const set = (items: string[]): string => (items.length === 0 ? '[]' : `[ ${items.join(', ')} ]`);
  return [
    '# Written by ldir (route health injection): the virtual addresses this director announces. Do not edit:',
    '# ldir rewrites this file and reconfigures BIRD at every change.',
    `define ${BIRD_SET_V4} = ${set(sorted.filter((p) => !p.includes(':')))};`,
    `define ${BIRD_SET_V6} = ${set(sorted.filter((p) => p.includes(':')))};`,
    '',
  ].join('\n');
}

/** The prefixes an include file written by {@link renderBirdInclude} announces (nothing from text it did not write). */
export function parseBirdInclude(text: string): string[] {
  const out: string[] = [];
  for (const name of [BIRD_SET_V4, BIRD_SET_V6]) {
    const m = new RegExp(`^define ${name} = \\[([^\\]]*)\\];$`, 'm').exec(text);
    if (!m) continue;
    for (const item of (m[1] ?? '').split(',')) if (item.trim() !== '') out.push(item.trim());
  }
  return sortPrefixes(out);
}
