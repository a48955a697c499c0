// A restart without a gap: the running daemon starts its successor, which checks every real once while the old one
// still serves; the old one then stops writing the kernel and hands over its state; the successor takes the table
// as it is and reports ready; the old one exits without cleanup. This file is the channel between the two.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Health } from '../model/health';
import type { EngineCarryOver } from '../engine/carry-over';
import type { TimeoutClaims } from '../system/ipvs-timeouts-plan';
import { ErrorCodes, LdirError, type ErrorCode } from '../errors';
import type { WireDiagnostic } from './protocol';

/** Environment variable that tells a daemon it was started by a running daemon as its successor. */
export const HANDOVER_ENV = 'LDIR_HANDOVER';

/** Version of the hand-over messages; a successor ignores a state of another version (and starts from the kernel). */
export const HANDOVER_VERSION = 1;

/** What the old daemon hands to its successor once it has stopped writing the kernel. */
export interface HandoverState {
  readonly version: number;
  /** The old daemon's pid. */
  readonly pid: number;
  readonly engine: EngineCarryOver;
  /** Health of every (virtual, real) pair as the old daemon last saw it: alerts are raised only for what changed. */
  readonly health: readonly { readonly virtualId: string; readonly realKey: string; readonly health: Health }[];
  /**
   * The IPVS connection timeouts the old daemon set, with the values it found before (`ipvstimeouts=`): the successor
   * gives those back at its stop (`ipvstimeoutsrestore=yes`). Absent from older daemons.
   */
  readonly ipvsTimeouts?: TimeoutClaims;
}

/** Why a successor did not take over: its error code, message, exit code, and the configuration's diagnostics. */
export interface SuccessorFailure {
  readonly code: string;
  readonly message: string;
  readonly exitCode: number;
  readonly diagnostics?: readonly WireDiagnostic[];
}

/** Messages from the successor to the old daemon. */
type FromSuccessor =
  | { readonly ldir: 'prepared' }
  | { readonly ldir: 'ready'; readonly pid: number }
  | { readonly ldir: 'failed'; readonly failure: SuccessorFailure };

/** Messages from the old daemon to its successor. */
type ToSuccessor = { readonly ldir: 'takeover'; readonly state: HandoverState };

function failureError(f: SuccessorFailure): LdirError {
  const code = (Object.values(ErrorCodes) as string[]).includes(f.code)
    ? (f.code as ErrorCode)
    : ErrorCodes.DAEMON_START_FAILED;
  return new LdirError(code, `the new daemon did not take over: ${f.message}`, {
    details: { exitCode: f.exitCode, ...(f.diagnostics ? { wireDiagnostics: f.diagnostics } : {}) },
  });
}

/** Options of {@link Successor.spawn}. */
export interface SuccessorOptions {
  /** Program and arguments of the successor (`node main.js --foreground ... CONFIG start`). */
  readonly command: string;
  readonly args: readonly string[];
  readonly argv0?: string;
}

/**
 * The old daemon's side: the successor process, detached (its own session: it outlives us) with an IPC channel,
 * stdout and stderr shared (a supervisor's log keeps both).
 */
export class Successor {
  private readonly child: ChildProcess;
  private readonly messages: FromSuccessor[] = [];
  private waiter: (() => void) | undefined;
  private exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private spawnError: Error | undefined;

