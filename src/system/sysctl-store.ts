// Access to kernel sysctls: the SysctlStore interface and its /proc/sys implementation (root injectable for tests).
import { closeSync, constants, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCodes, LdirError } from '../errors';

/** Where the kernel exposes its sysctls. */
export const PROC_SYS = '/proc/sys';

/**
 * Reads and writes sysctls by their sysctl(8) name (`net.ipv4.ip_forward`). In a name, `/` stands for a `.` inside
 * one component, as sysctl(8) writes it: the VLAN interface `eth0.100` is `net.ipv4.conf.eth0/100.send_redirects`.
 */
export interface SysctlStore {
  /** The current value without its trailing newline; undefined when the sysctl does not exist. Throws `SYSCTL_FAILED` otherwise. */
  read(key: string): string | undefined;
  /** Writes a value; throws `SYSCTL_FAILED` (details.errno: ENOENT, EACCES, EINVAL, EROFS, ...) when the kernel refuses. */
  write(key: string, value: string): void;
  /** Names of the entries of a sysctl directory (`net.ipv4.conf` gives all, default, lo, eth0, ...); undefined when absent. */
  list(key: string): readonly string[] | undefined;
}

/** The key component for a directory entry name (`eth0.100` becomes `eth0/100`). */
export function keyComponent(name: string): string {
  return name.replace(/\./g, '/');
}

/** The path of a sysctl below `root`; refuses names that would leave it. */
export function sysctlPath(root: string, key: string): string {
  const parts = key.split('.').map((c) => c.replace(/\//g, '.'));
  if (parts.some((p) => p === '' || p === '.' || p === '..' || p.includes('\0'))) {
    throw new LdirError(ErrorCodes.SYSCTL_FAILED, `invalid sysctl name "${key}"`, { details: { key } });
  }
  return join(root, ...parts);
}

/** The errno name of a Node.js file-system error, when it has one. */
function errnoOf(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Wraps a file-system error of `what` on `key` in an LdirError that keeps the errno name. */
function failure(what: 'read' | 'write' | 'list', key: string, cause: unknown): LdirError {
  const errno = errnoOf(cause);
  return new LdirError(ErrorCodes.SYSCTL_FAILED, `cannot ${what} sysctl ${key}: ${(cause as Error).message}`, {
    cause,
    details: { key, ...(errno !== undefined ? { errno } : {}) },
  });
}

const ABSENT = new Set(['ENOENT', 'ENOTDIR']);

/**
 * The store over the files of `/proc/sys` (or of `root`, a directory tree of the same shape in tests). A write opens
 * the existing file without creating it and writes the value and a newline in one call, as `sysctl -w` does.
 */
export function procSysStore(root: string = PROC_SYS): SysctlStore {
  return {
    read(key) {
      try {
        return readFileSync(sysctlPath(root, key), 'utf8').replace(/\n$/, '');
      } catch (err) {
        if (ABSENT.has(errnoOf(err) ?? '')) return undefined;
        throw err instanceof LdirError ? err : failure('read', key, err);
      }
    },
    write(key, value) {
      let fd: number | undefined;
      try {
        fd = openSync(sysctlPath(root, key), constants.O_WRONLY | constants.O_TRUNC);
        writeSync(fd, `${value}\n`);
      } catch (err) {
        throw err instanceof LdirError ? err : failure('write', key, err);
      } finally {
        if (fd !== undefined) {
          try {
            closeSync(fd);
          } catch {
            // the value was written (or its error reported) by writeSync; close of a /proc/sys file reports nothing new
          }
        }
      }
    },
    list(key) {
      try {
        return readdirSync(sysctlPath(root, key)).sort();
      } catch (err) {
        if (ABSENT.has(errnoOf(err) ?? '')) return undefined;
        throw err instanceof LdirError ? err : failure('list', key, err);
      }
    },
  };
}
