// A command that leaves a grandchild ignoring SIGTERM in its process group, and a look at /proc for whether a
// process still lives: tests of the one kill rule (the whole group, SIGTERM then SIGKILL) for every process runner.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** True while process `pid` exists and is not a zombie. */
export function processAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Writes a script into `dir` that starts a grandchild ignoring SIGTERM (its pid written to `pidFile`), then waits for
 * it: SIGTERM ends the script but not the grandchild. Returns the script's path.
 */
export function stubbornFamilyScript(dir: string, pidFile: string): string {
  const file = path.join(dir, `family-${process.pid}-${Math.random().toString(36).slice(2)}.sh`);
  fs.writeFileSync(file, `#!/bin/sh\nsh -c 'trap "" TERM; echo $$ > ${pidFile}; exec sleep 600' &\nwait\n`, {
    mode: 0o755,
  });
  return file;
}

/** Waits (bounded, 10 s) for `pidFile` to hold a pid, and returns it. */
export async function readPid(pidFile: string): Promise<number> {
  for (let i = 0; i < 500; i++) {
    const text = fs.existsSync(pidFile) ? fs.readFileSync(pidFile, 'utf8').trim() : '';
    if (/^\d+$/.test(text)) return Number(text);
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${pidFile} never got a pid`);
}

/** Waits (bounded, `withinMs`: a hang guard) for process `pid` to be gone; true when it went. */
export async function waitGone(pid: number, withinMs = 30_000): Promise<boolean> {
  const until = Date.now() + withinMs;
  while (Date.now() < until) {
    if (!processAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return !processAlive(pid);
}
