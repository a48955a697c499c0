// POP3 negotiate check (services `pop` and `pops`): greeting, optional USER/PASS login, QUIT.
//
// A tiny client on LineSession rather than a library: the check is three command lines, and a mail-client
// library would add dependencies and work (capability probing, APOP/SASL selection) that the check does not need.
import { fail, guardCheck, pass, type CheckVerdict } from './guard';
import { breaksLine, LineSession, shortLine } from './line-session';
import type { CheckJob, Checker } from './types';

const isOk = (line: string): boolean => /^\+OK/i.test(line);

/**
 * POP3 check, as ldirectord's `check_pop` (Mail::POP3Client): up when the server greets with `+OK` and, when `login`
 * is set, `USER`/`PASS` are both answered `+OK`. `pops` speaks TLS from the first byte (certificate verified only
 * with `tlsVerify`). Bounded by `negotiateTimeoutMs`.
 *
 * Unlike ldirectord, a server that does not greet with `+OK` is down even when no login is configured
 * (Mail::POP3Client->new returns an object whatever happens, so ldirectord reports such a server up).
 */
export const popCheck: Checker = (job, signal) =>
  guardCheck(signal, job.negotiateTimeoutMs, (inner) => popDialogue(job, inner));

async function popDialogue(job: CheckJob, signal: AbortSignal): Promise<CheckVerdict> {
  if (job.login !== '' && (breaksLine(job.login) || breaksLine(job.passwd))) {
    return fail('login or password contains a line break');
  }
  const session = await LineSession.open(job, job.service === 'pops', signal);
  try {
    const greeting = await session.readLine();
    if (!isOk(greeting)) return fail(`greeting: ${shortLine(greeting)}`);
    if (job.login === '') {
      await session.farewell('QUIT');
      return pass('greeting +OK');
    }
    session.writeLine(`USER ${job.login}`);
    const user = await session.readLine();
    if (!isOk(user)) return fail(`login rejected: ${shortLine(user)}`);
    session.writeLine(`PASS ${job.passwd}`);
    const password = await session.readLine();
    if (!isOk(password)) return fail(`login rejected: ${shortLine(password)}`);
    await session.farewell('QUIT');
    return pass('login ok');
  } finally {
    session.close();
  }
}
