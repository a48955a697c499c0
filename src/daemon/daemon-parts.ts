// What a daemon is made of: the concrete parts the composition root (src/app/compose-daemon.ts) builds and injects.
import type { AnnounceChange, Announcer } from '../announce/announcer';
import type { CheckRunner, CheckScheduler, SchedulerOptions } from '../checks/scheduler';
import type { RoundOffload } from '../checks/native-rounds';
import type { ReverseNames } from '../checks/maintenance';
import type { Clock } from '../clock';
import type { ConfigLoadWorker } from '../config/load-off-thread';
import type { Engine } from '../engine/engine';
import type { EngineEvent } from '../engine/engine-types';
import type { CommandRunner } from '../engine/fallback-command';
import type { OperatorSetting } from '../engine/operator-settings';
import type { Selection } from '../ipvs/select';
import type { IpvsBackend } from '../ipvs/types';
import type { SecretRedactor } from '../secrets';
import type { SysctlStore } from '../system/sysctl-store';
import type { ConfigWatcher, ConfigWatcherOptions } from './config-watcher';
import type { ControlServer, ControlServerOptions } from './control-server';
import type { InstanceRunner } from './execute-instances';

/**
 * The checks' runtime the root opened: how one check round runs (the checkers, with the native probe engine when the
 * addon is built), the native engine's offload of steady rounds when used, and whether plain http runs natively.
 */
export interface CheckRuntime {
  readonly run: CheckRunner;
  readonly offload?: RoundOffload;
  /** The native probe engine runs connect and plain-http checks (the http library is then not loaded for them). */
  readonly nativeHttp: boolean;
  /** Closes the native probe engine, if any. */
  close(): void;
}

/** What the daemon hands an engine it has the root make: the backend it opened, and where the engine reports. */
export interface EngineWiring {
  readonly backend: IpvsBackend;
  readonly onEvent: (event: EngineEvent) => void;
  readonly onOperatorChange: (settings: readonly OperatorSetting[]) => void;
}

/**
 * The parts of a daemon. Every one that touches the world (the kernel, the native addon, sockets, child processes,
 * DNS, worker threads, /proc/sys) is made by the root and injected here, so that the daemon holds only its
 * lifecycle and policy, and can be built from fakes. Parts that need the daemon's own state are factories the daemon
 * calls in its start order (the backend opens only after the pid file is ours).
 */
export interface DaemonParts {
  readonly clock: Clock;
  /** This process's pid (the pid file, status, the hand-over). */
  readonly pid: number;
  /** The secrets of every configuration loaded, hidden from the log and from every control answer. */
  readonly redactor: SecretRedactor;
  /** Program and arguments that run `ldir` (for `execute=` instances, the announce guard and a restart's successor). */
  readonly selfCommand: readonly string[];
  /** Loads the configuration of reloads and previews off the event loop (the start loads on it: nothing runs yet). */
  readonly loader: Pick<ConfigLoadWorker, 'load' | 'close'>;
  /** Where the sysctls are read and written. */
  readonly sysctlStore: SysctlStore;
  /** Runs `callback=` (and is the engine's runner of fallback and quorum commands). */
  readonly runCommand: CommandRunner;
  /** Runs `ldir` for the `execute=` instances. */
  readonly instanceRunner: InstanceRunner;
  /** Reverse names of real servers for `maintenancedir` (cached lookups). */
  readonly names: ReverseNames;
  /** Opens the kernel backend the options chose, with the reasons others were passed over. */
  readonly openBackend: () => Promise<Selection>;
  /** Opens the checks' runtime (the native probe engine when built). */
  readonly openChecks: () => CheckRuntime;
  /** Makes the engine over the opened backend; its tuning is the root's, its drain policy the configuration's. */
  readonly createEngine: (wiring: EngineWiring) => Engine;
  /** Makes the announcer (route health injection through BIRD, with the announce guard). */
  readonly createAnnouncer: (onChange: (change: AnnounceChange) => void) => Announcer;
  /** Makes the check scheduler; clock and logger are the root's. */
  readonly createScheduler: (options: Omit<SchedulerOptions, 'clock' | 'logger'>) => CheckScheduler;
  /** Opens the control socket; logger and clock are the root's. */
  readonly startControl: (options: Omit<ControlServerOptions, 'logger' | 'clock'>) => Promise<ControlServer>;
  /** Makes the watcher of the configuration's files; the clock is the root's. */
  readonly createWatcher: (options: Omit<ConfigWatcherOptions, 'clock'>) => ConfigWatcher;
}
