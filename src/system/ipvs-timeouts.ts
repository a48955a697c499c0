// The kernel's IPVS connection timeouts (`ipvstimeouts=`, `ipvstimeoutsrestore=`): applied (or previewed) through the
// IPVS backend at start and reload, given back at stop when asked, one report entry per timeout, as the sysctls are.
import { errorMessage, isLdirError } from '../errors';
import type { IpvsBackend, IpvsTimeouts } from '../ipvs/types';
import type { Logger } from '../log';
import type { IpvsTimeoutSettings } from '../model';
import {
  claimsAfter,
  planTimeouts,
  TIMEOUT_FIELDS,
  type TimeoutClaim,
  type TimeoutClaims,
  type TimeoutField,
  type TimeoutName,
  type TimeoutStep,
} from './ipvs-timeouts-plan';

export { planTimeouts, type TimeoutClaims } from './ipvs-timeouts-plan';

/**
 * Outcome for one timeout: `would-change` and `would-restore` only in a preview (`ldir check`, `reload --dry-run`),
 * which writes nothing; `left` when ldir lets go of a timeout without writing it.
 */
export type IpvsTimeoutStatus =
  | 'changed'
  | 'unchanged'
  | 'would-change'
  | 'restored'
  | 'would-restore'
  | 'left'
  | 'failed';

/** What happened to one timeout. */
export interface IpvsTimeoutResult {
  /** The timeout as ipvsadm names it. */
  readonly timeout: TimeoutName;
  /** The kernel's value before, in seconds (undefined when it could not be read). */
  readonly old?: number;
  /** The value ldir wants it to have (for `left`: the value it keeps). */
  readonly new: number;
  readonly status: IpvsTimeoutStatus;
  /** Why: `ipvstimeouts at FILE:LINE`, or why a timeout is given back or left. */
  readonly why: string;
  /** For `failed`: what went wrong, for people. */
  readonly reason?: string;
  /** For `failed`: the errno name when the kernel (or ipvsadm) gave one. */
  readonly errno?: string;
}

/** What ldir holds of one timeout, for `ldir status`. */
export interface IpvsTimeoutHeld {
  readonly timeout: TimeoutName;
  /** The value ldir set. */
  readonly value: number;
  /** The value it found before it first changed it. */
  readonly found: number;
  /** Given back when ldir lets go of it (`ipvstimeoutsrestore=yes`). */
  readonly restore: boolean;
}

/** The part of an IPVS backend the timeouts need. */
export type TimeoutBackend = Pick<IpvsBackend, 'getTimeouts' | 'setTimeouts'>;

/** `tcp 900 -> 7200`, `tcp 7200 (unchanged)`, `tcp 7200 -> 900 (restored)`, `tcp 7200 (left: ...)`, or a failure. */
export function formatTimeoutResult(r: IpvsTimeoutResult): string {
  const old = r.old === undefined ? '?' : String(r.old);
  switch (r.status) {
    case 'changed':
    case 'would-change':
      return `${r.timeout} ${old} -> ${r.new}`;
    case 'restored':
    case 'would-restore':
      return `${r.timeout} ${old} -> ${r.new} (${r.status === 'restored' ? 'restored' : 'would be restored'}: ${r.why})`;
    case 'unchanged':
      return `${r.timeout} ${r.new} (unchanged)`;
    case 'left':
      return `${r.timeout} ${r.new} (left: ${r.why})`;
    case 'failed':
      return `${r.timeout}${r.old !== undefined ? ` (now ${r.old})` : ''} cannot be set to ${r.new}: ${r.reason ?? 'unknown error'}`;
  }
}

/** Why ldir wants a configured value: where `ipvstimeouts` was written. */
function configuredWhy(wanted: IpvsTimeoutSettings | undefined): string {
  return wanted ? `ipvstimeouts at ${wanted.source.file}:${wanted.source.line}` : 'ipvstimeouts';
}

