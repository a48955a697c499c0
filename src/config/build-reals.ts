// Real servers of a virtual: one per address of a real line's range, within the configuration-wide budget.
import type { RealServer, SourcePos } from '../model';
import { realTunnel } from './directives-tunnel';
import type { RealEntry, VirtualDraft } from './settings';

import type { BuildContext } from './build-context';

/** Largest `first->last` range ldir expands (ldirectord has no limit and would try 16 million entries). */
export const MAX_RANGE_SIZE = 65536;

/** Most real servers one configuration may hold after range expansion (keepalived's largest tested table is 30,000). */
export const MAX_TOTAL_REALS = 200_000;

function ipv4ToInt(a: string): number {
  return a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

/** Takes `n` real servers from the configuration-wide budget; false (with an error at `pos`) when it is spent. */
function takeReals(n: number, pos: SourcePos, ctx: BuildContext, budget: { left: number }): boolean {
  if (n > budget.left) {
    if (budget.left >= 0)
      ctx.sink.error(
        'invalid-value',
        pos,
        `more than ${MAX_TOTAL_REALS} real servers in one configuration (ranges included)`,
        'real',
      );
    budget.left = -1;
    return false;
  }
  budget.left -= n;
  return true;
}

/** Resolves one real line of virtual section `v` into one real server per address of its range. */
export async function resolveReal(
  entry: RealEntry,
  v: VirtualDraft,
  ctx: BuildContext,
  budget: { left: number },
): Promise<RealServer[]> {
  const { line, pos, family } = entry;
  const first = await ctx.resolver.resolveHost(line.host, family);
  if (first === undefined) {
    ctx.sink.error(
      'unresolvable',
      pos,
      `invalid address (${line.host}) for real server (could not resolve host)`,
      'real',
    );
    return [];
  }
  let port = 0;
  if (line.port !== undefined) {
    const p = ctx.resolver.resolvePort(line.port, '');
    if (p === undefined) {
      ctx.sink.error(
        'unresolvable',
        pos,
        `invalid port (${line.port}) for real server (could not resolve port)`,
        'real',
      );
      return [];
    }
    port = p;
  }
  const base = {
    port,
    forward: line.forward,
    weight: line.weight ?? 1,
    ...(line.request !== undefined ? { request: line.request, receive: line.receive ?? '' } : {}),
    lowerThreshold: line.lowerThreshold ?? 0,
    upperThreshold: line.upperThreshold ?? 0,
    ...realTunnel(line, v),
    source: pos,
  };
  if (line.rangeEnd === undefined) return takeReals(1, pos, ctx, budget) ? [{ address: first, ...base }] : [];
  const last = await ctx.resolver.resolveHost(line.rangeEnd, family);
  if (last === undefined) {
    ctx.sink.error(
      'unresolvable',
      pos,
      `invalid address (${line.rangeEnd}) for real server (could not resolve end host)`,
      'real',
    );
    return [];
  }
  if (family === 'inet6') {
    ctx.sink.error('invalid-value', pos, 'address range for IPv6 is not supported', 'real');
    return [];
  }
  const from = ipv4ToInt(first);
  const to = ipv4ToInt(last);
  if (from > to) {
    ctx.sink.error(
      'invalid-value',
      pos,
      `invalid range ${first}->${last}: the first address must not be greater than the last`,
      'real',
    );
    return [];
  }
  if (to - from + 1 > MAX_RANGE_SIZE) {
    ctx.sink.error(
      'invalid-value',
      pos,
      `range ${first}->${last} holds ${to - from + 1} addresses; at most ${MAX_RANGE_SIZE} are allowed`,
      'real',
    );
    return [];
  }
  if (!takeReals(to - from + 1, pos, ctx, budget)) return [];
  const out: RealServer[] = [];
  for (let n = from; n <= to; n++) out.push({ address: intToIpv4(n), ...base });
  return out;
}

/** Keeps the last of several real servers with the same address and port (as ldirectord's edits would), warning. */
export function dedupeReals(reals: RealServer[], ctx: BuildContext): RealServer[] {
  const byKey = new Map<string, RealServer>();
  for (const r of reals) {
    const key = `${r.address}|${r.port}`;
    const earlier = byKey.get(key);
    if (earlier) {
      ctx.sink.warn(
        'ignored-setting',
        r.source,
        `real server ${r.address}:${r.port} is listed again (first at line ${earlier.source.line}); this later entry is used`,
        'real',
      );
      byKey.delete(key);
    }
    byKey.set(key, r);
  }
  return [...byKey.values()];
}
