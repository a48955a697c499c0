// The normalized, immutable configuration model shared by every module.
import type { SourcePos } from './source';
import type {
  AddressFamily,
  CheckService,
  CheckType,
  DaemonState,
  ForwardMethod,
  HttpMethod,
  SmtpTls,
  SyncStartRole,
  TunnelFlags,
  VirtualProtocol,
} from './vocabulary';

/** A real server of a virtual service, after name resolution and range expansion. */
export interface RealServer {
  /** Numeric address (IPv6 without brackets). */
  readonly address: string;
  /** Port; 0 when omitted (fwmark services, or the kernel uses the virtual port for gate/ipip). */
  readonly port: number;
  readonly forward: ForwardMethod;
  /** Configured weight (default 1). */
  readonly weight: number;
  /** Per-real check request overriding the virtual's (`"request","receive"` on the real line). */
  readonly request?: string;
  /** Per-real expected answer overriding the virtual's. */
  readonly receive?: string;
  /** IPVS lower connection threshold (`l:N`); 0 = none. */
  readonly lowerThreshold: number;
  /** IPVS upper connection threshold (`u:N`); 0 = none. */
  readonly upperThreshold: number;
  /**
   * UDP port GUE packets go to on the real server (`tunnelport=`, per virtual, or the real's own); on `gue` reals
   * only, where it is required.
   */
  readonly tunnelPort?: number;
  /** Tunnel checksums (`tunnelflags=`, per virtual, or the real's own; default `nocsum`); on `gue` and `gre` reals only. */
  readonly tunnelFlags?: TunnelFlags;
  readonly source: SourcePos;
}

/** The fallback ("sorry") server inserted while no real server of a virtual service is up. */
export interface FallbackServer {
  readonly address: string;
  /** Port; 0 when the fallback line had none and the virtual has none (fwmark). */
  readonly port: number;
  readonly forward: ForwardMethod;
  readonly source: SourcePos;
}

/** How a virtual service's real servers are health-checked. */
export interface CheckSpec {
  readonly type: CheckType;
  /** For `combined` (`checktype=N`): connect checks between two negotiate checks. */
  readonly connectsBetweenNegotiates: number;
  readonly service: CheckService;
  /** Command of `external`/`external-perl` checks. */
  readonly command: string;
  /** Port probed; undefined = the real's port, or the service's well-known port when that is 0. */
  readonly port?: number;
  readonly request: string;
  readonly receive: string;
  readonly httpMethod: HttpMethod;
  /** HTTP Host header; undefined = the real's address. */
  readonly virtualHost?: string;
  readonly login: string;
  /** Secret: never logged or shown. */
  readonly passwd: string;
  readonly database: string;
  /** RADIUS shared secret: never logged or shown. */
  readonly secret: string;
  /** Seconds: connect/ping/external/ldap/radius timeout. */
  readonly checkTimeout: number;
  /** Seconds: negotiate timeout. */
  readonly negotiateTimeout: number;
  /** Seconds between checks of one real server. */
  readonly interval: number;
  /** Ping attempts per check (deprecated `checkcount`). */
  readonly checkCount: number;
  /** Consecutive failures before a real server is declared down. */
  readonly failureCount: number;
  /**
   * Consecutive successes before a real server that is down is up again (`risecount`, an ldir extension). A real
   * whose health is unknown (not checked yet) is up after one success, whatever this says.
   */
  readonly riseCount: number;
  /**
   * Final statuses an http/https/http_proxy answer may have to pass (`httpstatus`, an ldir extension), as inclusive
   * ranges; default 200–299 (ldirectord's `is_success`). A redirect whose status is listed is a final answer.
   */
  readonly httpStatus: readonly HttpStatusRange[];
  /** What an http/https/http_proxy answer's body must not match (`receivenot`, an ldir extension); '' = nothing. */
  readonly receiveNot: string;
  /** Which redirects an http/https/http_proxy check follows (`httpredirect`, an ldir extension); default `samehost`. */
  readonly httpRedirect: HttpRedirectPolicy;
  /** TLS of the checks that speak it: https (and its redirects), ldaps, imaps, pops (ldir extensions). */
  readonly tls: TlsCheckSettings;
}

/**
 * Which redirects an http check follows (`httpredirect`): `no` (a redirect is the answer, judged by `httpstatus`),
 * `samehost` (only those to the real server itself: a relative `Location`, the real's address or the `virtualhost`
 * name, always connecting to the real's address) or `any` (every host, as ldirectord's LWP).
 */
export type HttpRedirectPolicy = 'no' | 'samehost' | 'any';

/** Every {@link HttpRedirectPolicy}, in the order diagnostics name them. */
export const HTTP_REDIRECT_POLICIES: readonly HttpRedirectPolicy[] = ['no', 'samehost', 'any'];

