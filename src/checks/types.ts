// Health-check contracts: what one check of one real server needs, and what it returns.
import type {
  CheckService,
  CheckType,
  HttpMethod,
  HttpRedirectPolicy,
  HttpStatusRange,
  VirtualProtocol,
} from '../model';

/** Everything one check of one real server needs, resolved from the configuration. */
export interface CheckJob {
  readonly type: CheckType;
  /** Negotiate protocol (`service=`). */
  readonly service: CheckService;
  /** Real server address (numeric; IPv6 without brackets). */
  readonly address: string;
  readonly family: 'inet' | 'inet6';
  /** Port probed: `checkport`, else the real port, else the service's well-known port. */
  readonly port: number;
  /** Virtual service protocol: `udp` turns `connect` into `ping` and selects UDP for dns/sip/simpletcp. */
  readonly protocol: VirtualProtocol;
  /** For external checks: the virtual address (or fwmark) and port, and the real's configured port. */
  readonly virtualHost: string;
  readonly virtualPort: number;
  readonly realPort: number;
  /** Request path / URL / query / payload (per-real value when the real line has one). */
  readonly request: string;
  /** Expected answer (a regular expression in ldirectord's Perl syntax, mostly compatible with JS). */
  readonly receive: string;
  readonly httpMethod: HttpMethod;
  /** HTTP Host header; undefined = the real's address. */
  readonly httpHost?: string;
  readonly login: string;
  readonly passwd: string;
  readonly database: string;
  readonly secret: string;
  /** External check command. */
  readonly command: string;
  /** ICMP attempts (`checkcount`). */
  readonly pingCount: number;
  /** Milliseconds for connect/ping/external (and ldap/radius, as ldirectord). */
  readonly checkTimeoutMs: number;
  /** Milliseconds for negotiate checks. */
  readonly negotiateTimeoutMs: number;
  /**
   * Final statuses that pass an http/https/http_proxy check (`httpstatus`); undefined = 200–299. A redirect whose
   * status is listed is judged, not followed.
   */
  readonly httpStatus?: readonly HttpStatusRange[];
  /** Which redirects an http check follows (`httpredirect`); undefined = `samehost`. */
  readonly httpRedirect?: HttpRedirectPolicy;
  /** What the body of an http answer must not match (`receivenot`, a regular expression); undefined or '' = nothing. */
  readonly receiveNot?: string;
  /**
   * Verify the server's certificate (`tlsverify`): its chain against {@link tlsCa} (else the system's CAs) and, when
   * {@link tlsServerName} is set, its name. Undefined or false: nothing is verified, as ldirectord.
   */
  readonly tlsVerify?: boolean;
  /** CA bundle (PEM) certificates are verified against with {@link tlsVerify}; undefined = the system's CAs. */
  readonly tlsCa?: string;
  /** Server name sent in the TLS handshake (SNI); undefined = none. */
  readonly tlsServerName?: string;
  /** `weightheader` in lower case: an http/https check reads the real's weight from this response header. */
  readonly weightHeader?: string;
}

/** Outcome of one check: up or down, with a short reason for people (`refused`, `timeout`, `status 503`, ...). */
export interface CheckResult {
  readonly up: boolean;
  readonly reason: string;
  /** Milliseconds the check took. */
  readonly durationMs: number;
  /** The weight the real server reported (weight header, `weight=N` output), when it did and the check passed. */
  readonly weight?: number;
}

/**
 * Runs one check. Must never throw or reject: every failure is a `CheckResult` with `up: false`. Must stop work and
 * resolve promptly when `signal` aborts (the scheduler aborts at the check's timeout).
 */
export type Checker = (job: CheckJob, signal: AbortSignal) => Promise<CheckResult>;

/** Checkers by negotiate service or check type. */
export type CheckerTable = Readonly<Partial<Record<CheckService | 'connect' | 'ping' | 'external', Checker>>>;
