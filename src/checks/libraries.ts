// The protocol libraries each check needs, loaded when a configuration that uses them comes into force: module loading
// is then never part of a check's time (seconds on a slow CPU, enough to time a first check out), and a library no
// check of the configuration uses is never loaded (start-up time).
import type { CheckJob } from './types';

/** Modules each negotiate service (and check type) needs beyond Node's own, by `service` or `type`. */
const LIBRARIES: Readonly<Record<string, readonly string[]>> = {
  https: ['undici'],
  http_proxy: ['undici'],
  dns: ['dns-packet'],
  mysql: ['mysql2'],
  pgsql: ['pg'],
  ldap: ['ldapts'],
  ldaps: ['ldapts'],
  ftp: ['basic-ftp'],
  smtp: ['nodemailer/lib/smtp-connection'],
  submission: ['nodemailer/lib/smtp-connection'],
  oracle: ['oracledb'],
};

/**
 * The modules the checks of `jobs` need. Plain `service=http` needs undici only without the native prober (with it,
 * only for a redirect, which loads it then).
 */
export function checkLibraries(jobs: readonly CheckJob[], options: { readonly nativeHttp: boolean }): string[] {
  const wanted = new Set<string>();
  for (const job of jobs) {
    const negotiates = job.type === 'negotiate' || job.type === 'combined';
    if (!negotiates) continue;
    if (job.service === 'http' && !options.nativeHttp) wanted.add('undici');
    for (const name of LIBRARIES[job.service] ?? []) wanted.add(name);
  }
  return [...wanted].sort();
}

/**
 * Loads `modules` now (require caches them for the checks). One that cannot be loaded (oracledb is optional) is
 * reported back, not thrown: its check says why when it runs.
 */
export function loadLibraries(
  modules: readonly string[],
  load: (name: string) => unknown = require,
): { loaded: string[]; failed: string[] } {
  const loaded: string[] = [];
  const failed: string[] = [];
  for (const name of modules) {
    try {
      load(name);
      loaded.push(name);
    } catch {
      failed.push(name);
    }
  }
  return { loaded, failed };
}
