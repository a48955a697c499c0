// What the control server does with a well-formed request: the daemon's handlers, mutating requests one at a time.
import type { Diagnostic } from '../config/diagnostics';
import { ErrorCodes, errorMessage, isLdirError, type ErrorCode } from '../errors';
import type { SyncRole } from '../model';
import {
  errorResponse,
  okResponse,
  toWireDiagnostic,
  type ControlRequest,
  type ControlResponse,
  type DrainResult,
  type PingResult,
  type ReloadPreviewResult,
  type RestartOptions,
  type RestartResult,
  type RoleResult,
  type StatusReport,
  type StatusStreamPart,
  type WeightResult,
  type WireDiagnostic,
} from './protocol';

/** What a reload did: applied (with its warnings), or refused with the diagnostics (the old config stays in force). */
export type ReloadOutcome =
  | { readonly applied: true; readonly file: string; readonly diagnostics: readonly Diagnostic[] }
  | {
      readonly applied: false;
      readonly file: string;
      readonly message: string;
      readonly diagnostics: readonly Diagnostic[];
      /** Default {@link ErrorCodes.CONFIG_INVALID}. */
      readonly code?: ErrorCode;
    };

/**
 * What the daemon does for each request. A handler may throw: an `LdirError` becomes an error response with its code
 * and message (and `details.diagnostics` when it holds config diagnostics), anything else `LDIR_ERR_INTERNAL`.
 */
export interface ControlHandlers {
  status(): StatusReport | Promise<StatusReport>;
  /**
   * The status as the parts of a streamed answer (`status` with `stream: true`), each built when it is asked for;
   * without it, the server cuts the report of {@link status} into parts.
   */
  statusParts?(): AsyncIterable<StatusStreamPart>;
  reload(): Promise<ReloadOutcome>;
  /**
   * What `reload` would do now, changing nothing (`ldir reload --dry-run`); a configuration with errors → throw
   * `LdirError(CONFIG_INVALID)` with `details.diagnostics`.
   */
  reloadPreview(): Promise<ReloadPreviewResult>;
  /** Drains a real by hand; unknown target → throw `LdirError(UNKNOWN_TARGET)` (see `resolveDrainTarget`). */
  drain(virtual: string, real: string): DrainResult | Promise<DrainResult>;
  undrain(virtual: string, real: string): DrainResult | Promise<DrainResult>;
  /**
   * Sets a real's runtime weight (`ldir weight`), or `reset` to the configured one; unknown target → throw
   * `LdirError(UNKNOWN_TARGET)`.
   */
  weight(virtual: string, real: string, weight: number | 'reset'): WeightResult | Promise<WeightResult>;
  /** Shuts down (cleanup included); resolves when done. Must not await `ControlServer.close()` (use `afterStop`). */
  stop(): Promise<void>;
  ping(): PingResult | Promise<PingResult>;
  /** Sets the director's sync role (`ldir promote|demote`); resolves once the kernel's sync daemons were handled. */
  role(role: SyncRole): Promise<RoleResult>;
  /**
   * Hands the director to a successor daemon; resolves once the successor runs. Like `stop`, `afterStop` is called
   * once the answer is written (the daemon then exits, without cleanup).
   */
  restart(options: RestartOptions): Promise<RestartResult>;
}

/** Turns whatever a handler threw into an error response (an `LdirError` keeps its code, message and diagnostics). */
export function responseForError(id: ControlRequest['id'], err: unknown): ControlResponse {
  if (isLdirError(err)) {
    const raw = err.details['diagnostics'];
    const wire = err.details['wireDiagnostics']; // already in wire form (a restart's successor reported them)
    const diagnostics =
      Array.isArray(raw) && raw.every((d) => d && typeof d === 'object' && 'pos' in d)
        ? (raw as Diagnostic[]).map(toWireDiagnostic)
        : Array.isArray(wire)
          ? (wire as WireDiagnostic[])
          : undefined;
    return errorResponse(id, err.code, err.message, diagnostics);
  }
  return errorResponse(id, ErrorCodes.INTERNAL, `internal error: ${errorMessage(err)}`);
}

/**
 * Answers requests through `handlers`. Mutating requests (reload, drain, undrain, weight, role, stop, restart) and
 * reload previews run one at a time in arrival order; status and ping run at once. A handler's throw rejects.
 */
export function createDispatcher(handlers: ControlHandlers): (request: ControlRequest) => Promise<ControlResponse> {
  let exclusive: Promise<unknown> = Promise.resolve();

  /** Runs `fn` once every mutating request that arrived before it has settled. */
  function serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = exclusive.then(fn, fn);
    exclusive = run.catch(() => undefined);
    return run;
  }

  async function dispatch(request: ControlRequest): Promise<ControlResponse> {
    const { id } = request;
    switch (request.type) {
      case 'status':
        return okResponse(id, 'status', await handlers.status());
      case 'ping':
        return okResponse(id, 'ping', await handlers.ping());
      case 'reload':
        return serialized(async () => {
          const outcome = await handlers.reload();
          if (outcome.applied)
            return okResponse(id, 'reload', {
              file: outcome.file,
              diagnostics: outcome.diagnostics.map(toWireDiagnostic),
            });
          return errorResponse(
            id,
            outcome.code ?? ErrorCodes.CONFIG_INVALID,
            outcome.message,
            outcome.diagnostics.map(toWireDiagnostic),
          );
        });
      // After the requests that change the director before it, so that it never sees a reload half done.
      case 'reload-preview':
        return serialized(async () => okResponse(id, 'reload-preview', await handlers.reloadPreview()));
      case 'drain':
        return serialized(async () => okResponse(id, 'drain', await handlers.drain(request.virtual, request.real)));
      case 'undrain':
        return serialized(async () => okResponse(id, 'undrain', await handlers.undrain(request.virtual, request.real)));
      case 'weight':
        return serialized(async () =>
          okResponse(id, 'weight', await handlers.weight(request.virtual, request.real, request.weight)),
        );
      case 'role':
        return serialized(async () => okResponse(id, 'role', await handlers.role(request.role)));
      case 'stop':
        return serialized(async () => {
          await handlers.stop();
          return okResponse(id, 'stop', { stopped: true });
        });
      case 'restart':
        return serialized(async () => {
          const { v: _v, id: _id, type: _type, ...restart } = request;
          return okResponse(id, 'restart', await handlers.restart(restart));
        });
    }
  }

  return dispatch;
}
