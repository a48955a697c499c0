// The traffic part of a status report: the kernel's connection counts and rates per service and destination, keyed
// as the engine names them (the kernel service id is the VirtualService id; the destination id is the engine's
// `RealSnapshot.destination`, which differs from the real's key where the kernel ignores the port, as with gate),
// from one bounded kernel read.
import { destinationKeyString, serviceKeyString } from '../ipvs/normalize';
import type { IpvsStats, ObservedService } from '../ipvs/types';
import type { KernelRead } from '../metrics/kernel-series';
import { pairKey } from '../model/health';
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
    activeConns, inactiveConns, cps: num(stats?.cps), inPps: num(stats?.inPps), outPps: num(stats?.outPps),
    inBps: num(stats?.inBps), outBps: num(stats?.outBps), conns: num(stats?.conns),
  };
}

/** Indexes a kernel listing; a service's connection counts are the sums of its destinations'. */
export function indexTraffic(services: readonly ObservedService[], durationMs: number): TrafficIndex {
  const virtuals = new Map<string, TrafficStatus>();
  const reals = new Map<string, TrafficStatus>();
  for (const s of services) {
    const id = serviceKeyString(s.service);
    let active = 0;
    let inactive = 0;
    for (const d of s.destinations) {
      active += d.activeConns;
      inactive += d.inactiveConns;
      reals.set(pairKey(id, destinationKeyString(d)), traffic(d.stats, d.activeConns, d.inactiveConns));
    }
    virtuals.set(id, traffic(s.stats, active, inactive));
  }
  return { virtuals, reals, status: { ok: true, durationMs: Math.round(durationMs) } };
}

/** The index of a bounded kernel read: empty, with the reason, when it failed or timed out. */
export function trafficOf(read: KernelRead): TrafficIndex {
  if (read.ok) return indexTraffic(read.services, read.durationMs);
  const error = read.reason === 'timeout' ? 'timeout' : read.error instanceof Error ? read.error.message : String(read.error);
  return { virtuals: new Map(), reals: new Map(), status: { ok: false, durationMs: Math.round(read.durationMs), error } };
}
