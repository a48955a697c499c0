// IpvsBackend over the ipvsadm binary: one `ipvsadm -R` process per batch of writes, one per full read.
import { accessSync, constants as fsConstants } from 'node:fs';
import { ErrorCodes, LdirError, isLdirError } from '../../errors';
import { opResult } from '../op-result';
import type {
  IpvsBackend,
  IpvsInfo,
  IpvsOp,
  IpvsOpResult,
  IpvsSyncDaemon,
  IpvsTimeouts,
  ObservedService,
  ServiceKey,
} from '../types';
import { spawnExec, type IpvsadmExec, type IpvsadmExecResult } from './exec';
import { formatOp, formatSetTimeouts, formatStartDaemon, formatStopDaemon, formatZero } from './format';
import { parseDaemons, parseInfo, parseListing, parseTimeouts } from './parse';
import { classifyRestoreStderr, errnoOfMessage, isUnavailableMessage, restoreInput } from './restore';

/** Where ipvsadm is looked for when no binary is given. */
export const IPVSADM_PATHS = ['/usr/sbin/ipvsadm', '/sbin/ipvsadm'] as const;

/**
 * The listings of one {@link IpvsadmBackend.list} run, as `ipvsadm -R` lines: ipvsadm prints one table format per
 * listing, so the five formats that together hold every field are listed by one process.
 */
export const LIST_SCRIPT = [
  '-L -n --exact --tun-info',
  '-L -n --exact --thresholds',
  '-L -n --exact --persistent-conn',
  '-L -n --exact --stats',
  '-L -n --exact --rate',
]
  .map((l) => `${l}\n`)
  .join('');

/** Options of {@link IpvsadmBackend}. */
export interface IpvsadmBackendOptions {
  /** Path of ipvsadm; default the first executable of {@link IPVSADM_PATHS}. */
  readonly binary?: string;
  /** Runs a process; default {@link spawnExec} (tests inject a fake). */
  readonly exec?: IpvsadmExec;
}

/** The first executable ipvsadm of {@link IPVSADM_PATHS}, else the first path (whose run then fails clearly). */
function defaultBinary(): string {
  for (const path of IPVSADM_PATHS) {
    try {
      accessSync(path, fsConstants.X_OK);
      return path;
    } catch {
      // try the next one
    }
  }
  return IPVSADM_PATHS[0];
}

/** Result of one settled operation from its stderr lines: adds finding the entry and deletes finding it gone converge. */
export function ipvsadmOpResult(op: IpvsOp, lines: readonly string[]): IpvsOpResult {
  if (lines.length === 0) return { status: 'done' };
  const errno = lines.map(errnoOfMessage).find((e) => e !== undefined) ?? 'EIO';
  return opResult(op, errno, lines.join('; '));
}

/**
 * The ipvsadm backend. Writes go through one `ipvsadm -R` process per {@link apply} call, lines on stdin, never one
 * process per change and never a shell; each operation line is followed by a marker line so that every stderr
 * message is attributed to its operation (see {@link classifyRestoreStderr}). When a line makes ipvsadm exit (a
 * usage error the formatter did not foresee), that operation fails and the operations after it go to a new `-R`
 * process. An operation ipvsadm cannot express fails with EOPNOTSUPP without being sent.
 */
export class IpvsadmBackend implements IpvsBackend {
  readonly kind = 'ipvsadm' as const;
  private readonly binary: string;
  private readonly exec: IpvsadmExec;

  constructor(options: IpvsadmBackendOptions = {}) {
    this.binary = options.binary ?? defaultBinary();
    this.exec = options.exec ?? spawnExec();
  }

  /** Runs ipvsadm; throws IPVS_UNAVAILABLE when it cannot start, is killed, or cannot reach IPVS. */
  private async run(args: readonly string[], stdin?: string): Promise<IpvsadmExecResult> {
    let res: IpvsadmExecResult;
    try {
      res = await this.exec(this.binary, args, stdin);
    } catch (cause) {
      throw new LdirError(ErrorCodes.IPVS_UNAVAILABLE, `cannot run ${this.binary}: ${(cause as Error).message}`, {
        cause,
        details: { binary: this.binary },
      });
    }
    if (res.code === null) {
      throw new LdirError(
        ErrorCodes.IPVS_UNAVAILABLE,
        `${this.binary} ${args.join(' ')} was killed (${res.signal ?? 'signal'})`,
        { details: { binary: this.binary, signal: res.signal } },
      );
    }
    if (isUnavailableMessage(res.stderr)) {
      const why = /Can't initialize ipvs: (.*)/.exec(res.stderr)?.[1] ?? '';
      throw new LdirError(ErrorCodes.IPVS_UNAVAILABLE, `ipvsadm: ${res.stderr.trim().replace(/\s*\n\s*/g, ' ')}`, {
        details: { binary: this.binary, code: res.code, errno: errnoOfMessage(why) ?? 'EIO' },
      });
    }
    return res;
  }

