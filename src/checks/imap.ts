// IMAP negotiate check (services `imap` and `imaps`): greeting, optional LOGIN, LOGOUT.
//
// A tiny client on LineSession rather than imapflow: the check needs a greeting and at most one tagged command;
// imapflow would add a dozen dependencies and extra round trips (CAPABILITY, ID, ENABLE) to every check.
import { fail, guardCheck, pass, type CheckVerdict } from './guard';
import { breaksLine, LineSession, shortLine } from './line-session';
import type { CheckJob, Checker } from './types';

/** Most untagged lines read while waiting for a tagged reply (bounds a chatty or hostile server). */
const MAX_UNTAGGED = 100;

/** An IMAP quoted string (RFC 3501 `quoted`): backslash and double quote escaped. */
export function imapQuote(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/**
 * IMAP check, as ldirectord's `check_imap`/`check_imaps` (Net::IMAP::Simple): up when the server greets with
 * `* OK` (or `* PREAUTH`) and, when `login` is set, `LOGIN` is answered with a tagged `OK`. `imaps` speaks TLS from
 * the first byte (certificate verified only with `tlsVerify`). Bounded by `negotiateTimeoutMs`.
 */
export const imapCheck: Checker = (job, signal) =>
  guardCheck(signal, job.negotiateTimeoutMs, (inner) => imapDialogue(job, inner));

async function imapDialogue(job: CheckJob, signal: AbortSignal): Promise<CheckVerdict> {
  if (job.login !== '' && (breaksLine(job.login) || breaksLine(job.passwd))) {
    return fail('login or password contains a line break');
  }
  const session = await LineSession.open(job, job.service === 'imaps', signal);
  try {
    const greeting = await session.readLine();
    const preauth = /^\*\s+PREAUTH\b/i.test(greeting);
    if (!preauth && !/^\*\s+OK\b/i.test(greeting)) return fail(`greeting: ${shortLine(greeting)}`);
    if (job.login === '' || preauth) {
      await session.farewell('L2 LOGOUT');
      return pass(preauth ? 'greeting PREAUTH' : 'greeting OK');
    }
    session.writeLine(`L1 LOGIN ${imapQuote(job.login)} ${imapQuote(job.passwd)}`);
    const reply = await tagged(session, 'L1');
    if (!/^L1\s+OK\b/i.test(reply)) return fail(`login rejected: ${shortLine(reply.slice(3))}`);
    await session.farewell('L2 LOGOUT');
    return pass('login ok');
  } finally {
    session.close();
  }
}

/** Reads lines until the one tagged `tag`, skipping untagged data (`*`) and returning anything else as the reply. */
async function tagged(session: LineSession, tag: string): Promise<string> {
  for (let i = 0; i < MAX_UNTAGGED; i++) {
    const line = await session.readLine();
    if (!line.startsWith('* ')) return line.startsWith(`${tag} `) ? line : `${tag} BAD ${line}`;
  }
  return `${tag} BAD too many untagged responses`;
}
