// `ldir [--json] [--timeout=SECONDS] [CONFIG] promote|demote`: sets the director's sync role in the running daemon.
import { locateConfig, type LocateOptions } from '../config/locate';
import { controlSocketPath, type RoleResult, type StateSyncStatus } from '../daemon/protocol';
import { sendControlRequest } from './control-client';
import { printError, transportFailure } from './control-commands';
import { ExitCode } from './exit-codes';
import type { CliIo } from './io';

/** The role each action gives. */
export const ROLE_OF_ACTION = { promote: 'master', demote: 'backup' } as const;
/** `promote` or `demote`. */
export type RoleAction = keyof typeof ROLE_OF_ACTION;

/** Options of {@link runRoleCommand}. */
export interface RoleCommandOptions {
  readonly action: RoleAction;
  readonly config?: string;
  readonly json: boolean;
  /** Milliseconds to wait for the answer; default the protocol's (30 s). */
  readonly timeoutMs?: number;
  readonly socketDirectory?: string;
  readonly locate?: LocateOptions;
}

/** `master sync daemon on eth1 (sync id 7) running`, or why nothing runs, for people. */
export function describeStateSync(s: StateSyncStatus): string {
  if (!s.configured) return 'no sync daemon: syncinterface is not configured';
  if (s.role === 'none') return 'no sync daemon (role none)';
  const d = s.daemons.find((x) => x.state === s.role);
  if (d?.running && d.matches)
    return `${d.state} sync daemon on ${d.interface ?? '?'} (sync id ${d.syncId ?? '?'}) running`;
  return `${s.role} sync daemon NOT running as configured${s.lastError ? `: ${s.lastError.message}` : ''}`;
}

/** True when the kernel runs what the role asks for (or sync is not configured: then the role alone is the answer). */
function settled(r: RoleResult): boolean {
  return !r.stateSync.configured || r.stateSync.ok;
}

/**
 * Asks the daemon of CONFIG to take the role of the action (promote: master, demote: backup) and prints the outcome.
 * Like `drain`, the configuration file is not parsed (a cluster manager's promote must not depend on the file on
 * disk, nor on name resolution). Exit 0: the director has the role and the kernel runs its sync daemon (or sync is
 * not configured); 1: the kernel refused the sync daemon (the role is kept and the daemon retries at every resync),
 * or the request failed; 3: no daemon runs.
 */
export async function runRoleCommand(options: RoleCommandOptions, io: CliIo): Promise<number> {
  const { name } = locateConfig(options.config, options.locate);
  const socketPath = controlSocketPath(name, options.socketDirectory);
  const role = ROLE_OF_ACTION[options.action];
  let response;
  try {
    response = await sendControlRequest(
      socketPath,
      { type: 'role', role },
      options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {},
    );
  } catch (err) {
    return transportFailure(err, io, ExitCode.NOT_RUNNING);
  }
  if (!response.ok) {
    printError(response, io);
    return ExitCode.FAILURE;
  }
  const r = response.result;
  const ok = settled(r);
  if (options.json) io.stdout(`${JSON.stringify(r, null, 2)}\n`);
  else {
    const done = options.action === 'promote' ? 'promoted' : 'demoted';
    const head = r.changed ? `${done} to ${r.role} (was ${r.previous})` : `already ${r.role}`;
    (ok ? io.stdout : io.stderr)(`${ok ? '' : 'ldir: '}${head}; ${describeStateSync(r.stateSync)}\n`);
  }
  return ok ? ExitCode.OK : ExitCode.FAILURE;
}
