// Second pass: resolves names, expands ranges, applies defaults and builds the immutable Config.
// The parts live in build-*.ts: reals, fallbacks, checks, quorum and one virtual; this file joins them.
import type { Config, GlobalSettings, SourcePos, VirtualService } from '../model';
import { DEFAULTS } from './defaults';
import { buildAlertThrottle, checkAlertDrafts } from './directives-alerts';
import { buildAnnounce } from './directives-announce';
import { checkTlsDrafts } from './directives-http';
import { buildIpvsTimeouts } from './directives-ipvs-timeouts';
import { buildStateSync } from './directives-state-sync';
import { buildSysctlSettings } from './directives-sysctl';
import type { Drafts } from './read-directives';
import { checkGlobalsStrictly } from './strict';
import { checkMixedFamiliesWithSync } from './strict-tunnels';
import type { GlobalDraft, VirtualDraft } from './settings';

import type { BuildContext } from './build-context';
import { MAX_TOTAL_REALS } from './build-reals';
import { globalFallbackTable } from './build-fallbacks';
import { buildVirtual } from './build-virtual';

export type { BuildContext } from './build-context';
export { MAX_RANGE_SIZE, MAX_TOTAL_REALS } from './build-reals';
export { virtualId } from './build-virtual';

/** `line N` of a position in `file`, or `PATH:LINE` when it is in another file (an included one). */
function placeOf(pos: SourcePos, file: string): string {
  return pos.file === file ? `line ${pos.line}` : `${pos.file}:${pos.line}`;
}

/** Global settings with defaults applied. */
function globalSettings(
  g: GlobalDraft,
  sysctl: GlobalSettings['sysctl'],
  stateSync: GlobalSettings['stateSync'],
  ipvsTimeouts: GlobalSettings['ipvsTimeouts'],
): GlobalSettings {
  return {
    autoreload: g.autoreload ?? DEFAULTS.autoreload,
    ...(g.callback !== undefined ? { callback: g.callback } : {}),
    logfile: g.logfile ?? DEFAULTS.logfile,
    execute: [...g.execute],
    fork: g.fork ?? DEFAULTS.fork,
    supervised: g.supervised ?? DEFAULTS.supervised,
    readdQuiescent: g.readdquiescent ?? DEFAULTS.readdQuiescent,
    ...(g.maintenancedir !== undefined ? { maintenanceDir: g.maintenancedir } : {}),
    sysctl,
    alerting: buildAlertThrottle(g),
    metrics: g.metrics === undefined ? { ...DEFAULTS.metrics } : g.metrics,
    drain: { enabled: g.drain ?? DEFAULTS.drain, timeout: g.draintimeout ?? DEFAULTS.drainTimeout },
    stateSync,
    ...(ipvsTimeouts !== undefined ? { ipvsTimeouts } : {}),
  };
}

/** Freezes an object graph so the model is immutable at run time too (also a model rebuilt by a structured clone). */
export function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as object)) deepFreeze(v);
  }
  return o;
}

/** Builds the Config from drafts; returns undefined when any error was recorded. */
export async function buildModel(drafts: Drafts, ctx: BuildContext): Promise<Config | undefined> {
  const g = drafts.global;
  if (g.fork !== true) {
    for (const v of drafts.virtuals) {
      if (v.checkinterval !== undefined) {
        ctx.sink.warn(
          'ignored-setting',
          v.pos,
          'checkinterval in a virtual service is ignored when fork=no (as ldirectord): set it globally, or set fork=yes',
          'checkinterval',
        );
      }
    }
  }
  checkAlertDrafts(drafts, ctx.sink);
  checkTlsDrafts(drafts, ctx.sink);
  const fallbacks = await globalFallbackTable(g, ctx);
  const budget = { left: MAX_TOTAL_REALS };
  const built = await Promise.all(drafts.virtuals.map((v) => buildVirtual(v, g, fallbacks, ctx, budget)));
  checkGlobalsStrictly(
    [fallbacks.get('inet/tcp'), fallbacks.get('inet6/tcp')],
    built.filter((vs): vs is VirtualService => vs !== undefined),
    ctx.sink,
  );
  checkMixedFamiliesWithSync(drafts.virtuals, g.sync, ctx.sink);
  const seen = new Map<string, SourcePos>();
  const services: VirtualService[] = [];
  for (const vs of built) {
    if (!vs) continue;
    const first = seen.get(vs.id);
    if (first) {
      // Reported where ldirectord reports it: the line that ended the duplicate section (cf), the virtual (YAML).
      const draft = drafts.virtuals[built.indexOf(vs)] as VirtualDraft;
      ctx.sink.error(
        'duplicate-virtual',
        { ...vs.source, line: draft.endLine },
        `duplicate virtual server ${vs.id}: the section at line ${vs.source.line} repeats the one at ${placeOf(first, vs.source.file)}`,
      );
      continue;
    }
    seen.set(vs.id, vs.source);
    services.push(vs);
  }
  const sysctl = buildSysctlSettings(g, ctx.sink);
  const stateSync = buildStateSync(g, ctx.sink);
  const ipvsTimeouts = buildIpvsTimeouts(g, ctx.sink);
  const announce = buildAnnounce(
    g,
    services.flatMap((vs) => (vs.announce ? [vs.announce] : [])),
    ctx.sink,
  );
  if (ctx.sink.hasErrors()) return undefined;
  const included =
    ctx.includedFiles !== undefined && ctx.includedFiles.length > 0 ? { includedFiles: [...ctx.includedFiles] } : {};
  return deepFreeze({
    file: ctx.file,
    ...included,
    format: ctx.format,
    globals: { ...globalSettings(g, sysctl, stateSync, ipvsTimeouts), ...(announce ? { announce } : {}) },
    virtualServices: services,
  });
}
