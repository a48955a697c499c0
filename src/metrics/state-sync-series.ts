// Scrape-time series of connection sync: the director's role and the kernel's sync daemons, from the engine snapshot.
import type { EngineSnapshot } from '../engine/engine-types';
import type { SyncStartRole } from '../model';
import { clear, setCounter, setFlag } from './convert';
import type { SeriesFactory } from './factory';

const ROLES: readonly SyncStartRole[] = ['master', 'backup', 'none'];

/**
 * `ldir_sync_role{role}` (1 for the current role, 0 for the others: a promotable pair alerts on two masters or
 * none), `ldir_sync_daemon_running{state}` and `ldir_sync_daemon_ok` (the kernel runs what the role asks for), and
 * the sync daemon starts, stops, repairs and refusals. Absent without an engine snapshot; the daemon series are
 * absent until sync is configured or ldir saw a sync daemon it manages.
 */
export class StateSyncSeries {
  private readonly role;
  private readonly running;
  private readonly ok;
  private readonly operations;
  private readonly repairs;
  private readonly failures;

  constructor(series: SeriesFactory) {
    this.role = series.gauge(
      'ldir_sync_role',
      'Sync role of this director: 1 for the current one (master, backup or none), 0 for the others.',
      ['role'],
    );
    this.running = series.gauge(
      'ldir_sync_daemon_running',
      'Whether the kernel runs a connection sync daemon of this state (master, backup) (1) or not (0), at the last look.',
      ['state'],
    );
    this.ok = series.gauge(
      'ldir_sync_daemon_ok',
      'Whether the kernel runs the sync daemon the role asks for, as configured (1), or not (0).',
    );
    this.operations = series.counter(
      'ldir_sync_daemon_operations_total',
      'Sync daemon starts and stops ldir made, by action.',
      ['action'],
    );
    this.repairs = series.counter(
      'ldir_sync_daemon_repairs_total',
      'Sync daemon starts that repaired one stopped or changed outside ldir.',
    );
    this.failures = series.counter(
      'ldir_sync_daemon_failures_total',
      'Sync daemon starts and stops the kernel refused.',
    );
  }

  /** Rewrites every series from `snapshot`. */
  refresh(snapshot: Omit<EngineSnapshot, 'virtuals'> | undefined): void {
    for (const m of [this.role, this.running, this.ok, this.operations, this.repairs, this.failures]) clear(m);
    const s = snapshot?.stateSync;
    if (!s) return;
    for (const role of ROLES) setFlag(this.role, { role }, s.role === role);
    setCounter(this.operations, { action: 'start' }, s.counters.starts);
    setCounter(this.operations, { action: 'stop' }, s.counters.stops);
    setCounter(this.repairs, {}, s.counters.repairs);
    setCounter(this.failures, {}, s.counters.failures);
    if (s.daemons.length === 0) return;
    for (const d of s.daemons) setFlag(this.running, { state: d.state }, d.running);
    setFlag(this.ok, {}, s.ok);
  }
}
