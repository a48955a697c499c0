// Test helpers for the alerter: a scripted mail transport, a scripted command runner, transitions, log capture,
// configurations with sub-second throttles, and a small parser of the mails an SMTP server receives.
import pino from 'pino';
import type { HealthTransition } from '../../src/model/health';
import type { Logger } from '../../src/log';
import type { AlertThrottle, Config, VirtualService } from '../../src/model';
import type {
  HookOutcome,
  HookRunner,
  MailTransportFactory,
  MailTransportSettings,
  OutgoingMail,
} from '../../src/alerts/types';

/** A mail the fake transport accepted, with the clock time it was sent at. */
export interface SentMail {
  readonly settings: MailTransportSettings;
  readonly mail: OutgoingMail;
  readonly at: number;
}

/** How the fake transport answers one send: accept, fail with an error, or never answer. */
export type SendBehaviour = 'ok' | 'hang' | Error;

/** A scripted transport: records sends; `next` answers in order, then `fallback`. */
export class FakeMail {
  readonly sent: SentMail[] = [];
  readonly attempts: SentMail[] = [];
  readonly next: SendBehaviour[] = [];
  fallback: SendBehaviour = 'ok';
  closed = 0;

  constructor(private readonly now: () => number) {}

  /** The factory to hand to createAlerter. */
  readonly factory: MailTransportFactory = (settings) => ({
    send: (mail, signal) => {
      const entry = { settings, mail, at: this.now() };
      this.attempts.push(entry);
      const b = this.next.shift() ?? this.fallback;
      if (b === 'ok') {
        this.sent.push(entry);
        return Promise.resolve();
      }
      if (b === 'hang') {
        return new Promise<void>((_, reject) =>
          signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }),
        );
      }
      return Promise.reject(b);
    },
    close: () => void this.closed++,
  });

  /** Subjects of the mails sent, in order. */
  subjects(): string[] {
    return this.sent.map((s) => s.mail.subject);
  }
}

/** An error like nodemailer's for an SMTP reply. */
export function smtpError(responseCode: number, message = `${responseCode} refused`): Error {
  return Object.assign(new Error(message), { responseCode });
}

/** A scripted command runner recording each call. */
export class FakeRunner {
  readonly calls: Array<{ argv: readonly string[]; env: Readonly<Record<string, string>> }> = [];
  /** Resolvers of calls still running (when `hold` is true). */
  readonly pending: Array<(o: HookOutcome) => void> = [];
  hold = false;
  outcome: HookOutcome = { exitCode: 0, signal: null, timedOut: false, stderr: '' };

  readonly run: HookRunner = (argv, { env }) => {
    this.calls.push({ argv, env });
    if (!this.hold) return Promise.resolve(this.outcome);
    return new Promise((resolve) => this.pending.push(resolve));
  };
}

/** A transition of `real` in `virtualId`. */
export function transition(
  virtualId: string,
  realKey: string,
  from: HealthTransition['from'],
  to: HealthTransition['to'],
  at: number,
  reason = to === 'up' ? 'ok' : 'refused',
): HealthTransition {
  return {
    virtualId,
    realKey,
    identity: `id:${realKey}`,
    from,
    to,
    reason,
    at,
    checkStartedAt: at,
    durationMs: 1,
    consecutiveFailures: to === 'down' ? 1 : 0,
  };
}

/** A debug logger whose records are kept as parsed objects (and raw text, to look for secrets). */
export function captureLogger(): { logger: Logger; records: Array<Record<string, unknown>>; text: () => string } {
  const raw: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void raw.push(line) });
  return {
    logger,
    get records() {
      return raw.map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    text: () => raw.join(''),
  };
}

/** A copy of `config` with another throttle and, per virtual, other alert settings. */
export function withAlerting(
  config: Config,
  throttle: Partial<AlertThrottle>,
  alerts: Partial<VirtualService['alerts']> = {},
): Config {
  return {
    ...config,
    globals: { ...config.globals, alerting: { ...config.globals.alerting, ...throttle } },
    virtualServices: config.virtualServices.map((v) => ({ ...v, alerts: { ...v.alerts, ...alerts } })),
  };
}

/** A mail as an SMTP server received it: envelope, headers (lower-case names, unfolded) and decoded text body. */
export interface ReceivedMail {
  readonly from: string;
  readonly to: readonly string[];
  readonly headers: ReadonlyMap<string, string>;
  readonly subject: string;
  readonly body: string;
  readonly user?: string;
  readonly secure: boolean;
}

/** Decodes RFC 2047 encoded words (B and Q) in a header value. */
function decodeWords(value: string): string {
  return value.replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=\s*/g, (_, _charset: string, enc: string, text: string) =>
    enc.toUpperCase() === 'B'
      ? Buffer.from(text, 'base64').toString('utf8')
      : Buffer.from(
          text
            .replace(/_/g, ' ')
            .replace(/=([0-9A-Fa-f]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))),
          'latin1',
        ).toString('utf8'),
  );
}

/** Parses a single-part text mail as nodemailer writes it (7bit, quoted-printable or base64). */
export function parseMail(
  raw: string,
  envelope: { from: string; to: readonly string[]; user?: string; secure: boolean },
): ReceivedMail {
  const text = raw.replace(/\r\n/g, '\n');
  const split = text.indexOf('\n\n');
  const head = text.slice(0, split).replace(/\n[ \t]+/g, ' ');
  let body = text.slice(split + 2);
  const headers = new Map<string, string>();
  for (const line of head.split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).toLowerCase(), decodeWords(line.slice(colon + 1).trim()));
  }
  const encoding = (headers.get('content-transfer-encoding') ?? '7bit').toLowerCase();
  if (encoding === 'quoted-printable') {
    body = Buffer.from(
      body.replace(/=\n/g, '').replace(/=([0-9A-Fa-f]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))),
      'latin1',
    ).toString('utf8');
  } else if (encoding === 'base64') {
    body = Buffer.from(body, 'base64').toString('utf8');
  }
  return { ...envelope, headers, subject: headers.get('subject') ?? '', body };
}
