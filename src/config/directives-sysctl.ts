// The ldir extension directives `sysctl=yes|no` and `ipvssysctl=NAME=VALUE` (global), and their model settings.
import type { IpvsTunable, SysctlSettings } from '../model';
import { parseIpvsTunable } from '../system/sysctl-tunables';
import { readYesNo, valueText } from './cf-values';
import type { DiagnosticSink } from './diagnostics';
import { accept, type DirectiveHandler } from './directives-shared';
import { DEFAULTS } from './defaults';
import type { GlobalDraft } from './settings';

/** Global directives of the sysctl setup. */
export const SYSCTL_DIRECTIVES: Readonly<Record<string, DirectiveHandler<GlobalDraft>>> = {
  sysctl: (d, g, ctx) => {
    const v = accept(d, readYesNo(d), ctx);
    if (v !== undefined) g.sysctl = v;
  },
  ipvssysctl: (d, g, ctx) => {
    const t = parseIpvsTunable(valueText(d));
    if (!t.ok) {
      ctx.sink.error('invalid-value', d.pos, t.message, d.key);
      return;
    }
    (g.ipvssysctl ??= []).push({ name: t.name, value: t.value, pos: d.pos });
  },
};

/**
 * The model's sysctl settings: the switch (default yes) and one tunable per name, the last one written winning, sorted
 * by name. Warns about a tunable set twice, and about tunables given with `sysctl=no` (they are not applied).
 */
export function buildSysctlSettings(g: GlobalDraft, sink: DiagnosticSink): SysctlSettings {
  const enabled = g.sysctl ?? DEFAULTS.sysctl;
  const byName = new Map<string, IpvsTunable>();
  for (const e of g.ipvssysctl ?? []) {
    const earlier = byName.get(e.name);
    if (earlier) {
      sink.warn(
        'ignored-setting',
        e.pos,
        `ipvssysctl ${e.name} is set again (first at line ${earlier.source.line}); this later value is used`,
        'ipvssysctl',
      );
    }
    if (!enabled)
      sink.warn(
        'ignored-setting',
        e.pos,
        `ipvssysctl ${e.name} is not applied: sysctl=no turns the sysctl setup off`,
        'ipvssysctl',
      );
    byName.set(e.name, { name: e.name, value: e.value, source: e.pos });
  }
  const ipvs = [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { enabled, ipvs };
}
