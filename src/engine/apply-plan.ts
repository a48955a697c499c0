// Applies a planned list of IPVS operations through a backend and summarizes the outcome.
import { ErrorCodes, LdirError } from '../errors';
import type { IpvsBackend, IpvsOp } from '../ipvs/types';

/** One operation the kernel refused. */
export interface PlanFailure {
  readonly op: IpvsOp;
  /** The kernel's errno name (`EINVAL`, `ENOENT`, ...). */
  readonly errno: string;
  readonly message: string;
}

/** Outcome of {@link applyPlan}: counts of done and already-converged operations, and the refusals. */
export interface ApplySummary {
  readonly done: number;
  /** Operations that found the table already as wanted (add of a present entry, delete of a missing one). */
  readonly converged: number;
  readonly failed: readonly PlanFailure[];
}

/**
 * Applies `ops` in order through `backend` and summarizes the results. Converged operations count as success, so
 * applying the same plan twice is harmless; refused operations are listed and left for the next sync to repair.
 * Transport errors of the backend (it could not talk to the kernel at all) propagate as thrown errors.
 */
export async function applyPlan(backend: IpvsBackend, ops: readonly IpvsOp[]): Promise<ApplySummary> {
  if (ops.length === 0) return { done: 0, converged: 0, failed: [] };
  const results = await backend.apply(ops);
  if (results.length !== ops.length) {
    throw new LdirError(
      ErrorCodes.INTERNAL,
      `${backend.kind} backend answered ${results.length} results for ${ops.length} operations`,
    );
  }
  let done = 0;
  let converged = 0;
  const failed: PlanFailure[] = [];
  results.forEach((result, i) => {
    const op = ops[i] as IpvsOp;
    if (result.status === 'done') done++;
    else if (result.status === 'converged') converged++;
    else failed.push({ op, errno: result.errno, message: result.message });
  });
  return { done, converged, failed };
}
