// LDAP/LDAPS negotiate check (ldirectord check_ldap): bind, base-scope search of the request DN, one entry whose DN matches.
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
// ldapts loads on the first ldap/ldaps check (start-up time of directors that have none).
import { fail, guardCheck, pass, reasonOf, receivePattern, type CheckVerdict } from './guard';
import { tlsClientOptions } from './tls-options';
import type { CheckJob, Checker } from './types';

/** The search base: the request without the leading `/` that the model adds (`/` alone = the root DSE). */
export function ldapBase(request: string): string {
  return request.startsWith('/') ? request.slice(1) : request;
}

function ldapUrl(job: CheckJob): string {
  const scheme = job.service === 'ldaps' ? 'ldaps' : 'ldap';
  const host = job.family === 'inet6' || job.address.includes(':') ? `[${job.address}]` : job.address;
  return `${scheme}://${host}:${job.port}`;
}

async function ldapBody(job: CheckJob, signal: AbortSignal): Promise<CheckVerdict> {
  const { Client } = await import('ldapts');
  if (signal.aborted) return fail('timeout');
  const secure = job.service === 'ldaps';
  const sockets: Socket[] = [];
  const destroyAll = (): void => {
    for (const s of sockets) s.destroy();
  };
  signal.addEventListener('abort', destroyAll, { once: true });
  const client = new Client({
    url: ldapUrl(job),
    timeout: job.checkTimeoutMs,
    connectTimeout: job.checkTimeoutMs,
    strictDN: false,
    // Own the sockets so that an abort can destroy them (ldapts has no AbortSignal).
    createConnection: ((port: number, host: string): Socket => {
      const s = netConnect(port, host);
      sockets.push(s);
      return s;
    }) as typeof netConnect,
    ...(secure
      ? {
          tlsOptions: tlsClientOptions(job), // verified only with tlsverify (ldirectord's Net::LDAP does not verify)
          createSecureConnection: ((port: number, host: string, options: ConnectionOptions): TLSSocket => {
            const s = tlsConnect(port, host, options);
            sockets.push(s);
            return s;
          }) as typeof tlsConnect,
        }
      : {}),
  });
  try {
    try {
      if (job.login !== '' && job.passwd !== '') await client.bind(job.login, job.passwd);
      else await client.bind('', '');
    } catch (err) {
      return fail(ldapReason('bind', err, signal));
    }
    const base = ldapBase(job.request);
    let entries: readonly { dn: string }[];
    try {
      ({ searchEntries: entries } = await client.search(base, {
        scope: 'base',
        filter: '(objectClass=*)',
        attributes: ['1.1'],
      }));
    } catch (err) {
      return fail(ldapReason('search', err, signal));
    }
    if (entries.length !== 1) return fail(`${entries.length} entries for base "${base}"`);
    const dn = entries[0]?.dn ?? '';
    const pattern = receivePattern(job.receive);
    if (pattern && !pattern.test(dn)) return fail(`DN "${dn}" did not match /${job.receive}/`);
    return pass(`found "${dn}"`);
  } finally {
    signal.removeEventListener('abort', destroyAll);
    await client.unbind().catch(() => undefined);
    destroyAll();
  }
}

/**
 * An LDAP result error (ldapts: a numeric `code` and a class name such as `InvalidCredentialsError`) reads
 * `<step> failed: invalid credentials (49)` plus the server's diagnostic message when it sent one; any other error
 * (socket, TLS) keeps its short reason.
 */
export function ldapReason(step: string, err: unknown, signal: AbortSignal): string {
  if (signal.aborted) return 'timeout';
  const { code, name, message } = (err ?? {}) as { code?: unknown; name?: unknown; message?: unknown };
  if (typeof code !== 'number') return reasonOf(err);
  const words =
    typeof name === 'string' && name.endsWith('Error') && name !== 'Error'
      ? name
          .slice(0, -5)
          .replace(/([a-z])([A-Z])/g, '$1 $2')
          .toLowerCase()
      : 'LDAP error';
  const diagnostic = typeof message === 'string' ? message.replace(/\s*Code: 0x[0-9a-f]+$/i, '').trim() : '';
  return `${step} failed: ${words} (${code})${diagnostic ? `: ${diagnostic.slice(0, 160)}` : ''}`;
}

/**
 * LDAP check (`service=ldap|ldaps`, ldaps over TLS): simple bind with login/passwd when both are set, else an
 * anonymous bind; then a base-scope search of `request` (leading `/` removed) with filter `(objectClass=*)`. Up when
 * exactly one entry comes back and `receive` is empty or matches its DN. Bounded by `checktimeout`, as ldirectord.
 */
export const ldapCheck: Checker = (job, signal) => guardCheck(signal, job.checkTimeoutMs, (s) => ldapBody(job, s));
