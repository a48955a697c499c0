// Which existing files a daemon can append its log (or a monitor file) to: one rule for `ldir check` and the daemon.
import type { Stats } from 'node:fs';

/** What kind of existing file `st` is, in the words of a diagnostic; undefined for those a daemon can append to. */
export function unappendableKind(st: Stats): string | undefined {
  if (st.isFile() || st.isCharacterDevice()) return undefined; // a file, or /dev/null, /dev/console
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO: writing to it blocks until something reads it, and the daemon would hang';
  if (st.isSocket()) return 'a socket';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}
