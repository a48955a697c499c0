// The real `ldir` binary (dist/src/main.js) run from integration tests, asynchronously: servers in the test process
// must keep answering checks while it runs.
import { execFile } from 'node:child_process';
import * as path from 'node:path';

/** The compiled entry point. */
export const LDIR_MAIN = path.resolve(__dirname, '../../src/main.js');

/** How one run of the binary ended. */
export interface LdirBinaryRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A runner of the binary with `env` (LDIR_RUN_DIR, LDIR_SOCKET_DIR... of the test), each run bounded by `timeoutMs`. */
export function ldirBinary(
  env: () => NodeJS.ProcessEnv,
  timeoutMs = 60_000,
): (...args: string[]) => Promise<LdirBinaryRun> {
  return (...args) =>
    new Promise((resolve) => {
      // Output of any size (a status of 10,000 reals is megabytes; execFile's default cuts at 1 MB and kills the run).
      execFile(
        process.execPath,
        [LDIR_MAIN, ...args],
        { encoding: 'utf8', env: env(), timeout: timeoutMs, maxBuffer: 1024 ** 3 },
        (err, stdout, stderr) => {
          resolve({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
        },
      );
    });
}
