// Mail transports over nodemailer: SMTP (`smtp=HOST[:PORT]`, STARTTLS per `smtptls`, optional AUTH) or sendmail.
import { createHmac, randomBytes } from 'node:crypto';
import { ErrorCodes, errorMessage, LdirError } from '../errors';
import type { AlertSpec } from '../model';
import { responseCodeOf, type RecipientRefusal, type SendReport } from './delivery';
import type { MailTransport, MailTransportFactory, MailTransportSettings } from './types';

/** SMTP port when `smtp` names none (ldirectord always uses 25). */
export const DEFAULT_SMTP_PORT = 25;

/** Host and port of an `smtp` value: `host`, `host:port` or `[IPv6]:port` (brackets removed). */
export function parseSmtp(smtp: string): { host: string; port: number } {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:]+)):(\d{1,5})$/.exec(smtp);
  if (m) return { host: (m[1] ?? m[2]) as string, port: Number(m[3]) };
  return { host: smtp.replace(/^\[(.*)\]$/, '$1'), port: DEFAULT_SMTP_PORT };
}

/** The transport settings of a virtual's alert spec: SMTP when `smtp` is set, else sendmail. */
export function transportSettings(spec: AlertSpec): MailTransportSettings {
  if (spec.smtp === undefined) return { kind: 'sendmail' };
  const { host, port } = parseSmtp(spec.smtp);
  return { kind: 'smtp', host, port, tls: spec.smtpTls, ...(spec.smtpAuth ? { auth: spec.smtpAuth } : {}) };
}

/** Names a transport in logs and metrics: `smtp HOST:PORT` or `sendmail`; never credentials. */
export function transportLabel(s: MailTransportSettings): string {
  if (s.kind === 'sendmail') return 'sendmail';
  return `smtp ${s.host.includes(':') ? `[${s.host}]` : s.host}:${s.port}`;
}

/**
 * A key that is equal for equal settings; the password enters through a keyed hash (the key is random per call of
 * this factory's owner), so the key itself reveals nothing.
 */
export function transportKeyer(secretKey: Uint8Array = randomBytes(32)): (s: MailTransportSettings) => string {
  return (s) => {
    if (s.kind === 'sendmail') return 'sendmail';
    const pw = s.auth ? createHmac('sha256', secretKey).update(s.auth.passwd).digest('hex').slice(0, 16) : '';
    return JSON.stringify(['smtp', s.host, s.port, s.tls, s.auth?.login ?? '', pw]);
  };
}

/** Timeouts of SMTP conversations, in milliseconds. */
export interface SmtpTimeouts {
  readonly connectionMs?: number;
  readonly greetingMs?: number;
  readonly socketMs?: number;
}

/** nodemailer's TLS options for an `smtptls` mode (Postfix's security levels). */
function tlsOptions(s: Extract<MailTransportSettings, { kind: 'smtp' }>): Record<string, unknown> {
  switch (s.tls) {
    case 'none':
      return { ignoreTLS: true };
    case 'may':
      return { opportunisticTLS: true, tls: { rejectUnauthorized: false } };
    case 'encrypt':
      return { requireTLS: true, tls: { rejectUnauthorized: false } };
    case 'verify':
      return { requireTLS: true, tls: { rejectUnauthorized: true, servername: s.host } };
  }
  return {};
}

/**
 * The recipients nodemailer reports refused at RCPT TO (`rejectedErrors` of a send's info, or of the error when every
 * recipient was refused), each with the server's reply.
 */
function refusals(x: unknown): RecipientRefusal[] {
  const list = (x as { rejectedErrors?: unknown } | null)?.rejectedErrors;
  if (!Array.isArray(list)) return [];
  const out: RecipientRefusal[] = [];
  for (const r of list as Array<{ recipient?: unknown; response?: unknown; message?: unknown }>) {
    if (typeof r?.recipient !== 'string') continue;
    const responseCode = responseCodeOf(r);
    const reply = typeof r.response === 'string' ? r.response : String(r.message ?? 'refused');
    out.push({
      recipient: r.recipient,
      reply: reply.split('\n')[0]?.slice(0, 300) ?? '',
      ...(responseCode !== undefined ? { responseCode } : {}),
    });
  }
  return out;
}

/**
 * Wraps a nodemailer error into an {@link LdirError} that keeps the SMTP reply code and, when every recipient was
 * refused, each recipient's refusal (`refused`); no credentials in it.
 */
function sendError(err: unknown, label: string): LdirError & { responseCode?: number; refused?: RecipientRefusal[] } {
  const responseCode = responseCodeOf(err);
  const message = errorMessage(err);
  const e = new LdirError(ErrorCodes.ALERT_SEND_FAILED, `${label}: ${message}`, {
    cause: err,
    details: { transport: label, ...(responseCode !== undefined ? { responseCode } : {}) },
  }) as LdirError & { responseCode?: number; refused?: RecipientRefusal[] };
  if (responseCode !== undefined) e.responseCode = responseCode;
  const refused = refusals(err);
  if (refused.length > 0) e.refused = refused;
  return e;
}

/**
 * The default {@link MailTransportFactory}: nodemailer's SMTP transport (one connection per mail, EHLO with
 * `hostname`, STARTTLS per `smtptls`, AUTH when configured) or its sendmail transport (`sendmail -i -f FROM TO...`).
 * Mails carry `Auto-Submitted: auto-generated` so that vacation responders stay quiet.
 */
export function nodemailerTransports(timeouts: SmtpTimeouts = {}, sendmailPath = 'sendmail'): MailTransportFactory {
  return (settings, hostname) => {
    // Loaded with the first transport (the first mail), not with the daemon: most directors send none for days.
    const { createTransport } = require('nodemailer') as typeof import('nodemailer');
    const label = transportLabel(settings);
    const transporter =
      settings.kind === 'sendmail'
        ? createTransport({ sendmail: true, path: sendmailPath, newline: 'unix' })
        : createTransport({
            host: settings.host,
            port: settings.port,
            secure: false,
            name: hostname,
            connectionTimeout: timeouts.connectionMs ?? 10_000,
            greetingTimeout: timeouts.greetingMs ?? 10_000,
            socketTimeout: timeouts.socketMs ?? 30_000,
            logger: false,
            debug: false,
            ...tlsOptions(settings),
            ...(settings.auth ? { auth: { user: settings.auth.login, pass: settings.auth.passwd } } : {}),
          });
    const transport: MailTransport = {
      send: async (mail, signal): Promise<SendReport> => {
        try {
          const info: unknown = await transporter.sendMail({
            from: mail.from,
            to: [...mail.to],
            subject: mail.subject,
            text: mail.text,
            headers: { 'Auto-Submitted': 'auto-generated' },
            signal,
          });
          return { refused: refusals(info) };
        } catch (err) {
          throw sendError(err, label);
        }
      },
      close: () => transporter.close(),
    };
    return transport;
  };
}
