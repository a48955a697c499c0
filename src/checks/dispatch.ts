// Runs the right checker for a job: check type first (on/off/ping/external), then connect or negotiate.
import { errorMessage } from '../errors';
import type { CheckJob, CheckResult, Checker, CheckerTable } from './types';

/** A down result that took no time. */
function down(reason: string): CheckResult {
  return { up: false, reason, durationMs: 0 };
}

/** Calls a checker, turning a contract breach (a throw or rejection) into a down result. */
async function call(checker: Checker, job: CheckJob, signal: AbortSignal): Promise<CheckResult> {
  try {
    return await checker(job, signal);
  } catch (err) {
    return down(`checker failed: ${errorMessage(err)}`);
  }
}

/**
 * Runs one check of `job` and never throws. `kind` says which half of a combined check (`checktype=N`) is due;
 * the types `connect` and `negotiate` always run as themselves. Connect on a UDP virtual service is a ping, as in
 * ldirectord; negotiate runs the checker of `job.service`. `on` is always up; `off` is never checked (down if asked).
 * `table` is the checkers to use (`defaultCheckers()` from registry.ts, built once by the caller).
 */
export function runCheck(
  job: CheckJob,
  kind: 'negotiate' | 'connect',
  signal: AbortSignal,
  checkers: CheckerTable,
): Promise<CheckResult> {
  const pick = (key: keyof CheckerTable, what: string): Promise<CheckResult> => {
    const checker = checkers[key];
    return checker ? call(checker, job, signal) : Promise.resolve(down(`${what} not supported`));
  };
  switch (job.type) {
    case 'on':
      return Promise.resolve({ up: true, reason: 'checktype on', durationMs: 0 });
    case 'off':
      return Promise.resolve(down('checktype off: not checked'));
    case 'ping':
      return pick('ping', 'check ping');
    case 'external':
    case 'external-perl':
      return pick('external', `check ${job.type}`);
    case 'connect':
    case 'negotiate':
    case 'combined': {
      const effective = job.type === 'combined' ? kind : job.type;
      if (effective === 'connect')
        return job.protocol === 'udp' ? pick('ping', 'check ping') : pick('connect', 'check connect');
      return pick(job.service, `service ${job.service}`);
    }
  }
}
