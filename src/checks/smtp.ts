// SMTP negotiate check (services `smtp` and `submission`): greeting and EHLO (HELO fallback), then QUIT.
//
// nodemailer's SMTPConnection does exactly Net::SMTP->new's handshake (220 greeting, EHLO, HELO when EHLO is
// refused) with per-phase timeouts; `ignoreTLS` keeps it from upgrading with STARTTLS, which Net::SMTP never does.
import type SMTPConnectionType from 'nodemailer/lib/smtp-connection';
import { fail, guardCheck, pass, reasonOf, type CheckVerdict } from './guard';
import { shortLine } from './line-session';
import type { CheckJob, Checker } from './types';

/** The parts of a nodemailer error that tell what failed. */
interface SmtpError {
  readonly code?: unknown;
  readonly originalCode?: unknown;
  readonly response?: unknown;
  readonly command?: unknown;
}

/** A short reason for a nodemailer SMTP error: the socket errno, else the command and the server's reply. */
export function smtpReason(err: unknown): string {
  const e = (err && typeof err === 'object' ? err : {}) as SmtpError;
  if (typeof e.originalCode === 'string') return reasonOf({ code: e.originalCode, message: reasonOf(err) });
  if (e.code === 'ETIMEDOUT') return 'timeout';
  if (typeof e.response === 'string') {
    const step = e.command === 'CONN' || e.command === undefined ? 'greeting' : String(e.command);
    return `${step}: ${shortLine(e.response)}`;
  }
  return reasonOf(err);
}

/**
 * SMTP check, as ldirectord's `check_smtp` (`Net::SMTP->new` then `quit`): up when the server greets with 220 and
 * accepts EHLO (or, after refusing EHLO, HELO). Bounded by `negotiateTimeoutMs`; QUIT is sent after the verdict.
 */
export const smtpCheck: Checker = (job, signal) =>
  guardCheck(signal, job.negotiateTimeoutMs, (inner) => smtpHandshake(job, inner));

/** nodemailer's SMTP client, loaded on the first SMTP check (as the other protocol clients): daemon start-up. */
function loadSmtpConnection(): typeof SMTPConnectionType {
  return require('nodemailer/lib/smtp-connection') as typeof SMTPConnectionType;
}

function smtpHandshake(job: CheckJob, signal: AbortSignal): Promise<CheckVerdict> {
  const SMTPConnection = loadSmtpConnection();
  return new Promise<CheckVerdict>((resolve) => {
    const timeout = Math.max(1, job.negotiateTimeoutMs);
    const connection = new SMTPConnection({
      host: job.address,
      port: job.port,
      secure: false,
      ignoreTLS: true,
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
      socketCloseTimeout: 0,
      logger: false,
      debug: false,
    });
    let settled = false;
    const settle = (verdict: CheckVerdict): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      resolve(verdict);
    };
    const onAbort = (): void => {
      connection.close();
      settle(fail('timeout'));
    };
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    // Errors after the verdict (e.g. during QUIT) are expected and ignored; the listener also keeps them from being
    // thrown as unhandled 'error' events.
    connection.on('error', (err: unknown) => settle(fail(smtpReason(err))));
    connection.connect((err) => {
      if (err) {
        settle(fail(smtpReason(err)));
        connection.close();
        return;
      }
      settle(pass('greeting and EHLO/HELO ok'));
      connection.quit();
    });
  });
}
