// Runs `fallbackcommand start|stop VIP:PORT PROTO` (and the quorum commands) once per edge per virtual, in order, never
// blocking the sync loop.
import { errorMessage } from '../errors';
import type { Logger } from '../log';
import { spawnProcessRunner, type ProcessRunner } from '../process-runner';
import { quorumThresholds, type VirtualService } from '../model';
import type { DecidedQuorum } from './quorum';

/** How a command ended: its exit code, or the signal that killed it (exitCode null). */
export interface CommandOutcome {
  readonly exitCode: number | null;
  readonly signal?: string | null;
}

/** Runs a command without a shell (`argv[0]` is the program); rejects when it cannot be started at all. */
export type CommandRunner = (argv: readonly string[]) => Promise<CommandOutcome>;

/** The two actions of `fallbackcommand`. */
export type FallbackAction = 'start' | 'stop';

/** A finished edge command (fallbackcommand, quorum commands), for logs and engine events. */
export interface EdgeCommandRun<A extends string> {
  readonly virtualId: string;
  readonly action: A;
  readonly argv: readonly string[];
  readonly exitCode: number | null;
  /** Set when the command could not run, ended by a signal or exited non-zero. */
  readonly error?: string;
}

/** A finished fallback command. */
export type FallbackCommandRun = EdgeCommandRun<FallbackAction>;

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
  return [...commandWords(command), action, fallbackCommandVirtual(v), v.protocol];
}

/** A configured command line split on white space (ldir never runs a shell). */
function commandWords(command: string): string[] {
  return command
    .trim()
    .split(/\s+/)
    .filter((w) => w !== '');
}

/**
 * A {@link CommandRunner} over the process runner: no shell, stdio ignored, its process group terminated after
 * `timeoutMs` (SIGTERM, then SIGKILL after a grace; ldirectord runs it blocking, without a limit).
 */
export function spawnRunner(timeoutMs = 30_000, runner: ProcessRunner = spawnProcessRunner()): CommandRunner {
  return async (argv) => {
    const r = await runner({ argv, timeoutMs });
    return { exitCode: r.exitCode, signal: r.signal };
  };
}

/**
 * Runs one of a virtual's edge commands on changes of its state only, one at a time per virtual so a later action
 * never overtakes an earlier one. `argvOf` gives the command line for an action and the caller's `detail`
 * (undefined: no command for it).
 * `recordAlways`: the action is remembered even when it has no command (two commands, one per action: a `down`
 * without a command must not hide the next `down` that has one).
 */
export class EdgeCommands<A extends string, D = undefined> {
  private readonly last = new Map<string, A>();
  private readonly chains = new Map<string, Promise<void>>();

  constructor(
    private readonly name: string,
    private readonly argvOf: (v: VirtualService, action: A, detail: D | undefined) => string[] | undefined,
    private readonly run: CommandRunner | undefined,
    private readonly log: Logger,
    private readonly onRun: (run: EdgeCommandRun<A>) => void,
    private readonly recordAlways = false,
  ) {}

  /** The last action run (or started) for a virtual. */
  lastAction(virtualId: string): A | undefined {
    return this.last.get(virtualId);
  }

  /** Takes over the last action a previous daemon ran for a virtual (a restart): it is not run again. */
  adopt(virtualId: string, action: A): void {
    this.last.set(virtualId, action);
  }

  /** The command line `action` runs for `v` (with `detail`), or undefined when `v` has no command for it. */
  argv(v: VirtualService, action: A, detail?: D): string[] | undefined {
    return this.argvOf(v, action, detail);
  }

  /** Runs `action` for `v` unless it was the last one; no-op when `v` has no command for it. `detail` goes to `argvOf`. */
  update(v: VirtualService, action: A, detail?: D): void {
    const argv = this.argv(v, action, detail);
    if ((argv === undefined && !this.recordAlways) || this.last.get(v.id) === action) return;
    this.last.set(v.id, action);
    if (argv === undefined) return;
    const previous = this.chains.get(v.id) ?? Promise.resolve();
    const next = previous.then(() => this.execute(v.id, action, argv));
    this.chains.set(v.id, next);
    void next.finally(() => {
      if (this.chains.get(v.id) === next) this.chains.delete(v.id);
    });
  }

