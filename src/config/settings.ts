// Mutable settings collected while reading directives; normalize turns them into the immutable model.
import type {
  AddressFamily,
  CheckService,
  CheckType,
  DaemonState,
  HttpMethod,
  HttpRedirectPolicy,
  HttpStatusRange,
  MetricsEndpoint,
  SmtpTls,
  SourcePos,
  SyncStartRole,
  TunnelFlags,
  VirtualProtocol,
} from '../model';
import type { FallbackLine } from './fallback-line';
import type { RealLine } from './real-line';
import type { VirtualAddress } from './virtual-address';

/** A fallback line with where it was written. */
export interface FallbackEntry {
  readonly line: FallbackLine;
  readonly pos: SourcePos;
}

/** Settings that may be given globally and overridden per virtual service. */
export interface SharedSettings {
  checktimeout?: number;
  negotiatetimeout?: number;
  checkcount?: number;
  failurecount?: number;
  /** ldir extension: successes in a row before a down real is up again. */
  risecount?: number;
  fallbackcommand?: string;
  quiescent?: boolean;
  emailalert?: string[];
  emailalertfreq?: number;
  emailalertstatus?: DaemonState[];
  cleanstop?: boolean;
  smtp?: string;
  /** ldir extensions (directives-alerts.ts). */
  smtptls?: SmtpTls;
  smtplogin?: string;
  smtppasswd?: string;
  alertcommand?: string;
  /** Where smtplogin, smtppasswd and smtptls were written, for diagnostics about them. */
  alertpos?: { smtplogin?: SourcePos; smtppasswd?: SourcePos; smtptls?: SourcePos };
  /** Quorum directives (ldir extensions, directives-quorum.ts). */
  quorum?: Placed<{ readonly kind: 'count' | 'percent'; readonly value: number }>;
  hysteresis?: Placed<number>;
  quorumupcommand?: string;
  quorumdowncommand?: string;
  /** `slowstart=SECONDS` (ldir extension, directives-slowstart.ts). */
  slowstart?: number;
  /** Check-driven weights (ldir extensions, directives-weights.ts). */
  weightheader?: Placed<string>;
  minweight?: Placed<number>;
  maxweight?: Placed<number>;
  /** TLS of checks (ldir extensions, directives-http.ts); the CA file with the PEM text read from it. */
  tlsverify?: Placed<boolean>;
  tlscafile?: Placed<{ readonly path: string; readonly pem: string }>;
  /** Which redirects http checks follow (ldir extension, directives-http.ts). */
  httpredirect?: Placed<HttpRedirectPolicy>;
  /** Route health injection (ldir extensions, directives-announce.ts). */
  announce?: Placed<'bird' | 'frr' | 'none'>;
  announcedelay?: Placed<number>;
  withdrawdelay?: Placed<number>;
}

/** Global settings read from column-0 directives. */
export interface GlobalDraft extends SharedSettings {
  checkinterval?: number;
  fallback?: FallbackEntry;
  fallback6?: FallbackEntry;
  autoreload?: boolean;
  callback?: string;
  logfile?: string;
  /** `execute=` values in file order without repeats (ldirectord keeps a set): a Set, so 100k lines stay linear. */
  execute: Set<string>;
  fork?: boolean;
  supervised?: boolean;
  readdquiescent?: boolean;
  emailalertfrom?: string;
  maintenancedir?: string;
  /** `sysctl=yes|no` (ldir extension). */
  sysctl?: boolean;
  /** `ipvssysctl=NAME=VALUE` lines, checked, in file order (ldir extension). */
  ipvssysctl?: IpvsTunableEntry[];
  /** Alert mail throttling (ldir extensions, directives-alerts.ts); `emailalertflap=no` gives 0 changes. */
  emailalertwindow?: number;
  emailalertinterval?: number;
  emailalertflap?: { readonly changes: number; readonly period: number };
  /** `metrics=ADDR:PORT|no` (ldir extension); null = off. */
  metrics?: MetricsEndpoint | null;
  /** `drain=yes|no` (ldir extension). */
  drain?: boolean;
  /** `draintimeout=SECONDS` (ldir extension). */
  draintimeout?: number;
  /** The `sync*` directives (ldir extension, directives-sync.ts). */
  sync?: SyncDraft;
  /** `ipvstimeouts="TCP TCPFIN UDP"` (ldir extension, directives-ipvs-timeouts.ts); 0 = left as the kernel has it. */
  ipvstimeouts?: Placed<{ readonly tcp: number; readonly tcpFin: number; readonly udp: number }>;
  /** `ipvstimeoutsrestore=yes|no` (ldir extension, directives-ipvs-timeouts.ts). */
  ipvstimeoutsrestore?: Placed<boolean>;
  /** Route health injection, global only (directives-announce.ts). */
  announcesocket?: Placed<string>;
  announcefile?: Placed<string>;
}

/** A directive value with where it was written. */
export interface Placed<T> {
  readonly value: T;
  readonly pos: SourcePos;
}

/** The `sync*` directives as read, each with its position (cross-directive checks report at the right line). */
export interface SyncDraft {
  interface?: Placed<string>;
  id?: Placed<number>;
  group?: Placed<string>;
  port?: Placed<number>;
  maxlen?: Placed<number>;
  ttl?: Placed<number>;
  role?: Placed<SyncStartRole>;
}

/** A checked IPVS tunable with where it was written. */
export interface IpvsTunableEntry {
  readonly name: string;
  readonly value: string;
  readonly pos: SourcePos;
}

/** A real line with where it was written. */
export interface RealEntry {
  readonly line: RealLine;
  readonly pos: SourcePos;
  /**
   * Family its host is resolved in: `real` IPv4, `real6` IPv6. The section's own family, or the other one for a
   * tunnelled real (ipip, gue, gre), which may cross families.
   */
  readonly family: AddressFamily;
}

/** One virtual section's settings. */
export interface VirtualDraft extends SharedSettings {
  readonly family: 'inet' | 'inet6';
  /** Undefined when the `virtual=` value could not be read (its error is already recorded). */
  readonly address: VirtualAddress | undefined;
  readonly pos: SourcePos;
  readonly endLine: number;
  /**
   * Where each directive of the section was last written (by name; directives ldir knows only), so that rules
   * across directives (src/config/strict-*.ts) report at the line of the directive concerned.
   */
  readonly written: Map<string, SourcePos>;
  protocol: VirtualProtocol;
  checktype: CheckType;
  connects: number;
  service?: CheckService;
  checkcommand: string;
  checkinterval?: number;
  checkport?: number;
  request: string;
  receive: string;
  httpmethod: HttpMethod;
  virtualhost?: string;
  /** HTTP answer rules and SNI (ldir extensions, directives-http.ts). */
  httpstatus?: HttpStatusRange[];
  receivenot?: string;
  tlsservername?: string;
  login?: string;
  passwd?: string;
  database?: string;
  secret?: string;
  load?: string;
  scheduler: string;
  schedflags?: string;
  persistent?: number;
  netmask?: string;
  /** `persistenceengine=NAME` (ldir extension, directives-persistence.ts). */
  persistenceengine?: string;
  ops: boolean;
  fallback?: FallbackEntry;
  /** `tunnelport=` and `tunnelflags=` (ldir extensions, directives-tunnel.ts): the section's GUE/GRE reals' defaults. */
  tunnelport?: Placed<number>;
  tunnelflags?: Placed<TunnelFlags>;
  monitorfile?: string;
  servicename?: string;
  comment?: string;
  reals: RealEntry[];
}
