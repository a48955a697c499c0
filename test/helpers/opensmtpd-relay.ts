// A real OpenSMTPD on 127.0.0.1 for the alert tests: it takes mail for any address and delivers each message into a
// file per recipient, and refuses what the test asks for with its built-in filters (a 4xx or 5xx reply at RCPT TO,
// at the DATA command, or at the end of the data). Restartable on the same port with other rules.
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseMail } from './alerts';
import { runSmtpd, stopDaemon, type Daemon } from './mail-ftp-servers';
import { freePort, waitForPort } from './system';

/** One refusal rule: OpenSMTPD's `filter NAME phase PHASE match ... reject "REPLY"`. */
export interface SmtpdRefusal {
  /**
   * `rcpt-to`: the RCPT TO command, matched on the recipient; `data`: the DATA command, and `commit`: the end of the
   * data (the reply to the final dot), both matched on the sender.
   */
  readonly phase: 'rcpt-to' | 'data' | 'commit';
  /** Regular expression on the recipient (`rcpt-to`) or the envelope sender (`data`, `commit`). */
  readonly match: string;
  /** The reply, starting with its code: `451 4.7.1 try again later`. */
  readonly reply: string;
}

/** A running OpenSMTPD. */
export interface OpenSmtpdRelay {
  readonly port: number;
  /** The messages delivered to `recipient` so far (raw text, one entry per message). */
  delivered(recipient: string): string[];
  /** The subjects (unfolded, decoded) of the messages delivered to `recipient`, sorted. */
  subjects(recipient: string): string[];
  /** What smtpd logged (`-d`: every session, each failed command with its reply, each delivery). */
  log(): string;
  /** Stops it and starts it again on the same port with `refusals` (the queue starts empty; deliveries are kept). */
  restart(refusals: readonly SmtpdRefusal[]): Promise<void>;
  /** Stops it and removes its directory. */
  stop(): Promise<void>;
}

function config(port: number, dir: string, refusals: readonly SmtpdRefusal[]): string {
  const filters = refusals.map((r, i) => {
    const on = r.phase === 'rcpt-to' ? 'rcpt-to' : 'mail-from';
    return `filter "refuse${i}" phase ${r.phase} match ${on} regex ${JSON.stringify(r.match)} reject ${JSON.stringify(r.reply)}`;
  });
  const chain =
    refusals.length > 0 ? [`filter "refusals" chain { ${refusals.map((_, i) => `"refuse${i}"`).join(', ')} }`] : [];
  return [
    ...filters,
    ...chain,
    `listen on 127.0.0.1 port ${port}${refusals.length > 0 ? ' filter "refusals"' : ''}`,
    // Every address is a virtual user delivered as nobody: the mda writes one file per message and recipient, under a
    // temporary name first, so that a file the test sees is whole.
    'table vusers { "@" = "nobody" }',
    `action "keep" mda "cat > ${join(dir, 'mail')}/.part.$$ && mv ${join(dir, 'mail')}/.part.$$ ${join(dir, 'mail')}/%{rcpt}.$$" virtual <vusers>`,
    'match from any for any action "keep"',
    '',
  ].join('\n');
}

/**
 * Starts OpenSMTPD on a free port of 127.0.0.1 with `refusals`, and waits until it accepts connections (throws with
 * its output when it does not within 15 s).
 */
export async function startOpenSmtpd(refusals: readonly SmtpdRefusal[] = []): Promise<OpenSmtpdRelay> {
  const dir = mkdtempSync(join(tmpdir(), 'ldir-opensmtpd-'));
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, 'mail'));
  chmodSync(join(dir, 'mail'), 0o777); // the mda runs as nobody
  const port = await freePort();
  let daemon: Daemon | undefined;
  let earlier = '';
  const start = async (rules: readonly SmtpdRefusal[]): Promise<void> => {
    writeFileSync(join(dir, 'smtpd.conf'), config(port, dir, rules));
    const d = runSmtpd(join(dir, 'smtpd.conf'), dir);
    daemon = d;
    const died = new Promise<never>((_, reject) =>
      d.child.once('exit', (code, sig) => reject(new Error(`smtpd exited (${code ?? sig}): ${d.output.trim()}`))),
    );
    died.catch(() => undefined);
    await Promise.race([waitForPort(port, '127.0.0.1', 15_000), died]).catch((err: unknown) => {
      throw new Error(
        `OpenSMTPD on port ${port}: ${err instanceof Error ? err.message : String(err)}\n${d.output.trim()}`,
      );
    });
  };
  const halt = async (): Promise<void> => {
    if (!daemon) return;
    earlier += daemon.output;
    await stopDaemon(daemon);
    daemon = undefined;
  };
  try {
    await start(refusals);
  } catch (err) {
    await halt();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const delivered = (recipient: string): string[] =>
    readdirSync(join(dir, 'mail'))
      .filter((f) => !f.startsWith('.') && f.slice(0, f.lastIndexOf('.')) === recipient)
      .map((f) => readFileSync(join(dir, 'mail', f), 'utf8'));
  return {
    port,
    delivered,
    subjects: (recipient) =>
      delivered(recipient)
        .map((m) => parseMail(m, { from: '', to: [recipient], secure: false }).subject)
        .sort(),
    log: () => earlier + (daemon?.output ?? ''),
    restart: async (rules) => {
      await halt();
      await start(rules);
    },
    stop: async () => {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
