// The kernel IPVS table in IPVS words (Service, Destination), the operations on it, and the backend interface.

/** Address family of an IPVS service or destination. */
export type IpvsFamily = 'inet' | 'inet6';

/** Transport protocol of an address-based service. */
export type IpvsProtocol = 'tcp' | 'udp' | 'sctp';

/** Identity of a service: a firewall mark, or protocol + address + port. */
export type ServiceKey =
  | { readonly family: IpvsFamily; readonly fwmark: number }
  | { readonly family: IpvsFamily; readonly protocol: IpvsProtocol; readonly address: string; readonly port: number };

/**
 * Scheduler flags as ipvsadm names them (`-b`). `flag-1`/`sh-fallback`/`mh-fallback` share one kernel bit,
 * as do `flag-2`/`sh-port`/`mh-port`; the canonical names are the `flag-N` ones.
 */
export type SchedulerFlag = 'flag-1' | 'flag-2' | 'flag-3';

/** A virtual service as the kernel holds it. */
export type IpvsService = ServiceKey & {
  /** Scheduler name (rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, fo, ovf, mh, twos, ...). */
  readonly scheduler: string;
  /** Persistence timeout in seconds; undefined = not persistent. */
  readonly persistent?: number;
  /** Persistence netmask: dotted quad for IPv4, prefix length (as text) for IPv6; undefined = host (default). */
  readonly netmask?: string;
  /** One-packet scheduling (UDP). */
  readonly onePacket: boolean;
  readonly schedulerFlags: readonly SchedulerFlag[];
  /** Persistence engine, e.g. `sip`. */
  readonly persistenceEngine?: string;
};

/** Forwarding method in kernel words: masq = NAT, route = direct routing (gate), tunnel = IP-in-IP/GUE/GRE. */
export type ForwardingMethod = 'masq' | 'local' | 'tunnel' | 'route';

/** Tunnel encapsulation of a tunnel destination. */
export type TunnelType = 'ipip' | 'gue' | 'gre';

/** Tunnel checksum mode. */
export type TunnelChecksum = 'nocsum' | 'csum' | 'remcsum';

/** A real server entry (destination) of a service. */
export interface IpvsDestination {
  readonly address: string;
  /** Address family of the destination; differs from the service's only for tunnel destinations. */
  readonly family: IpvsFamily;
  readonly port: number;
  readonly forward: ForwardingMethod;
  readonly weight: number;
  /** Upper connection threshold; 0 = none. */
  readonly upperThreshold: number;
  /** Lower connection threshold; 0 = none. */
  readonly lowerThreshold: number;
  readonly tunnelType?: TunnelType;
  /** GUE port (required for gue). */
  readonly tunnelPort?: number;
  readonly tunnelChecksum?: TunnelChecksum;
}

/** Traffic counters and rates (64-bit counters as bigint). */
export interface IpvsStats {
  readonly conns: bigint;
  readonly inPackets: bigint;
  readonly outPackets: bigint;
  readonly inBytes: bigint;
  readonly outBytes: bigint;
  readonly cps: bigint;
  readonly inPps: bigint;
  readonly outPps: bigint;
  readonly inBps: bigint;
  readonly outBps: bigint;
}

/** A destination as read from the kernel, with its connection counts and stats. */
export interface ObservedDestination extends IpvsDestination {
  readonly activeConns: number;
  readonly inactiveConns: number;
  readonly persistentConns: number;
  readonly stats?: IpvsStats;
}

/** A service as read from the kernel, with its destinations and stats. */
export interface ObservedService {
  readonly service: IpvsService;
  readonly destinations: readonly ObservedDestination[];
  readonly stats?: IpvsStats;
}

/** A desired service with its desired destinations. */
export interface DesiredService {
  readonly service: IpvsService;
  readonly destinations: readonly IpvsDestination[];
}

/** Identity of a destination within its service. */
export interface DestinationKey {
  readonly address: string;
  readonly port: number;
}

/** One change to the kernel table. */
export type IpvsOp =
  | { readonly op: 'add-service'; readonly service: IpvsService }
  | { readonly op: 'edit-service'; readonly service: IpvsService }
  | { readonly op: 'delete-service'; readonly service: ServiceKey }
  | { readonly op: 'add-destination'; readonly service: ServiceKey; readonly destination: IpvsDestination }
  | { readonly op: 'edit-destination'; readonly service: ServiceKey; readonly destination: IpvsDestination }
  | {
      readonly op: 'delete-destination';
      readonly service: ServiceKey;
      readonly destination: DestinationKey & { readonly family: IpvsFamily };
    };

/** Outcome of one operation: done, already so (converged), or failed with the kernel's errno name. */
export type IpvsOpResult =
  | { readonly status: 'done' }
  | { readonly status: 'converged'; readonly errno: string }
  | { readonly status: 'failed'; readonly errno: string; readonly message: string };

/** Kernel IPVS version and connection table size. */
export interface IpvsInfo {
  /** e.g. `1.2.1`. */
  readonly version: string;
  readonly connTableSize: number;
}

/** Kernel connection timeouts in seconds (0 in a set = leave unchanged). */
export interface IpvsTimeouts {
  readonly tcp: number;
  readonly tcpFin: number;
  readonly udp: number;
}

/** A connection synchronisation daemon. */
export interface IpvsSyncDaemon {
  readonly state: 'master' | 'backup';
  readonly interface: string;
  readonly syncId: number;
  readonly maxLength?: number;
  readonly group?: string;
  readonly port?: number;
  readonly ttl?: number;
}

/** Options of {@link IpvsBackend.list}. */
export interface ListOptions {
  /** Decode the traffic counters of services and destinations (default true). */
  readonly stats?: boolean;
}

/** Access to one kernel IPVS table (one network namespace). Implementations: netlink, ipvsadm, memory. */
export interface IpvsBackend {
  readonly kind: 'netlink' | 'ipvsadm' | 'memory';
  /**
   * Every service with its destinations and stats. `{ stats: false }`: without the traffic counters (`stats` left
   * out where a backend can skip them: decoding them was most of a netlink dump's cost, and a table pass only
   * compares settings and connection counts).
   */
  list(options?: ListOptions): Promise<readonly ObservedService[]>;
  /**
   * Applies operations in order; one result per operation. An add that finds the entry present or a delete that
   * finds it gone is `converged`. Never throws for a kernel refusal of one operation.
   */
  apply(ops: readonly IpvsOp[]): Promise<readonly IpvsOpResult[]>;
  info(): Promise<IpvsInfo>;
  getTimeouts(): Promise<IpvsTimeouts>;
  setTimeouts(timeouts: IpvsTimeouts): Promise<void>;
  /** Zeroes the counters of one service, or of all when `service` is undefined. */
  zero(service?: ServiceKey): Promise<void>;
  /** Removes every service and destination (never used on a table ldir does not own entirely). */
  flush(): Promise<void>;
  listSyncDaemons(): Promise<readonly IpvsSyncDaemon[]>;
  startSyncDaemon(daemon: IpvsSyncDaemon): Promise<void>;
  stopSyncDaemon(state: 'master' | 'backup'): Promise<void>;
  close(): Promise<void>;
}
