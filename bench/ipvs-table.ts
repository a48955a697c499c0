// The benchmark table: N TCP services with M masq destinations each (RFC 2544 benchmarking addresses; the table is
// only programmed, no packet is ever sent to them).
import type { DesiredService } from '../src/ipvs/types';

/** Builds `services` TCP services on 198.19.0.x, each with `dests` masq destinations in 198.18.0.0/15. */
export function benchTable(services: number, dests: number): DesiredService[] {
  return Array.from({ length: services }, (_, s) => ({
    service: {
      family: 'inet' as const,
      protocol: 'tcp' as const,
      address: `198.19.0.${1 + (s % 250)}`,
      port: 1000 + s,
      scheduler: 'wrr',
      onePacket: false,
      schedulerFlags: [],
    },
    destinations: Array.from({ length: dests }, (_, d) => ({
      address: `198.18.${s % 256}.${1 + (d % 250)}`,
      family: 'inet' as const,
      port: 8080,
      forward: 'masq' as const,
      weight: 1 + (d % 5),
      upperThreshold: 0,
      lowerThreshold: 0,
    })),
  }));
}
