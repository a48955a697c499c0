// Pure planner of the kernel's IPVS connection timeouts (`ipvstimeouts=`): what to write, what to give back, and what
// ldir holds afterwards. Only the timeouts a configuration sets are ever touched.
import type { IpvsTimeouts } from '../ipvs/types';
import type { IpvsTimeoutSettings } from '../model';

/** One of the kernel's three IPVS connection timeouts, by its field name in {@link IpvsTimeouts}. */
export type TimeoutField = keyof IpvsTimeouts;

/** The three timeouts in ipvsadm's order (`Timeout (tcp tcpfin udp)`), with ipvsadm's names. */
export const TIMEOUT_FIELDS: readonly (readonly [TimeoutField, TimeoutName])[] = [
  ['tcp', 'tcp'],
  ['tcpFin', 'tcpfin'],
  ['udp', 'udp'],
];

/** A timeout as ipvsadm names it. */
export type TimeoutName = 'tcp' | 'tcpfin' | 'udp';

/** A timeout ldir has in hand: the value it found before it first changed it, what it set, and whether it gives it back. */
export interface TimeoutClaim {
  /** The kernel's value when ldir began to set this timeout (what a restore writes back). */
  readonly found: number;
  /** The value ldir set (a restore skips a timeout someone else changed since). */
  readonly set: number;
  /** `ipvstimeoutsrestore` of the configuration that set it: give `found` back when ldir lets go. */
  readonly restore: boolean;
}

/** The timeouts ldir has in hand, by field; a field that is absent is not ldir's. */
export type TimeoutClaims = Readonly<Partial<Record<TimeoutField, TimeoutClaim>>>;

/**
 * What happens to one timeout:
 * - `set`: ldir writes the configured value;
 * - `unchanged`: the kernel already has it;
 * - `restore`: ldir lets go of it (stop, or a reload that no longer sets it) and writes back the value it found;
 * - `leave`: ldir lets go of it and leaves the value it set (`ipvstimeoutsrestore=no`, or nothing to give back);
 * - `changed-elsewhere`: ldir lets go of it, would restore it, but someone else changed it since: left as it is.
 */
export type TimeoutAction = 'set' | 'unchanged' | 'restore' | 'leave' | 'changed-elsewhere';

/** One step of a {@link TimeoutPlan}. */
export interface TimeoutStep {
  readonly field: TimeoutField;
  readonly name: TimeoutName;
  readonly action: TimeoutAction;
  /** The kernel's value before the step. */
  readonly current: number;
  /** The value after it (`current` when nothing is written). */
  readonly target: number;
  /** For the steps that let go (`restore`, `leave`, `changed-elsewhere`): ldir's claim on it. */
  readonly claim?: TimeoutClaim;
}

/** What to do with the timeouts, as one write. */
export interface TimeoutPlan {
  /** One step per timeout that is configured or in ldir's hands, in ipvsadm's order. */
  readonly steps: readonly TimeoutStep[];
  /** The values of one `SET_CONFIG` / `ipvsadm --set` (0 leaves one unchanged); undefined when nothing is written. */
  readonly write?: IpvsTimeouts;
  /** The claims once the write is done. */
  readonly claims: TimeoutClaims;
}

/** The claim after letting go of `claim` with the kernel at `current`: restore, leave, or left to whoever changed it. */
function letGo(field: TimeoutField, name: TimeoutName, current: number, claim: TimeoutClaim): TimeoutStep {
  const base = { field, name, current, target: current, claim };
  if (!claim.restore || claim.found === current || claim.found <= 0) return { ...base, action: 'leave' };
  if (current !== claim.set) return { ...base, action: 'changed-elsewhere' };
  return { ...base, action: 'restore', target: claim.found };
}

/**
 * The plan that brings the kernel's timeouts (`current`) to `wanted` (undefined: ldir sets none, as at stop), given
 * what ldir already has in hand (`claims`). A configured timeout (non-zero) is set when it differs and claimed, its
 * `found` value kept from the first claim; a claimed timeout that is no longer configured is let go of as its claim
 * says. Timeouts that are neither configured nor claimed get no step: ldir never reads them for a purpose nor writes
 * them. Invariants: only `set` and `restore` steps write; every written value is non-zero; the claims after the plan
 * are exactly the configured timeouts.
 */
export function planTimeouts(
  wanted: IpvsTimeoutSettings | undefined,
  current: IpvsTimeouts,
  claims: TimeoutClaims,
): TimeoutPlan {
  const steps: TimeoutStep[] = [];
  const next: Partial<Record<TimeoutField, TimeoutClaim>> = {};
  const write: Record<TimeoutField, number> = { tcp: 0, tcpFin: 0, udp: 0 };
  for (const [field, name] of TIMEOUT_FIELDS) {
    const value = wanted?.[field] ?? 0;
    const claim = claims[field];
    const now = current[field];
    if (value > 0) {
      steps.push({ field, name, action: now === value ? 'unchanged' : 'set', current: now, target: value });
      if (now !== value) write[field] = value;
      next[field] = { found: claim?.found ?? now, set: value, restore: wanted?.restore ?? false };
    } else if (claim) {
      const step = letGo(field, name, now, claim);
      steps.push(step);
      if (step.action === 'restore') write[field] = step.target;
    }
  }
  const writes = write.tcp > 0 || write.tcpFin > 0 || write.udp > 0;
  return { steps, ...(writes ? { write } : {}), claims: next };
}

/**
 * The claims once `plan` was carried out except for the fields in `failed` (their write was refused or did not
 * hold): those keep their claim from before, so that a refused restore is tried again and a refused first set
 * claims nothing.
 */
export function claimsAfter(
  plan: TimeoutPlan,
  before: TimeoutClaims,
  failed: ReadonlySet<TimeoutField>,
): TimeoutClaims {
  const out: Partial<Record<TimeoutField, TimeoutClaim>> = {};
  for (const [field] of TIMEOUT_FIELDS) {
    const claim = failed.has(field) ? before[field] : plan.claims[field];
    if (claim) out[field] = claim;
  }
  return out;
}