/** `httpredirect` when not given: only redirects to the real server itself are followed. */
export const DEFAULT_HTTP_REDIRECT: HttpRedirectPolicy = 'samehost';

/** An inclusive range of HTTP status codes (`httpstatus=200-299`; one code is a range of one). */
export type HttpStatusRange = readonly [from: number, to: number];

/** How a check's TLS is set up (`tlsverify`, `tlscafile`, `tlsservername`; ldir extensions). */
export interface TlsCheckSettings {
  /**
   * `tlsverify` (default no, as ldirectord): the certificate chain must verify (against `ca`, else the system's
   * CAs) and, when `serverName` is set, name it.
   */
  readonly verify: boolean;
  /** `tlscafile`: the CA bundle to verify against; undefined = the system's CAs. */
  readonly caFile?: string;
  /** The PEM text of `caFile`, read when the configuration was loaded (start, reload). */
  readonly ca?: string;
  /** Server name sent (SNI): `tlsservername`, else the `virtualhost` when it is a name; undefined = none. */
  readonly serverName?: string;
}

/** E-mail alert settings in force for one virtual service (global values with per-virtual overrides applied). */
export interface AlertSpec {
  /** Recipients; empty = no mail. */
  readonly emailAlert: readonly string[];
  readonly emailAlertFrom?: string;
  /** Seconds between reminders for a real server that stays down; 0 = none. */
  readonly emailAlertFreq: number;
  /** Daemon states in which mail is sent. */
  readonly emailAlertStatus: readonly DaemonState[];
  /** SMTP relay `host` or `host:port`; undefined = local sendmail. */
  readonly smtp?: string;
  /** TLS with the `smtp` server (`smtptls`); default `may`, or `encrypt` when `smtpAuth` is set. */
  readonly smtpTls: SmtpTls;
  /** SMTP AUTH credentials (`smtplogin`, `smtppasswd`); undefined = no authentication. */
  readonly smtpAuth?: SmtpAuth;
  /** Command run on every health change of a real server (`alertcommand`, an ldir extension); undefined = none. */
  readonly command?: string;
}

/** SMTP AUTH credentials for alert mail. */
export interface SmtpAuth {
  readonly login: string;
  /** Secret: never logged or shown. */
  readonly passwd: string;
}

/** How alert mails are throttled (global `emailalertwindow`, `emailalertinterval`, `emailalertflap`; ldir extensions). */
export interface AlertThrottle {
  /** Seconds from the first event of a burst until its digest mail leaves; 0 = at once, one mail per event. */
  readonly window: number;
  /** Least seconds between two mails to the same recipients (later events wait and are coalesced); 0 = no limit. */
  readonly interval: number;
  /** Health changes within `flapPeriod` that make a real server flapping (then summarised); 0 = no flap detection. */
  readonly flapChanges: number;
  /** Seconds over which changes are counted, and between two summaries of a flapping real server. */
  readonly flapPeriod: number;
}

/** A virtual service: one IPVS service plus its real servers, check and policies. */
export interface VirtualService {
  /** Identity as ldirectord builds it: `tcp:1.2.3.4:80`, `udp:[2001:db8::1]:53`, `fwm:100`, `fwm6:100`. */
  readonly id: string;
  readonly family: AddressFamily;
  readonly protocol: VirtualProtocol;
  /** Numeric address (IPv6 without brackets); undefined for fwmark services. */
  readonly address?: string;
  /** Port; 0 for fwmark services. */
  readonly port: number;
  /** Firewall mark; undefined for address services. */
  readonly fwmark?: number;
  readonly scheduler: string;
  /** Scheduler flags as for `ipvsadm -b` (comma separated). */
  readonly schedFlags?: string;
  /** Persistence timeout in seconds; undefined = not persistent. */
  readonly persistent?: number;
  /** Persistence netmask: dotted quad (IPv4) or prefix length (IPv6). */
  readonly netmask?: string;
  /**
   * Persistence engine (`persistenceengine=`, an ldir extension; `sip`, kernel module `ip_vs_pe_sip`): what the
   * persistence templates are keyed on instead of the client's address. Only with `persistent`.
   */
  readonly persistenceEngine?: string;
  /** One-packet scheduling. */
  readonly ops: boolean;
  readonly reals: readonly RealServer[];
  /** Per-virtual fallback, else the global one for this protocol and family. */
  readonly fallback?: FallbackServer;
  readonly fallbackCommand?: string;
  /** Quorum with hysteresis (`quorum=`, `hysteresis=`, `quorum*command=`; an ldir extension); undefined = 1 real, no hysteresis. */
  readonly quorum?: QuorumSettings;
  /**
   * `slowstart=SECONDS` (an ldir extension): a real that comes up (new, recovered, undrained, weight raised) gets its
   * weight in steps over this many seconds; undefined or 0 = at once.
   */
  readonly slowStart?: number;
  /**
   * Route health injection (`announce=bird|frr`, an ldir extension): the virtual's address is announced to the routing
   * daemon (globals `announce`) while the virtual can serve; undefined when it is not announced.
   */
  readonly announce?: VirtualAnnounce;
  /**
   * Weights the checks report (an ldir extension): from the `weightheader` of an http/https answer, or a
   * `weight=N` line of an external check's output, kept within `min`..`max` (`max` undefined: each real's configured
   * weight). Absent when the virtual's check cannot report one.
   */
  readonly checkWeight?: CheckWeightSettings;
  readonly check: CheckSpec;
  readonly quiescent: boolean;
  readonly cleanstop: boolean;
  readonly alerts: AlertSpec;
  readonly monitorFile?: string;
  readonly serviceName?: string;
  readonly comment?: string;
  readonly source: SourcePos;
}

