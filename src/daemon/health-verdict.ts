// The director's one health verdict (issue 21): ok, degraded or failing, with named reasons. Pure: `ldir status`
// (header line, `--json`, exit code), `ldir ping` (the OCF monitor and the LSB script's status), `/healthz` and the
// `ldir_health*` metrics all show what this function says, so they cannot disagree.
import type { EngineHealth, LastSync, RefusedOp } from '../engine/engine-types';
import type { WatchdogVerdict } from './watchdog';

/**
 * How the director stands:
 * - `ok`: it does what its configuration says.
 * - `degraded`: it runs and keeps its table, but part of the configuration is not in force (the kernel refused some
 *   of it, or the connection sync daemon is not as configured). A restart would not help; an operator should look.
 * - `failing`: it cannot do its job: the kernel cannot be listed or written, the kernel refused every virtual
 *   service, the engine is stopped or stalled, or the checks give no results. A monitor should recover it.
 */
export type HealthLevel = 'ok' | 'degraded' | 'failing';

/** Stable codes of the reasons of a verdict that is not ok. */
export type HealthCode =
  | 'engine-stopped'
  | 'kernel-sync-failed'
  | 'kernel-refused'
  | 'checks-overdue'
  | 'engine-stalled'
  | 'sync-daemon';

/** Every {@link HealthCode}, in the order a verdict lists its reasons. */
export const HEALTH_CODES: readonly HealthCode[] = [
  'engine-stopped',
  'kernel-sync-failed',
  'kernel-refused',
  'checks-overdue',
  'engine-stalled',
  'sync-daemon',
];

/** Every {@link HealthLevel}, best first. */
export const HEALTH_LEVELS: readonly HealthLevel[] = ['ok', 'degraded', 'failing'];

/** One reason of a verdict that is not ok. */
export interface HealthReason {
  readonly code: HealthCode;
  readonly level: Exclude<HealthLevel, 'ok'>;
  /** One line for people, starting with the code (`kernel-refused: ...`), at most {@link HEALTH_MESSAGE_MAX} characters. */
  readonly message: string;
  /** `kernel-refused`: the virtual services (kernel service ids) with a refused operation, at most 32. */
  readonly virtuals?: readonly string[];
}

/** The verdict: plain JSON-able data (it travels in `status` and `ping` answers as it is). */
export interface HealthVerdict {
  /** The worst level of the reasons; `ok` without any. */
  readonly level: HealthLevel;
  /** At most one of each code, in {@link HEALTH_CODES} order; empty when ok. */
  readonly reasons: readonly HealthReason[];
  /**
   * One line, at most 600 characters, no control characters: `ok`, `ok: starting, no kernel sync yet`, or the level
   * and every reason's message (`degraded: kernel-refused: ...`). The body of `/healthz`.
   */
  readonly summary: string;
}

/** What the verdict is made of. */
export interface HealthInput {
  /** The engine's state ({@link Engine.healthFacts}, or a whole snapshot); undefined before the engine exists. */
  readonly engine: EngineHealth | undefined;
  /** The checker watchdog's verdict; undefined when there is none yet. */
  readonly watchdog: WatchdogVerdict | undefined;
}

/** Longest {@link HealthVerdict.summary}. */
export const HEALTH_SUMMARY_MAX = 600;

/** Longest {@link HealthReason.message}. */
export const HEALTH_MESSAGE_MAX = 1_000;

