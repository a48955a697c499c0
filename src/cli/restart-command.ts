// `ldir restart` against a running daemon: ask it to hand the director to a successor without a gap.
import { formatWireDiagnostic, type RestartOptions } from '../daemon/protocol';
import { ErrorCodes, isLdirError } from '../errors';
import { pingDaemon, sendControlRequest } from './control-client';
import { ExitCode } from './exit-codes';
import type { CliIo } from './io';

/** Options of {@link requestRestart}. */
export interface RestartRequestOptions extends RestartOptions {
  readonly socketPath: string;
  /** Pid of the daemon asked (a lost connection is settled by whether another pid answers afterwards). */
  readonly previousPid: number | undefined;
  /** Give up (exit 1) when the hand-over has not happened by then (epoch ms): retries while another restart runs. */
  readonly deadline: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * What came of it: `done` (the successor runs), `classic` (this daemon cannot hand over: it runs in the foreground,
 * or is a version without hand-over; the caller stops and starts instead), `stopping` (it is stopping; the caller
 * waits and starts), or `failed` with the exit code (the daemon goes on unchanged: 2 when the successor found
 * configuration errors, printed as `PATH:LINE: message`).
 */
export type RestartOutcome =
  | { readonly kind: 'done'; readonly pid: number; readonly previousPid: number; readonly durationMs: number }
  | { readonly kind: 'classic'; readonly why: string }
  | { readonly kind: 'stopping' }
  | { readonly kind: 'failed'; readonly exitCode: number };

const defaultSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Sends `restart` and waits for the successor. A restart already under way (`LDIR_ERR_RESTART_IN_PROGRESS`, from the
 * old daemon or from its successor while it takes over) is waited for and the request sent again to whichever
 * daemon then runs, so two restarts in a row both happen, in order.
 */
export async function requestRestart(options: RestartRequestOptions, io: CliIo): Promise<RestartOutcome> {
  const sleep = options.sleep ?? defaultSleep;
  const { socketPath, deadline, sleep: _sleep, previousPid, ...request } = options;
  const t0 = Date.now();
  for (let attempt = 0; attempt < 10_000; attempt++) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    let response;
    try {
      response = await sendControlRequest(socketPath, { type: 'restart', ...request }, { timeoutMs: left });
    } catch (err) {
      if (!isLdirError(err)) throw err;
      // A connection lost before the answer: look who runs now. Another pid took over; the same one is asked again.
      if (err.code === ErrorCodes.CONTROL_FAILED || err.code === ErrorCodes.DAEMON_NOT_RUNNING) {
        await sleep(200);
        const now = await pingDaemon(socketPath, { timeoutMs: 2_000 }).catch(() => undefined);
        if (now?.ok && previousPid !== undefined && now.result.pid !== previousPid) {
          return { kind: 'done', pid: now.result.pid, previousPid, durationMs: Date.now() - t0 };
        }
        if (now?.ok) continue;
        io.stderr(`ldir: ${err.message}\n`);
        return { kind: 'failed', exitCode: ExitCode.FAILURE };
      }
      io.stderr(`ldir: ${err.message}\n`);
      return { kind: 'failed', exitCode: ExitCode.FAILURE };
    }
    if (response.ok) return { kind: 'done', ...response.result };
    const { code, message, diagnostics } = response.error;
    if (code === ErrorCodes.RESTART_IN_PROGRESS) {
      await sleep(300);
      continue;
    }
    if (code === ErrorCodes.RESTART_UNSUPPORTED) return { kind: 'classic', why: message };
    if (code === ErrorCodes.CONTROL_BAD_REQUEST && /\$\.type/.test(message))
      return { kind: 'classic', why: 'the running daemon is a version without hand-over' };
    if (code === ErrorCodes.DAEMON_STOPPING) return { kind: 'stopping' };
    for (const d of diagnostics ?? []) io.stderr(`${formatWireDiagnostic(d)}\n`);
    io.stderr(`ldir: ${message} (${code}); the running daemon goes on unchanged\n`);
    return { kind: 'failed', exitCode: code === ErrorCodes.CONFIG_INVALID ? ExitCode.CONFIG_ERROR : ExitCode.FAILURE };
  }
  io.stderr(`ldir: the restart did not complete in time\n`);
  return { kind: 'failed', exitCode: ExitCode.FAILURE };
}
