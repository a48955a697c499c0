// Turns a Config into check targets: one per distinct check, each fanned out to the (virtual, real) pairs it serves.
import { createHmac, randomBytes } from 'node:crypto';
import { portForService } from '../config/defaults';
import { DEFAULT_HTTP_REDIRECT, type Config, type RealServer, type VirtualService } from '../model';
import { flatString } from '../model/flat-string';
import { realKey } from '../model/health';
import type { CheckJob } from './types';

/** One (virtual service, real server) pair a check result applies to. */
export interface CheckMember {
  /** {@link VirtualService.id}. */
  readonly virtualId: string;
  /** {@link realKey} of the real server inside that virtual service. */
  readonly realKey: string;
}

/** One distinct check to schedule: the job, how its results are counted, and every pair that shares it. */
export interface CheckTarget {
  /** Equal for checks whose result cannot differ; never contains a secret in clear. */
  readonly identity: string;
  readonly job: CheckJob;
  /** For `combined` (`checktype=N`): connect checks between two negotiate checks. */
  readonly connectsBetweenNegotiates: number;
  /** Consecutive failures before the real server is declared down. */
  readonly failureCount: number;
  /** Consecutive successes before a real server that is down is up again (one from unknown, whatever this says). */
  readonly riseCount: number;
  /** Milliseconds between two check starts. */
  readonly intervalMs: number;
  /** Pairs served, in configuration order. */
  readonly members: readonly CheckMember[];
}

/** Options of {@link jobsFromConfig}. */
export interface JobsOptions {
  /**
   * Key of the keyed hash that folds the check parameters (secrets included) into the identity. Default: a random
   * key made once per process, so identities compare within one daemon but reveal nothing outside it.
   */
  readonly identityKey?: Uint8Array;
}

const PROCESS_IDENTITY_KEY = randomBytes(32);

/** The port a check probes: `checkport`, else the real's port, else the service's well-known port (0 if none). */
export function checkPort(v: VirtualService, r: RealServer): number {
  if (v.check.port !== undefined && v.check.port > 0) return v.check.port;
  if (r.port > 0) return r.port;
  return portForService(v.check.service) ?? 0;
}

/** The CheckJob of one real server of one virtual service. */
export function jobFor(v: VirtualService, r: RealServer): CheckJob {
  const c = v.check;
  return {
    type: c.type,
    service: c.service,
    address: r.address,
    family: r.address.includes(':') ? 'inet6' : 'inet',
    port: checkPort(v, r),
    protocol: v.protocol,
    virtualHost: v.address ?? String(v.fwmark ?? ''),
    virtualPort: v.port,
    realPort: r.port,
    request: r.request ?? c.request,
    receive: r.receive ?? c.receive,
    httpMethod: c.httpMethod,
    ...(c.virtualHost !== undefined ? { httpHost: c.virtualHost } : {}),
    login: c.login,
    passwd: c.passwd,
    database: c.database,
    secret: c.secret,
    command: c.command,
    pingCount: c.checkCount,
    checkTimeoutMs: Math.round(c.checkTimeout * 1000),
    negotiateTimeoutMs: Math.round(c.negotiateTimeout * 1000),
    ...(v.checkWeight?.header !== undefined ? { weightHeader: v.checkWeight.header } : {}),
    httpStatus: c.httpStatus,
    httpRedirect: c.httpRedirect,
    ...(c.receiveNot !== '' ? { receiveNot: c.receiveNot } : {}),
    ...(c.tls.verify ? { tlsVerify: true } : {}),
    ...(c.tls.ca !== undefined ? { tlsCa: c.tls.ca } : {}),
    ...(c.tls.serverName !== undefined ? { tlsServerName: c.tls.serverName } : {}),
  };
}

/**
 * The identity of a check: a readable prefix (`type:service:protocol:address:port`) and a keyed hash of every
 * parameter that can change the result or its counting. External checks also depend on the virtual service
 * (command arguments); the other types do not, so one real shared by several virtual services is checked once.
 */
