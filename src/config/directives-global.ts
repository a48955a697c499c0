// Global (column-0) directives of ldirectord.cf, read as ldirectord's read_config reads them.
import { readQuoted, readSeconds, readYesNo, valueText } from './cf-values';
import { ALERT_GLOBAL_DIRECTIVES, ALERT_SHARED_DIRECTIVES } from './directives-alerts';
import { ANNOUNCE_GLOBAL_DIRECTIVES, ANNOUNCE_SHARED_DIRECTIVES } from './directives-announce';
import { QUORUM_SHARED_DIRECTIVES } from './directives-quorum';
import { SLOWSTART_SHARED_DIRECTIVES } from './directives-slowstart';
import { WEIGHT_SHARED_DIRECTIVES } from './directives-weights';
import { HTTP_SHARED_DIRECTIVES, TLS_SHARED_DIRECTIVES } from './directives-http';
import { accept, SHARED_DIRECTIVES, type DirectiveHandler } from './directives-shared';
import { parseFallbackLine } from './fallback-line';
import { METRICS_DIRECTIVES } from './directives-metrics';
import { DRAIN_DIRECTIVES } from './directives-drain';
import { IPVS_TIMEOUT_DIRECTIVES } from './directives-ipvs-timeouts';
import { RISE_DIRECTIVES } from './directives-rise';
import { STATE_SYNC_DIRECTIVES } from './directives-state-sync';
import { SYSCTL_DIRECTIVES } from './directives-sysctl';
import type { GlobalDraft } from './settings';

/** Yes/no global writing `field`. */
function yesNo<K extends 'autoreload' | 'fork' | 'readdquiescent'>(field: K): DirectiveHandler<GlobalDraft> {
  return (d, g, ctx) => {
    const v = accept(d, readYesNo(d), ctx);
    if (v !== undefined) g[field] = v;
  };
}

/** Global fallback (`fallback` IPv4, `fallback6` IPv6), used by virtual services that have none of their own. */
function fallback(field: 'fallback' | 'fallback6'): DirectiveHandler<GlobalDraft> {
  return (d, g, ctx) => {
    const v = accept(d, parseFallbackLine(valueText(d)), ctx);
    if (v !== undefined) g[field] = { line: v, pos: d.pos };
  };
}

/** Handlers for directives that are valid only in column 0 (plus the shared ones). */
export const GLOBAL_DIRECTIVES: Readonly<Record<string, DirectiveHandler<GlobalDraft>>> = {
  ...SHARED_DIRECTIVES,
  ...RISE_DIRECTIVES,
  ...SYSCTL_DIRECTIVES,
  ...ALERT_SHARED_DIRECTIVES,
  ...ALERT_GLOBAL_DIRECTIVES,
  ...METRICS_DIRECTIVES,
  ...DRAIN_DIRECTIVES,
  ...STATE_SYNC_DIRECTIVES,
  ...IPVS_TIMEOUT_DIRECTIVES,
  ...QUORUM_SHARED_DIRECTIVES,
  ...ANNOUNCE_SHARED_DIRECTIVES,
  ...ANNOUNCE_GLOBAL_DIRECTIVES,
  ...SLOWSTART_SHARED_DIRECTIVES,
  ...WEIGHT_SHARED_DIRECTIVES,
  ...TLS_SHARED_DIRECTIVES,
  ...HTTP_SHARED_DIRECTIVES,
  checkinterval: (d, g, ctx) => {
    const v = accept(d, readSeconds(d, 'checkinterval'), ctx);
    if (v !== undefined) g.checkinterval = v;
  },
  fallback: fallback('fallback'),
  fallback6: fallback('fallback6'),
  autoreload: yesNo('autoreload'),
  fork: yesNo('fork'),
  readdquiescent: yesNo('readdquiescent'),
  callback: (d, g, ctx) => {
    const v = accept(d, readQuoted(d), ctx);
    if (v !== undefined) g.callback = v;
  },
  logfile: (d, g, ctx) => {
    const v = accept(d, readQuoted(d), ctx);
    if (v === undefined) return;
    // ldirectord test-opens a log file at parse time (skipped with -d, or when supervised=yes came before this line).
    const problem = v.startsWith('/') && g.supervised !== true && !ctx.debug ? ctx.appendProblem(v) : undefined;
    if (problem !== undefined) {
      ctx.sink.error('missing-path', d.pos, `unable to open logfile: ${v} (${problem})`, d.key);
      return;
    }
    g.logfile = v;
  },
  execute: (d, g) => {
    g.execute.add(valueText(d)); // ldirectord keeps a set
  },
  supervised: (d, g, ctx) => {
    if (d.value === undefined) {
      g.supervised = true;
      ctx.sink.warn(
        'deprecated',
        d.pos,
        'please update your config not to use a bare supervised directive (write supervised=yes)',
        d.key,
      );
      return;
    }
    const v = accept(d, readYesNo(d), ctx);
    if (v !== undefined) g.supervised = v;
  },
  emailalertfrom: (d, g, ctx) => {
    const v = valueText(d);
    if (v === '') ctx.sink.error('invalid-value', d.pos, 'no email from address specified', d.key);
    else g.emailalertfrom = v;
  },
  maintenancedir: (d, g, ctx) => {
    const v = valueText(d);
    if (v === '') {
      ctx.sink.error('invalid-value', d.pos, 'maintenance directory not specified', d.key);
      return;
    }
    g.maintenancedir = v;
    if (!ctx.isDirectory(v)) ctx.sink.warn('missing-path', d.pos, `maintenance directory does not exist: ${v}`, d.key);
  },
};
