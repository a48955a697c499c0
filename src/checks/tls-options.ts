// TLS of the checks that speak it (https, ldaps, imaps, pops): what is verified and which server name is sent.
import { checkServerIdentity, type ConnectionOptions } from 'node:tls';
import type { CheckJob } from './types';

/** The TLS settings of a job. */
export type TlsJob = Pick<CheckJob, 'tlsVerify' | 'tlsCa' | 'tlsServerName'>;

/**
 * TLS options of a connection to the real server. Without `tlsVerify` nothing is verified (as ldirectord); with it
 * the chain must verify against `tlsCa` (else the system's CAs) and, when a server name is set, the certificate
 * must name it. Without a server name (real servers are addressed by IP) only the chain is verified, as ldirectord's
 * `verify_hostname => 0` and haproxy's `verify required` without SNI. The server name goes out as SNI.
 */
export function tlsClientOptions(job: TlsJob): ConnectionOptions {
  const name = job.tlsServerName;
  const sni = name !== undefined ? { servername: name } : {};
  if (job.tlsVerify !== true) return { rejectUnauthorized: false, ...sni };
  return {
    rejectUnauthorized: true,
    ...(job.tlsCa !== undefined ? { ca: job.tlsCa } : {}),
    ...sni,
    checkServerIdentity: (_host, cert) => (name === undefined ? undefined : checkServerIdentity(name, cert)),
  };
}

/**
 * TLS options of a connection to another host a check was redirected to: verified only with `tlsVerify`, then
 * against `tlsCa` (else the system's CAs) and that host's own name, which the client sends as SNI.
 */
export function tlsRedirectOptions(job: TlsJob): ConnectionOptions {
  if (job.tlsVerify !== true) return { rejectUnauthorized: false };
  return { rejectUnauthorized: true, ...(job.tlsCa !== undefined ? { ca: job.tlsCa } : {}) };
}
