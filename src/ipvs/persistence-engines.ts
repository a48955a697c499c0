// The kernel's IPVS persistence engines, and what each one needs of the service it is set on.
import type { IpvsProtocol } from './types';

/** One persistence engine of mainline Linux (`net/netfilter/ipvs/ip_vs_pe_<name>.c`, loaded on demand). */
export interface PersistenceEngineSpec {
  readonly name: string;
  /**
   * The only protocol whose packets the engine can read. Every other packet reaching a service with this engine
   * is dropped: the engine's `fill_param` fails and `ip_vs_sched_persist` answers NF_DROP.
   */
  readonly protocol: IpvsProtocol;
  /** One line on what it does, for messages and documentation. */
  readonly summary: string;
}

/**
 * Persistence engines of mainline Linux. `sip` (module `ip_vs_pe_sip`) keys persistence on the Call-ID header of
 * SIP over UDP, instead of the client's address; a UDP packet without a Call-ID is dropped. Any other name needs an
 * out-of-tree module, else the kernel refuses the service (ENOENT).
 */
export const PERSISTENCE_ENGINES: ReadonlyMap<string, PersistenceEngineSpec> = new Map([
  ['sip', { name: 'sip', protocol: 'udp', summary: 'persistence by the SIP Call-ID of UDP packets' }],
]);

/** Names of the kernel's persistence engines (`ip_vs_pe_<name>` modules). */
export const KERNEL_PERSISTENCE_ENGINES: readonly string[] = [...PERSISTENCE_ENGINES.keys()];

/** The longest engine name the kernel takes: IP_VS_PENAME_MAXLEN (16) with its NUL. */
export const MAX_PERSISTENCE_ENGINE_NAME = 15;
