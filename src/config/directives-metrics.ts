// The ldir extension directive `metrics=ADDR:PORT|no` (global): where the Prometheus endpoint listens.
import ipaddr from 'ipaddr.js';
import type { MetricsEndpoint } from '../model';
import { fail, ok, valueText, type ValueResult } from './cf-values';
import { DEFAULTS } from './defaults';
import { accept, type DirectiveHandler } from './directives-shared';
import type { GlobalDraft } from './settings';

const USAGE = 'metrics must be ADDR:PORT (IPv6 as [ADDR]:PORT), yes (127.0.0.1:9547) or no';

/**
 * Reads a `metrics` value: `no` (off, null), `yes` (the default 127.0.0.1:9547), `A.B.C.D:PORT` or `[IPv6]:PORT`
 * with a numeric address (no host names: the endpoint must not depend on name resolution) and a port 1..65535.
 * White space around the value is ignored. The address comes back in canonical form, IPv6 without brackets.
 */
export function parseMetricsEndpoint(text: string): ValueResult<MetricsEndpoint | null> {
  const t = text.trim();
  if (t === 'no') return ok(null);
  if (t === 'yes') return ok({ ...DEFAULTS.metrics });
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):(\d{1,5})$/.exec(t);
  if (!m) {
    const hint =
      /^[0-9a-fA-F:]*::?[0-9a-fA-F:.]*$/.test(t) && t.includes(':')
        ? ' (write an IPv6 address in brackets: [::1]:9547)'
        : '';
    return fail(`${USAGE}, not "${t}"${hint}`);
  }
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return fail(`metrics port must be 1..65535, not ${m[3]}`);
  if (m[1] !== undefined) {
    if (!ipaddr.IPv6.isValid(m[1])) return fail(`metrics: "${m[1]}" is not an IPv6 address`);
    return ok({ host: ipaddr.IPv6.parse(m[1]).toString(), port });
  }
  const host = m[2] as string;
  if (!ipaddr.IPv4.isValidFourPartDecimal(host)) {
    return fail(
      `metrics: "${host}" is not a numeric IPv4 address (host names are not accepted; IPv6 goes in brackets)`,
    );
  }
  return ok({ host, port });
}

/** Global directive of the Prometheus endpoint. */
export const METRICS_DIRECTIVES: Readonly<Record<string, DirectiveHandler<GlobalDraft>>> = {
  metrics: (d, g, ctx) => {
    const v = accept(d, parseMetricsEndpoint(valueText(d)), ctx);
    if (v !== undefined) g.metrics = v;
  },
};
