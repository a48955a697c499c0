// `execute=`: further ldir instances for other configurations, started, reloaded and stopped with this one.
import { spawnHookRunner } from '../alerts/commands';
import { ErrorCodes, errorMessage, LdirError } from '../errors';
import type { Logger } from '../log';
import { HANDOVER_ENV } from './handover';
import { READY_FD_ENV } from './launch';

/** One run: configuration name and action (`start`, `stop`, or `try-reload`: reload if running, else start). */
export type InstanceRun = readonly [name: string, action: 'start' | 'stop' | 'try-reload'];

/**
 * The runs of a reload from the instances `before` to those `after`, as ldirectord's `ld_cmd_children`: stop the
 * removed ones, reload (or start) the kept ones, start the new ones.
 */
export function reloadRuns(before: readonly string[], after: readonly string[]): InstanceRun[] {
  return [
    ...before.filter((n) => !after.includes(n)).map((n): InstanceRun => [n, 'stop']),
    ...after.map((n): InstanceRun => [n, before.includes(n) ? 'try-reload' : 'start']),
  ];
}

/** How one `ldir NAME ACTION` ended: its exit code (null when a signal ended it) and the start of its stderr. */
export interface InstanceOutcome {
  readonly exitCode: number | null;
  readonly signal?: string | null;
  readonly stderr?: string;
}

/** Runs one `ldir` command without a shell, bounded in time; rejects when it cannot be started at all. */
export type InstanceRunner = (argv: readonly string[]) => Promise<InstanceOutcome>;

/**
 * The {@link InstanceRunner} of the daemon: no shell, its own process group, the start of its stderr kept, killed
 * after `timeoutMs` (an instance's `start` waits for its daemon's first kernel sync). The environment is this
 * process's without the markers of how this daemon was launched (its ready pipe, a hand-over), which are not the
 * instance's.
 */
export function spawnInstanceRunner(timeoutMs = 120_000): InstanceRunner {
  const run = spawnHookRunner();
  return (argv) => {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env))
      if (v !== undefined && k !== READY_FD_ENV && k !== HANDOVER_ENV) env[k] = v;
    return run(argv, { env, timeoutMs });
  };
}

/** Options of {@link ExecuteInstances}. */
export interface ExecuteInstancesOptions {
  /** Program and arguments that run `ldir`. */
  readonly self: readonly string[];
  /**
   * The options every instance inherits from this daemon, before its name: the kernel backend in use
   * (`--ipvs=memory` stays memory: a dry run never programs the kernel through a child) and `-d`.
   */
  readonly flags: () => readonly string[];
  readonly logger: Logger;
  readonly run: InstanceRunner;
}

/** The child's stderr on one line, for a start report (the OCF agent takes the first line as its exit reason). */
function oneLine(stderr: string | undefined): string {
  const lines = (stderr ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  return lines.join('; ');
}

/** Runs `ldir [FLAGS] NAME ACTION` for `execute=` instances, as ldirectord's `ld_cmd_children`. */
export class ExecuteInstances {
  constructor(private readonly options: ExecuteInstancesOptions) {}

  /**
   * Starts the instances of a daemon that is starting, in order. The first that does not start stops the ones
   * started before it (in reverse order: a failed start leaves none of the family running, as the stop a cluster
   * manager sends next would find nothing to stop) and throws `LDIR_ERR_DAEMON_START_FAILED` naming it, with its
   * exit status and what it printed: the parent's `start` fails with that message.
   */
  async start(names: readonly string[]): Promise<void> {
    const started: string[] = [];
    for (const name of names) {
      const outcome = await this.attempt(name, 'start');
      if (outcome.exitCode === 0) {
        this.options.logger.info({ instance: name, action: 'start' }, 'execute= instance');
        started.push(name);
        continue;
      }
      const how =
        outcome.exitCode !== null
          ? `exit ${outcome.exitCode}`
          : outcome.signal
            ? `killed by ${outcome.signal}`
            : 'could not be run';
      const said = oneLine(outcome.stderr);
      const message = `execute= instance ${name} did not start (${how})${said ? `: ${said}` : ''}`;
      this.options.logger.error({ instance: name, action: 'start', exitCode: outcome.exitCode }, message);
      await this.run(started.reverse().map((n): InstanceRun => [n, 'stop']));
      throw new LdirError(ErrorCodes.DAEMON_START_FAILED, message, { details: { exitCode: 1, instance: name } });
    }
  }

  /** Runs each in order; failures are logged, never thrown. `try-reload` starts an instance whose reload says "stopped" (1). */
  async run(runs: readonly InstanceRun[]): Promise<void> {
    for (const [name, action] of runs) {
      let outcome = await this.attempt(name, action === 'try-reload' ? 'reload' : action);
      if (action === 'try-reload' && outcome.exitCode === 1) outcome = await this.attempt(name, 'start');
      if (outcome.exitCode === 0) this.options.logger.info({ instance: name, action }, 'execute= instance');
      else
        this.options.logger.warn(
          { instance: name, action, exitCode: outcome.exitCode, stderr: oneLine(outcome.stderr) },
          'execute= instance failed',
        );
    }
  }

  private async attempt(name: string, action: string): Promise<InstanceOutcome> {
    try {
      return await this.options.run([...this.options.self, ...this.options.flags(), name, action]);
    } catch (err) {
      this.options.logger.warn({ instance: name, action, err: String(err) }, 'execute= instance could not be run');
      return { exitCode: null, signal: null, stderr: `cannot run ldir: ${errorMessage(err)}` };
    }
  }
}
