// What one send attempt did for each recipient of an alert mail: delivered, refused for good, or to be tried again.
// Pure: the mail queue acts on the outcome (logs, counters, the retry of the recipients still owed the mail).
import { errorMessage } from '../errors';

/** A recipient the server refused while it took the mail for others, or while it refused every recipient. */
export interface RecipientRefusal {
  readonly recipient: string;
  /** SMTP reply code, when the server gave one. */
  readonly responseCode?: number;
  /** The server's reply (`550 5.1.1 no such user`), or what went wrong without one. */
  readonly reply: string;
}

/** What a transport says of a send it completed: the recipients the server refused (RCPT TO), if any. */
export interface SendReport {
  readonly refused: readonly RecipientRefusal[];
}

/** Recipients given up for one reason: never retried, logged with the reply. */
export interface GivenUp {
  readonly to: readonly string[];
  readonly responseCode?: number;
  readonly reply: string;
}

/** The recipients of an attempt still owed the mail, and why the attempt did not reach them. */
export interface Retry {
  readonly to: readonly string[];
  readonly responseCode?: number;
  readonly reason: string;
  /**
   * True when the server deferred these recipients one by one (a 4xx at RCPT TO) while it answered: other mails can
   * go meanwhile. False when the attempt failed as a whole (no connection, a 4xx at DATA, a dropped connection).
   */
  readonly perRecipient: boolean;
}

/** Per recipient, what an attempt did; every recipient of the mail is in exactly one of the three. */
export interface DeliveryOutcome {
  readonly delivered: readonly string[];
  readonly givenUp: readonly GivenUp[];
  readonly retry: Retry | undefined;
}

/** The result of one attempt: the transport's report, or the error it failed with. */
export type Attempt =
  | { readonly ok: true; readonly report?: SendReport | void }
  | { readonly ok: false; readonly error: unknown };

/** True for a reply that refuses for good (5xx); a 4xx reply, or no reply (a dropped connection, a timeout), is temporary. */
export function isPermanent(responseCode: number | undefined): boolean {
  return responseCode !== undefined && responseCode >= 500 && responseCode < 600;
}

/** SMTP reply code of a transport error, when it has one. */
export function responseCodeOf(err: unknown): number | undefined {
  const code = (err as { responseCode?: unknown } | null)?.responseCode;
  return typeof code === 'number' ? code : undefined;
}

/** Short text of a send error for logs (first line; transports never put credentials in their messages). */
export function sendErrorText(err: unknown): string {
  const text = errorMessage(err);
  return text.split('\n')[0]?.slice(0, 300) ?? '';
}

/** The per-recipient refusals an error carries (`refused`, set by the transport when every recipient was refused). */
export function refusalsOf(err: unknown): readonly RecipientRefusal[] {
  const refused = (err as { refused?: unknown } | null)?.refused;
  return Array.isArray(refused) ? (refused as RecipientRefusal[]) : [];
}

const key = (address: string): string => address.trim().toLowerCase();

/**
 * Decides, for every recipient of `to`, what `attempt` did. A completed send delivered the mail to every recipient
 * but those it reports refused. A failed send with per-recipient refusals (every recipient refused at RCPT TO) reached
 * none. Any other failure applies to all recipients alike: its reply code when it has one (5xx at MAIL FROM, at DATA,
 * at the end of the data, AUTH), none for a refused or dropped connection or a timeout. Refusals with a 5xx code are
 * given up; everything else is retried, for those recipients only.
 */
export function deliveryOutcome(to: readonly string[], attempt: Attempt): DeliveryOutcome {
  let refused: readonly RecipientRefusal[];
  if (attempt.ok) {
    refused = attempt.report ? attempt.report.refused : [];
  } else {
    refused = refusalsOf(attempt.error);
    if (refused.length === 0) {
      const responseCode = responseCodeOf(attempt.error);
      const reply = sendErrorText(attempt.error);
      const code = responseCode !== undefined ? { responseCode } : {};
      if (isPermanent(responseCode))
        return { delivered: [], givenUp: [{ to: [...to], reply, ...code }], retry: undefined };
      return { delivered: [], givenUp: [], retry: { to: [...to], reason: reply, perRecipient: false, ...code } };
    }
  }
  const byRecipient = new Map(refused.map((r) => [key(r.recipient), r]));
  const delivered: string[] = [];
  const givenUp: GivenUp[] = [];
  const again: string[] = [];
  let firstTemporary: RecipientRefusal | undefined;
  for (const address of to) {
    const r = byRecipient.get(key(address));
    if (!r) {
      // Not refused: delivered when the send completed; with a failed send every recipient is in `refused`.
      if (attempt.ok) delivered.push(address);
      else again.push(address);
    } else if (isPermanent(r.responseCode)) {
      givenUp.push({
        to: [address],
        reply: r.reply,
        ...(r.responseCode !== undefined ? { responseCode: r.responseCode } : {}),
      });
    } else {
      again.push(address);
      firstTemporary ??= r;
    }
  }
  const reason = firstTemporary?.reply ?? (attempt.ok ? '' : sendErrorText(attempt.error));
  const code = firstTemporary?.responseCode;
  const retry =
    again.length > 0
      ? { to: again, reason, perRecipient: true, ...(code !== undefined ? { responseCode: code } : {}) }
      : undefined;
  return { delivered, givenUp, retry };
}
