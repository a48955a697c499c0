// Whether a log or monitor file named in a configuration could be appended to, as ldirectord test-opens them at
// parse time, without creating anything.
import { accessSync, constants, statSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import { unappendableKind } from '../system/file-kind';

/**
 * Why `path` could not be appended to, or undefined when it could: an existing regular file (or character device)
 * that is writable, or a missing file in a writable directory. A FIFO, socket, directory or block device is refused:
 * a FIFO with no reader hangs the opener before its pid file and control socket exist.
 */
export function appendProblem(path: string): string | undefined {
  let st: Stats;
  try {
    st = statSync(path);
  } catch {
    try {
      accessSync(dirname(path), constants.W_OK | constants.X_OK);
      return statSync(dirname(path)).isDirectory() ? undefined : 'its directory is not a directory';
    } catch {
      return 'its directory does not exist or is not writable';
    }
  }
  const kind = unappendableKind(st);
  if (kind !== undefined) return `it is ${kind}`;
  try {
    accessSync(path, constants.W_OK);
    return undefined;
  } catch {
    return 'it is not writable';
  }
}
