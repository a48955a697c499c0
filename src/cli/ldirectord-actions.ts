// ldirectord-compatible invocation: `ldir [-d] [CONFIG] start|stop|restart|try-restart|reload|force-reload|status`.
import type { LoadOptions } from '../config/load';
import type { LocateOptions } from '../config/locate';
import { pidFilePath, readPidState } from '../system/pid-file';
import { ExitCode } from './exit-codes';
import type { CliIo } from './io';
import { loadForCli } from './load-for-cli';

/** The actions ldirectord accepts. */
export const LDIRECTORD_ACTIONS = ['start', 'stop', 'restart', 'try-restart', 'reload', 'force-reload', 'status'] as const;
/** One of {@link LDIRECTORD_ACTIONS}. */
export type LdirectordAction = (typeof LDIRECTORD_ACTIONS)[number];

/** Options of {@link runLdirectordAction}. */
export interface ActionOptions {
  readonly config?: string;
  readonly action: LdirectordAction;
  readonly debug: boolean;
  readonly load?: LoadOptions;
  readonly locate?: LocateOptions;
  readonly runDirectory?: string;
  readonly procRoot?: string;
}

/**
 * Runs an ldirectord action. Like ldirectord the configuration is parsed first and any error gives exit 2 for
 * every action; unlike ldirectord a broken configuration never touches the running daemon's pid file.
 */
export async function runLdirectordAction(options: ActionOptions, io: CliIo): Promise<number> {
  const loaded = await loadForCli(options.config, io, { ...options.load, debug: options.debug }, options.locate);
  if ('exitCode' in loaded) return loaded.exitCode;
  const { located } = loaded;
  const pidFile = pidFilePath(located.name, options.runDirectory);
  const pid = readPidState(pidFile, options.procRoot);
  switch (options.action) {
    case 'status':
      if (pid.state === 'running') {
        io.stderr(`ldir for ${located.path} is running with pid: ${pid.pid}\n`);
        return ExitCode.OK;
      }
      if (pid.state === 'stale') io.stderr(`ldirectord stale pid file ${pidFile} for ${located.path}\n`);
      io.stdout(`ldir is stopped for ${located.path}\n`);
      return pid.state === 'stale' ? ExitCode.FAILURE : ExitCode.NOT_RUNNING;
    case 'stop':
    case 'try-restart':
      if (pid.state !== 'running') return ExitCode.OK;
      break;
    case 'reload':
    case 'force-reload':
      if (pid.state !== 'running') {
        io.stderr(`ldir is stopped for ${located.path}\n`);
        return ExitCode.FAILURE;
      }
      break;
    case 'start':
    case 'restart':
      break;
  }
  io.stderr(`ldir: the "${options.action}" action needs the ldir daemon, which this build does not include yet\n`);
  return ExitCode.FAILURE;
}
