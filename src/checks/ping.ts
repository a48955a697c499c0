// `checktype=ping` (and `connect` on UDP virtual services): ICMP echo, IPv4 and IPv6, up on the first reply of at
// most `pingCount` attempts. Unprivileged ping socket when net.ipv4.ping_group_range allows it, else a raw socket
// through the native addon (one fd per probe: the raw path does not filter by source), else down with the reason.
import type * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { randomInt } from 'node:crypto';
import { ErrorCodes, isLdirError } from '../errors';
import { isNativeErrnoError, loadNativeAddon, type NativeAddon } from '../native/addon';
import { fail, guardCheck, pass, reasonOf } from './guard';
import { openPingSocket } from './icmp-socket';
import type { Checker } from './types';

/** Dependencies of {@link createPingChecker}; the default loads the real native addon on first use. */
export interface PingDeps {
  readonly addon?: () => NativeAddon;
}

/** An open ICMP endpoint for one check: a ping socket driven by dgram, or a raw fd driven by the addon. */
type Probe =
  | { readonly kind: 'socket'; readonly socket: dgram.Socket }
  | { readonly kind: 'raw'; readonly fd: number; readonly addon: NativeAddon; inFlight?: Promise<unknown> };

/** Outcome of one echo attempt: the round trip in ms, or why there was no reply. */
type Attempt = { readonly rttMs: number } | { readonly reason: string };

const PAYLOAD = Buffer.from('ldir-health-check', 'latin1');
let nextIdentifier = randomInt(0, 65536);

/** Internet checksum (RFC 1071) of an ICMP message. */
export function icmpChecksum(b: Buffer): number {
  let sum = 0;
  for (let i = 0; i + 1 < b.length; i += 2) sum += b.readUInt16BE(i);
  if (b.length % 2 === 1) sum += (b[b.length - 1] as number) << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** An ICMP (type 8) or ICMPv6 (type 128) echo request; the kernel fills the ICMPv6 checksum itself. */
export function echoRequest(family: 4 | 6, identifier: number, sequence: number): Buffer {
  const b = Buffer.alloc(8 + PAYLOAD.length);
  b.writeUInt8(family === 6 ? 128 : 8, 0);
  b.writeUInt16BE(identifier & 0xffff, 4);
  b.writeUInt16BE(sequence & 0xffff, 6);
  PAYLOAD.copy(b, 8);
  if (family === 4) b.writeUInt16BE(icmpChecksum(b), 2);
  return b;
}

/**
 * Opens a ping socket, else a raw socket; when neither is permitted, returns the reason (`icmp unavailable: ...`,
 * naming net.ipv4.ping_group_range and CAP_NET_RAW).
 */
async function openProbe(family: 4 | 6, getAddon: () => NativeAddon): Promise<Probe | string> {
  let addon: NativeAddon;
  try {
    addon = getAddon();
  } catch (err) {
    return `icmp unavailable: ${reasonOf(err)}`;
  }
  let socketWhy: string;
  try {
    return { kind: 'socket', socket: await openPingSocket(family, addon) };
  } catch (err) {
    if (!isLdirError(err, ErrorCodes.ICMP_UNAVAILABLE)) return `icmp unavailable: ${reasonOf(err)}`;
    const errno = String(err.details['errno'] ?? '');
    socketWhy =
      errno === 'EACCES' || errno === 'EPERM'
        ? `ping sockets not permitted by net.ipv4.ping_group_range (${String(err.details['pingGroupRange'] ?? 'unreadable')})`
        : reasonOf(err);
  }
  try {
    return { kind: 'raw', fd: addon.icmpOpen(family, true), addon };
  } catch (err) {
    const errno = isNativeErrnoError(err) ? err.code : reasonOf(err);
    return `icmp unavailable: ${socketWhy}, and raw ICMP sockets need CAP_NET_RAW (${errno})`;
  }
}

/** Releases a probe; a raw fd is closed only once its pending transact has finished (the addon requires it). */
function closeProbe(probe: Probe): void {
  if (probe.kind === 'socket') {
    probe.socket.close();
    return;
  }
  const close = (): void => {
    try {
      fs.closeSync(probe.fd);
    } catch {
      // already closed
    }
  };
  if (probe.inFlight) void probe.inFlight.then(close, close);
  else close();
}

/** Resolves with the attempt's outcome when it ends, when `timeoutMs` passes, or when `signal` aborts. */
function attemptWindow(
  timeoutMs: number,
  signal: AbortSignal,
  start: (done: (a: Attempt) => void) => (() => void) | void,
): Promise<Attempt> {
  return new Promise((resolve) => {
    let cleanup: (() => void) | void;
    let finished = false;
    const done = (a: Attempt): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      if (cleanup) cleanup();
      resolve(a);
    };
    const onAbort = (): void => done({ reason: 'timeout' });
    const timer = setTimeout(() => done({ reason: 'no echo reply' }), Math.max(1, timeoutMs));
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    cleanup = start(done);
    if (finished && cleanup) cleanup();
  });
}

