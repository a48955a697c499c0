// A virtual's check settings: its own directives, else the global ones, else the defaults; the weights checks report.
import type { CheckSpec, CheckWeightSettings } from '../model';
import { DEFAULTS, serviceForPort } from './defaults';
import { httpCheckSettings } from './directives-http';
import type { GlobalDraft, VirtualDraft } from './settings';

import type { BuildContext } from './build-context';

/** Check settings of a virtual, with ldirectord's timeout cross-fallback rule. */
export function checkSpec(v: VirtualDraft, g: GlobalDraft, port: number, hostname: string): CheckSpec {
  const service = v.service ?? serviceForPort(port);
  const login = v.login ?? (service === 'ftp' ? 'anonymous' : service === 'sip' ? `ldirectord@${hostname}` : '');
  const passwd = v.passwd ?? (service === 'ftp' ? `ldirectord@${hostname}` : '');
  return {
    // An SCTP service cannot run a negotiate check (strict-sctp.ts): its check is a connect, unless written otherwise.
    type: v.protocol === 'sctp' && !v.written.has('checktype') ? 'connect' : v.checktype,
    connectsBetweenNegotiates: v.connects,
    service,
    command: v.checkcommand,
    ...(v.checkport !== undefined ? { port: v.checkport } : {}),
    request: v.request,
    receive: v.receive,
    httpMethod: v.httpmethod,
    ...(v.virtualhost !== undefined && v.virtualhost !== '' ? { virtualHost: v.virtualhost } : {}),
    login,
    passwd,
    database: v.database ?? '',
    secret: v.secret ?? '',
    checkTimeout: v.checktimeout ?? v.negotiatetimeout ?? g.checktimeout ?? g.negotiatetimeout ?? DEFAULTS.checkTimeout,
    negotiateTimeout:
      v.negotiatetimeout ?? v.checktimeout ?? g.negotiatetimeout ?? g.checktimeout ?? DEFAULTS.negotiateTimeout,
    interval: (g.fork === true ? v.checkinterval : undefined) ?? g.checkinterval ?? DEFAULTS.checkInterval,
    checkCount: v.checkcount ?? g.checkcount ?? DEFAULTS.checkCount,
    failureCount: v.failurecount ?? g.failurecount ?? DEFAULTS.failureCount,
    riseCount: v.risecount ?? g.risecount ?? DEFAULTS.riseCount,
    ...httpCheckSettings(v, g, service),
  };
}

/**
 * The bounds of the weights a virtual's checks report: http/https negotiate checks with a `weightheader`, and external
 * checks (a `weight=N` line). Undefined when the check reports none; null after an error: a `weightheader`,
 * `minweight` or `maxweight` written in the virtual section that its check would ignore, or a minimum above the
 * maximum. (Global values are defaults: a virtual whose check reports no weight simply does not use them.)
 */
export function checkWeightSettings(
  v: VirtualDraft,
  g: GlobalDraft,
  check: CheckSpec,
  ctx: BuildContext,
): CheckWeightSettings | undefined | null {
  const http =
    (check.type === 'negotiate' || check.type === 'combined') &&
    ['http', 'https', 'http_proxy'].includes(check.service);
  const external = check.type === 'external' || check.type === 'external-perl';
  const header = v.weightheader ?? g.weightheader;
  const min = v.minweight ?? g.minweight;
  const max = v.maxweight ?? g.maxweight;
  const what = `checktype=${check.type}${check.type === 'negotiate' || check.type === 'combined' ? ` service=${check.service}` : ''}`;
  if (v.weightheader && !http) {
    ctx.sink.error(
      'invalid-value',
      v.weightheader.pos,
      `weightheader needs an http or https negotiate check; with ${what} it would be ignored`,
      'weightheader',
    );
    return null;
  }
  const reports = external || (http && header !== undefined);
  for (const [name, placed] of [
    ['minweight', v.minweight],
    ['maxweight', v.maxweight],
  ] as const) {
    if (placed && !reports) {
      ctx.sink.error(
        'invalid-value',
        placed.pos,
        `${name} bounds the weight a check reports; ${what}${http ? ' without weightheader' : ''} reports none: it would be ignored`,
        name,
      );
      return null;
    }
  }
  if (!reports) return undefined;
  if (min && max && min.value > max.value) {
    ctx.sink.error('invalid-value', max.pos, `maxweight=${max.value} is below minweight=${min.value}`, 'maxweight');
    return null;
  }
  return {
    ...(http && header ? { header: header.value.toLowerCase() } : {}),
    min: min?.value ?? 0,
    ...(max ? { max: max.value } : {}),
  };
}
