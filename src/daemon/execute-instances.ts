// `execute=`: further ldir instances for other configurations, started, reloaded and stopped with this one.
import type { CommandRunner } from '../engine/fallback-command';
import type { Logger } from '../log';

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

/** Options of {@link ExecuteInstances}. */
export interface ExecuteInstancesOptions {
  /** Program and arguments that run `ldir`. */
  readonly self: readonly string[];
  readonly logger: Logger;
  /** Runs one command without a shell, bounded in time. */
  readonly run: CommandRunner;
}

/** Runs `ldir NAME ACTION` for `execute=` instances, as ldirectord's `ld_cmd_children`. */
export class ExecuteInstances {
  constructor(private readonly options: ExecuteInstancesOptions) {}

  /** Runs each in order; failures are logged, never thrown. `try-reload` starts an instance whose reload says "stopped" (1). */
  async run(runs: readonly InstanceRun[]): Promise<void> {
    for (const [name, action] of runs) {
      let code = await this.attempt(name, action === 'try-reload' ? 'reload' : action);
      if (action === 'try-reload' && code === 1) code = await this.attempt(name, 'start');
      if (code === 0) this.options.logger.info({ instance: name, action }, 'execute= instance');
      else this.options.logger.warn({ instance: name, action, exitCode: code }, 'execute= instance failed');
    }
  }

  private async attempt(name: string, action: string): Promise<number | null> {
    try {
      return (await this.options.run([...this.options.self, name, action])).exitCode;
    } catch (err) {
      this.options.logger.warn({ instance: name, action, err: String(err) }, 'execute= instance could not be run');
      return null;
    }
  }
}
