// `ipvsadm -R` batches: marker lines that make every stderr message attributable to its line, and message → errno.
import { ErrorCodes, LdirError } from '../../errors';

/**
 * How failures of one `ipvsadm -R` run are attributed to its lines.
 *
 * ipvsadm 1.31 restores line by line (`restore_table` → `process_options` per line). A kernel refusal prints one
 * line, `ipvs_strerror(errno)`, on stderr (no line number) and the run goes on; the exit code is that of the *last*
 * line only. A usage error (`fail()`: "illegal weight specified", ...) prints its message and exits the whole run
 * with status 2. So after each operation line the batch carries a marker line, `-L --ldir-op-N`: popt rejects the
 * unknown option, ipvsadm prints `--ldir-op-N: unknown option` on stderr and continues with the next line, without
 * any kernel request. stderr is unbuffered, so messages and markers keep the order of the lines: the lines between
 * marker N-1 and marker N belong to operation N. Operations with a marker are settled; when the run stopped early,
 * the lines after the last marker belong to the operation that killed it and later operations were not run.
 */
export interface RestoreAttribution {
  /** stderr lines of each settled operation (index = position in the batch); empty = done. */
  readonly settled: readonly (readonly string[])[];
  /** stderr lines after the last marker (the fatal message of the operation after the settled ones, if any). */
  readonly trailing: readonly string[];
}

/** The marker line written after the operation at `index` of a batch. */
export function restoreMarker(index: number): string {
  return `-L --ldir-op-${index}`;
}

/** `ipvsadm -R` input: each line followed by its marker. */
export function restoreInput(lines: readonly string[]): string {
  return lines.map((line, i) => `${line}\n${restoreMarker(i)}\n`).join('');
}

const MARKER_RE = /^--ldir-op-(\d+): /;

/** Lines ipvsadm prints once per run that belong to no line (`check_ipvs_version`). */
function isNoise(line: string): boolean {
  return (
    line.trim() === '' ||
    line.startsWith('Warning: IPVS version mismatch') ||
    /^\s+Kernel compiled with IPVS version/.test(line) ||
    /^\s+ipvsadm v\S+\s+requires minimum IPVS version/.test(line)
  );
}

/** Splits the stderr of an `ipvsadm -R` run over {@link restoreInput} into per-operation messages. */
export function classifyRestoreStderr(stderr: string, count: number): RestoreAttribution {
  const settled: string[][] = [];
  let current: string[] = [];
  for (const raw of stderr.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (isNoise(line)) continue;
    const m = MARKER_RE.exec(line);
    if (!m) {
      current.push(line);
      continue;
    }
    const index = Number(m[1]);
    if (index !== settled.length || index >= count) {
      throw new LdirError(
        ErrorCodes.IPVS_PROTOCOL,
        `ipvsadm -R: marker ${index} out of order (expected ${settled.length})`,
        { details: { stderr } },
      );
    }
    settled.push(current);
    current = [];
  }
  return { settled, trailing: current };
}

/** ipvsadm's own texts (`ipvs_strerror` in libipvs.c, ipvsadm 1.31) and the errno the kernel returned. */
const IPVS_MESSAGES: Readonly<Record<string, string>> = {
  'Service already exists': 'EEXIST',
  'Destination already exists': 'EEXIST',
  'Scheduler or persistence engine not found': 'ENOENT',
  'No such service': 'ESRCH',
  'Service not defined': 'ESRCH',
  'No such destination': 'ENOENT',
  'Daemon has already run': 'EEXIST',
  'No daemon is running': 'ESRCH',
  'Permission denied (you must be root)': 'EPERM',
  'Invalid operation.  Possibly wrong module version, address not unicast, ...': 'EINVAL',
  'Protocol not available': 'ENOPROTOOPT',
  'Memory allocation problem': 'ENOMEM',
  'Operation not supported with IPv6': 'EOPNOTSUPP',
  'Operation not supported with specified address family': 'EAFNOSUPPORT',
  'Module is wrong version': 'EMSGSIZE',
};

/** glibc `strerror` texts, which ipvsadm prints for errnos its table does not name (C locale). */
const STRERROR: Readonly<Record<string, string>> = {
  'Operation not permitted': 'EPERM',
  'No such file or directory': 'ENOENT',
  'No such process': 'ESRCH',
  'Interrupted system call': 'EINTR',
  'Input/output error': 'EIO',
  'Cannot allocate memory': 'ENOMEM',
  'Permission denied': 'EACCES',
  'Device or resource busy': 'EBUSY',
  'File exists': 'EEXIST',
  'No such device': 'ENODEV',
  'Invalid argument': 'EINVAL',
  'Numerical result out of range': 'ERANGE',
  'Numerical argument out of domain': 'EDOM',
  'Operation not supported': 'EOPNOTSUPP',
  'Address family not supported by protocol': 'EAFNOSUPPORT',
  'Protocol not supported': 'EPROTONOSUPPORT',
  'No buffer space available': 'ENOBUFS',
  'Message too long': 'EMSGSIZE',
};

/** Beginnings of ipvsadm's own usage errors (`fail()`, popt), which it reports without asking the kernel. */
const USAGE_RE =
  /^(illegal |invalid |Illegal '|You need to supply |The option '|multiple |unexpected argument |Zero port specified|One-Packet Scheduling|Different address family|Tunnel options conflict|incompatible scheduler flag|-6 used before|--set option requires|options conflicts|Try `|\S+: (unknown option|missing argument|option type|invalid numeric value|number too large or too small))/;

/**
 * The errno name behind one stderr line of ipvsadm, or undefined when the line is not one of its messages.
 * Kernel refusals map to the errno the kernel returned (EEXIST, ESRCH, ENOENT, EINVAL, ERANGE, ...), including
 * older wordings ("Scheduler not found: ..."); ipvsadm's own usage errors map to EINVAL.
 */
export function errnoOfMessage(line: string): string | undefined {
  const text = line.trim();
  const known = IPVS_MESSAGES[text] ?? STRERROR[text];
  if (known !== undefined) return known;
  if (text.startsWith('Invalid operation.')) return 'EINVAL';
  if (/^Scheduler (or persistence engine )?not found/.test(text)) return 'ENOENT';
  if (USAGE_RE.test(text)) return 'EINVAL';
  return undefined;
}

/** True when ipvsadm could not reach IPVS at all (no module, no permission): its start-up failure. */
export function isUnavailableMessage(stderr: string): boolean {
  return /Can't initialize ipvs/.test(stderr);
}
