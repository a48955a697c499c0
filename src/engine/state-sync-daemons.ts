// The director's sync role and the kernel's connection sync daemons: level-triggered like the table (every look
// compares what the role asks for with what the kernel runs), owned like the table (only what ldir manages changes).
import type { Clock } from '../clock';
import { errorMessage, isLdirError } from '../errors';
import type { IpvsBackend, IpvsSyncDaemon } from '../ipvs/types';
import { silentLogger, type Logger } from '../log';
import type { StateSyncSettings, SyncRole, SyncStartRole } from '../model';
import type { EngineEvent, StateSyncSnapshot, SyncDaemonSnapshot, SyncRoleSource } from './engine-types';
import {
  desiredSyncDaemons,
  describeSyncDaemon,
  planStateSyncLook,
  roleOnConfigure,
  sameSyncDaemon,
  SYNC_DAEMON_STATES,
  type RoleState,
  type SyncDaemonOp,
  type SyncDaemonState,
} from './state-sync-plan';

/** Dependencies of {@link StateSyncDaemons}. */
export interface StateSyncDaemonsOptions {
  readonly backend: IpvsBackend;
  readonly clock: Clock;
  readonly logger?: Logger;
  readonly onEvent?: (event: EngineEvent) => void;
}

/** Outcome of one look at the kernel's sync daemons. */
export interface StateSyncDaemonsReport {
  /** The kernel runs what ldir wants afterwards. */
  readonly ok: boolean;
  readonly ops: readonly SyncDaemonOp[];
  readonly failed: number;
  /** Operations that repaired a daemon stopped or changed outside ldir. */
  readonly drift: number;
  readonly error?: string;
}

const errnoOf = (err: unknown): string | undefined => {
  const errno = isLdirError(err) ? err.details['errno'] : undefined;
  return typeof errno === 'string' ? errno : undefined;
};

/**
 * Keeps the kernel's sync daemons in line with the director's role. Without `syncinterface` and with nothing
 * started, it never calls the kernel. With a role, ldir manages both states of the namespace's sync daemon; with
 * none (or without settings) it only stops what it started or took over. Looks never overlap.
 */
export class StateSyncDaemons {
  private readonly log: Logger;
  private settings: StateSyncSettings | null = null;
  private configuredOnce = false;
  private role: SyncStartRole = 'none';
  private roleSource: SyncRoleSource = 'config';
  private roleSince: number | null = null;
  /** Take over a matching daemon at the next look (set when the role comes from `syncrole` with no role before). */
  private adopting = false;
  /** States ldir started or took over and has not stopped since. */
  private readonly owned = new Set<SyncDaemonState>();
  private observed: readonly IpvsSyncDaemon[] | null = null;
  private checkedAt: number | null = null;
  /** Fingerprint of what was wanted when the kernel last ran exactly that: an operation with it unchanged is a repair. */
  private settled: string | undefined;
  private lastError: { at: number; message: string; errno?: string } | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly counters = { starts: 0, stops: 0, repairs: 0, failures: 0 };

  constructor(private readonly options: StateSyncDaemonsOptions) {
    this.log = (options.logger ?? silentLogger()).child({ module: 'syncd' });
  }

  /**
   * Takes the sync settings of a configuration coming into force. The first configuration sets the role from
   * `syncrole` (a matching daemon already running is taken over at the next look instead); a later one switches to
   * `syncrole` only when it changed the directive's value, or when there was no role yet: otherwise the role set by
   * `promote`/`demote` (or taken over) stays, as does one set by a `promote`/`demote` that came before the first.
   */
  configure(settings: StateSyncSettings | null): void {
    const next = roleOnConfigure(this.roleState(), settings);
    this.configuredOnce = true;
    this.settings = settings;
    if (next) {
      this.adopting = next.adopting;
      this.setRoleFrom(next.role, 'config');
    }
  }

  /**
   * What the look after {@link configure} with `settings` would stop and start (a reload preview): the same role
   * rule and plan as {@link configure} and a look, against a fresh listing of the kernel's sync daemons; nothing is
   * changed, here or in the kernel. Rejects when the kernel's sync daemons cannot be listed.
   */
  async preview(settings: StateSyncSettings | null): Promise<readonly SyncDaemonOp[]> {
    const next = roleOnConfigure(this.roleState(), settings);
    if (settings === null && this.owned.size === 0) return [];
    const input = {
      settings,
      role: next?.role ?? this.role,
      adopting: next?.adopting ?? this.adopting,
      owned: new Set(this.owned),
    };
    return planStateSyncLook(input, await this.options.backend.listSyncDaemons()).ops;
  }