export function checkIdentity(
  job: CheckJob,
  counting: { connectsBetweenNegotiates: number; failureCount: number; riseCount: number; intervalMs: number },
  key: Uint8Array = PROCESS_IDENTITY_KEY,
): string {
  const external = job.type === 'external' || job.type === 'external-perl';
  const parameters = [
    job.type,
    job.service,
    job.protocol,
    job.address,
    job.port,
    job.realPort,
    external ? job.virtualHost : '',
    external ? job.virtualPort : 0,
    job.request,
    job.receive,
    job.httpMethod,
    job.httpHost ?? null,
    job.login,
    job.passwd,
    job.database,
    job.secret,
    job.command,
    job.pingCount,
    job.checkTimeoutMs,
    job.negotiateTimeoutMs,
    job.tlsCa ?? null,
    job.weightHeader ?? null,
    job.httpStatus ?? null,
    job.httpRedirect ?? DEFAULT_HTTP_REDIRECT,
    job.receiveNot ?? '',
    job.tlsVerify === true,
    job.tlsServerName ?? null,
    counting.connectsBetweenNegotiates,
    counting.failureCount,
    counting.intervalMs,
    counting.riseCount,
  ];
  const digest = createHmac('sha256', key).update(JSON.stringify(parameters)).digest('hex').slice(0, 16);
  return flatString(`${job.type}:${job.service}:${job.protocol}:${realKey(job.address, job.port)}#${digest}`);
}

/**
 * Every check target of a configuration, deduplicated by identity, in configuration order. Targets of `on` and
 * `off` checks are included (the scheduler runs nothing for them but reports their state).
 */
export function jobsFromConfig(config: Config, options: JobsOptions = {}): CheckTarget[] {
  const byIdentity = new Map<string, { target: CheckTarget; members: CheckMember[] }>();
  for (const v of config.virtualServices) {
    const counting = {
      connectsBetweenNegotiates: v.check.type === 'combined' ? v.check.connectsBetweenNegotiates : 0,
      failureCount: Math.max(1, v.check.failureCount),
      riseCount: Math.max(1, v.check.riseCount),
      intervalMs: Math.max(1, Math.round(v.check.interval * 1000)),
    };
    for (const r of v.reals) {
      const job = jobFor(v, r);
      const identity = checkIdentity(job, counting, options.identityKey);
      const member = { virtualId: v.id, realKey: flatString(realKey(r.address, r.port)) };
      const found = byIdentity.get(identity);
      if (found) {
        if (!found.members.some((m) => m.virtualId === member.virtualId && m.realKey === member.realKey))
          found.members.push(member);
        continue;
      }
      const members = [member];
      byIdentity.set(identity, { target: { identity, job, ...counting, members }, members });
    }
  }
  return [...byIdentity.values()].map((e) => e.target);
}

/**
 * Milliseconds after which the scheduler aborts one check: negotiate checks get `negotiatetimeout` (ldap and radius
 * `checktimeout`, as ldirectord); the others `checktimeout`, times `checkcount` for ICMP (one timeout per attempt).
 */
export function checkDeadlineMs(job: CheckJob, kind: 'negotiate' | 'connect'): number {
  if (kind === 'negotiate') {
    const ldapLike = job.service === 'ldap' || job.service === 'ldaps' || job.service === 'radius';
    return ldapLike ? job.checkTimeoutMs : job.negotiateTimeoutMs;
  }
  const ping = job.type === 'ping' || ((job.type === 'connect' || job.type === 'combined') && job.protocol === 'udp');
  return ping ? job.checkTimeoutMs * Math.max(1, job.pingCount) : job.checkTimeoutMs;
}

/**
 * The longest one round of `job` may take before the scheduler aborts it: the deadline of the kind it runs (both
 * kinds for `combined` checks, which alternate connect and negotiate rounds: the longer one).
 */
export function roundDeadlineMs(job: CheckJob): number {
  if (job.type === 'negotiate') return checkDeadlineMs(job, 'negotiate');
  if (job.type === 'combined') return Math.max(checkDeadlineMs(job, 'negotiate'), checkDeadlineMs(job, 'connect'));
  return checkDeadlineMs(job, 'connect');
}
