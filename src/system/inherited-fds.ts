// Closing the descriptors a detached daemon inherited from whoever ran `ldir start` (beyond stdin, stdout, stderr).
import * as fs from 'node:fs';

/** O_CLOEXEC as /proc/PID/fdinfo/N prints it (octal `flags:`). */
const O_CLOEXEC = 0o2000000;

/**
 * Closes every open descriptor above 2 that this process inherited, except those in `keep`. Inherited ones are told
 * from Node's own by their missing close-on-exec flag (read from /proc/self/fdinfo): Node and libuv open everything
 * with O_CLOEXEC, and a descriptor that survived exec() cannot have it. Without this a supervisor's pipe handed to
 * `ldir start` stays open in the daemon for its whole life, and the supervisor, waiting for end of file on it, never
 * sees `ldir start` finish. Returns the descriptors closed; never throws (no /proc: nothing is closed).
 */
export function closeInheritedDescriptors(keep: readonly number[] = [], procSelf = '/proc/self'): number[] {
  let names: string[];
  try {
    names = fs.readdirSync(`${procSelf}/fd`);
  } catch {
    return [];
  }
  const closed: number[] = [];
  for (const name of names) {
    const fd = Number(name);
    if (!Number.isInteger(fd) || fd <= 2 || keep.includes(fd)) continue;
    let flags: number;
    try {
      const match = /^flags:\s*([0-7]+)/m.exec(fs.readFileSync(`${procSelf}/fdinfo/${fd}`, 'utf8'));
      if (!match) continue;
      flags = Number.parseInt(match[1] as string, 8);
    } catch {
      continue; // the directory listing's own descriptor, already closed
    }
    if ((flags & O_CLOEXEC) !== 0) continue;
    try {
      fs.closeSync(fd);
      closed.push(fd);
    } catch {
      // gone meanwhile
    }
  }
  return closed;
}