/** Why ldir wants a value, or why it lets go of one. */
function whyOf(step: TimeoutStep, wanted: IpvsTimeoutSettings | undefined): string {
  const claim = step.claim;
  switch (step.action) {
    case 'set':
    case 'unchanged':
      return configuredWhy(wanted);
    case 'restore':
      return `found before ldir set ${claim?.set ?? '?'}, ipvstimeoutsrestore=yes`;
    case 'changed-elsewhere':
      return `changed outside ldir since it set ${claim?.set ?? '?'}: not restored to ${claim?.found ?? '?'}`;
    case 'leave':
      return claim?.restore
        ? 'no longer set by ldir; the value it found'
        : 'no longer set by ldir; ipvstimeoutsrestore=no';
  }
}

/** The report entry of a step, once done (`dryRun`: as a preview). */
function resultOf(step: TimeoutStep, wanted: IpvsTimeoutSettings | undefined, dryRun: boolean): IpvsTimeoutResult {
  const base = { timeout: step.name, old: step.current, new: step.target, why: whyOf(step, wanted) };
  switch (step.action) {
    case 'set':
      return { ...base, status: dryRun ? 'would-change' : 'changed' };
    case 'restore':
      return { ...base, status: dryRun ? 'would-restore' : 'restored' };
    case 'unchanged':
      return { ...base, status: 'unchanged' };
    case 'leave':
    case 'changed-elsewhere':
      return { ...base, status: 'left' };
  }
}

/** A message and the errno of a failed read or write of the timeouts. */
function failureOf(err: unknown): { reason: string; errno?: string } {
  const errno = isLdirError(err) ? (err.details['errno'] as string | undefined) : undefined;
  const reason = errorMessage(err);
  return errno !== undefined ? { reason, errno } : { reason };
}

/** True when `value` is a claim as {@link planTimeouts} makes them (checked when one comes from a predecessor). */
function isClaim(value: unknown): value is TimeoutClaim {
  const c = value as Partial<TimeoutClaim> | null;
  return (
    typeof c === 'object' &&
    c !== null &&
    Number.isSafeInteger(c.found) &&
    Number.isSafeInteger(c.set) &&
    typeof c.restore === 'boolean'
  );
}

/**
 * The daemon's hold on the kernel's IPVS connection timeouts. It touches only the timeouts a configuration sets: with
 * no `ipvstimeouts` (and none set before) it never calls the backend. Each value is read first and written only when
 * it differs (one `SET_CONFIG` / `ipvsadm --set` for all three, 0 for those it leaves), then read back. Nothing
 * throws: a refusal is a `failed` entry, logged at warn, and the director runs on. Claims (what ldir found and set)
 * live as long as the daemon, and travel to a restart's successor ({@link exportClaims}).
 */
export class IpvsTimeoutKeeper {
  private claims: TimeoutClaims = {};

  constructor(
    private readonly backend: TimeoutBackend,
    private readonly log: Logger,
  ) {}

  /** Brings the timeouts to `wanted` (start, reload) and lets go of those it no longer sets. */
  apply(wanted: IpvsTimeoutSettings | undefined): Promise<IpvsTimeoutResult[]> {
    return this.run(wanted, false);
  }

  /** What {@link apply} would do, writing nothing (a reload preview). */
  preview(wanted: IpvsTimeoutSettings | undefined): Promise<IpvsTimeoutResult[]> {
    return this.run(wanted, true);
  }

  /** At stop: lets go of every timeout, writing back those whose configuration said `ipvstimeoutsrestore=yes`. */
  release(): Promise<IpvsTimeoutResult[]> {
    return this.run(undefined, false);
  }

  /** What ldir holds now, in ipvsadm's order (for `ldir status`). */
  held(): IpvsTimeoutHeld[] {
    return TIMEOUT_FIELDS.flatMap(([field, timeout]) => {
      const c = this.claims[field];
      return c ? [{ timeout, value: c.set, found: c.found, restore: c.restore }] : [];
    });
  }

  /** The claims, for a restart's successor. */
  exportClaims(): TimeoutClaims {
    return { ...this.claims };
  }

