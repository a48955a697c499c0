// TCP probes off the JS thread: connect (and optionally one request/answer exchange) through the native probe engine.
import * as net from 'node:net';
import type { Clock } from '../clock';
import {
  loadNativeAddon,
  type NativeAddon,
  type NativeProbeProtocol,
  type NativeRoundCallback,
  type NativeTcpProbeEngine,
} from '../native/addon';
import { NativeRoundOffload, type RoundOffload } from './native-rounds';

/** How one probe ended. */
export interface TcpProbeOutcome {
  /** Errno name when it failed (`ECONNREFUSED`, `ETIMEDOUT` at the deadline, `ABORT_ERR` when aborted). */
  readonly error?: string;
  /** Where it ended: connecting, sending the request, or reading the answer. */
  readonly phase: 'connect' | 'write' | 'read';
  readonly elapsedMs: number;
  /** What the server sent (exchanges only), up to the read limit; also present after a failure mid-read. */
  readonly data?: Buffer;
}

/**
 * A request sent right after the connect; the answer is read until the server closes, `readLimit` bytes, or with
 * `framing` the HTTP answer is complete (by Content-Length or chunks; `http-head` for an answer to HEAD).
 */
export interface TcpExchange {
  readonly request: Buffer;
  readonly readLimit: number;
  readonly framing?: 'http' | 'http-head';
}

const FRAMING = { none: 0, http: 1, 'http-head': 2 } as const;

/** The transport of a probe: a TCP connection, or an SCTP association. */
export type ProbeProtocol = NativeProbeProtocol;

/** Runs TCP probes; {@link close} when done (it owns a thread). */
export interface TcpProber {
  /** True when `address` can be probed (numeric IPv4/IPv6 without a zone). */
  accepts(address: string): boolean;
  /** The transports its probes can use; absent: TCP only (a wrapper, or an addon built before SCTP probes). */
  readonly protocols?: readonly ProbeProtocol[];
  /**
   * Connects to `address:port` (over `protocol`, default tcp), then runs `exchange` if given; the whole probe is
   * bounded by `timeoutMs`. Never rejects for network errors (they come back as `error`: `EPROTONOSUPPORT` for SCTP
   * on a kernel without it); an aborted `signal` ends it with `ABORT_ERR`.
   */
  probe(
    address: string,
    port: number,
    timeoutMs: number,
    signal: AbortSignal,
    exchange?: TcpExchange,
    protocol?: ProbeProtocol,
  ): Promise<TcpProbeOutcome>;
  /**
   * The engine's scheduled rounds (see {@link RoundOffload}), on `clock` (which must be the system clock: the engine
   * keeps real time); undefined when the addon predates them. One per prober.
   */
  roundOffload?(clock: Clock): RoundOffload | undefined;
  /** Stops the engine; probes in flight end with `ABORT_ERR`. Idempotent. */
  close(): void;
}

interface Pending {
  readonly resolve: (outcome: TcpProbeOutcome) => void;
  readonly signal: AbortSignal;
  readonly onAbort: () => void;
}

const ABORTED: TcpProbeOutcome = Object.freeze({ error: 'ABORT_ERR', phase: 'connect', elapsedMs: 0 });

/** A {@link TcpProber} over the native engine: one epoll thread, results delivered to the JS thread in batches. */
class NativeTcpProber implements TcpProber {
  private readonly pending = new Map<number, Pending>();
  private readonly engine: NativeTcpProbeEngine;
  private nextId = 1;
  private closed = false;
  private offload: NativeRoundOffload | undefined;
  /** Scheduled checks running on the engine: they keep the process alive as probes in flight do. */
  private scheduled = 0;
  readonly protocols: readonly ProbeProtocol[];

  constructor(addon: NativeAddon) {
    const known = addon.TcpProbeEngine.protocols ?? ['tcp'];
    this.protocols = (['tcp', 'sctp'] as const).filter((p) => known.includes(p));
    const onRound: NativeRoundCallback = (...round) => this.offload?.onRound(...round);
    this.engine = new addon.TcpProbeEngine(
      (id, error, phase, elapsedUs, data) => this.onResult(id, error, phase, elapsedUs, data),
      onRound,
    );
  }

  roundOffload(clock: Clock): RoundOffload | undefined {
    if (typeof this.engine.schedule !== 'function') return undefined; // an addon built before scheduled rounds
    this.offload ??= new NativeRoundOffload(this.engine, clock, this, this.protocols, (delta) => {
      const before = this.scheduled;
      this.scheduled += delta;
      if (before === 0 && this.scheduled > 0 && this.pending.size === 0) this.engine.ref();
      else this.idleCheck();
    });
    return this.offload;
  }

  accepts(address: string): boolean {
    return net.isIP(address) !== 0 && !address.includes('%');
  }

  probe(
    address: string,
    port: number,
    timeoutMs: number,
    signal: AbortSignal,
    exchange?: TcpExchange,
    protocol: ProbeProtocol = 'tcp',
  ): Promise<TcpProbeOutcome> {
    if (this.closed || signal.aborted) return Promise.resolve(ABORTED);
    const id = this.nextId;
    this.nextId = id >= 0x7ffffff0 ? 1 : id + 1; // ids with the top bit are the engine's scheduled rounds
    return new Promise<TcpProbeOutcome>((resolve, reject) => {
      try {
        if (!this.protocols.includes(protocol))
          throw new TypeError(`the native addon cannot probe over ${protocol}: rebuild it (npm run build:native)`);
        this.engine.start(
          id,
          address,
          port,
          Math.max(1, timeoutMs),
          exchange?.request ?? null,
          exchange?.readLimit ?? 0,
          FRAMING[exchange?.framing ?? 'none'],
          protocol,
        );
      } catch (err) {
        reject(err);
        return;
      }
      const onAbort = (): void => {
        if (!this.pending.delete(id)) return;
        this.engine.cancel(id);
        this.idleCheck();
        resolve(ABORTED);
      };
      if (this.pending.size === 0 && this.scheduled === 0) this.engine.ref();
      this.pending.set(id, { resolve, signal, onAbort });
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.offload?.close();
    this.engine.close();
    const left = [...this.pending.values()];
    this.pending.clear();
    for (const p of left) {
      p.signal.removeEventListener('abort', p.onAbort);
      p.resolve(ABORTED);
    }
  }

  private onResult(
    id: number,
    error: string,
    phase: 'connect' | 'write' | 'read',
    elapsedUs: number,
    data: Buffer | undefined,
  ): void {
    const p = this.pending.get(id);
    if (!p) return; // cancelled
    this.pending.delete(id);
    p.signal.removeEventListener('abort', p.onAbort);
    this.idleCheck();
    const elapsedMs = Math.round(elapsedUs / 100) / 10;
    p.resolve(
      error === ''
        ? data === undefined
          ? { phase, elapsedMs }
          : { phase, elapsedMs, data }
        : data === undefined
          ? { error, phase, elapsedMs }
          : { error, phase, elapsedMs, data },
    );
  }

  private idleCheck(): void {
    if (this.pending.size === 0 && this.scheduled === 0 && !this.closed) this.engine.unref();
  }
}

/** A native {@link TcpProber}, or undefined when the addon is not available (callers fall back to Node sockets). */
export function openTcpProber(load: () => NativeAddon = loadNativeAddon): TcpProber | undefined {
  let addon: NativeAddon;
  try {
    addon = load();
  } catch {
    return undefined;
  }
  return new NativeTcpProber(addon);
}
