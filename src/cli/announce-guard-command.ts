// `ldir announce-guard SOCKET`: the announce guard process the daemon starts (src/announce/guard-server.ts).
import { routeDriverFor } from '../announce/driver-for';
import { runAnnounceGuard } from '../announce/guard-server';
import { systemClock } from '../clock';
import { createLogger } from '../log';
import { spawnProcessRunner } from '../process-runner';
import { ExitCode } from './exit-codes';
import type { CliIo } from './io';

/**
 * Runs the guard on the unix socket `args[0]` until no daemon has been connected to it for a moment; then it has
 * withdrawn everything and exits 0; SIGTERM or SIGINT withdraws at once. Logs (JSON lines) go to stderr, which the daemon points at `SOCKET.log`.
 */
export async function runAnnounceGuardCommand(args: readonly string[], io: CliIo): Promise<number> {
  const [path, ...extra] = args;
  if (path === undefined || extra.length > 0 || !path.startsWith('/')) {
    io.stderr('usage: ldir announce-guard SOCKET (an absolute path; started by the daemon)\n');
    return ExitCode.USAGE;
  }
  const logger = createLogger().child({ module: 'announce-guard', pid: process.pid });
  logger.info({ path }, 'announce guard started');
  // SIGTERM/SIGINT (systemd stopping the rest of a dead daemon's cgroup, an operator): withdraw now, then exit.
  const stop = new AbortController();
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => stop.abort());
  await runAnnounceGuard({
    path,
    clock: systemClock(),
    logger,
    driverFor: (t) => routeDriverFor(t, spawnProcessRunner()),
    signal: stop.signal,
  });
  return ExitCode.OK;
}