  /** Forgets a virtual (removed from the config) after running `finalAction` if the last action was another one. */
  retire(v: VirtualService, finalAction?: A): void {
    const last = this.last.get(v.id);
    if (finalAction !== undefined && last !== undefined && last !== finalAction) this.update(v, finalAction);
    this.last.delete(v.id);
  }

  /** Resolves when every command started so far has finished. */
  async idle(): Promise<void> {
    while (this.chains.size > 0) await Promise.allSettled([...this.chains.values()]);
  }

  private async execute(virtualId: string, action: A, argv: readonly string[]): Promise<void> {
    if (!this.run) {
      this.log.warn({ vs: virtualId, action }, `${this.name} not run: no command runner`);
      return;
    }
    this.log.info({ vs: virtualId, action, argv }, `running ${this.name} ${action}`);
    let result: EdgeCommandRun<A>;
    try {
      const outcome = await this.run(argv);
      const failed = outcome.exitCode !== 0;
      const error =
        outcome.exitCode === null ? `killed by ${outcome.signal ?? 'a signal'}` : `exit status ${outcome.exitCode}`;
      result = { virtualId, action, argv, exitCode: outcome.exitCode, ...(failed ? { error } : {}) };
    } catch (err) {
      result = { virtualId, action, argv, exitCode: null, error: errorMessage(err) };
    }
    if (result.error !== undefined)
      this.log.warn({ vs: virtualId, action, err: result.error }, `${this.name} ${action} failed`);
    this.onRun(result);
  }
}

/**
 * Tracks the last fallback action run per virtual and runs `fallbackcommand` on changes only (ldirectord's
 * de-duplication), one at a time per virtual so a `stop` never overtakes its `start`.
 */
export class FallbackCommands extends EdgeCommands<FallbackAction> {
  constructor(run: CommandRunner | undefined, log: Logger, onRun: (run: FallbackCommandRun) => void) {
    super(
      'fallbackcommand',
      (v, action) => (v.fallbackCommand === undefined ? undefined : fallbackCommandArgv(v.fallbackCommand, action, v)),
      run,
      log,
      onRun,
    );
  }

  /** Forgets a virtual (removed from the config) after running `stop` if its last action was `start`. */
  override retire(v: VirtualService): void {
    super.retire(v, 'stop');
  }
}

/**
 * The argv of a quorum command: the configured command split on white space (no shell), then `VIP:PORT` (as
 * fallbackcommand has it), the protocol, the serving reals and the quorum.
 */
export function quorumCommandArgv(command: string, v: VirtualService, serving: number, quorum: number): string[] {
  return [...commandWords(command), fallbackCommandVirtual(v), v.protocol, String(serving), String(quorum)];
}

/** The quorum command of `v` for a state: `quorumupcommand` for `up`, `quorumdowncommand` for `down`. */
export function quorumCommandOf(v: VirtualService, state: DecidedQuorum): string | undefined {
  return state === 'up' ? v.quorum?.upCommand : v.quorum?.downCommand;
}

/** What a quorum command is told besides the virtual: the serving reals and the quorum. */
export interface QuorumCommandDetail {
  readonly serving: number;
  readonly quorum: number;
}

/** Runs `quorumupcommand` / `quorumdowncommand` on the decided changes of a virtual's quorum, first one included. */
export class QuorumCommands extends EdgeCommands<DecidedQuorum, QuorumCommandDetail> {
  constructor(run: CommandRunner | undefined, log: Logger, onRun: (run: EdgeCommandRun<DecidedQuorum>) => void) {
    super(
      'quorum command',
      (v, action, detail) => {
        const command = quorumCommandOf(v, action);
        // Without a detail (a retired virtual): no real serves any more; the quorum is the configured one.
        return command === undefined
          ? undefined
          : quorumCommandArgv(
              command,
              v,
              detail?.serving ?? 0,
              detail?.quorum ?? quorumThresholds(v.quorum, v.reals.length).quorum,
            );
      },
      run,
      log,
      onRun,
      true,
    );
  }
}
