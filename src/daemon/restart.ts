// The old daemon's side of a restart: start the successor, wait until it has checked every real, stop writing the
// kernel and hand the state over; when anything fails, undo and go on. See docs/design-notes.md, "Restart".
import type { Clock } from '../clock';
import { ErrorCodes, errorMessage, LdirError } from '../errors';
import type { Logger } from '../log';
import { Successor, type HandoverState } from './handover';
import type { RestartOptions, RestartResult } from './protocol';

/** What the running daemon does around the hand-over. */
export interface HandoverParty {
  /** Stops every write and watch (kernel passes, checks, autoreload, metrics) and returns the state to hand over. */
  freeze(): Promise<HandoverState>;
  /** Undoes {@link freeze}: the hand-over failed and this daemon goes on. */
  thaw(): Promise<void>;
}

/** Who asks and how: the request, the running daemon's own program and settings, its clock and log. */
export interface HandOverOptions {
  readonly request: RestartOptions;
  /** Program that runs `ldir` when the request names none. */
  readonly selfCommand: readonly string[];
  readonly configPath: string;
  readonly ipvs: string;
  readonly debug: boolean;
  readonly pid: number;
  readonly clock: Clock;
  readonly log: Logger;
  /** Receives the successor as soon as it is started (a stop meanwhile kills it). */
  readonly onSpawned?: (successor: Successor) => void;
}

/**
 * Runs one hand-over. Resolves with the successor's pid once it runs the director (the caller then exits without
 * cleanup); rejects with why it did not, after having killed the successor and thawed (this daemon goes on as
 * before). The successor's `--timeout` bounds each wait (default 60 s).
 */
export async function handOver(party: HandoverParty, o: HandOverOptions): Promise<RestartResult> {
  const t0 = o.clock.monotonic();
  const timeoutMs = o.request.timeoutMs ?? 60_000;
  const [command, ...programArgs] = o.request.program ?? o.selfCommand;
  const args = [
    ...programArgs,
    '--foreground',
    `--ipvs=${o.request.ipvs ?? o.ipvs}`,
    ...((o.request.debug ?? o.debug) ? ['-d'] : []),
    `--timeout=${Math.ceil(timeoutMs / 1000)}`,
    o.configPath,
    'start',
  ];
  o.log.info(
    { program: [command, ...programArgs] },
    'restart: starting the new daemon; this one goes on until it has checked every real',
  );
  const successor = Successor.spawn({ command: command as string, args, argv0: 'ldir' });
  o.onSpawned?.(successor);
  try {
    await successor.prepared(timeoutMs);
  } catch (err) {
    await successor.kill();
    o.log.error({ err: errorMessage(err) }, 'restart: the new daemon did not come up; this one goes on');
    throw err;
  }
  let state: HandoverState;
  try {
    state = await party.freeze();
  } catch (err) {
    await successor.kill();
    await party.thaw();
    throw err;
  }
  try {
    const pid = await successor.takeOver(state, Math.max(10_000, timeoutMs - (o.clock.monotonic() - t0)));
    successor.release();
    o.log.info({ successor: pid }, 'restart: the new daemon runs the director; this one exits without cleanup');
    return { pid, previousPid: o.pid, durationMs: Math.round(o.clock.monotonic() - t0) };
  } catch (err) {
    await successor.kill();
    o.log.error({ err: errorMessage(err) }, 'restart: the new daemon failed while taking over; this one goes on');
    await party.thaw();
    throw err;
  }
}

/** What {@link Restarts} starts hand-overs with: the daemon's side, and the settings of {@link handOver} but the request. */
export interface RestartsOptions extends Omit<HandOverOptions, 'request' | 'onSpawned'> {
  readonly party: HandoverParty;
  /** The daemon was started detached (nothing supervises it), so it may hand over. */
  readonly canHandOver: boolean;
}

/** The daemon's restarts: the one under way (at most one), and the successor's pid once one took over. */
export class Restarts {
  /** A restart under way: its outcome, and how to stop its successor (a stop that arrives meanwhile). */
  private restarting:
    | { readonly done: Promise<RestartResult>; readonly killSuccessor: () => Promise<void> }
    | undefined;
  /** The successor's pid once it took over: this daemon then exits without cleanup. */
  private successorPid: number | undefined;

  constructor(private readonly o: RestartsOptions) {}

  /** A restart is under way, or done: the director is (being) handed to a successor. */
  busy(): boolean {
    return this.restarting !== undefined || this.successorPid !== undefined;
  }

  /** The successor's pid once it took over; undefined before (or without) a hand-over. */
  handedOverTo(): number | undefined {
    return this.successorPid;
  }

  /** Throws LDIR_ERR_RESTART_UNSUPPORTED in the foreground (a supervisor restarts that process). */
  assertSupported(): void {
    if (!this.o.canHandOver) {
      throw new LdirError(
        ErrorCodes.RESTART_UNSUPPORTED,
        `this daemon runs in the foreground (a supervisor restarts its process): a restart cannot hand over without a gap`,
      );
    }
  }

  /** Hands the director to a successor daemon ({@link handOver}); resolves once the successor runs. */
  start(request: RestartOptions): Promise<RestartResult> {
    let successor: Successor | undefined;
    const o = this.o;
    const done = handOver(o.party, {
      request,
      selfCommand: o.selfCommand,
      configPath: o.configPath,
      ipvs: o.ipvs,
      debug: o.debug,
      pid: o.pid,
      clock: o.clock,
      log: o.log,
      onSpawned: (s) => {
        successor = s;
      },
    })
      .then((result) => {
        this.successorPid = result.pid;
        return result;
      })
      .finally(() => {
        if (this.restarting?.done === done) this.restarting = undefined;
      });
    this.restarting = {
      done,
      killSuccessor: async () => {
        await successor?.kill();
      },
    };
    return done;
  }

  /** A stop during a hand-over: the successor is stopped and the hand-over's end awaited (a failed one thaws first). */
  async cancel(): Promise<void> {
    const restarting = this.restarting;
    if (!restarting || this.successorPid !== undefined) return;
    this.o.log.info('stop during a restart: the new daemon is stopped first');
    await restarting.killSuccessor();
    await restarting.done.catch(() => undefined);
  }
}
