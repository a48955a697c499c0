// Lazy loader and typed interface of the native addon (native/build/Release/ldir_native.node).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ErrorCodes, LdirError } from '../errors';

/** Opaque handle of a native netlink socket (a type-tagged N-API External). */
export interface NativeNetlinkHandle {
  readonly __nativeNetlinkHandle: unique symbol;
}

/** What `netlinkOpen` returns: the handle and the port id the kernel assigned. */
export interface NativeNetlinkOpen {
  readonly handle: NativeNetlinkHandle;
  readonly portId: number;
}

/** Opaque handle of a syslog connection made by `syslogOpen` (a type-tagged N-API External). */
export interface NativeSyslogHandle {
  readonly __nativeSyslogHandle: unique symbol;
}

/** An echo reply received by `icmpRawTransact` (ICMP header onwards; IPv4 header stripped). */
export interface NativeIcmpReply {
  readonly from: string;
  readonly packet: Buffer;
  readonly rttUs: number;
}

/** Errors thrown or rejected by the addon: `code` is the errno name (`ENOBUFS`, `ETIMEDOUT`, `EBADF`, ...). */
export interface NativeErrnoError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
}

/**
 * Receives one finished probe of a {@link NativeTcpProbeEngine}: `error` is '' on success, else the errno name
 * (`ECONNREFUSED`, `ETIMEDOUT` at the deadline, ...); `phase` says where it ended; `data` is what was read (probes
 * with a request only; also on errors after the connect).
 */
export type NativeTcpProbeCallback = (
  id: number,
  error: string,
  phase: 'connect' | 'write' | 'read',
  elapsedUs: number,
  data: Buffer | undefined,
) => void;

/**
 * Receives a round of a scheduled check that JS must judge (see {@link NativeTcpProbeEngine.schedule}): the probe's
 * outcome as for {@link NativeTcpProbeCallback}, the engine-clock microseconds at which the round was due and started,
 * whether the engine found it certainly up, and the HTTP status it read (0 when none).
 */
export type NativeRoundCallback = (
  id: number,
  error: string,
  phase: 'connect' | 'write' | 'read',
  elapsedUs: number,
  data: Buffer | undefined,
  scheduledUs: number,
  startedUs: number,
  certainUp: boolean,
  status: number,
  quietFailuresBefore: number,
) => void;

/** The transport of a native probe: a TCP connection, or an SCTP association (one-to-one socket). */
export type NativeProbeProtocol = 'tcp' | 'sctp';