  /** Sets the role (`ldir promote|demote`); a look applies it. Returns the previous role. */
  setRole(role: SyncRole): SyncStartRole {
    const previous = this.role;
    this.adopting = false;
    this.setRoleFrom(role, 'command');
    return previous;
  }

  /** The current role. */
  currentRole(): SyncStartRole {
    return this.role;
  }

  /** Looks at the kernel's sync daemons and starts or stops what the role asks for; never rejects. */
  reconcile(reason: string): Promise<StateSyncDaemonsReport> {
    const run = this.chain.then(() => this.look(reason));
    this.chain = run.catch(() => undefined);
    return run;
  }

  /**
   * At shutdown: with `clean` and `cleanstop=yes` (or without settings) stops the daemons ldir started or took over;
   * with `cleanstop=no` leaves them running, so that the next start takes them over without a gap. Never rejects.
   */
  shutdown(clean: boolean): Promise<{ stopped: number; kept: number }> {
    const run = this.chain.then(async () => {
      const states = SYNC_DAEMON_STATES.filter((s) => this.owned.has(s));
      if (states.length === 0) return { stopped: 0, kept: 0 };
      if (!clean || (this.settings !== null && !this.settings.cleanstop)) {
        this.log.info(
          { states },
          `sync daemon(s) left running (${clean ? 'cleanstop=no' : 'shutdown not clean'}): the next start takes them over`,
        );
        return { stopped: 0, kept: states.length };
      }
      let stopped = 0;
      for (const state of states) if (await this.stop(state, false)) stopped++;
      return { stopped, kept: 0 };
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Role, settings and the kernel's sync daemons as last seen. */
  snapshot(): StateSyncSnapshot {
    const wanted = desiredSyncDaemons(this.settings, this.role)[0] ?? null;
    const seen = this.observed ?? [];
    const daemons: SyncDaemonSnapshot[] =
      this.settings || seen.length > 0
        ? SYNC_DAEMON_STATES.map((state) => {
            const kernel = seen.find((d) => d.state === state) ?? null;
            const want = wanted?.state === state ? wanted : null;
            return {
              state,
              wanted: want !== null,
              running: kernel !== null,
              matches: want ? kernel !== null && sameSyncDaemon(want, kernel) : kernel === null || !this.manages(state),
              kernel,
            };
          })
        : [];
    return {
      configured: this.settings !== null,
      role: this.role,
      roleSource: this.roleSource,
      roleSince: this.roleSince,
      wanted,
      daemons: this.observed === null ? [] : daemons,
      checkedAt: this.checkedAt,
      ok: this.observed === null ? wanted === null : daemons.every((d) => d.matches),
      lastError: this.lastError,
      counters: { ...this.counters },
    };
  }

  private setRoleFrom(role: SyncStartRole, source: SyncRoleSource): void {
    const previous = this.role;
    this.roleSource = source;
    if (role === previous) return;
    this.role = role;
    this.roleSince = this.options.clock.now();
    this.log.info(
      { role, previous, source },
      `sync role ${role} (was ${previous}; ${source === 'config' ? 'syncrole' : source === 'adopted' ? 'taken over from the kernel' : 'ldir promote/demote'})`,
    );
    this.emit({ type: 'sync-role', at: this.options.clock.now(), role, previous, source });
  }

  /** With a role and settings ldir manages both states; otherwise only those it started or took over. */
  private manages(state: SyncDaemonState): boolean {
    return (this.settings !== null && this.role !== 'none') || this.owned.has(state);
  }

  private roleState(): RoleState {
    return {
      settings: this.settings,
      configuredOnce: this.configuredOnce,
      role: this.role,
      roleSource: this.roleSource,
    };
  }

  private async look(reason: string): Promise<StateSyncDaemonsReport> {
    if (this.settings === null && this.owned.size === 0) {
      this.observed = null;
      return { ok: true, ops: [], failed: 0, drift: 0 };
    }
    let observed: readonly IpvsSyncDaemon[];
    try {
      observed = await this.options.backend.listSyncDaemons();
    } catch (err) {
      return this.failed(`cannot list the kernel's sync daemons: ${errorMessage(err)}`, errnoOf(err), []);
    }
    this.observe(observed);
    const plan = planStateSyncLook(
      { settings: this.settings, role: this.role, adopting: this.adopting, owned: this.owned },
      observed,
    );
    if (this.adopting && this.settings) {
      this.adopting = false;
      if (plan.adopted !== undefined) {
        for (const state of plan.owned) this.owned.add(state);
        this.setRoleFrom(plan.adopted, 'adopted');
      }
    }
    const { desired, ops } = plan;
    const owned = plan.manages;
    const fingerprint = JSON.stringify([desired, [...owned].sort()]);
    const repairing = fingerprint === this.settled;
    let failed = 0;
    let drift = 0;
    let lastFailure: { message: string; errno?: string } | undefined;
    for (const op of ops) {
      const isDrift = repairing && op.op === 'start-daemon';
      const ok =
        op.op === 'stop-daemon' ? await this.stop(op.state, repairing) : await this.start(op.daemon, isDrift, reason);
      if (!ok) {
        failed++;
        lastFailure = this.lastError ?? { message: 'refused' };
      } else if (isDrift) drift++;
    }
    if (ops.length > 0) {
      try {
        this.observe(await this.options.backend.listSyncDaemons());
      } catch {
        // the next look lists again
      }
    }
    if (failed > 0) {
      this.settled = undefined;
      return { ok: false, ops, failed, drift, error: lastFailure?.message ?? 'refused' };
    }
    this.settled = fingerprint;
    if (this.lastError) {
      this.log.info('the kernel runs the wanted sync daemon again');
      this.lastError = null;
    }
    return { ok: true, ops, failed: 0, drift };
  }

  private observe(observed: readonly IpvsSyncDaemon[]): void {
    this.observed = observed.map((d) => ({ ...d }));
    this.checkedAt = this.options.clock.now();
  }

  private async start(daemon: IpvsSyncDaemon, drift: boolean, reason: string): Promise<boolean> {
    const what = describeSyncDaemon(daemon);
    try {
      await this.options.backend.startSyncDaemon(daemon);
    } catch (err) {
      this.refused(`start of the ${what} refused: ${errorMessage(err)}`, errnoOf(err), 'start', daemon.state, drift);
      return false;
    }
    this.owned.add(daemon.state);
    this.counters.starts++;
    if (drift) {
      this.counters.repairs++;
      this.log.warn({ state: daemon.state, reason }, `sync daemon stopped or changed outside ldir; restarted: ${what}`);
    } else this.log.info({ state: daemon.state, reason }, `started the ${what}`);
    this.emit({
      type: 'sync-daemon',
      at: this.options.clock.now(),
      action: 'start',
      state: daemon.state,
      ok: true,
      drift,
    });
    return true;
  }

  private async stop(state: SyncDaemonState, drift: boolean): Promise<boolean> {
    try {
      await this.options.backend.stopSyncDaemon(state);
    } catch (err) {
      if (errnoOf(err) !== 'ESRCH') {
        this.refused(
          `stop of the ${state} sync daemon refused: ${errorMessage(err)}`,
          errnoOf(err),
          'stop',
          state,
          drift,
        );
        return false;
      }
      this.owned.delete(state);
      this.log.debug({ state }, `the ${state} sync daemon was not running any more`);
      return true;
    }
    this.owned.delete(state);
    this.counters.stops++;
    this.log.info({ state }, `stopped the ${state} sync daemon`);
    this.emit({ type: 'sync-daemon', at: this.options.clock.now(), action: 'stop', state, ok: true, drift });
    return true;
  }

  /** Records a refusal: logged at error when new (or different), at debug while it repeats on every resync. */
  private refused(
    message: string,
    errno: string | undefined,
    action: 'start' | 'stop',
    state: SyncDaemonState,
    drift: boolean,
  ): void {
    this.counters.failures++;
    const repeat = this.lastError?.message === message;
    this.lastError = { at: this.options.clock.now(), message, ...(errno !== undefined ? { errno } : {}) };
    this.log[repeat ? 'debug' : 'error']({ state, errno }, `${message}; retried at the next resync`);
    this.emit({
      type: 'sync-daemon',
      at: this.options.clock.now(),
      action,
      state,
      ok: false,
      ...(errno !== undefined ? { errno } : {}),
      drift,
    });
  }

  private failed(message: string, errno: string | undefined, ops: readonly SyncDaemonOp[]): StateSyncDaemonsReport {
    const repeat = this.lastError?.message === message;
    this.lastError = { at: this.options.clock.now(), message, ...(errno !== undefined ? { errno } : {}) };
    this.log[repeat ? 'debug' : 'error'](message);
    return { ok: false, ops, failed: 0, drift: 0, error: message };
  }

  private emit(event: EngineEvent): void {
    try {
      this.options.onEvent?.(event);
    } catch (err) {
      this.log.warn({ err: errorMessage(err), event: event.type }, 'engine event listener threw');
    }
  }
}
