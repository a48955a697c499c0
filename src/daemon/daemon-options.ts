// What a daemon is made of and told: its configuration, dependencies, and the hooks of the observers around it.
import type { CheckRecord, QuietRounds } from '../checks/scheduler';
import type { HealthTransition } from '../model/health';
import type { Clock } from '../clock';
import type { LoadOptions } from '../config/load';
import type { EngineEvent, EngineOptions } from '../engine/engine-types';
import type { BackendChoice, BackendFactories } from '../ipvs/select';
import type { Logger } from '../log';
import type { SecretRedactor } from '../secrets';
import type { Config, DaemonState } from '../model';
import type { SysctlStore } from '../system/sysctl-store';
import type { HandoverState, PredecessorLink } from './handover';
import type { StatusEvent } from './protocol';

/**
 * Options of a daemon: what it runs and where, the hooks of the observers around it, and what the composition root
 * (src/app/compose-daemon.ts) builds its parts from (clock, backend choice and factories, sysctl store, engine tuning).
 */
export interface DaemonOptions {
  /** Absolute path of the configuration file. */
  readonly configPath: string;
  /** Configuration name (pid file and control socket are per name, as ldirectord's pid file). */
  readonly configName: string;
  readonly logger: Logger;
  /**
   * Where the daemon puts the secrets of every configuration it loads; it hides them from its control answers, and
   * the logger given here should hide them too (pass the same one to `createDaemonLogger`). Default: its own.
   */
  readonly redactor?: SecretRedactor;
  /** `-d`: as ldirectord, the log file is not test-opened. */
  readonly debug?: boolean;
  /** Kernel backend; `memory` runs everything except the kernel (and says so). Default `auto`. */
  readonly ipvs?: BackendChoice;
  readonly clock?: Clock;
  /**
   * Runs connect and plain-http checks' steady state on the native engine's thread (no JS per round). Default: true
   * with the system clock (no `clock` given), since the engine keeps real time; false runs every round in JS.
   */
  readonly offloadChecks?: boolean;
  readonly pid?: number;
  readonly runDirectory?: string;
  readonly socketDirectory?: string;
  /**
   * Directory of the state file that keeps runtime weights and hand drains across a stop and start or a kill -9
   * (`<configName>.state`). Default /var/lib/ldir.
   */
  readonly stateDirectory?: string;
  readonly sysctlStore?: SysctlStore;
  readonly backendFactories?: BackendFactories;
  readonly load?: LoadOptions;
  /**
   * Engine tuning (resync, coalescing, drain polling); backend, clock and logger are the daemon's. The drain policy
   * (`drain=`, `draintimeout=`) is the configuration's alone.
   */
  readonly engine?: Omit<EngineOptions, 'backend' | 'clock' | 'logger' | 'onEvent' | 'drainEnabled' | 'drainTimeoutMs'>;
  /** Milliseconds between looks at the configuration file for `autoreload`/`callback`. Default 1000. */
  readonly watchIntervalMs?: number;
  /** Receives engine events (alerts, metrics). */
  readonly onEngineEvent?: (event: EngineEvent) => void;
  /** Receives health transitions after the engine (alerts, metrics). */
  readonly onTransition?: (transition: HealthTransition) => void;
  /** Receives every finished check (metrics). */
  readonly onCheck?: (record: CheckRecord) => void;
  /** Receives offloaded checks' quiet rounds in batches (instead of `onCheck` for each); see the scheduler. */
  readonly onQuietRounds?: (rounds: QuietRounds) => void;
  /** Receives daemon state changes (alerts' `emailalertstatus`). */
  readonly onState?: (state: DaemonState) => void;
  /** Receives the outcome of every reload (`at` in epoch milliseconds; `message` says why a refused one was refused). */
  readonly onReload?: (ok: boolean, at: number, message?: string) => void;
  /** The director's recent events, oldest first, for the status report (the observers keep them). */
  readonly recentEvents?: () => readonly StatusEvent[];
  /** Bound of the kernel read behind a status report's traffic, in milliseconds. Default 3 000 (as a scrape's). */
  readonly statusKernelTimeoutMs?: number;
  /** Receives each configuration that comes into force (start and successful reloads). */
  readonly onConfig?: (config: Config) => void;
  /** Program and arguments that run `ldir` (for `execute=` instances). Default: this Node and dist/src/main.js. */
  readonly selfCommand?: readonly string[];
  /** Called once the daemon stopped (after `stop`, from a signal or the control socket). */
  readonly onStopped?: () => void;
  /**
   * Set when this daemon was started by a running one as its successor (`ldir restart`): it checks every real once,
   * takes the old daemon's state and the table as they are, and only then writes the kernel.
   */
  readonly predecessor?: PredecessorLink;
  /**
   * This daemon may hand over to a successor on `restart`: it was started detached (`ldir start`, or as a successor),
   * so nothing supervises its process. Default false: a foreground daemon's supervisor would restart it on exit.
   */
  readonly canHandOver?: boolean;
  /**
   * A restart moves resources held outside the daemon (the metrics endpoint): `release` before the successor takes
   * over, `reclaim` when it failed and this daemon goes on.
   */
  readonly onHandover?: (phase: 'release' | 'reclaim') => Promise<void>;
  /** A successor receives its predecessor's view of every pair (alerts: only what changed since is reported). */
  readonly onTakeover?: (health: HandoverState['health']) => void;
  /**
   * Aborts a successor's start before it takes over (SIGTERM while it prepares): it exits without having touched
   * anything, and the old daemon goes on.
   */
  readonly abortTakeover?: AbortSignal;
}