/** An epoll thread running many non-blocking TCP probes; results come back through its callback in batches. */
export interface NativeTcpProbeEngine {
  /**
   * Starts probe `id`: connect to `address:port` (numeric IPv4/IPv6, throws EINVAL otherwise) within `timeoutMs`
   * (which bounds the whole probe); with a `request`, send it and read until the peer closes, `readLimit` bytes, or
   * (`framing` 1 = HTTP, 2 = HTTP answer to HEAD) the answer is complete. `protocol` (default tcp; see
   * {@link NativeAddon.TcpProbeEngine}'s `protocols`) is the transport.
   */
  start(
    id: number,
    address: string,
    port: number,
    timeoutMs: number,
    request: Buffer | null,
    readLimit: number,
    framing: 0 | 1 | 2,
    protocol?: NativeProbeProtocol,
  ): void;
  /**
   * Runs a check every `intervalMs` on the engine thread: the probe of {@link start} (id < 2^31, never reused), the
   * first round `firstDelayMs` from now, `respreadMs` added once to the second. A round is up when it connects (no
   * request) or when its answer is certainly a passing HTTP answer (complete, its final status within one of the
   * inclusive `[from, to]` pairs of `statuses` (200–299 when null or not given), `literal` found and `notLiteral` not
   * found in the first `window` body bytes). Quiet rounds (counted in {@link roundStats}, kept for {@link takeQuiet} up
   * to `sampleCap`): an up round after `riseCount` up rounds in a row (1 when not given), and a failure without an
   * answer after `failureCount` failures in a row, the last with the same errno. Every other round, or every round
   * with `reportAll`, goes to onRound. Only an addon whose class has `httpRules` reads `statuses` and `notLiteral`.
   * `protocol` as for {@link start}.
   */
  schedule(
    id: number,
    address: string,
    port: number,
    timeoutMs: number,
    request: Buffer | null,
    readLimit: number,
    framing: 0 | 1 | 2,
    intervalMs: number,
    firstDelayMs: number,
    respreadMs: number,
    literal: Buffer | null,
    window: number,
    reportAll: boolean,
    sampleCap: number,
    failureCount: number,
    riseCount: number,
    statuses?: Int32Array | null,
    notLiteral?: Buffer | null,
    protocol?: NativeProbeProtocol,
  ): void;
  /** Stops schedule `id`; its round in flight is dropped. */
  unschedule(id: number): void;
  /**
   * Per schedule, 10 numbers: id, rounds, running, lastQuiet, lastStatus (-errno for a failure), lastDurationUs,
   * lastStartedUs, dropped, quiet failures since the last round delivered, rounds that found their connection made
   * (or refused) inside connect() and went on without waiting for the engine's epoll.
   */
  roundStats(): Float64Array;
  /** Quiet rounds kept since the last call, 5 numbers each: id, scheduledUs, startedUs, durationUs, status (-errno: failed). */
  takeQuiet(): Float64Array;
  /**
   * Quiet rounds counted since the last call, per schedule that had any: id, passed, failed, sum of durations (µs),
   * then a count per duration bucket ({@link setDurationBuckets}' bounds + 1). Kept or not, every quiet round is counted.
   */
  takeQuietCounts(): Float64Array;
  /** Upper bounds (ms, ascending) of the buckets quiet rounds are counted in, for schedules made from now on. */
  setDurationBuckets(boundsMs: Float64Array): void;
  /** The engine's clock: CLOCK_MONOTONIC microseconds. */
  now(): number;
  /** Drops probe `id` (socket closed, no result unless it already finished). */
  cancel(id: number): void;
  /** Keeps the event loop alive (while probes are in flight). */
  ref(): void;
  /** Lets the process exit while idle. */
  unref(): void;
  /** Stops the thread; probes in flight are dropped. Idempotent. */
  close(): void;
}

/** The functions of the native addon. */
export interface NativeAddon {
  /**
   * Creates a TCP probe engine (its own thread) delivering results to `onResult` and scheduled rounds to `onRound`.
   * `protocols` lists the transports its probes can use (absent from builds before SCTP probes: TCP only).
   */
  TcpProbeEngine: (new (
    onResult: NativeTcpProbeCallback,
    onRound?: NativeRoundCallback,
  ) => NativeTcpProbeEngine) & {
    readonly protocols?: readonly string[];
  };
  /** Opens and binds an AF_NETLINK socket (ext ACK, capped ACK, large receive buffer). Throws on failure. */
  netlinkOpen(protocol: number): NativeNetlinkOpen;
  /**
   * Sends `request` (1..N concatenated nlmsgs) and resolves with the received messages of the awaited seqs once every
   * `seqs` entry has its NLMSG_ERROR and every `dumpSeqs` entry its NLMSG_DONE (or NLMSG_ERROR). Runs off the JS
   * thread; at most one at a time per handle (the caller serialises).
   */
  netlinkTransact(
    handle: NativeNetlinkHandle,
    request: Buffer,
    seqs: readonly number[],
    dumpSeqs: readonly number[],
    timeoutMs: number,
  ): Promise<Buffer>;
  /** Closes the socket; idempotent. */
  netlinkClose(handle: NativeNetlinkHandle): void;
  /** Creates a non-blocking ICMP socket (ping socket, or raw when `raw`) and returns its fd. Throws on failure. */
  icmpOpen(family: 4 | 6, raw: boolean): number;
  /** Sends an echo request on a raw fd and resolves with the matching reply, or null on timeout. One at a time per fd. */
  icmpRawTransact(fd: number, destAddress: string, packet: Buffer, timeoutMs: number): Promise<NativeIcmpReply | null>;
  /**
   * Prepares syslog messages as `ident[pid]` with `facility` (0..23, `<syslog.h>` code without the shift) to the
   * unix datagram socket `path` (default `/dev/log`); the socket is made on the first write. Throws TypeError for
   * bad arguments only.
   */
  syslogOpen(ident: string, facility: number, path?: string): NativeSyslogHandle;
  /**
   * Sends one RFC 3164 datagram `<PRI>Mmm dd hh:mm:ss ident[pid]: message` (as glibc's syslog(3)) at `severity`
   * (0..7) without blocking for more than ~20 ms; returns '' when sent, else the errno name of why the message was
   * dropped (`ENOENT` no receiver, `EAGAIN` its queue is full, `EBADF` closed). Throws TypeError for bad arguments only.
   */
  syslogWrite(handle: NativeSyslogHandle, severity: number, message: string): string;
  /** Closes the socket of a syslog handle; idempotent. */
  syslogClose(handle: NativeSyslogHandle): void;
}

