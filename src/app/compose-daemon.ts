// The composition root of the daemon: the one place that builds its concrete parts (kernel backend, checks, engine,
// announcer, control socket, watcher, loaders, runners) from the daemon's options, and starts a daemon with them.
import { reverse } from 'node:dns/promises';
import { Announcer } from '../announce/announcer';
import { routeDriverFor } from '../announce/driver-for';
import { connectGuard } from '../announce/guard-client';
import { runCheck } from '../checks/dispatch';
import { ReverseNames } from '../checks/maintenance';
import { defaultCheckers } from '../checks/registry';
import { CheckScheduler } from '../checks/scheduler';
import { openTcpProber } from '../checks/tcp-prober';
import { systemClock } from '../clock';
import { ConfigLoadWorker } from '../config/load-off-thread';
import { ConfigWatcher } from '../daemon/config-watcher';
import { startControlServer } from '../daemon/control-server';
import { Daemon } from '../daemon/daemon';
import type { CheckRuntime, DaemonParts } from '../daemon/daemon-parts';
import type { DaemonOptions } from '../daemon/daemon-options';
import { spawnInstanceRunner } from '../daemon/execute-instances';
import { Engine } from '../engine/engine';
import { spawnProcessRunner } from '../process-runner';
import { spawnRunner } from '../engine/fallback-command';
import { selectBackend } from '../ipvs/select';
import type { Logger } from '../log';
import { SecretRedactor } from '../secrets';
import { selfCommand } from '../system/self-command';
import { procSysStore } from '../system/sysctl-store';
import { guardSocketPath, spawnAnnounceGuard } from './announce-guard-process';

/**
 * The parts of a daemon for `options`: the system's (netlink or ipvsadm, the native probe engine, /proc/sys, child
 * processes, reverse DNS, a loader thread) unless the options name others (a backend factory, a sysctl store, a
 * clock, a redactor, the engine's runner of fallback and quorum commands).
 */
export function composeDaemonParts(options: DaemonOptions): DaemonParts {
  const clock = options.clock ?? systemClock();
  const logger = options.logger;
  const log = logger.child({ module: 'daemon' });
  const self = options.selfCommand ?? selfCommand();
  const runCommand = spawnRunner();
  return {
    clock,
    pid: options.pid ?? process.pid,
    redactor: options.redactor ?? new SecretRedactor(),
    selfCommand: self,
    loader: new ConfigLoadWorker({ logger: log }),
    sysctlStore: options.sysctlStore ?? procSysStore(),
    runCommand,
    instanceRunner: spawnInstanceRunner(),
    names: new ReverseNames({ lookup: (a) => reverse(a), clock }),
    openBackend: () => selectBackend(options.ipvs ?? 'auto', options.backendFactories),
    // Connect and plain-http checks run their steady state on the native engine's thread (no JS per round) by default
    // with the system clock only: the engine keeps real time.
    openChecks: () => openChecks(log, (options.offloadChecks ?? options.clock === undefined) ? clock : undefined),
    createEngine: (wiring) =>
      new Engine({ ...options.engine, ...wiring, clock, logger, runCommand: options.engine?.runCommand ?? runCommand }),
    createAnnouncer: (onChange) => {
      const path = guardSocketPath(options.configName, options.socketDirectory);
      // Runs the routing daemon's shell (`vtysh`) for route health injection through FRR.
      const processRunner = spawnProcessRunner();
      return new Announcer({
        clock,
        logger,
        driverFor: (s) => routeDriverFor(s, processRunner),
        onChange,
        guard: () => connectGuard({ path, clock, spawn: () => spawnAnnounceGuard(self, path, log) }),
      });
    },
    createScheduler: (o) => new CheckScheduler({ ...o, clock, logger }),
    startControl: (o) => startControlServer({ ...o, logger, clock }),
    createWatcher: (o) => new ConfigWatcher({ ...o, clock }),
  };
}

/** Opens the native probe engine when the addon is built (else checks use Node sockets), with its offload on `offloadClock`. */
function openChecks(log: Logger, offloadClock: DaemonParts['clock'] | undefined): CheckRuntime {
  const prober = openTcpProber();
  if (!prober) log.warn('native addon not built: connect and http checks use Node sockets (more CPU per check)');
  const checkers = defaultCheckers(prober ? { tcpProber: prober } : {});
  const offload = offloadClock ? prober?.roundOffload?.(offloadClock) : undefined;
  return {
    run: (job, kind, signal) => runCheck(job, kind, signal, checkers),
    ...(offload ? { offload } : {}),
    nativeHttp: prober !== undefined,
    close: () => prober?.close(),
  };
}

/** Starts a daemon made of {@link composeDaemonParts}; rejects as {@link Daemon.start} does. */
export function startDaemon(options: DaemonOptions): Promise<Daemon> {
  return Daemon.start(options, composeDaemonParts(options));
}
