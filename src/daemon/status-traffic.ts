// The traffic part of a status report: the kernel's connection counts and rates per service and destination, keyed
// as the engine names them (the kernel service id is the VirtualService id; the destination id is the engine's
// `RealSnapshot.destination`, which differs from the real's key where the kernel ignores the port, as with gate),
// from one bounded kernel read.
import { destinationKeyString, serviceKeyString } from '../ipvs/normalize';
import type { IpvsStats, ObservedService } from '../ipvs/types';
import type { KernelRead } from '../metrics/kernel-series';
import { pairKey } from '../model/health';
import type { SliceYielder } from '../system/slice-yielder';
import type { KernelStatsStatus, TrafficStatus } from './protocol';

/** Traffic by virtual id and by (virtual id, kernel destination id) ({@link pairKey}). */
export interface TrafficIndex {
  readonly virtuals: ReadonlyMap<string, TrafficStatus>;
  readonly reals: ReadonlyMap<string, TrafficStatus>;
  readonly status: KernelStatsStatus;
}

const num = (v: bigint | undefined): number => (v === undefined || v < 0n ? 0 : Number(v));

function traffic(stats: IpvsStats | undefined, activeConns: number, inactiveConns: number): TrafficStatus {
  return {
    activeConns,
    inactiveConns,
    cps: num(stats?.cps),
    inPps: num(stats?.inPps),
    outPps: num(stats?.outPps),
    inBps: num(stats?.inBps),
    outBps: num(stats?.outBps),
    conns: num(stats?.conns),
  };
}

/** Indexes a kernel listing; a service's connection counts are the sums of its destinations'. */
export function indexTraffic(services: readonly ObservedService[], durationMs: number): TrafficIndex {
  const index = new TrafficIndexer(durationMs);
  for (const s of services) {
    index.begin(s);
    for (const d of s.destinations) index.destination(d);
    index.end(s);
  }
  return index.done();
}

/** {@link indexTraffic} giving the event loop a turn between slices of destinations (a big table: issue 21). */
export async function indexTrafficSliced(
  services: readonly ObservedService[],
  durationMs: number,
  yielder: SliceYielder,
): Promise<TrafficIndex> {
  const index = new TrafficIndexer(durationMs);
  for (const s of services) {
    index.begin(s);
    for (const d of s.destinations) {
      index.destination(d);
      const pause = yielder.maybeYield();
      if (pause) await pause;
    }
    index.end(s);
  }
  return index.done();
}

/** Builds a {@link TrafficIndex} service by service: `begin`, its destinations, `end` (its counts are their sums). */
class TrafficIndexer {
  private readonly virtuals = new Map<string, TrafficStatus>();
  private readonly reals = new Map<string, TrafficStatus>();
  private id = '';
  private active = 0;
  private inactive = 0;

  constructor(private readonly durationMs: number) {}

  begin(s: ObservedService): void {
    this.id = serviceKeyString(s.service);
    this.active = 0;
    this.inactive = 0;
  }

  destination(d: ObservedService['destinations'][number]): void {
    this.active += d.activeConns;
    this.inactive += d.inactiveConns;
    this.reals.set(pairKey(this.id, destinationKeyString(d)), traffic(d.stats, d.activeConns, d.inactiveConns));
  }

  end(s: ObservedService): void {
    this.virtuals.set(this.id, traffic(s.stats, this.active, this.inactive));
  }

  done(): TrafficIndex {
    return {
      virtuals: this.virtuals,
      reals: this.reals,
      status: { ok: true, durationMs: Math.round(this.durationMs) },
    };
  }
}

/** The index of a bounded kernel read: empty, with the reason, when it failed or timed out. */
export function trafficOf(read: KernelRead): TrafficIndex {
  if (read.ok) return indexTraffic(read.services, read.durationMs);
  return failedTraffic(read);
}

/** {@link trafficOf} in slices of `yielder` (what `ldir status` reads at any table size). */
export async function trafficOfSliced(read: KernelRead, yielder: SliceYielder): Promise<TrafficIndex> {
  if (read.ok) return indexTrafficSliced(read.services, read.durationMs, yielder);
  return failedTraffic(read);
}

function failedTraffic(read: Extract<KernelRead, { ok: false }>): TrafficIndex {
  const error =
    read.reason === 'timeout' ? 'timeout' : read.error instanceof Error ? read.error.message : String(read.error);
  return {
    virtuals: new Map(),
    reals: new Map(),
    status: { ok: false, durationMs: Math.round(read.durationMs), error },
  };
}