/**
 * How many serving reals a virtual service needs (an ldir extension, after keepalived's `quorum`/`hysteresis`, which
 * count weights: ldir counts real servers). Below its quorum a virtual runs `quorumdowncommand` and, when it has a
 * fallback server, sends new connections there (its serving reals at weight 0, so established ones go on).
 */
export interface QuorumSettings {
  /** `quorum=N` (reals) or `quorum=N%` (of the virtual's configured reals, rounded up, at least 1). */
  readonly needed: { readonly kind: 'count' | 'percent'; readonly value: number };
  /** `hysteresis=N` (default 0): gained at quorum + N serving reals, lost below quorum − N. */
  readonly hysteresis: number;
  /** `quorumupcommand`: run (no shell) with `VIP:PORT PROTOCOL` when the virtual gains its quorum. */
  readonly upCommand?: string;
  /** `quorumdowncommand`: run (no shell) with `VIP:PORT PROTOCOL` when the virtual loses its quorum. */
  readonly downCommand?: string;
  /** Where `quorum` was written (or the virtual, when only the commands or the hysteresis were). */
  readonly source: SourcePos;
}

/** Bounds (and the source, for http checks) of the weights a virtual's checks report. */
export interface CheckWeightSettings {
  /** `weightheader`: the response header an http/https check reads its weight from; undefined for external checks. */
  readonly header?: string;
  /** `minweight` (default 0). */
  readonly min: number;
  /** `maxweight`; undefined = each real's configured weight. */
  readonly max?: number;
}

/** How a virtual's address is announced (route health injection; `announcedelay=`, `withdrawdelay=`). */
export interface VirtualAnnounce {
  /** The routing daemon it is announced through (`announce=bird|frr`). */
  readonly driver: AnnounceDriver;
  /** Seconds the virtual must be able to serve before its address is announced (`announcedelay`, default 0). */
  readonly delay: number;
  /** Seconds the virtual must be unable to serve before its address is withdrawn (`withdrawdelay`, default 0). */
  readonly withdrawDelay: number;
  /** Where `announce` was written (globally or in the virtual). */
  readonly source: SourcePos;
}

/** Route health injection drivers ldir speaks (`announce=`): BIRD 2 and FRR. */
export const ANNOUNCE_DRIVERS = ['bird', 'frr'] as const;
/** A route health injection driver. */
export type AnnounceDriver = (typeof ANNOUNCE_DRIVERS)[number];

/** The routing daemon ldir announces virtual addresses through (present when at least one virtual is announced). */
export interface AnnounceSettings {
  readonly driver: AnnounceDriver;
  /**
   * `announcesocket=`: BIRD's control socket (default /run/bird/bird.ctl), or the directory of FRR's vty sockets
   * (`vtysh --vty_socket`, default /run/frr).
   */
  readonly socket: string;
  /** The include file ldir writes the announced prefix sets into (`announcefile=`); BIRD only. */
  readonly file?: string;
}

/** Global settings that are not per virtual service. */
export interface GlobalSettings {
  readonly autoreload: boolean;
  readonly callback?: string;
  /** Log destination: absolute file path or syslog facility. */
  readonly logfile: string;
  /** Further ldirectord configurations started/stopped with this one. */
  readonly execute: readonly string[];
  readonly fork: boolean;
  readonly supervised: boolean;
  readonly readdQuiescent: boolean;
  readonly maintenanceDir?: string;
  /** Kernel settings ldir ensures at start and reload (`sysctl`, `ipvssysctl`; an ldir extension). */
  readonly sysctl: SysctlSettings;
  /** Alert mail throttling (an ldir extension). */
  readonly alerting: AlertThrottle;
  /** Address of the Prometheus endpoint (`metrics=ADDR:PORT`, an ldir extension); null with `metrics=no`. */
  readonly metrics: MetricsEndpoint | null;
  /** What happens to reals and virtuals a reload removes (`drain=`, `draintimeout=`; an ldir extension). */
  readonly drain: DrainSettings;
  /** Connection synchronisation through the kernel's sync daemon (`sync*=`; an ldir extension); null = not configured. */
  readonly stateSync: StateSyncSettings | null;
  /** The kernel's IPVS connection timeouts (`ipvstimeouts=`; an ldir extension); absent = ldir never touches them. */
  readonly ipvsTimeouts?: IpvsTimeoutSettings;
  /** Route health injection (`announce=`, an ldir extension); undefined when no virtual is announced. */
  readonly announce?: AnnounceSettings;
}

