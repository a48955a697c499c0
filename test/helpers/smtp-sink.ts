// A real SMTP server on 127.0.0.1 (the smtp-server package) that keeps and parses every mail it accepts.
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { parseMail, type ReceivedMail } from './alerts';

/** Options of {@link startSmtpSink}. */
export interface SmtpSinkOptions {
  /** Port to listen on; 0 = any free port. */
  readonly port?: number;
  /** Require AUTH with these credentials (only after STARTTLS, as a real relay). */
  readonly auth?: { readonly login: string; readonly passwd: string };
}

/** A running sink: its port, what it received, and how to stop it. */
export interface SmtpSink {
  readonly port: number;
  readonly mails: ReceivedMail[];
  /** Failed AUTH attempts. */
  readonly authFailures: number;
  stop(): Promise<void>;
}

/** Starts an SMTP server on 127.0.0.1 that accepts every mail (STARTTLS offered with smtp-server's built-in certificate). */
export function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const mails: ReceivedMail[] = [];
  let authFailures = 0;
  const serverOptions: SMTPServerOptions = {
    logger: false,
    disableReverseLookup: true,
    authOptional: options.auth === undefined,
    onAuth(auth, _session, callback) {
      const want = options.auth;
      if (want && auth.username === want.login && auth.password === want.passwd) {
        callback(null, { user: auth.username });
        return;
      }
      authFailures++;
      callback(Object.assign(new Error('Authentication failed'), { responseCode: 535 }));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const env = session.envelope;
        mails.push(
          parseMail(Buffer.concat(chunks).toString('utf8'), {
            from: env.mailFrom ? env.mailFrom.address : '',
            to: env.rcptTo.map((r) => r.address),
            ...(session.user !== undefined ? { user: String(session.user) } : {}),
            secure: session.secure,
          }),
        );
        callback();
      });
    },
  };
  const server = new SMTPServer(serverOptions);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const listener = server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      server.on('error', () => undefined);
      const address = listener.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      resolve({
        port,
        mails,
        get authFailures() {
          return authFailures;
        },
        stop: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
}

/** Waits until `predicate` holds, polling every 20 ms; false after `timeoutMs`. */
export async function waitFor(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (predicate()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return predicate();
}