  private constructor(options: SuccessorOptions) {
    this.child = spawn(options.command, [...options.args], {
      detached: true,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, [HANDOVER_ENV]: '1' },
      ...(options.argv0 !== undefined ? { argv0: options.argv0 } : {}),
    });
    this.child.on('message', (m: unknown) => {
      if (m && typeof m === 'object' && typeof (m as { ldir?: unknown }).ldir === 'string')
        this.messages.push(m as FromSuccessor);
      this.wake();
    });
    this.child.once('error', (err) => {
      this.spawnError = err;
      this.wake();
    });
    this.child.once('exit', (code, signal) => {
      this.exit = { code, signal };
      this.wake();
    });
  }

  /** Starts the successor. */
  static spawn(options: SuccessorOptions): Successor {
    return new Successor(options);
  }

  /**
   * Resolves once the successor has checked every real once and waits for the state (`prepared`). Rejects with its
   * failure (a configuration error carries the diagnostics), or when it exits, or after `timeoutMs`.
   */
  async prepared(timeoutMs: number): Promise<void> {
    await this.expect('prepared', timeoutMs);
  }

  /** Sends the state and resolves with the successor's pid once it reports ready; rejects as {@link prepared}. */
  async takeOver(state: HandoverState, timeoutMs: number): Promise<number> {
    const message: ToSuccessor = { ldir: 'takeover', state };
    await new Promise<void>((resolve, reject) => {
      this.child.send(message, (err) =>
        err
          ? reject(
              new LdirError(ErrorCodes.DAEMON_START_FAILED, `cannot hand the state to the new daemon: ${err.message}`),
            )
          : resolve(),
      );
    });
    const ready = await this.expect('ready', timeoutMs);
    return ready.pid;
  }

  /** Kills the successor (SIGKILL) and resolves once it has exited (bounded: 5 s). */
  async kill(): Promise<void> {
    if (this.exit || this.child.pid === undefined) return;
    this.child.kill('SIGKILL');
    const deadline = Date.now() + 5_000;
    while (!this.exit && !this.spawnError && Date.now() < deadline) await this.next(Math.max(1, deadline - Date.now()));
  }

  /** Closes our end of the channel (after `ready`: the successor lives on without us). */
  release(): void {
    if (this.child.connected) this.child.disconnect();
    this.child.unref();
  }

  private async expect<K extends 'prepared' | 'ready'>(
    kind: K,
    timeoutMs: number,
  ): Promise<Extract<FromSuccessor, { ldir: K }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.messages.shift();
      if (m?.ldir === kind) return m as Extract<FromSuccessor, { ldir: K }>;
      if (m?.ldir === 'failed') throw failureError(m.failure);
      if (m) continue; // out of order: ignore
      if (this.spawnError)
        throw new LdirError(ErrorCodes.DAEMON_START_FAILED, `cannot start the new daemon: ${this.spawnError.message}`);
      if (this.exit) {
        const how = this.exit.signal ? `signal ${this.exit.signal}` : `status ${this.exit.code}`;
        throw new LdirError(
          ErrorCodes.DAEMON_START_FAILED,
          `the new daemon (pid ${this.child.pid}) exited (${how}) before it was ${kind}`,
          {
            details: { exitCode: this.exit.code === 2 ? 2 : 1 },
          },
        );
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new LdirError(
          ErrorCodes.DAEMON_START_FAILED,
          `the new daemon (pid ${this.child.pid}) was not ${kind} within ${timeoutMs} ms`,
          { details: { exitCode: 1 } },
        );
      }
      await this.next(left);
    }
  }

  private next(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        resolve();
      }, ms);
      this.waiter = () => {
        clearTimeout(timer);
        this.waiter = undefined;
        resolve();
      };
    });
  }

  private wake(): void {
    this.waiter?.();
  }
}

/** The successor's side: the IPC channel to the daemon that started it. */
export class PredecessorLink {
  private state: HandoverState | undefined;
  private gone = false;
  private waiter: (() => void) | undefined;

  private constructor(private readonly proc: NodeJS.Process) {
    proc.on('message', (m: unknown) => {
      const msg = m as Partial<ToSuccessor> | null;
      if (msg && msg.ldir === 'takeover' && msg.state) this.state = msg.state;
      this.waiter?.();
    });
    proc.once('disconnect', () => {
      this.gone = true;
      this.waiter?.();
    });
  }

  /**
   * The link when this process was started as a successor ({@link HANDOVER_ENV} and an IPC channel); the marker is
   * removed from the environment so that children (`execute=` instances) do not inherit it.
   */
  static fromProcess(proc: NodeJS.Process = process): PredecessorLink | undefined {
    const marked = proc.env[HANDOVER_ENV] === '1';
    delete proc.env[HANDOVER_ENV];
    if (!marked || typeof proc.send !== 'function' || !proc.connected) return undefined;
    return new PredecessorLink(proc);
  }

  /**
   * Tells the old daemon that every real has been checked once, and waits for its state. Resolves with the state,
   * or undefined when the old daemon went away without sending one (it died: this daemon takes over on its own).
   */
  async prepared(): Promise<HandoverState | undefined> {
    await this.send({ ldir: 'prepared' });
    while (!this.state && !this.gone)
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
      });
    this.waiter = undefined;
    const state = this.state;
    return state && state.version === HANDOVER_VERSION ? state : undefined;
  }

  /** Reports ready (the table is ours), then closes the channel: the old daemon exits. */
  async ready(pid: number): Promise<void> {
    await this.send({ ldir: 'ready', pid });
    this.close();
  }

  /** Reports why this daemon cannot take over (the old one keeps running), then closes the channel. */
  async failed(failure: SuccessorFailure): Promise<void> {
    await this.send({ ldir: 'failed', failure });
    this.close();
  }

  /** Sends one message; resolves once it is written (or could not be: the old daemon is gone). */
  private send(message: FromSuccessor): Promise<void> {
    if (this.gone || !this.proc.connected || !this.proc.send) return Promise.resolve();
    const send = this.proc.send.bind(this.proc);
    return new Promise((resolve) => {
      try {
        send(message, undefined, undefined, () => resolve());
      } catch {
        this.gone = true;
        resolve();
      }
    });
  }

  private close(): void {
    if (this.proc.connected) this.proc.disconnect();
  }
}
