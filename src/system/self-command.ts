// How ldir starts itself (the detached daemon, a restart's successor): this node binary, the V8 flags a daemon runs
// with, and this build's entry point.
import * as path from 'node:path';
import * as v8 from 'node:v8';

/**
 * V8 flags of a daemon. `--max-semi-space-size=1`: young-generation semi-spaces of 1 MB instead of 16. A director's
 * steady state allocates little (checks run on the native engine's thread), and the default young generation alone
 * was a third of a 1,000-real director's resident memory; scavenges stay well under a millisecond.
 */
export const DAEMON_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1'];

/**
 * Applies {@link DAEMON_NODE_FLAGS} the command line did not give (a daemon started in the foreground by a supervisor
 * or by hand): set before the daemon allocates, they hold for the young generation (measured on Node 20).
 */
export function applyDaemonNodeFlags(
  execArgv: readonly string[] = process.execArgv, set: (flag: string) => void = (flag) => v8.setFlagsFromString(flag),
): void {
  for (const flag of DAEMON_NODE_FLAGS) {
    const name = flag.split('=')[0] as string;
    if (!execArgv.some((a) => a.split('=')[0] === name)) set(flag);
  }
}

/** The command that runs this ldir as a daemon: `[node, ...DAEMON_NODE_FLAGS, .../main.js]`. */
export function selfCommand(): string[] {
  return [process.execPath, ...DAEMON_NODE_FLAGS, path.resolve(__dirname, '..', 'main.js')];
}
