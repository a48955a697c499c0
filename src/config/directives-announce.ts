// Route health injection directives (ldir extensions): `announce`, `announcedelay`, `withdrawdelay` (global and per
// virtual), `announcesocket` and `announcefile` (global), and the model settings built from them.
import type { AnnounceDriver, AnnounceSettings, SourcePos, VirtualAnnounce } from '../model';
import { fail, ok, readBoundedInteger, readOptionallyQuoted, valueText, type ValueResult } from './cf-values';
import { DEFAULTS } from './defaults';
import type { DiagnosticSink } from './diagnostics';
import { accept, type DirectiveHandler } from './directives-shared';
import type { GlobalDraft, SharedSettings, VirtualDraft } from './settings';

/** Longest `announcedelay` / `withdrawdelay`: one hour (a hold-down is seconds to minutes; more is a typo). */
export const ANNOUNCE_DELAY_MAX_SECONDS = 3_600;

/** `bird` (BIRD 2), `frr` (FRR through vtysh) or `none`. */
export function readAnnounce(text: string): ValueResult<'bird' | 'frr' | 'none'> {
  const t = text.trim();
  if (t === 'bird' || t === 'frr' || t === 'none') return ok(t);
  return fail(`announce must be bird, frr or none, not "${t}"`);
}

/** An absolute path (the daemon's control socket, the include file). */
export function readAbsolutePath(text: string, what: string): ValueResult<string> {
  const t = text.trim();
  if (!t.startsWith('/')) return fail(`${what} must be an absolute path, not "${t}"`);
  if (/[\s"]/.test(t)) return fail(`${what} must not contain white space or a double quote: "${t}"`);
  return ok(t);
}

function delay(field: 'announcedelay' | 'withdrawdelay'): DirectiveHandler<SharedSettings> {
  return (d, s, ctx) => {
    const n = accept(d, readBoundedInteger(valueText(d), `${field} (seconds)`, 0, ANNOUNCE_DELAY_MAX_SECONDS), ctx);
    if (n !== undefined) s[field] = { value: n, pos: d.pos };
  };
}

/** Handlers shared by the global and the virtual tables. */
export const ANNOUNCE_SHARED_DIRECTIVES: Readonly<Record<string, DirectiveHandler<SharedSettings>>> = {
  announce: (d, s, ctx) => {
    const v = accept(d, readAnnounce(valueText(d)), ctx);
    if (v !== undefined) s.announce = { value: v, pos: d.pos };
  },
  announcedelay: delay('announcedelay'),
  withdrawdelay: delay('withdrawdelay'),
};

function path(field: 'announcesocket' | 'announcefile'): DirectiveHandler<GlobalDraft> {
  return (d, g, ctx) => {
    const v = accept(d, readAbsolutePath(readOptionallyQuoted(d), field), ctx);
    if (v !== undefined) g[field] = { value: v, pos: d.pos };
  };
}

/** Global-only handlers. */
export const ANNOUNCE_GLOBAL_DIRECTIVES: Readonly<Record<string, DirectiveHandler<GlobalDraft>>> = {
  announcesocket: path('announcesocket'),
  announcefile: path('announcefile'),
};

/**
 * How virtual `v` is announced: undefined when `announce` (its own, else the global one) is `none` or not written. A virtual
 * without an address (`fwmark`) has nothing to announce: an error at the line of `announce` (null).
 */
export function virtualAnnounce(
  v: VirtualDraft,
  g: GlobalDraft,
  hasAddress: boolean,
  sink: DiagnosticSink,
): VirtualAnnounce | undefined | null {
  const mode = v.announce ?? g.announce;
  if (mode === undefined || mode.value === 'none') {
    for (const [name, placed] of [
      ['announcedelay', v.announcedelay],
      ['withdrawdelay', v.withdrawdelay],
    ] as const) {
      if (placed)
        sink.warn(
          'ignored-setting',
          placed.pos,
          `${name} is unused: this virtual service is not announced (announce=bird|frr)`,
          name,
        );
    }
    return undefined;
  }
  if (!hasAddress) {
    // A global announce= simply leaves fwmark virtuals out; one written in the virtual is an error.
    if (v.announce === undefined) return undefined;
    sink.error(
      'invalid-value',
      mode.pos,
      `announce=${mode.value} needs a virtual address: a fwmark virtual service has no prefix to announce`,
      'announce',
    );
    return null;
  }
  return {
    driver: mode.value,
    delay: (v.announcedelay ?? g.announcedelay)?.value ?? 0,
    withdrawDelay: (v.withdrawdelay ?? g.withdrawdelay)?.value ?? 0,
    source: mode.pos,
  };
}

/**
 * The routing daemon settings when `announced` virtuals exist; else undefined, with a warning at each global
 * announce directive that then does nothing (`announcesocket`, `announcefile`, the delays). One configuration speaks
 * to one routing daemon: a virtual naming another driver than the first announced one is an error at its
 * `announce` (null). `announcefile` with FRR is unused (a warning): FRR holds ldir's statements itself.
 */
export function buildAnnounce(
  g: GlobalDraft,
  announced: readonly VirtualAnnounce[],
  sink: DiagnosticSink,
): AnnounceSettings | undefined | null {
  const first = announced[0];
  if (first !== undefined) {
    const driver: AnnounceDriver = first.driver;
    const other = announced.find((a) => a.driver !== driver);
    if (other) {
      sink.error(
        'invalid-value',
        other.source,
        `announce=${other.driver} here but announce=${driver} at ${first.source.file}:${first.source.line}: one configuration announces through one routing daemon`,
        'announce',
      );
      return null;
    }
    if (driver === 'frr') {
      if (g.announcefile)
        sink.warn(
          'ignored-setting',
          g.announcefile.pos,
          'announcefile is unused with announce=frr: FRR keeps the announced network statements in its running configuration',
          'announcefile',
        );
      return { driver, socket: g.announcesocket?.value ?? DEFAULTS.announceSocketFrr };
    }
    return {
      driver,
      socket: g.announcesocket?.value ?? DEFAULTS.announceSocket,
      file: g.announcefile?.value ?? DEFAULTS.announceFile,
    };
  }
  const unused: Array<[string, SourcePos | undefined]> = [
    ['announcesocket', g.announcesocket?.pos],
    ['announcefile', g.announcefile?.pos],
    ['announcedelay', g.announcedelay?.pos],
    ['withdrawdelay', g.withdrawdelay?.pos],
  ];
  for (const [name, pos] of unused) {
    if (pos)
      sink.warn('ignored-setting', pos, `${name} is unused: no virtual service is announced (announce=bird|frr)`, name);
  }
  return undefined;
}
