// The ldir extension directives of connection sync (global): syncinterface, syncid, syncgroup, syncport, syncmaxlen,
// syncttl and syncrole, and the model settings built from them.
import ipaddr from 'ipaddr.js';
import type { SourcePos, StateSyncSettings, SyncStartRole } from '../model';
import { SYNC_START_ROLES } from '../model';
import { fail, ok, readBoundedInteger, valueText, type ValueResult } from './cf-values';
import { DEFAULTS } from './defaults';
import type { DiagnosticSink } from './diagnostics';
import { accept, type DirectiveHandler } from './directives-shared';
import type { GlobalDraft, SyncDraft } from './settings';

/** Largest `syncmaxlen`: a UDP payload in one IPv4 datagram (65535 - 20 - 8), as ipvsadm and the kernel bound it. */
export const MAX_SYNC_MAXLEN = 65507;
/** Largest `syncmaxlen` with an IPv6 group (65535 - 40 - 8). */
export const MAX_SYNC_MAXLEN_V6 = 65487;

/** A network interface name as the kernel accepts it: 1..15 bytes, no white space, `/` or `:`, not `.` or `..`. */
export function readInterfaceName(text: string): ValueResult<string> {
  const t = text.trim();
  if (!/^[^\s/:]{1,15}$/.test(t) || t === '.' || t === '..') {
    return fail(
      `syncinterface must be a network interface name (1..15 characters, no white space, "/" or ":"), not "${t}"`,
    );
  }
  return ok(t);
}

/** A multicast group: IPv4 224.0.0.0/4 in dotted quad, or IPv6 ff00::/8; canonical form. */
export function readMulticastGroup(text: string): ValueResult<string> {
  const t = text.trim().replace(/^\[(.*)\]$/, '$1');
  if (ipaddr.IPv4.isValidFourPartDecimal(t)) {
    const a = ipaddr.IPv4.parse(t);
    return a.range() === 'multicast'
      ? ok(a.toString())
      : fail(`syncgroup must be a multicast address (224.0.0.0/4 or ff00::/8), not ${t}`);
  }
  if (ipaddr.IPv6.isValid(t)) {
    const a = ipaddr.IPv6.parse(t);
    return a.range() === 'multicast'
      ? ok(a.toString())
      : fail(`syncgroup must be a multicast address (224.0.0.0/4 or ff00::/8), not ${t}`);
  }
  return fail(`syncgroup must be a numeric multicast address (for example 224.0.0.81 or ff02::81), not "${t}"`);
}

/** `none`, `master` or `backup`. */
export function readSyncRole(text: string): ValueResult<SyncStartRole> {
  const t = text.trim();
  return (SYNC_START_ROLES as readonly string[]).includes(t)
    ? ok(t as SyncStartRole)
    : fail(`syncrole must be none, master or backup, not "${t}"`);
}

/** A handler storing a read value with its position in `g.sync[field]`. */
function placed<K extends keyof SyncDraft>(
  field: K,
  read: (text: string) => ValueResult<NonNullable<SyncDraft[K]>['value']>,
): DirectiveHandler<GlobalDraft> {
  return (d, g, ctx) => {
    const v = accept(d, read(valueText(d)), ctx);
    if (v !== undefined) (g.sync ??= {})[field] = { value: v, pos: d.pos } as SyncDraft[K];
  };
}

/** Global directives of connection sync. */
export const STATE_SYNC_DIRECTIVES: Readonly<Record<string, DirectiveHandler<GlobalDraft>>> = {
  syncinterface: placed('interface', readInterfaceName),
  syncid: placed('id', (t) => readBoundedInteger(t, 'syncid', 0, 255)),
  syncgroup: placed('group', readMulticastGroup),
  syncport: placed('port', (t) => readBoundedInteger(t, 'syncport', 1, 65535)),
  syncmaxlen: placed('maxlen', (t) => readBoundedInteger(t, 'syncmaxlen', 1, MAX_SYNC_MAXLEN)),
  syncttl: placed('ttl', (t) => readBoundedInteger(t, 'syncttl', 1, 255)),
  syncrole: placed('role', readSyncRole),
};

const DIRECTIVE_OF: Readonly<Record<Exclude<keyof SyncDraft, 'interface'>, string>> = {
  id: 'syncid',
  group: 'syncgroup',
  port: 'syncport',
  maxlen: 'syncmaxlen',
  ttl: 'syncttl',
  role: 'syncrole',
};

/**
 * The model's connection sync settings: null without `syncinterface` (then every other `sync*` directive is an error
 * at its line: it would silently do nothing), else the values with defaults (sync id 0, role backup) and the global
 * `cleanstop`. An IPv6 group bounds `syncmaxlen` lower (its header is larger).
 */
export function buildStateSync(g: GlobalDraft, sink: DiagnosticSink): StateSyncSettings | null {
  const s = g.sync ?? {};
  if (s.interface === undefined) {
    for (const [field, name] of Object.entries(DIRECTIVE_OF) as Array<[keyof typeof DIRECTIVE_OF, string]>) {
      const pos: SourcePos | undefined = s[field]?.pos;
      if (pos)
        sink.error('invalid-value', pos, `${name} needs syncinterface: without it ldir runs no sync daemon`, name);
    }
    return null;
  }
  const group = s.group?.value;
  if (group?.includes(':') && s.maxlen !== undefined && s.maxlen.value > MAX_SYNC_MAXLEN_V6) {
    sink.error(
      'invalid-value',
      s.maxlen.pos,
      `syncmaxlen must be at most ${MAX_SYNC_MAXLEN_V6} with an IPv6 syncgroup, not ${s.maxlen.value}`,
      'syncmaxlen',
    );
  }
  return {
    interface: s.interface.value,
    syncId: s.id?.value ?? DEFAULTS.syncId,
    ...(group !== undefined ? { group } : {}),
    ...(s.port !== undefined ? { port: s.port.value } : {}),
    ...(s.maxlen !== undefined ? { maxLength: s.maxlen.value } : {}),
    ...(s.ttl !== undefined ? { ttl: s.ttl.value } : {}),
    role: s.role?.value ?? DEFAULTS.syncRole,
    cleanstop: g.cleanstop ?? DEFAULTS.cleanstop,
    source: s.interface.pos,
  };
}
