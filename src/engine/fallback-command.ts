// Runs `fallbackcommand start|stop VIP:PORT PROTO` once per edge per virtual, in order, never blocking the sync loop.
import { spawn } from 'node:child_process';
import type { Logger } from '../log';
import type { VirtualService } from '../model';

/** How a command ended: its exit code, or the signal that killed it (exitCode null). */
export interface CommandOutcome {
  readonly exitCode: number | null;
  readonly signal?: string | null;
}

/** Runs a command without a shell (`argv[0]` is the program); rejects when it cannot be started at all. */
export type CommandRunner = (argv: readonly string[]) => Promise<CommandOutcome>;

/** The two actions of `fallbackcommand`. */
export type FallbackAction = 'start' | 'stop';

/** A finished fallback command, for logs and engine events. */
export interface FallbackCommandRun {
  readonly virtualId: string;
  readonly action: FallbackAction;
  readonly argv: readonly string[];
  readonly exitCode: number | null;
  /** Set when the command could not run, ended by a signal or exited non-zero. */
  readonly error?: string;
}

/**
 * The virtual service as ldirectord passes it to `fallbackcommand`: `ADDRESS:PORT` (IPv6 in brackets, as
 * ldirectord stores it); for a firewall-mark service the mark number (ldirectord passes `:0` there, an empty address).
 */
export function fallbackCommandVirtual(v: VirtualService): string {
  if (v.fwmark !== undefined) return String(v.fwmark);
  const address = v.address ?? '';
  return `${address.includes(':') ? `[${address}]` : address}:${v.port}`;
}

/**
 * The argv of `fallbackcommand` for `action`: the configured command split on white space (ldirectord hands the
 * line to Perl's `system`; ldir never uses a shell), then `start|stop`, `VIP:PORT` and the protocol (`tcp`, `udp`,
 * `fwm`), as ldirectord's `do_fallback_command`.
 */
export function fallbackCommandArgv(command: string, action: FallbackAction, v: VirtualService): string[] {
  return [...command.trim().split(/\s+/).filter((w) => w !== ''), action, fallbackCommandVirtual(v), v.protocol];
}

/**
 * A {@link CommandRunner} over `child_process.spawn`: no shell, stdio ignored, killed with SIGKILL after `timeoutMs`
 * (ldirectord runs it blocking, without a limit).
 */
export function spawnRunner(timeoutMs = 30_000): CommandRunner {
  return (argv) => new Promise<CommandOutcome>((resolve, reject) => {
    const [program, ...args] = argv;
    if (program === undefined) {
      reject(new Error('empty command'));
      return;
    }
    const child = spawn(program, args, { stdio: 'ignore', shell: false });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ exitCode: code, signal });
    });
  });
}

/**
 * Tracks the last fallback action run per virtual and runs the command on changes only (ldirectord's
 * de-duplication), one at a time per virtual so a `stop` never overtakes its `start`.
 */
export class FallbackCommands {
  private readonly last = new Map<string, FallbackAction>();
  private readonly chains = new Map<string, Promise<void>>();

  constructor(
    private readonly run: CommandRunner | undefined,
    private readonly log: Logger,
    private readonly onRun: (run: FallbackCommandRun) => void,
  ) {}

  /** The last action run (or started) for a virtual. */
  lastAction(virtualId: string): FallbackAction | undefined {
    return this.last.get(virtualId);
  }

  /** Takes over the last action a previous daemon ran for a virtual (a restart): it is not run again. */
  adopt(virtualId: string, action: FallbackAction): void {
    this.last.set(virtualId, action);
  }

  /** Runs `action` for `v` unless it was the last one run; no-op when `v` has no fallbackcommand. */
  update(v: VirtualService, action: FallbackAction): void {
    if (v.fallbackCommand === undefined || this.last.get(v.id) === action) return;
    this.last.set(v.id, action);
    const argv = fallbackCommandArgv(v.fallbackCommand, action, v);
    const previous = this.chains.get(v.id) ?? Promise.resolve();
    const next = previous.then(() => this.execute(v.id, action, argv));
    this.chains.set(v.id, next);
    void next.finally(() => {
      if (this.chains.get(v.id) === next) this.chains.delete(v.id);
    });
  }

  /** Forgets a virtual (removed from the config) after running `stop` if its last action was `start`. */
  retire(v: VirtualService): void {
    if (this.last.get(v.id) === 'start') this.update(v, 'stop');
    this.last.delete(v.id);
  }

  /** Resolves when every command started so far has finished. */
  async idle(): Promise<void> {
    while (this.chains.size > 0) await Promise.allSettled([...this.chains.values()]);
  }

  private async execute(virtualId: string, action: FallbackAction, argv: readonly string[]): Promise<void> {
    if (!this.run) {
      this.log.warn({ vs: virtualId, action }, 'fallbackcommand not run: no command runner');
      return;
    }
    this.log.info({ vs: virtualId, action, argv }, `running fallbackcommand ${action}`);
    let result: FallbackCommandRun;
    try {
      const outcome = await this.run(argv);
      const failed = outcome.exitCode !== 0;
      const error = outcome.exitCode === null ? `killed by ${outcome.signal ?? 'a signal'}` : `exit status ${outcome.exitCode}`;
      result = { virtualId, action, argv, exitCode: outcome.exitCode, ...(failed ? { error } : {}) };
    } catch (err) {
      result = { virtualId, action, argv, exitCode: null, error: err instanceof Error ? err.message : String(err) };
    }
    if (result.error !== undefined) this.log.warn({ vs: virtualId, action, err: result.error }, `fallbackcommand ${action} failed`);
    this.onRun(result);
  }
}