/** One line, no control characters, at most `max` characters. */
function oneLine(text: string, max = HEALTH_SUMMARY_MAX): string {
  const flat = text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 3)}...` : flat;
}

/** `add-service EINVAL` or `add-destination 10.0.0.2:80 ESRCH`. */
const opText = (r: RefusedOp): string => `${r.op}${r.destination !== undefined ? ` ${r.destination}` : ''} ${r.errno}`;

/** The refused operations by virtual: `tcp:10.0.0.1:81 (add-service EINVAL, +2 more)`. */
function refusedByVirtual(refused: readonly RefusedOp[]): Map<string, RefusedOp[]> {
  const byVirtual = new Map<string, RefusedOp[]>();
  for (const r of refused) {
    const list = byVirtual.get(r.virtualId);
    if (list) list.push(r);
    else byVirtual.set(r.virtualId, [r]);
  }
  return byVirtual;
}

/** The reasons the last pass gives: the kernel could not be reached, or refused some (or all) of the table. */
function syncReasons(last: LastSync | null): HealthReason[] {
  if (!last || last.ok) return [];
  const at = new Date(last.at).toISOString();
  if (last.error !== undefined || last.failed === 0) {
    const why = last.error !== undefined ? `: ${last.error}` : '';
    return [
      {
        code: 'kernel-sync-failed',
        level: 'failing',
        message: `kernel-sync-failed: last kernel sync failed at ${at}${why}`,
      },
    ];
  }
  const byVirtual = refusedByVirtual(last.refused ?? []);
  const parts = [...byVirtual].map(
    ([id, ops]) => `${id} (${opText(ops[0] as RefusedOp)}${ops.length > 1 ? `, +${ops.length - 1} more` : ''})`,
  );
  const unlisted = last.failed - (last.refused?.length ?? 0);
  const all = last.virtuals !== undefined && last.virtuals > 0 && (last.virtualsRefused ?? 0) >= last.virtuals;
  const what = all
    ? `the kernel refused every virtual service (${last.virtuals})`
    : `the kernel refused ${last.failed} operation${last.failed === 1 ? '' : 's'} of the last sync`;
  return [
    {
      code: 'kernel-refused',
      level: all ? 'failing' : 'degraded',
      virtuals: [...byVirtual.keys()],
      message: `kernel-refused: ${what} at ${at}, retried every sync: ${parts.join('; ')}${unlisted > 0 ? `; and ${unlisted} more` : ''}`,
    },
  ];
}

/** The connection sync daemon is not what the configuration asks for. */
function stateSyncReasons(engine: EngineHealth): HealthReason[] {
  const s = engine.stateSync;
  if (!s?.configured || s.ok || s.checkedAt === null) return [];
  const why = s.lastError ? `: ${s.lastError.message}` : '';
  return [
    {
      code: 'sync-daemon',
      level: 'degraded',
      message: `sync-daemon: the kernel's connection sync daemon is not as configured (role ${s.role})${why}`,
    },
  ];
}

/**
 * The director's health verdict from the engine's state and the checker watchdog's verdict:
 *
 * - `engine-stopped` (failing): the engine is stopped (the daemon is stopping, or stopped working).
 * - `kernel-sync-failed` (failing): the last pass could not list or write the kernel table at all.
 * - `kernel-refused`: the kernel refused operations of the last pass (they are retried every pass); degraded while
 *   some configured virtual service is in force, failing when it refused to add every one of them.
 * - `checks-overdue`, `engine-stalled` (failing): the watchdog's reasons, with its messages.
 * - `sync-daemon` (degraded): connection sync is configured and the kernel does not run the daemon as configured.
 *
 * Before the engine exists or has made its first pass the verdict is ok (`ok: starting, no kernel sync yet`): a
 * starting daemon is not failing (the watchdog measures overdue checks from their start).
 */
export function healthVerdict(input: HealthInput): HealthVerdict {
  const { engine, watchdog } = input;
  const found: HealthReason[] = [];
  if (engine?.stopped)
    found.push({
      code: 'engine-stopped',
      level: 'failing',
      message: 'engine-stopped: the engine is stopped: no kernel sync passes',
    });
  if (engine && !engine.stopped) found.push(...syncReasons(engine.lastSync));
  for (const r of watchdog?.reasons ?? []) found.push({ code: r.code, level: 'failing', message: r.message });
  if (engine && !engine.stopped) found.push(...stateSyncReasons(engine));
  const reasons = HEALTH_CODES.flatMap((code) => found.filter((r) => r.code === code).slice(0, 1)).map((r) => ({
    ...r,
    message: oneLine(r.message, HEALTH_MESSAGE_MAX),
  }));
  const level: HealthLevel = reasons.some((r) => r.level === 'failing')
    ? 'failing'
    : reasons.length > 0
      ? 'degraded'
      : 'ok';
  if (level !== 'ok')
    return { level, reasons, summary: oneLine(`${level}: ${reasons.map((r) => r.message).join('; ')}`) };
  const starting = !engine || engine.lastSync === null;
  return { level, reasons, summary: starting ? 'ok: starting, no kernel sync yet' : 'ok' };
}

/** True when `/healthz` answers 200 (and the OCF monitor 0): ok or degraded. A failing director answers 503. */
export function isServing(verdict: Pick<HealthVerdict, 'level'>): boolean {
  return verdict.level !== 'failing';
}
