// What each planned kernel operation means to ldir (real, fallback, drain leftover, stale entry; retry or drift repair).
import { destinationKeyString, serviceKeyString } from '../ipvs/normalize';
import type { IpvsOp } from '../ipvs/types';
import type { SliceYielder } from '../system/slice-yielder';
import type { Decision, DecisionReason } from './decide';
import { LAST_SYNC_REFUSED_KEPT, type RefusedOp } from './engine-types';

/** Text of one operation for logs: `add-destination tcp:10.0.0.1:80 10.0.0.2:80 weight 5`. */
export function describeOp(op: IpvsOp): string {
  const dest = 'destination' in op ? ` ${destinationKeyString(op.destination)}` : '';
  const weight = op.op === 'add-destination' || op.op === 'edit-destination' ? ` weight ${op.destination.weight}` : '';
  return `${op.op} ${serviceKeyString(op.service)}${dest}${weight}`;
}

/** The refused operations of a pass as data, in pass order, the first {@link LAST_SYNC_REFUSED_KEPT}. */
export function refusedOps(refused: ReadonlyMap<IpvsOp, string>): RefusedOp[] {
  const out: RefusedOp[] = [];
  for (const [op, errno] of refused) {
    if (out.length >= LAST_SYNC_REFUSED_KEPT) break;
    out.push({
      op: op.op,
      virtualId: serviceKeyString(op.service),
      ...('destination' in op ? { destination: destinationKeyString(op.destination) } : {}),
      errno,
    });
  }
  return out;
}

/** How many services the kernel refused to add (distinct services of the refused `add-service` operations). */
export function refusedServices(refused: ReadonlyMap<IpvsOp, string>): number {
  const ids = new Set<string>();
  for (const op of refused.keys()) if (op.op === 'add-service') ids.add(serviceKeyString(op.service));
  return ids.size;
}

/** One applied (or refused) operation with its meaning. */
export interface OpRecord {
  readonly op: IpvsOp;
  readonly text: string;
  /** Kernel service id. */
  readonly virtualId: string;
  readonly destination?: string;
  readonly role?: 'real' | 'fallback' | 'draining' | 'stale';
  readonly realKey?: string;
  readonly reason?: DecisionReason;
  readonly failed: boolean;
  /** The kernel's errno name when refused. */
  readonly errno?: string;
  /** The same operation was refused by the previous pass. */
  readonly retry: boolean;
  /** The desired table did not change since a pass that converged: the kernel was changed outside ldir. */
  readonly drift: boolean;
}

/** Context of {@link describeOps}. */
export interface OpContext {
  readonly decision: Decision;
  /** True for `service destination` ids of drain leftovers. */
  readonly isDraining: (id: string) => boolean;
  /** {@link describeOp} texts refused by the previous pass. */
  readonly lastFailed: ReadonlySet<string>;
  /** The desired table equals the one of the last pass that converged. */
  readonly unchangedSinceConverged: boolean;
}

/** The role of each destination of the decision, by `service destination` id. */
type Roles = Map<string, { role: 'real' | 'fallback'; realKey?: string; reason?: DecisionReason }>;

/** A destination of the decision's roles (a real's, where several map to it, the one in the table). */
function addRoles(roles: Roles, v: Decision['virtuals'][number]): void {
  for (const r of v.reals) {
    const id = `${v.serviceId} ${r.destinationId}`;
    if (!roles.has(id) || r.inTable) roles.set(id, { role: 'real', realKey: r.realKey, reason: r.reason });
  }
  if (v.fallback?.inTable) roles.set(`${v.serviceId} ${v.fallback.destinationId}`, { role: 'fallback' });
}

/** The meaning of one operation of a pass. */
function opRecord(op: IpvsOp, refused: ReadonlyMap<IpvsOp, string>, ctx: OpContext, roles: Roles): OpRecord {
  const virtualId = serviceKeyString(op.service);
  const destination = 'destination' in op ? destinationKeyString(op.destination) : undefined;
  const known = destination !== undefined ? roles.get(`${virtualId} ${destination}`) : undefined;
  const role =
    destination === undefined
      ? undefined
      : (known?.role ?? (ctx.isDraining(`${virtualId} ${destination}`) ? 'draining' : 'stale'));
  const text = describeOp(op);
  const errno = refused.get(op);
  const failed = errno !== undefined;
  const retry = ctx.lastFailed.has(text);
  return {
    op,
    text,
    virtualId,
    ...(destination !== undefined ? { destination } : {}),
    ...(role ? { role } : {}),
    ...(known?.realKey !== undefined ? { realKey: known.realKey } : {}),
    ...(known?.reason !== undefined ? { reason: known.reason } : {}),
    failed,
    ...(errno !== undefined ? { errno } : {}),
    retry,
    drift: ctx.unchangedSinceConverged && !retry && !failed,
  };
}

/** The meaning of each operation of a pass, in order. */
export function describeOps(ops: readonly IpvsOp[], refused: ReadonlyMap<IpvsOp, string>, ctx: OpContext): OpRecord[] {
  const roles: Roles = new Map();
  for (const v of ctx.decision.virtuals) addRoles(roles, v);
  return ops.map((op) => opRecord(op, refused, ctx, roles));
}

/**
 * {@link describeOps} in parts of at most `size` records (a big table's pass: 100,000 operations at start), the event
 * loop getting a turn whenever `yielder`'s slice is used up (between virtual services, then between parts). The parts
 * put together are describeOps' records.
 */
export async function* describeOpsInParts(
  ops: readonly IpvsOp[],
  refused: ReadonlyMap<IpvsOp, string>,
  ctx: OpContext,
  yielder: Pick<SliceYielder, 'yieldIfDue'>,
  size = OP_REPORT_PART,
): AsyncGenerator<OpRecord[]> {
  const roles: Roles = new Map();
  for (const v of ctx.decision.virtuals) {
    addRoles(roles, v);
    const turn = yielder.yieldIfDue();
    if (turn) await turn;
  }
  for (let i = 0; i < ops.length; i += size) {
    yield ops.slice(i, i + size).map((op) => opRecord(op, refused, ctx, roles));
    const turn = yielder.yieldIfDue();
    if (turn) await turn;
  }
}

/** Records of a pass's operations described and reported in one part ({@link describeOpsInParts}). */
export const OP_REPORT_PART = 500;
