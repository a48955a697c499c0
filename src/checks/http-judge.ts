// The verdict on a final HTTP answer, shared by the undici path, the native fast path and the engine's certain verdicts
// (native/src/http_answer.cc must agree with it): the status among `httpstatus`, `receive` found, `receivenot` not.
import { fail, pass, receivePattern, type CheckVerdict } from './guard';
import type { CheckJob } from './types';

/** Statuses that redirect (followed for GET/HEAD unless `httpstatus` lists them). */
export const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

/** The job's answer rules. */
export type HttpRules = Pick<CheckJob, 'httpStatus' | 'receive' | 'receiveNot'>;

/** True when `status` passes: one of `httpstatus`, else 2xx (ldirectord's `is_success`). */
export function statusPasses(job: Pick<CheckJob, 'httpStatus'>, status: number): boolean {
  const ranges = job.httpStatus;
  if (ranges === undefined) return status >= 200 && status <= 299;
  return ranges.some(([from, to]) => status >= from && status <= to);
}

/**
 * True when an answer with `status` (and a Location header) is a redirect to follow: not when `httpstatus` lists it,
 * nor with `httpredirect=no` (then it is the answer). Where it leads is decided after (redirect-target.ts).
 */
export function isRedirect(
  job: Pick<CheckJob, 'httpStatus' | 'httpRedirect'>,
  status: number,
  hasLocation: boolean,
): boolean {
  return hasLocation && job.httpRedirect !== 'no' && REDIRECT_STATUSES.has(status) && !statusPasses(job, status);
}

/** True when judging an answer with `status` needs its body: it passes and `receive` or `receivenot` is set. */
export function needsBody(job: HttpRules, status: number): boolean {
  return statusPasses(job, status) && (job.receive !== '' || (job.receiveNot ?? '') !== '');
}

/** The reason of a passing answer with `status`, naming the body rules it met. */
export function passReason(job: HttpRules, status: number): string {
  const body = job.receive === '' ? '' : ', body matched';
  const not = (job.receiveNot ?? '') === '' ? '' : ', receivenot not matched';
  return `status ${status}${body}${not}`;
}

/**
 * The verdict on a final (non-redirect) answer: the status must pass, then the body must match `receive` and not
 * match `receivenot`; a passing answer carries the weight its `weightheader` gave.
 */
export function finalVerdict(job: HttpRules, status: number, body: string, weight?: number): CheckVerdict {
  if (!statusPasses(job, status)) return fail(`status ${status}`);
  const pattern = receivePattern(job.receive);
  if (pattern && !pattern.test(body)) return fail(`body did not match /${job.receive}/`);
  const not = receivePattern(job.receiveNot ?? '');
  if (not?.test(body)) return fail(`body matched receivenot /${job.receiveNot}/`);
  return pass(passReason(job, status), weight);
}