/** One echo over a ping socket: the kernel sets the identifier and delivers only our replies; we match the sequence. */
function attemptSocket(
  socket: dgram.Socket,
  family: 4 | 6,
  address: string,
  seq: number,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<Attempt> {
  const t0 = performance.now();
  return attemptWindow(timeoutMs, signal, (done) => {
    const onMessage = (msg: Buffer): void => {
      if (msg.length >= 8 && msg[0] === (family === 6 ? 129 : 0) && msg.readUInt16BE(6) === seq) {
        done({ rttMs: performance.now() - t0 });
      }
    };
    const onError = (err: Error): void => done({ reason: reasonOf(err) }); // ICMP errors: unreachable, ...
    socket.on('message', onMessage);
    socket.on('error', onError);
    socket.send(echoRequest(family, 0, seq), 1, address, (err) => {
      if (err) done({ reason: reasonOf(err) });
    });
    return () => {
      socket.off('message', onMessage);
      socket.off('error', onError);
    };
  });
}

/** One echo over a raw socket through the addon (which matches identifier and sequence off the JS thread). */
function attemptRaw(
  probe: Probe & { kind: 'raw' },
  family: 4 | 6,
  address: string,
  seq: number,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<Attempt> {
  nextIdentifier = (nextIdentifier + 1) & 0xffff;
  const packet = echoRequest(family, nextIdentifier, seq);
  return attemptWindow(timeoutMs + 50, signal, (done) => {
    const pending = probe.addon.icmpRawTransact(probe.fd, address, packet, Math.max(1, timeoutMs));
    probe.inFlight = pending.catch(() => undefined);
    pending.then(
      (reply) => done(reply ? { rttMs: reply.rttUs / 1000 } : { reason: 'no echo reply' }),
      (err: unknown) => done({ reason: reasonOf(err) }),
    );
  });
}

/** A ping checker; `deps.addon` replaces the native addon (tests). */
export function createPingChecker(deps: PingDeps = {}): Checker {
  const getAddon = deps.addon ?? loadNativeAddon;
  return (job, signal) => {
    const attempts = Math.max(1, job.pingCount);
    return guardCheck(signal, job.checkTimeoutMs * attempts + 250, async (s) => {
      const family: 4 | 6 = job.family === 'inet6' || net.isIPv6(job.address) ? 6 : 4;
      const probe = await openProbe(family, getAddon);
      if (typeof probe === 'string') return fail(probe);
      try {
        let last: Attempt = { reason: 'no echo reply' };
        for (let seq = 1; seq <= attempts && !s.aborted; seq++) {
          // An in-flight raw transact must finish before the fd takes the next one.
          if (probe.kind === 'raw' && probe.inFlight) await probe.inFlight;
          last =
            probe.kind === 'socket'
              ? await attemptSocket(probe.socket, family, job.address, seq, job.checkTimeoutMs, s)
              : await attemptRaw(probe, family, job.address, seq, job.checkTimeoutMs, s);
          if ('rttMs' in last) return pass(`echo reply in ${last.rttMs.toFixed(1)} ms`);
        }
        return fail(
          last.reason === 'no echo reply'
            ? `no echo reply (${attempts} attempt${attempts > 1 ? 's' : ''})`
            : last.reason,
        );
      } finally {
        closeProbe(probe);
      }
    });
  };
}

/** The ping checker with the real native addon. */
export const pingCheck: Checker = createPingChecker();
