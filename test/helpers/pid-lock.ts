// A pid file held the way a running daemon holds it (exclusive flock), by a helper process: for tests of the CLI's
// view of "running" without a daemon.
import { spawn, spawnSync } from 'node:child_process';
import { openSync, closeSync, writeFileSync } from 'node:fs';

/** A held pid file; `release` lets go of the lock (the helper exits). */
export interface HeldPidFile {
  release(): void;
}

function isHeld(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    return (
      spawnSync('flock', ['-s', '-n', '-E', '75', '3'], { stdio: ['ignore', 'ignore', 'ignore', fd] }).status === 75
    );
  } finally {
    closeSync(fd);
  }
}

/** Writes `pid` into `path` and holds an exclusive flock on it from a `flock ... sleep` helper until released. */
export function holdPidFile(path: string, pid: number): HeldPidFile {
  writeFileSync(path, `${pid}\n`);
  // -o: the lock stays with flock(1) itself, not with its `sleep`; the process group goes on release.
  const helper = spawn('flock', ['-x', '-o', path, 'sleep', '600'], { stdio: 'ignore', detached: true });
  const kill = (): void => {
    try {
      process.kill(-(helper.pid as number), 'SIGKILL');
    } catch {
      // gone
    }
  };
  for (let i = 0; i < 500 && !isHeld(path); i++) spawnSync('sleep', ['0.01']);
  if (!isHeld(path)) {
    kill();
    throw new Error(`could not lock ${path} with flock(1)`);
  }
  return {
    release: () => {
      kill();
      for (let i = 0; i < 500 && isHeld(path); i++) spawnSync('sleep', ['0.01']);
    },
  };
}