  /** Takes over a predecessor's claims (before the first {@link apply}); malformed entries are dropped. */
  importClaims(claims: unknown): void {
    const out: Partial<Record<TimeoutField, TimeoutClaim>> = {};
    if (claims && typeof claims === 'object') {
      for (const [field] of TIMEOUT_FIELDS) {
        const c = (claims as Record<string, unknown>)[field];
        if (isClaim(c)) out[field] = { found: c.found, set: c.set, restore: c.restore };
      }
    }
    this.claims = out;
  }

  private async run(wanted: IpvsTimeoutSettings | undefined, dryRun: boolean): Promise<IpvsTimeoutResult[]> {
    if (wanted === undefined && Object.keys(this.claims).length === 0) return [];
    let current: IpvsTimeouts;
    try {
      current = await this.backend.getTimeouts();
    } catch (err) {
      return this.unreadable(wanted, err, dryRun);
    }
    const plan = planTimeouts(wanted, current, this.claims);
    if (dryRun) return plan.steps.map((s) => resultOf(s, wanted, true));
    const results = plan.steps.map((s) => resultOf(s, wanted, false));
    const failed = new Set<TimeoutField>();
    if (plan.write) await this.write(plan.write, plan.steps, results, failed);
    this.claims = claimsAfter(plan, this.claims, failed);
    for (const r of results) this.report(r);
    return results;
  }

  /** Writes the plan's values and reads them back; marks the steps whose value did not hold as failed. */
  private async write(
    values: IpvsTimeouts,
    steps: readonly TimeoutStep[],
    results: IpvsTimeoutResult[],
    failed: Set<TimeoutField>,
  ): Promise<void> {
    const writing = steps.map((s, i) => [s, i] as const).filter(([s]) => s.action === 'set' || s.action === 'restore');
    const fail = (s: TimeoutStep, i: number, f: { reason: string; errno?: string }): void => {
      failed.add(s.field);
      results[i] = { ...(results[i] as IpvsTimeoutResult), status: 'failed', ...f };
    };
    try {
      await this.backend.setTimeouts(values);
    } catch (err) {
      for (const [s, i] of writing) fail(s, i, failureOf(err));
      return;
    }
    let after: IpvsTimeouts;
    try {
      after = await this.backend.getTimeouts();
    } catch (err) {
      for (const [s, i] of writing)
        fail(s, i, { reason: `written, but cannot be read back: ${failureOf(err).reason}` });
      return;
    }
    for (const [s, i] of writing) {
      if (after[s.field] !== s.target)
        fail(s, i, { reason: `the kernel kept ${after[s.field]} after writing ${s.target}` });
    }
  }

  /** The entries when the timeouts cannot be read: every timeout configured or held fails, nothing is written. */
  private unreadable(wanted: IpvsTimeoutSettings | undefined, err: unknown, dryRun: boolean): IpvsTimeoutResult[] {
    const read = failureOf(err);
    const f = { ...read, reason: `cannot read the kernel's timeouts: ${read.reason}` };
    const results = TIMEOUT_FIELDS.flatMap(([field, timeout]): IpvsTimeoutResult[] => {
      const value = wanted?.[field] ?? 0;
      const claim = this.claims[field];
      if (value > 0) return [{ timeout, new: value, status: 'failed', why: configuredWhy(wanted), ...f }];
      if (claim)
        return [
          {
            timeout,
            new: claim.found,
            status: 'failed',
            why: 'ldir lets go of it: cannot tell whether to restore it',
            ...f,
          },
        ];
      return [];
    });
    if (!dryRun) for (const r of results) this.report(r);
    return results;
  }

  private report(r: IpvsTimeoutResult): void {
    const fields = { timeout: r.timeout, old: r.old, new: r.new, why: r.why };
    if (r.status === 'failed')
      this.log.warn({ ...fields, reason: r.reason, errno: r.errno }, `IPVS timeout ${formatTimeoutResult(r)}`);
    else if (r.status === 'unchanged') this.log.debug(fields, `IPVS ${r.timeout} timeout is already ${r.new}`);
    else this.log.info(fields, `IPVS timeout ${formatTimeoutResult(r)}`);
  }
}
