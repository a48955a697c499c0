// The ldir extension directives of alerting: alertcommand, smtptls, smtplogin, smtppasswd (global and per virtual),
// emailalertwindow, emailalertinterval, emailalertflap (global), and the model values built from them.
import type { AlertSpec, AlertThrottle, SmtpTls, SourcePos } from '../model';
import { SMTP_TLS_MODES } from '../model';
import { readOptionallyQuoted, valueText } from './cf-values';
import { DEFAULTS } from './defaults';
import type { DiagnosticSink } from './diagnostics';
import type { DirectiveHandler } from './directives-shared';
import type { Drafts } from './read-directives';
import type { GlobalDraft, SharedSettings } from './settings';

/** Most seconds `emailalertwindow` accepts (a longer wait would make alerts useless). */
export const MAX_ALERT_WINDOW = 3600;
/** Most seconds `emailalertinterval` and the period of `emailalertflap` accept (one day). */
export const MAX_ALERT_PERIOD = 86_400;

/** A non-empty optionally quoted value; `what` names it in the error (never the value: it may be a secret). */
function nonEmpty(field: 'alertcommand' | 'smtplogin' | 'smtppasswd', what: string): DirectiveHandler<SharedSettings> {
  return (d, s, ctx) => {
    const v = readOptionallyQuoted(d);
    if (v === '') {
      ctx.sink.error('invalid-value', d.pos, `invalid ${what}: empty`, d.key);
      return;
    }
    s[field] = v;
    if (field !== 'alertcommand') (s.alertpos ??= {})[field] = d.pos;
  };
}

/** Whole-value integer from 0 to `max` seconds (new directives: no ldirectord leniency to reproduce). */
function seconds(field: 'emailalertwindow' | 'emailalertinterval', max: number): DirectiveHandler<GlobalDraft> {
  return (d, g, ctx) => {
    const text = valueText(d);
    if (!/^\d+$/.test(text) || Number(text) > max) {
      ctx.sink.error(
        'invalid-value',
        d.pos,
        `${d.key} must be a number of seconds from 0 to ${max}, not "${text}"`,
        d.key,
      );
      return;
    }
    g[field] = Number(text);
  };
}

/** Alert directives valid both globally and in a virtual section. */
export const ALERT_SHARED_DIRECTIVES: Readonly<Record<string, DirectiveHandler<SharedSettings>>> = {
  alertcommand: nonEmpty('alertcommand', 'alert command'),
  smtplogin: nonEmpty('smtplogin', 'SMTP login'),
  smtppasswd: nonEmpty('smtppasswd', 'SMTP password'),
  smtptls: (d, s, ctx) => {
    const text = valueText(d);
    if (!(SMTP_TLS_MODES as readonly string[]).includes(text)) {
      ctx.sink.error(
        'invalid-value',
        d.pos,
        `smtptls must be one of ${SMTP_TLS_MODES.join(', ')}, not "${text}"`,
        d.key,
      );
      return;
    }
    s.smtptls = text as SmtpTls;
    (s.alertpos ??= {}).smtptls = d.pos;
  },
};

/** Alert directives valid only globally (they govern mails that gather events of several virtual services). */
export const ALERT_GLOBAL_DIRECTIVES: Readonly<Record<string, DirectiveHandler<GlobalDraft>>> = {
  emailalertwindow: seconds('emailalertwindow', MAX_ALERT_WINDOW),
  emailalertinterval: seconds('emailalertinterval', MAX_ALERT_PERIOD),
  emailalertflap: (d, g, ctx) => {
    const text = valueText(d);
    if (text === 'no') {
      g.emailalertflap = { changes: 0, period: DEFAULTS.emailAlertFlapPeriod };
      return;
    }
    const m = /^(\d+)\/(\d+)$/.exec(text);
    const changes = Number(m?.[1]);
    const period = Number(m?.[2]);
    if (!m || changes < 2 || changes > 1000 || period < 1 || period > MAX_ALERT_PERIOD) {
      ctx.sink.error(
        'invalid-value',
        d.pos,
        `emailalertflap must be CHANGES/SECONDS (2..1000 changes, 1..${MAX_ALERT_PERIOD} seconds) or no, not "${text}"`,
        d.key,
      );
      return;
    }
    g.emailalertflap = { changes, period };
  },
};

/** Checks one level (the globals or one virtual section): login and password go together; `none` exposes them. */
function checkLevel(s: SharedSettings, sink: DiagnosticSink): void {
  const pos = s.alertpos ?? {};
  if ((s.smtplogin === undefined) !== (s.smtppasswd === undefined)) {
    const [given, missing] = s.smtplogin !== undefined ? ['smtplogin', 'smtppasswd'] : ['smtppasswd', 'smtplogin'];
    const at = pos[given as 'smtplogin' | 'smtppasswd'] as SourcePos;
    sink.error(
      'invalid-value',
      at,
      `${given} needs ${missing} in the same place (both globally, or both in the virtual section)`,
      given,
    );
  }
  if (s.smtptls === 'none' && s.smtplogin !== undefined && pos.smtptls) {
    sink.warn(
      'ignored-setting',
      pos.smtptls,
      'smtptls=none sends the SMTP login and password in clear text',
      'smtptls',
    );
  }
}

/** Checks the alert settings of the globals and of every virtual section, once each. */
export function checkAlertDrafts(drafts: Drafts, sink: DiagnosticSink): void {
  checkLevel(drafts.global, sink);
  for (const v of drafts.virtuals) checkLevel(v, sink);
}

/**
 * The alert settings added by ldir to a virtual's {@link AlertSpec}: credentials come as a pair from the virtual
 * section when it names either, else from the globals; TLS defaults to `may`, or `encrypt` with credentials.
 */
export function alertExtras(v: SharedSettings, g: SharedSettings): Pick<AlertSpec, 'smtpTls' | 'smtpAuth' | 'command'> {
  const own = v.smtplogin !== undefined || v.smtppasswd !== undefined;
  const from = own ? v : g;
  const smtpAuth =
    from.smtplogin !== undefined && from.smtppasswd !== undefined
      ? { login: from.smtplogin, passwd: from.smtppasswd }
      : undefined;
  const command = v.alertcommand ?? g.alertcommand;
  return {
    smtpTls: v.smtptls ?? g.smtptls ?? (smtpAuth ? 'encrypt' : 'may'),
    ...(smtpAuth ? { smtpAuth } : {}),
    ...(command !== undefined ? { command } : {}),
  };
}

/** The global alert throttle with defaults applied. */
export function buildAlertThrottle(g: GlobalDraft): AlertThrottle {
  return {
    window: g.emailalertwindow ?? DEFAULTS.emailAlertWindow,
    interval: g.emailalertinterval ?? DEFAULTS.emailAlertInterval,
    flapChanges: g.emailalertflap?.changes ?? DEFAULTS.emailAlertFlapChanges,
    flapPeriod: g.emailalertflap?.period ?? DEFAULTS.emailAlertFlapPeriod,
  };
}
