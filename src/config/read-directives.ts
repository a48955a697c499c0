// First pass over a document: every directive is checked and collected into global and per-virtual drafts.
import { DEFAULTS } from './defaults';
import type { DirectiveContext } from './directives-shared';
import { accept } from './directives-shared';
import { GLOBAL_DIRECTIVES } from './directives-global';
import { VIRTUAL_DIRECTIVES } from './directives-virtual';
import type { ConfigDocument, RawDirective, RawVirtual } from './document';
import { redactCredentialLine } from './secret-directives';
import type { GlobalDraft, VirtualDraft } from './settings';
import { parseVirtualAddress } from './virtual-address';

/** Drafts read from a document, before name resolution. */
export interface Drafts {
  readonly global: GlobalDraft;
  readonly virtuals: readonly VirtualDraft[];
}

const DEPRECATED: Readonly<Record<string, string>> = {
  timeout: 'timeout directive deprecated in favour of checktimeout and negotiatetimeout',
  connecttimeout: 'connecttimeout directive deprecated in favour of negotiatetimeout',
};

const has = (table: object, key: string): boolean => Object.hasOwn(table, key);

/** Reads a column-0 directive. */
function readGlobal(d: RawDirective, g: GlobalDraft, ctx: DirectiveContext): void {
  const handler = has(GLOBAL_DIRECTIVES, d.key) ? GLOBAL_DIRECTIVES[d.key] : undefined;
  if (handler) {
    handler(d, g, ctx);
  } else if (has(DEPRECATED, d.key)) {
    ctx.sink.error('deprecated', d.pos, DEPRECATED[d.key] as string, d.key);
  } else if (/^\s/.test(d.key)) {
    ctx.sink.error(
      'misplaced',
      d.pos,
      `indented line outside a virtual section: "${redactCredentialLine(d.key.trim())}" (a blank line ends a section)`,
    );
  } else if (has(VIRTUAL_DIRECTIVES, d.key)) {
    ctx.sink.error(
      'misplaced',
      d.pos,
      `${d.key} is only valid inside a virtual section (indent it by 4 spaces or a tab)`,
      d.key,
    );
  } else {
    ctx.sink.error('unknown-directive', d.pos, `unknown directive "${redactCredentialLine(d.key)}"`, d.key);
  }
}

/** Reads one body line of a virtual section. */
function readBody(d: RawDirective, v: VirtualDraft, ctx: DirectiveContext): void {
  const handler = has(VIRTUAL_DIRECTIVES, d.key) ? VIRTUAL_DIRECTIVES[d.key] : undefined;
  if (handler) {
    v.written.set(d.key, d.pos);
    handler(d, v, ctx);
  } else if (d.key.trim() === '') {
    ctx.sink.error(
      'syntax',
      d.pos,
      'line of only white space inside a virtual section (ldirectord rejects it; an empty line ends the section)',
    );
  } else if (has(DEPRECATED, d.key)) {
    ctx.sink.error('deprecated', d.pos, DEPRECATED[d.key] as string, d.key);
  } else if (has(GLOBAL_DIRECTIVES, d.key)) {
    ctx.sink.error(
      'misplaced',
      d.pos,
      `${d.key} is a global directive: write it in column 0, outside virtual sections`,
      d.key,
    );
  } else {
    ctx.sink.error('unknown-directive', d.pos, `unknown directive "${redactCredentialLine(d.key)}"`, d.key);
  }
}

/** Opens a draft for a virtual section (its address is undefined when it cannot be read; the error is recorded). */
function openVirtual(rv: RawVirtual, ctx: DirectiveContext): VirtualDraft {
  const family = rv.keyword === 'virtual6' ? 'inet6' : 'inet';
  const pseudo: RawDirective = { key: rv.keyword, value: rv.value, pos: rv.pos, syntax: rv.syntax };
  const parsed = parseVirtualAddress(rv.value, family === 'inet6');
  if (parsed.ok && parsed.value.kind === 'fwmark' && parsed.ignored) {
    ctx.sink.warn(
      'ignored-text',
      rv.pos,
      `${rv.keyword}=${rv.value} is read as firewall mark ${parsed.value.mark}, as ldirectord does (an address needs :port)`,
      rv.keyword,
    );
  }
  const address = accept(
    pseudo,
    parsed.ok && parsed.value.kind === 'fwmark' ? { ok: true, value: parsed.value } : parsed,
    ctx,
  );
  const isMark = address?.kind === 'fwmark';
  const udpPort = address?.kind === 'address' && (address.port === '53' || address.port === 'domain');
  return {
    family,
    address,
    pos: rv.pos,
    endLine: rv.endLine,
    written: new Map(),
    protocol: isMark ? 'fwm' : udpPort ? 'udp' : 'tcp',
    checktype: 'negotiate',
    connects: 0,
    ...(isMark ? { service: 'none' as const } : {}),
    checkcommand: DEFAULTS.checkCommand,
    request: DEFAULTS.request,
    receive: DEFAULTS.receive,
    httpmethod: DEFAULTS.httpMethod,
    scheduler: DEFAULTS.scheduler,
    ops: false,
    reals: [],
  };
}

/** Reads every directive of `doc` into drafts, recording errors and warnings in `ctx.sink`. */
export function readDirectives(doc: ConfigDocument, ctx: DirectiveContext): Drafts {
  const global: GlobalDraft = { execute: new Set() };
  const virtuals: VirtualDraft[] = [];
  for (const entry of doc.entries) {
    if (entry.kind === 'directive') {
      readGlobal(entry.directive, global, ctx);
      continue;
    }
    const draft = openVirtual(entry.virtual, ctx);
    for (const d of entry.virtual.body) readBody(d, draft, ctx);
    virtuals.push(draft);
  }
  return { global, virtuals };
}
