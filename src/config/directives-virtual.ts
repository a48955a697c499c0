// Directives of a virtual section (indented body lines), read as ldirectord's read_config reads them.
import type { CheckService, CheckType } from '../model';
import { CHECK_SERVICES, NAMED_CHECK_TYPES } from '../model';
import {
  readFirstMatch,
  readInteger,
  readOptionallyQuoted,
  readSeconds,
  readQuoted,
  readYesNo,
  valueText,
} from './cf-values';
import { ALERT_SHARED_DIRECTIVES } from './directives-alerts';
import { ANNOUNCE_SHARED_DIRECTIVES } from './directives-announce';
import { QUORUM_SHARED_DIRECTIVES } from './directives-quorum';
import { PERSISTENCE_DIRECTIVES } from './directives-persistence';
import { SLOWSTART_SHARED_DIRECTIVES } from './directives-slowstart';
import { isTunnelMethod, TUNNEL_DIRECTIVES } from './directives-tunnel';
import { WEIGHT_SHARED_DIRECTIVES } from './directives-weights';
import { RISE_DIRECTIVES } from './directives-rise';
import { HTTP_SHARED_DIRECTIVES, HTTP_VIRTUAL_DIRECTIVES, TLS_SHARED_DIRECTIVES } from './directives-http';
import {
  accept,
  SHARED_DIRECTIVES,
  warnIfNotJsRegExp,
  warnIfPartial,
  type DirectiveContext,
  type DirectiveHandler,
} from './directives-shared';
import type { RawDirective } from './document';
import { parseFallbackLine } from './fallback-line';
import { normalizeRequest, parseRealLine } from './real-line';
import type { VirtualDraft } from './settings';

/** A quoted, non-empty string directive writing `field` (`what` names it in the error). */
function quotedNonEmpty<K extends 'receive' | 'login' | 'passwd' | 'database' | 'secret'>(
  field: K,
  what: string,
): DirectiveHandler<VirtualDraft> {
  return (d, v, ctx) => {
    const s = accept(d, readQuoted(d), ctx);
    if (s === undefined) return;
    if (s === '') ctx.sink.error('invalid-value', d.pos, `invalid ${what}: empty`, d.key);
    else v[field] = s;
  };
}

/**
 * True when `keyword` (`real`/`fallback`, or their `6` forms) matches the family of the virtual section:
 * `virtual` takes the plain forms, `virtual6` the `6` forms (otherwise an error, as ldirectord).
 */
function matchesFamily(
  keyword: string,
  base: 'real' | 'fallback',
  d: RawDirective,
  v: VirtualDraft,
  ctx: DirectiveContext,
  why = '',
): boolean {
  const wanted = v.family === 'inet' ? base : `${base}6`;
  if (keyword === wanted) return true;
  ctx.sink.error('misplaced', d.pos, `cannot specify "${keyword}" here, please use "${wanted}" instead${why}`, d.key);
  return false;
}

/**
 * Real server line: `real` (IPv4) in `virtual`, `real6` (IPv6) in `virtual6`, and either in either when the real is
 * tunnelled (ipip, gue, gre: the kernel takes a destination of the other family for tunnels only).
 */
function real(keyword: 'real' | 'real6'): DirectiveHandler<VirtualDraft> {
  return (d, v, ctx) => {
    const line = d.real ?? accept(d, parseRealLine(valueText(d)), ctx);
    const family = keyword === 'real' ? 'inet' : 'inet6';
    if (family !== v.family && line !== undefined && isTunnelMethod(line.forward)) {
      v.reals.push({ line, pos: d.pos, family });
    } else {
      if (
        !matchesFamily(
          keyword,
          'real',
          d,
          v,
          ctx,
          line === undefined
            ? ''
            : ` (only a tunnelled real server, ipip, gue or gre, may be of the other address family; this one is ${line.forward})`,
        )
      )
        return;
      if (line !== undefined) v.reals.push({ line, pos: d.pos, family });
    }
    if (line?.receive !== undefined) warnIfNotJsRegExp(d, 'receive', line.receive, ctx);
  };
}

/** Per-virtual fallback (`fallback` in `virtual`, `fallback6` in `virtual6`). */
function fallback(keyword: 'fallback' | 'fallback6'): DirectiveHandler<VirtualDraft> {
  return (d, v, ctx) => {
    if (!matchesFamily(keyword, 'fallback', d, v, ctx)) return;
    const line = accept(d, parseFallbackLine(valueText(d)), ctx);
    if (line !== undefined) v.fallback = { line, pos: d.pos };
  };
}

