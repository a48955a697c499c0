// The ldir extension directives `ipvstimeouts="TCP TCPFIN UDP"` and `ipvstimeoutsrestore=yes|no` (global): the kernel's
// IPVS connection timeouts, as `ipvsadm --set` sets them.
import type { IpvsTimeoutSettings } from '../model';
import { readOptionallyQuoted, readYesNo } from './cf-values';
import type { DiagnosticSink } from './diagnostics';
import { accept, type DirectiveHandler } from './directives-shared';
import { MAX_PERSISTENT } from './kernel-limits';
import type { GlobalDraft } from './settings';

/**
 * Longest connection timeout accepted, in seconds: 31 days, ipvsadm's `MAX_TIMEOUT` for `--set` as for `-p` (the
 * kernel's own limit, INT_MAX / HZ, is larger), so that both backends take every value the file may hold.
 */
export const MAX_IPVS_TIMEOUT = MAX_PERSISTENT;

/** The three timeouts in `ipvstimeouts` order, with the names ipvsadm prints (`Timeout (tcp tcpfin udp)`). */
export const IPVS_TIMEOUT_NAMES = [
  ['tcp', 'tcp'],
  ['tcpFin', 'tcpfin'],
  ['udp', 'udp'],
] as const;

type Timeouts = { tcp: number; tcpFin: number; udp: number };

/** Reads `TCP TCPFIN UDP`: three numbers of seconds separated by white space, each 0..{@link MAX_IPVS_TIMEOUT}. */
export function parseIpvsTimeouts(text: string): { ok: true; value: Timeouts } | { ok: false; message: string } {
  const words = text.trim().split(/\s+/);
  if (words.length !== 3 || words.some((w) => !/^\d{1,10}$/.test(w))) {
    return {
      ok: false,
      message: `ipvstimeouts must be three numbers of seconds "TCP TCPFIN UDP", as ipvsadm --set takes them (0 leaves one as the kernel has it), not "${text}"`,
    };
  }
  const [tcp, tcpFin, udp] = words.map(Number) as [number, number, number];
  const value: Timeouts = { tcp, tcpFin, udp };
  for (const [field, name] of IPVS_TIMEOUT_NAMES) {
    if (value[field] > MAX_IPVS_TIMEOUT) {
      return {
        ok: false,
        message: `ipvstimeouts: the ${name} timeout must be 0..${MAX_IPVS_TIMEOUT} seconds (31 days, the most ipvsadm accepts), not ${value[field]}`,
      };
    }
  }
  return { ok: true, value };
}

/** Global directives of the IPVS connection timeouts. */
export const IPVS_TIMEOUT_DIRECTIVES: Readonly<Record<string, DirectiveHandler<GlobalDraft>>> = {
  ipvstimeouts: (d, g, ctx) => {
    const t = parseIpvsTimeouts(readOptionallyQuoted(d));
    if (!t.ok) {
      ctx.sink.error('invalid-value', d.pos, t.message, d.key);
      return;
    }
    g.ipvstimeouts = { value: t.value, pos: d.pos };
  },
  ipvstimeoutsrestore: (d, g, ctx) => {
    const v = accept(d, readYesNo(d), ctx);
    if (v !== undefined) g.ipvstimeoutsrestore = { value: v, pos: d.pos };
  },
};

/**
 * The model's timeout settings; undefined when ldir is not to touch the timeouts (no `ipvstimeouts`, or one that
 * sets none: `0 0 0`, with a warning). `ipvstimeoutsrestore` without timeouts to set is a warning.
 */
export function buildIpvsTimeouts(g: GlobalDraft, sink: DiagnosticSink): IpvsTimeoutSettings | undefined {
  const t = g.ipvstimeouts;
  const restore = g.ipvstimeoutsrestore;
  if (t && t.value.tcp === 0 && t.value.tcpFin === 0 && t.value.udp === 0) {
    sink.warn(
      'ignored-setting',
      t.pos,
      'ipvstimeouts=0 0 0 sets nothing: 0 leaves a timeout as the kernel has it',
      'ipvstimeouts',
    );
  }
  if (!t || (t.value.tcp === 0 && t.value.tcpFin === 0 && t.value.udp === 0)) {
    if (restore)
      sink.warn(
        'ignored-setting',
        restore.pos,
        'ipvstimeoutsrestore has no effect without timeouts to set (ipvstimeouts="TCP TCPFIN UDP")',
        'ipvstimeoutsrestore',
      );
    return undefined;
  }
  return { ...t.value, restore: restore?.value ?? false, source: t.pos };
}
