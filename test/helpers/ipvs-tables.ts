// Builders of IPVS services, destinations and tables for tests.
import { destinationSpec, normalizeObserved } from '../../src/ipvs/normalize';
import type {
  DesiredService,
  IpvsDestination,
  IpvsFamily,
  IpvsProtocol,
  IpvsService,
  ObservedService,
} from '../../src/ipvs/types';

/** The settings of a service (everything but its key). */
export type ServiceSettings = Pick<
  IpvsService,
  'scheduler' | 'persistent' | 'netmask' | 'onePacket' | 'schedulerFlags' | 'persistenceEngine'
>;

const DEFAULT_SETTINGS: ServiceSettings = { scheduler: 'wrr', onePacket: false, schedulerFlags: [] };

/** Family of an address text. */
export function familyOf(address: string): IpvsFamily {
  return address.includes(':') ? 'inet6' : 'inet';
}

/**
 * Service settings a test may also set to undefined: what code or JSON from outside the type checker can hand in,
 * which normalization must treat as absent.
 */
export type LooseServiceSettings = { [K in keyof ServiceSettings]?: ServiceSettings[K] | undefined };

/** An address-based service; the family follows the address unless given. */
export function addrService(
  address: string,
  port = 80,
  settings: LooseServiceSettings = {},
  protocol: IpvsProtocol = 'tcp',
  family: IpvsFamily = familyOf(address),
): IpvsService {
  return { family, protocol, address, port, ...DEFAULT_SETTINGS, ...settings } as IpvsService;
}

/** A firewall-mark service. */
export function fwmService(
  fwmark: number,
  settings: Partial<ServiceSettings> = {},
  family: IpvsFamily = 'inet',
): IpvsService {
  return { family, fwmark, ...DEFAULT_SETTINGS, ...settings };
}

/** A destination (masq, weight 1, no thresholds unless overridden); the family follows the address unless given. */
export function dest(address: string, port = 80, over: Partial<IpvsDestination> = {}): IpvsDestination {
  return {
    address,
    family: familyOf(address),
    port,
    forward: 'masq',
    weight: 1,
    upperThreshold: 0,
    lowerThreshold: 0,
    ...over,
  };
}

/** The configuration part of an observed table (no counters, no stats), normalized and sorted. */
export function specOf(observed: readonly ObservedService[]): DesiredService[] {
  return normalizeObserved(observed).map((o) => ({
    service: o.service,
    destinations: o.destinations.map(destinationSpec),
  }));
}
