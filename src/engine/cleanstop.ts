// Shutdown cleanup: deletes the services ldir owns with cleanstop=yes, best effort, with one retry, within a deadline.
import type { Clock, TimerHandle } from '../clock';
import { errorMessage } from '../errors';
import { serviceKeyString } from '../ipvs/normalize';
import type { IpvsBackend, IpvsOp, ServiceKey } from '../ipvs/types';
import type { Logger } from '../log';
import type { VirtualService } from '../model';
import { applyPlan } from './apply-plan';
import type { ShutdownReport } from './engine-types';
import type { FallbackCommands, QuorumCommands } from './fallback-command';
import { indexObserved } from './observed';
import { describeOp } from './op-report';
import type { StateSyncDaemons } from './state-sync-daemons';

/**
 * Deletes each of `services` still in the kernel (one `delete-service` each: the kernel drops its destinations with
 * it), as ldirectord's `ld_stop` does for virtuals with `cleanstop=yes`. Lists the kernel, deletes, and tries once
 * more for what was refused. Never throws; `onPurged` is called for each service deleted.
 */
export async function purgeServices(
  backend: IpvsBackend,
  services: ReadonlyMap<string, ServiceKey>,
  log: Logger,
  onPurged: (op: IpvsOp) => void,
): Promise<{ removed: number; failed: number }> {
  let wanted = [...services.keys()];
  let removed = 0;
  let failed = 0;
  for (let attempt = 0; attempt < 2 && wanted.length > 0; attempt++) {
    let present: Set<string>;
    try {
      present = new Set(indexObserved(await backend.list()).keys());
    } catch (err) {
      log.error({ err: errorMessage(err) }, 'shutdown: cannot list the kernel table');
      return { removed, failed: wanted.length };
    }
    const ops: IpvsOp[] = wanted
      .filter((id) => present.has(id))
      .map((id) => ({ op: 'delete-service', service: services.get(id) as ServiceKey }));
    let refused: IpvsOp[];
    try {
      refused = (await applyPlan(backend, ops)).failed.map((f) => {
        log.warn({ vs: serviceKeyString(f.op.service), errno: f.errno }, `shutdown: ${describeOp(f.op)} refused`);
        return f.op;
      });
    } catch (err) {
      log.error({ err: errorMessage(err) }, 'shutdown: cannot write the kernel table');
      refused = ops;
    }
    for (const op of ops) {
      if (refused.includes(op)) continue;
      removed++;
      log.info({ vs: serviceKeyString(op.service) }, `purged virtual service (stop): ${serviceKeyString(op.service)}`);
      onPurged(op);
    }
    failed = refused.length;
    wanted = refused.map((op) => serviceKeyString(op.service));
  }
  return { removed, failed };
}

/** `work`'s result, or `'timeout'` when it has not settled `ms` after the call (on `clock`; its timer cleared either way). */
export async function withinDeadline<T>(clock: Clock, ms: number, work: Promise<T>): Promise<T | 'timeout'> {
  let handle: TimerHandle | undefined;
  const deadline = new Promise<'timeout'>((resolve) => {
    handle = clock.setTimeout(() => resolve('timeout'), ms);
  });
  const result = await Promise.race([work, deadline]);
  if (handle !== undefined) clock.clearTimeout(handle);
  return result;
}

/** What the engine's stop works on. */
export interface EngineStop {
  readonly backend: IpvsBackend;
  /** The services ldir manages, with their cleanstop setting. */
  readonly managed: ReadonlyMap<string, { readonly key: ServiceKey; readonly cleanstop: boolean }>;
  /** The virtual services of the configuration in force (read when the stop gets to them). */
  readonly virtuals: () => readonly VirtualService[];
  readonly commands: FallbackCommands;
  readonly quorumCommands: QuorumCommands;
  readonly syncDaemons: StateSyncDaemons;
  readonly log: Logger;
  /** Called for each service deleted. */
  readonly onPurged: (op: IpvsOp) => void;
}

/**
 * Stops the engine's work: when `clean`, deletes the managed services with `cleanstop=yes` ({@link purgeServices})
 * and retires their edge commands (`fallbackcommand stop` where `start` was the last action, the quorum's `down`);
 * then stops the sync daemons and waits for commands in flight.
 */
export async function stopEngineWork(clean: boolean, s: EngineStop): Promise<Omit<ShutdownReport, 'timedOut'>> {
  let removed = 0;
  let failed = 0;
  if (clean) {
    const wanted = new Map([...s.managed].filter(([, m]) => m.cleanstop).map(([id, m]) => [id, m.key]));
    ({ removed, failed } = await purgeServices(s.backend, wanted, s.log, s.onPurged));
    for (const v of s.virtuals()) {
      if (!v.cleanstop) continue;
      s.commands.retire(v);
      s.quorumCommands.retire(v, 'down');
    }
  }
  const kept = [...s.managed.values()].filter((m) => !clean || !m.cleanstop).length;
  await s.syncDaemons.shutdown(clean);
  await Promise.all([s.commands.idle(), s.quorumCommands.idle()]);
  s.log.info({ clean, removed, failed, kept }, 'engine stopped');
  return { clean, removed, failed, kept };
}

/**
 * The engine's stop within `timeoutMs`: {@link stopEngineWork} once `stopping` (the sync loop's stop) has settled. At
 * the bound, logs that the kernel table may keep entries and reports `timedOut` with nothing counted.
 */
export async function stopEngineWithin(
  clock: Clock,
  timeoutMs: number,
  stopping: Promise<void>,
  clean: boolean,
  s: EngineStop,
): Promise<ShutdownReport> {
  const result = await withinDeadline(
    clock,
    timeoutMs,
    stopping.then(() => stopEngineWork(clean, s)),
  );
  if (result === 'timeout') {
    s.log.error({ timeoutMs }, 'shutdown cleanup did not finish in time; the kernel table may keep entries');
    return { clean, removed: 0, failed: 0, kept: 0, timedOut: true };
  }
  return { ...result, timedOut: false };
}