/** Handlers for directives valid inside a virtual section. */
export const VIRTUAL_DIRECTIVES: Readonly<Record<string, DirectiveHandler<VirtualDraft>>> = {
  ...SHARED_DIRECTIVES,
  ...RISE_DIRECTIVES,
  ...ALERT_SHARED_DIRECTIVES,
  ...QUORUM_SHARED_DIRECTIVES,
  ...ANNOUNCE_SHARED_DIRECTIVES,
  ...SLOWSTART_SHARED_DIRECTIVES,
  ...WEIGHT_SHARED_DIRECTIVES,
  ...PERSISTENCE_DIRECTIVES,
  ...TLS_SHARED_DIRECTIVES,
  ...HTTP_SHARED_DIRECTIVES,
  ...HTTP_VIRTUAL_DIRECTIVES,
  ...TUNNEL_DIRECTIVES,
  real: real('real'),
  real6: real('real6'),
  fallback: fallback('fallback'),
  fallback6: fallback('fallback6'),
  request: (d, v, ctx) => {
    const s = accept(d, readQuoted(d), ctx);
    if (s === undefined) return;
    if (s === '') ctx.sink.error('invalid-value', d.pos, 'no request string specified', d.key);
    else v.request = normalizeRequest(s);
  },
  receive: (d, v, ctx) => {
    quotedNonEmpty('receive', 'receive string')(d, v, ctx);
    warnIfNotJsRegExp(d, 'receive', v.receive, ctx);
  },
  login: quotedNonEmpty('login', 'login string'),
  passwd: quotedNonEmpty('passwd', 'password'),
  database: quotedNonEmpty('database', 'database'),
  secret: quotedNonEmpty('secret', 'secret'),
  load: (d, v, ctx) => {
    const s = accept(d, readQuoted(d), ctx);
    if (s === undefined) return;
    const m = /\w+/.exec(s);
    if (!m) ctx.sink.error('invalid-value', d.pos, 'invalid string for load testing', d.key);
    else {
      v.load = m[0];
      if (m[0] !== s)
        ctx.sink.warn('ignored-text', d.pos, `load: "${s}" is read as "${m[0]}", as ldirectord does`, d.key);
    }
  },
  checktype: (d, v, ctx) => {
    const text = valueText(d);
    const num = /\d+/.exec(text);
    if (num) {
      v.checktype = 'combined';
      v.connects = Number(num[0]);
      if (text.trim() !== num[0])
        ctx.sink.warn(
          'ignored-text',
          d.pos,
          `checktype: "${text}" is read as the number ${num[0]} (combined check), as ldirectord does`,
          d.key,
        );
      return;
    }
    const word = /[\w-]+/.exec(text)?.[0];
    if (word !== undefined && (NAMED_CHECK_TYPES as readonly string[]).includes(word)) {
      v.checktype = word as CheckType;
      warnIfPartial(d, word, ctx);
      return;
    }
    ctx.sink.error(
      'invalid-value',
      d.pos,
      `checktype must be "connect", "negotiate", "on", "off", "ping", "external", "external-perl" or a positive number, not "${text}"`,
      d.key,
    );
  },
  checkcommand: (d, v, ctx) => {
    const s = readOptionallyQuoted(d);
    if (s === '') ctx.sink.error('invalid-value', d.pos, 'invalid check command: empty', d.key);
    else v.checkcommand = s;
  },
  checkinterval: (d, v, ctx) => {
    const n = accept(d, readSeconds(d, 'checkinterval'), ctx);
    if (n !== undefined) v.checkinterval = n;
  },
  checkport: (d, v, ctx) => {
    const n = accept(d, readInteger(d, 'checkport', false), ctx);
    if (n === undefined) return;
    if (n < 1 || n > 65535)
      ctx.sink.error('invalid-value', d.pos, `checkport must be in range 1..65535, not ${n}`, d.key);
    else v.checkport = n;
  },
  scheduler: (d, v, ctx) => {
    const m = readFirstMatch(d, /[a-z]+/);
    if (!m) {
      ctx.sink.error(
        'invalid-value',
        d.pos,
        `invalid scheduler "${valueText(d)}", should be only lowercase letters (a-z)`,
        d.key,
      );
      return;
    }
    if (m.ignored)
      ctx.sink.warn(
        'ignored-text',
        d.pos,
        `scheduler: "${valueText(d)}" is read as "${m.match}", as ldirectord does`,
        d.key,
      );
    v.scheduler = m.match;
  },
  persistent: (d, v, ctx) => {
    const n = accept(d, readInteger(d, 'persistent timeout', false), ctx);
    if (n !== undefined) v.persistent = n;
  },
  schedflags: (d, v, ctx) => {
    const m = readFirstMatch(d, /\S+/);
    if (!m) ctx.sink.error('invalid-value', d.pos, 'invalid sched-flags: empty', d.key);
    else if (m.ignored !== '') {
      // ldirectord passes the first word to ipvsadm and drops the rest: flags after a space would never be set.
      ctx.sink.error(
        'ineffective-setting',
        d.pos,
        `schedflags: "${m.ignored}" after "${m.match}" would be ignored (ldirectord passes only the first word): write the flags comma separated, without spaces`,
        d.key,
      );
    } else v.schedflags = m.match;
  },
  netmask: (d, v, ctx) => {
    const text = valueText(d);
    if (v.family === 'inet6') {
      if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 128) {
        ctx.sink.error(
          'invalid-value',
          d.pos,
          `invalid netmask "${text}": a prefix length between 1 and 128 is required`,
          d.key,
        );
        return;
      }
    } else if (!/^\d+\.\d+\.\d+\.\d+$/.test(text)) {
      ctx.sink.error('invalid-value', d.pos, `invalid netmask "${text}": dotted quad notation is required`, d.key);
      return;
    }
    v.netmask = text;
  },
  protocol: (d, v, ctx) => {
    const word = /\w+/.exec(valueText(d))?.[0];
    if (word === undefined) {
      ctx.sink.error('invalid-value', d.pos, 'invalid protocol: empty', d.key);
    } else if (v.address?.kind === 'fwmark') {
      if (word !== 'fwm')
        ctx.sink.error(
          'invalid-value',
          d.pos,
          `protocol must be fwm if the virtual service is a fwmark (a number), not "${word}"`,
          d.key,
        );
    } else if (word === 'tcp' || word === 'udp' || word === 'sctp') {
      v.protocol = word;
      warnIfPartial(d, word, ctx);
    } else {
      ctx.sink.error(
        'invalid-value',
        d.pos,
        `protocol must be tcp, udp or sctp if the virtual service is an address and port, not "${word}"`,
        d.key,
      );
    }
  },
  ops: (d, v, ctx) => {
    const b = accept(d, readYesNo(d), ctx);
    if (b !== undefined) v.ops = b;
  },
  service: (d, v, ctx) => {
    const word = /\w+/.exec(valueText(d))?.[0];
    if (word === undefined || !(CHECK_SERVICES as readonly string[]).includes(word)) {
      ctx.sink.error(
        'invalid-value',
        d.pos,
        `service must be one of ${CHECK_SERVICES.join(', ')}; not "${valueText(d)}"`,
        d.key,
      );
      return;
    }
    v.service = word as CheckService;
    warnIfPartial(d, word, ctx);
  },
  httpmethod: (d, v, ctx) => {
    const word = /\w+/.exec(valueText(d))?.[0]?.toUpperCase();
    if (word !== 'GET' && word !== 'HEAD') {
      ctx.sink.error('invalid-value', d.pos, `httpmethod must be GET or HEAD, not "${valueText(d)}"`, d.key);
      return;
    }
    v.httpmethod = word;
    if (!/^(get|head)$/i.test(valueText(d).trim())) warnIfPartial(d, word, ctx);
  },
  virtualhost: (d, v) => {
    const text = valueText(d);
    v.virtualhost = d.syntax === 'yaml' ? text : (/^"?([^"]*)"?/.exec(text)?.[1] ?? '');
  },
  monitorfile: (d, v, ctx) => {
    const path = readOptionallyQuoted(d);
    const problem = ctx.appendProblem(path);
    if (problem !== undefined)
      ctx.sink.error('missing-path', d.pos, `unable to open monitorfile ${path} (${problem})`, d.key);
    else v.monitorfile = path;
  },
  servicename: (d, v) => {
    v.servicename = valueText(d);
  },
  comment: (d, v) => {
    v.comment = valueText(d);
  },
};
