// Writes a small file so that a reader (or a machine that loses power) finds either the old content or the new one,
// never a mix: a temporary file in the same directory, written and flushed, then renamed over the target.
import * as nodeFs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';

/** The file system calls {@link writeFileAtomic} makes; injectable so that tests can make any of them fail. */
export interface AtomicFs {
  mkdirSync(path: string, options: { recursive: true; mode: number }): string | undefined;
  openSync(path: string, flags: string, mode?: number): number;
  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number): number;
  fchmodSync(fd: number, mode: number): void;
  fsyncSync(fd: number): void;
  closeSync(fd: number): void;
  renameSync(from: string, to: string): void;
  unlinkSync(path: string): void;
}

/** Options of {@link writeFileAtomic}. */
export interface AtomicWriteOptions {
  /** Mode of the file (not subject to the umask). Default 0644. */
  readonly mode?: number;
  /** Mode of the directory when it has to be created (with its parents). Default 0755. */
  readonly directoryMode?: number;
  /** Create the directory when it is missing (default true); false: a missing directory is an error (ENOENT). */
  readonly createDirectory?: boolean;
  readonly fs?: AtomicFs;
}

/**
 * Replaces `path` with `data` atomically: the directory is created when missing; the data goes to a temporary file
 * beside the target (same file system, so the rename is atomic), which is flushed to disk (fsync) before it is
 * renamed over the target; the directory is then flushed too, so the rename survives a crash (best effort: some
 * file systems refuse to fsync a directory). On any failure the temporary file is removed, the target is left as it
 * was, and the error is thrown. A symbolic link at `path` is replaced by the file, never followed (rename(2) acts on
 * the name), and the temporary file is created exclusively (O_EXCL: never through a link planted at its name).
 */
export function writeFileAtomic(path: string, data: string, options: AtomicWriteOptions = {}): void {
  const fs = options.fs ?? nodeFs;
  const mode = options.mode ?? 0o644;
  const dir = dirname(path);
  if (options.createDirectory !== false) fs.mkdirSync(dir, { recursive: true, mode: options.directoryMode ?? 0o755 });
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    fd = fs.openSync(temp, 'wx', mode);
    fs.fchmodSync(fd, mode);
    const bytes = Buffer.from(data, 'utf8');
    let written = 0;
    // A regular file takes it in one write; the loop (bounded) is for one that writes short.
    for (let i = 0; written < bytes.length && i < 1000; i++) {
      const n = fs.writeSync(fd, bytes, written, bytes.length - written);
      if (n <= 0) break;
      written += n;
    }
    if (written < bytes.length) throw new Error(`short write to ${temp}: ${written} of ${bytes.length} bytes`);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(temp, path);
  } catch (err) {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        // already failing: the first error is the one to report
      }
    }
    try {
      fs.unlinkSync(temp);
    } catch {
      // never created, or already renamed
    }
    throw err;
  }
  syncDirectory(fs, dir);
}

/** Flushes a directory's entries (the rename) to disk; ignored where the file system refuses it. */
function syncDirectory(fs: AtomicFs, dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // EINVAL/EISDIR on some file systems: the rename is still done, only its durability is the kernel's
  } finally {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        // nothing more to do
      }
    }
  }
}
