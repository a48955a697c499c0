// How ldir starts itself (the detached daemon, a restart's successor): this node binary, the V8 flags a daemon runs
// with, and this build's entry point.
import * as path from 'node:path';

/**
 * V8 flags of a daemon. `--max-semi-space-size=1`: young-generation semi-spaces of 1 MB instead of 16. A director's
 * steady state allocates little (checks run on the native engine's thread), and the default young generation alone
 * was a third of a 1,000-real director's resident memory; scavenges stay well under a millisecond. V8 reads heap
 * sizes once, when the process starts (`v8.setFlagsFromString` later changes nothing: measured on Node 20), so they
 * must be on node's command line: the detached daemon gets them from {@link selfCommand}, the `ldir` executable from
 * its `#!` line (`env -S`), a container from its entry point.
 */
export const DAEMON_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1'];

/** The {@link DAEMON_NODE_FLAGS} this process was started without (an operator's own value of a flag counts as given). */
export function missingDaemonNodeFlags(execArgv: readonly string[] = process.execArgv): string[] {
  return DAEMON_NODE_FLAGS.filter((flag) => {
    const name = flag.split('=')[0] as string;
    return !execArgv.some((a) => a.split('=')[0] === name);
  });
}

/** The command that runs this ldir as a daemon: `[node, ...DAEMON_NODE_FLAGS, .../main.js]`. */
export function selfCommand(): string[] {
  return [process.execPath, ...DAEMON_NODE_FLAGS, path.resolve(__dirname, '..', 'main.js')];
}