/**
 * The kernel's IPVS connection timeouts as `ipvstimeouts="TCP TCPFIN UDP"` sets them (`ipvsadm --set`), in seconds;
 * 0 leaves that one as the kernel has it (ldir then neither writes nor restores it).
 */
export interface IpvsTimeoutSettings {
  /** Idle timeout of an established TCP connection (kernel default 900). */
  readonly tcp: number;
  /** Timeout of a TCP connection after the client's FIN (kernel default 120). */
  readonly tcpFin: number;
  /** Idle timeout of a UDP flow (kernel default 300). */
  readonly udp: number;
  /**
   * `ipvstimeoutsrestore=yes|no` (default no): when ldir stops setting a timeout (at stop, or a reload that no longer
   * sets it) it writes back the value it found before it first changed it, unless someone else changed it since.
   * No: the value ldir set stays.
   */
  readonly restore: boolean;
  /** Where `ipvstimeouts` was written. */
  readonly source: SourcePos;
}

/** Where the Prometheus scrape endpoint listens. Default 127.0.0.1:9547: off-host only when configured. */
export interface MetricsEndpoint {
  /** Numeric address in canonical form (IPv6 without brackets); `0.0.0.0` or `::` for every interface. */
  readonly host: string;
  readonly port: number;
}

/** One IPVS tunable under `net.ipv4.vs` set from the configuration (`ipvssysctl=NAME=VALUE`). */
export interface IpvsTunable {
  /** Tunable name as in the kernel's Documentation/networking/ipvs-sysctl.rst, e.g. `expire_nodest_conn`. */
  readonly name: string;
  /** Normalized value as the kernel prints it: an integer, or two integers separated by one space (`sync_threshold`). */
  readonly value: string;
  readonly source: SourcePos;
}

/** What ldir may change under /proc/sys (see src/system/sysctl*.ts). */
export interface SysctlSettings {
  /** `sysctl=yes|no` (default yes): no = ldir writes no sysctl at all, as ldirectord. */
  readonly enabled: boolean;
  /** IPVS tunables to set, sorted by name, one entry per name (the last one written wins). */
  readonly ipvs: readonly IpvsTunable[];
}

/** A whole configuration, normalized: every default applied, every name resolved. */
export interface Config {
  /** Absolute path of the file it was loaded from. */
  readonly file: string;
  /** Absolute paths of the files its `include` directives read, in reading order; absent when none. */
  readonly includedFiles?: readonly string[];
  readonly format: 'cf' | 'yaml';
  readonly globals: GlobalSettings;
  readonly virtualServices: readonly VirtualService[];
}

/** Draining of what a reload removes: weight 0 until no active connection is left, or the timeout, then deleted. */
export interface DrainSettings {
  /** `drain=yes|no` (default yes); no = deleted at once, as ldirectord. */
  readonly enabled: boolean;
  /** `draintimeout=SECONDS` (default 30): longest drain before the entry is deleted anyway. */
  readonly timeout: number;
}

/**
 * The kernel's IPVS connection sync daemon as the `sync*` directives configure it (an ldir extension). The master
 * daemon multicasts the connection table of the active director; backups add what they receive to their own table,
 * so established connections survive a move of the virtual IP. Fields left undefined take the kernel's defaults.
 */
export interface StateSyncSettings {
  /** `syncinterface`: network interface the sync messages go out and come in on. */
  readonly interface: string;
  /** `syncid` 0..255 (default 0): sync id sent by the master; a backup with a non-zero id takes only its own. */
  readonly syncId: number;
  /** `syncgroup`: multicast group (canonical form); kernel default 224.0.0.81. */
  readonly group?: string;
  /** `syncport`: UDP port of the group; kernel default 8848. */
  readonly port?: number;
  /** `syncmaxlen`: largest sync message payload in bytes; kernel default from the interface MTU. */
  readonly maxLength?: number;
  /** `syncttl`: multicast TTL of sync messages; kernel default 1. */
  readonly ttl?: number;
  /** `syncrole` (default backup): role at start, and when a reload changes this directive. */
  readonly role: SyncStartRole;
  /** The global `cleanstop`: yes = the sync daemons stop with ldir; no = they keep running for the next start. */
  readonly cleanstop: boolean;
  /** Where `syncinterface` was written. */
  readonly source: SourcePos;
}
