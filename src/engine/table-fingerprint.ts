// The fingerprint of a desired table, one digest per service: a pass that wants the table the kernel last took whole
// again repairs drift, and comparing two fingerprints never builds the whole table's text at once.
import { createHash } from 'node:crypto';
import type { DesiredService } from '../ipvs/types';

/** One digest per service of a normalized desired table, in its order. */
export type TableFingerprint = readonly string[];

/** The digest of one service of a normalized desired table (its settings and destinations in order). */
export function serviceFingerprint(service: DesiredService): string {
  return createHash('sha256').update(JSON.stringify(service)).digest('base64');
}

/** The fingerprint of a whole normalized desired table (what a sliced pass builds one service at a time). */
export function tableFingerprint(want: readonly DesiredService[]): TableFingerprint {
  return want.map(serviceFingerprint);
}

/** True when both fingerprints are of the same table (undefined, no table taken whole yet, matches nothing). */
export function sameFingerprint(a: TableFingerprint | undefined, b: TableFingerprint | undefined): boolean {
  if (a === undefined || b === undefined || a.length !== b.length) return false;
  return a.every((digest, i) => digest === b[i]);
}