  /** Runs one command that must succeed; returns its stdout. Kernel refusals throw IPVS_REQUEST_FAILED with the errno. */
  private async command(args: readonly string[], stdin?: string): Promise<string> {
    const res = await this.run(args, stdin);
    const lines = res.stderr
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('Warning: IPVS') && !/^(Kernel compiled|ipvsadm v)/.test(l));
    if (res.code !== 0 || lines.length > 0) {
      const errno = lines.map(errnoOfMessage).find((e) => e !== undefined) ?? 'EIO';
      throw new LdirError(
        ErrorCodes.IPVS_REQUEST_FAILED,
        `ipvsadm ${args.join(' ')} failed: ${lines.join('; ') || `exit code ${res.code}`}`,
        {
          details: { errno, code: res.code, stderr: res.stderr },
        },
      );
    }
    return res.stdout;
  }

  async list(): Promise<readonly ObservedService[]> {
    return parseListing(await this.command(['-R'], LIST_SCRIPT));
  }

  async apply(ops: readonly IpvsOp[]): Promise<readonly IpvsOpResult[]> {
    const results: (IpvsOpResult | undefined)[] = new Array<IpvsOpResult | undefined>(ops.length).fill(undefined);
    const lines = new Map<number, string>();
    ops.forEach((op, i) => {
      try {
        lines.set(i, formatOp(op));
      } catch (err) {
        if (!isLdirError(err, ErrorCodes.IPVS_PROTOCOL)) throw err;
        results[i] = { status: 'failed', errno: 'EOPNOTSUPP', message: err.message };
      }
    });
    let pending = [...lines.keys()];
    while (pending.length > 0) {
      const batch = pending;
      const res = await this.run(['-R'], restoreInput(batch.map((i) => lines.get(i) ?? '')));
      const { settled, trailing } = classifyRestoreStderr(res.stderr, batch.length);
      settled.forEach((msgs, k) => {
        const index = batch[k] as number;
        results[index] = ipvsadmOpResult(ops[index] as IpvsOp, msgs);
      });
      if (settled.length === batch.length) break;
      // ipvsadm exited at batch[settled.length]: that line failed; the rest were not run.
      const failedAt = batch[settled.length] as number;
      const errno = trailing.map(errnoOfMessage).find((e) => e !== undefined);
      if (errno === undefined && settled.length === 0) {
        throw new LdirError(
          ErrorCodes.IPVS_UNAVAILABLE,
          `ipvsadm -R stopped before its first line (exit code ${res.code}): ${trailing.join('; ') || 'no message'}`,
          {
            details: { code: res.code, stderr: res.stderr },
          },
        );
      }
      const message = trailing.join('; ') || `ipvsadm exited with code ${res.code}`;
      results[failedAt] = { status: 'failed', errno: errno ?? 'EIO', message: `${errno ?? 'EIO'}: ${message}` };
      pending = batch.slice(settled.length + 1);
    }
    return results.map((r) => r ?? { status: 'failed', errno: 'EIO', message: 'EIO: not applied' });
  }

  async info(): Promise<IpvsInfo> {
    return parseInfo(await this.command(['-L', '-n']));
  }

  async getTimeouts(): Promise<IpvsTimeouts> {
    return parseTimeouts(await this.command(['-L', '--timeout']));
  }

  async setTimeouts(timeouts: IpvsTimeouts): Promise<void> {
    await this.command(formatSetTimeouts(timeouts));
  }

  async zero(service?: ServiceKey): Promise<void> {
    await this.command(formatZero(service));
  }

  async flush(): Promise<void> {
    await this.command(['-C']);
  }

  async listSyncDaemons(): Promise<readonly IpvsSyncDaemon[]> {
    return parseDaemons(await this.command(['-L', '--daemon']));
  }

  async startSyncDaemon(daemon: IpvsSyncDaemon): Promise<void> {
    await this.command(formatStartDaemon(daemon));
  }

  async stopSyncDaemon(state: 'master' | 'backup'): Promise<void> {
    await this.command(formatStopDaemon(state));
  }

  async close(): Promise<void> {
    // Nothing is kept open between runs.
  }
}
