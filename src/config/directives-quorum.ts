// Quorum directives (ldir extensions), valid globally and per virtual service: quorum, hysteresis and their commands.
import { readBoundedInteger, readOptionallyQuoted, valueText } from './cf-values';
import { accept, type DirectiveHandler } from './directives-shared';
import type { SharedSettings } from './settings';

/** Largest `quorum` / `hysteresis` count accepted: far above any real table, far below anything that overflows. */
export const QUORUM_MAX = 1_000_000;

/** `quorum=N` (N ≥ 1 reals) or `quorum=N%` (1..100): the whole value, nothing else. */
export function parseQuorum(
  text: string,
): { ok: true; value: { kind: 'count' | 'percent'; value: number } } | { ok: false; message: string } {
  const m = /^(\d+)(%?)$/.exec(text.trim());
  if (!m)
    return {
      ok: false,
      message: `quorum must be a number of real servers (quorum=2) or a percentage of them (quorum=50%), not "${text}"`,
    };
  const n = Number(m[1]);
  if (m[2] === '%') {
    if (n < 1 || n > 100) return { ok: false, message: `quorum percentage must be in range 1..100, not "${text}"` };
    return { ok: true, value: { kind: 'percent', value: n } };
  }
  if (n < 1 || n > QUORUM_MAX)
    return { ok: false, message: `quorum must be in range 1..${QUORUM_MAX} real servers, not "${text}"` };
  return { ok: true, value: { kind: 'count', value: n } };
}

/** A command directive: the (optionally quoted) command line, not empty. */
function command(field: 'quorumupcommand' | 'quorumdowncommand', what: string): DirectiveHandler<SharedSettings> {
  return (d, s, ctx) => {
    const v = readOptionallyQuoted(d);
    if (v.trim() === '') ctx.sink.error('invalid-value', d.pos, `invalid ${what}: empty`, d.key);
    else s[field] = v;
  };
}

/** Handlers of the quorum directives, shared by the global and the virtual tables. */
export const QUORUM_SHARED_DIRECTIVES: Readonly<Record<string, DirectiveHandler<SharedSettings>>> = {
  quorum: (d, s, ctx) => {
    const r = parseQuorum(valueText(d));
    if (!r.ok) ctx.sink.error('invalid-value', d.pos, r.message, d.key);
    else s.quorum = { value: r.value, pos: d.pos };
  },
  hysteresis: (d, s, ctx) => {
    const n = accept(d, readBoundedInteger(valueText(d), 'hysteresis (real servers)', 0, QUORUM_MAX), ctx);
    if (n !== undefined) s.hysteresis = { value: n, pos: d.pos };
  },
  quorumupcommand: command('quorumupcommand', 'quorum up command'),
  quorumdowncommand: command('quorumdowncommand', 'quorum down command'),
};