const FUNCTIONS = [
  'netlinkOpen',
  'netlinkTransact',
  'netlinkClose',
  'icmpOpen',
  'icmpRawTransact',
  'TcpProbeEngine',
  'syslogOpen',
  'syslogWrite',
  'syslogClose',
] as const;

let loaded: NativeAddon | undefined;

/** The path where the addon is looked for (repository root of both the sources and the compiled `dist/`). */
export function nativeAddonPath(): string {
  const candidates = [
    path.resolve(__dirname, '../../../native/build/Release/ldir_native.node'), // dist/src/native/
    path.resolve(__dirname, '../../native/build/Release/ldir_native.node'), // src/native/ (ts sources run directly)
  ];
  return candidates.find((p) => fs.existsSync(p)) ?? (candidates[0] as string);
}

/** True when `cmd` is an executable in PATH. */
function inPath(cmd: string): boolean {
  return (process.env['PATH'] ?? '').split(path.delimiter).some((dir) => {
    try {
      fs.accessSync(path.join(dir, cmd), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * Loads the addon on first use and returns it. Throws an {@link LdirError} with code `NATIVE_UNAVAILABLE` saying
 * why (not built, toolchain missing, load failure); ldir then falls back to ipvsadm.
 */
export function loadNativeAddon(): NativeAddon {
  if (loaded) return loaded;
  const file = nativeAddonPath();
  if (!fs.existsSync(file)) {
    const missing = [['g++', 'c++'], ['make'], ['python3']].filter((alts) => !alts.some(inPath)).map((alts) => alts[0]);
    const hint =
      missing.length > 0
        ? `the compiler toolchain is missing (${missing.join(', ')}): install g++ make python3, then run npm run build:native`
        : 'run npm run build:native';
    throw new LdirError(ErrorCodes.NATIVE_UNAVAILABLE, `native addon not built (${file} missing): ${hint}`, {
      details: { path: file, missing },
    });
  }
  let mod: unknown;
  try {
    // A .node file can only be loaded through require (process.dlopen).
    mod = require(file);
  } catch (cause) {
    throw new LdirError(
      ErrorCodes.NATIVE_UNAVAILABLE,
      `native addon ${file} cannot be loaded (${(cause as Error).message}); rebuild it with npm run build:native`,
      { cause, details: { path: file } },
    );
  }
  const record = mod as Record<string, unknown>;
  const absent = FUNCTIONS.filter((name) => typeof record[name] !== 'function');
  if (absent.length > 0) {
    throw new LdirError(
      ErrorCodes.NATIVE_UNAVAILABLE,
      `native addon ${file} is stale (lacks ${absent.join(', ')}): run npm run build:native`,
      {
        details: { path: file },
      },
    );
  }
  loaded = mod as NativeAddon;
  return loaded;
}

/** True when `err` came from the addon with an errno name as `code`. */
export function isNativeErrnoError(err: unknown): err is NativeErrnoError {
  return (
    err instanceof Error &&
    typeof (err as Partial<NativeErrnoError>).code === 'string' &&
    typeof (err as Partial<NativeErrnoError>).errno === 'number'
  );
}
