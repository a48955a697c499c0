// Where an http check's redirect leads under `httpredirect` (no | samehost | any): followed, and then whether the
// next hop still connects to the real server, or refused with the reason the check reports.
import { DEFAULT_HTTP_REDIRECT } from '../model';
import { hostText } from './sockets';
import type { CheckJob } from './types';

/** The next hop of a redirect: followed to `url` (through the real server when `toReal`), or not followed. */
export type RedirectStep =
  | { readonly follow: true; readonly url: URL; readonly toReal: boolean }
  | { readonly follow: false; readonly reason: string };

/** A URL's host name as the URL parser writes it (lower case, IPv6 compressed and bracketed); undefined if none. */
function hostnameOf(hostAndPort: string): string | undefined {
  try {
    return new URL(`http://${hostAndPort}/`).hostname;
  } catch {
    return undefined;
  }
}

/** The real server's address as a URL host name, so `[::1]` and `[0:0::1]` compare equal. */
export function realHostname(job: Pick<CheckJob, 'address'>): string | undefined {
  return hostnameOf(hostText(job.address));
}

/**
 * True when `url` names the real server itself: its address, or the `virtualhost` name the check sends (the site's
 * public name, which a real server commonly redirects to, e.g. http to https).
 */
export function namesTheReal(job: Pick<CheckJob, 'address' | 'httpHost'>, url: URL): boolean {
  if (url.hostname === realHostname(job)) return true;
  return job.httpHost !== undefined && url.hostname === hostnameOf(job.httpHost);
}

/** A URL as a reason may quote it: without query or fragment, which can carry tokens. */
export function redirectTargetText(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/**
 * The step after a redirect from `current` to `location` (the Location header) under the job's `httpredirect`.
 * `no` never reaches here (the redirect is judged as the answer, see `isRedirect`). With `samehost` a redirect that
 * names the real (relative, its address, the `virtualhost` name) is followed and still connects to the real's
 * address; one to any other host is not followed. With `any` every http(s) target is followed where its URL says.
 */
export function redirectStep(
  job: Pick<CheckJob, 'address' | 'httpHost' | 'httpRedirect' | 'service'>,
  current: URL,
  location: string,
  status: number,
): RedirectStep {
  let next: URL;
  try {
    next = new URL(location, current);
  } catch {
    return { follow: false, reason: `status ${status}: redirect to an invalid URL` };
  }
  if (next.protocol !== 'http:' && next.protocol !== 'https:')
    return { follow: false, reason: `redirect to unsupported URL ${redirectTargetText(next)}` };
  const policy = job.httpRedirect ?? DEFAULT_HTTP_REDIRECT;
  if (policy === 'any') return { follow: true, url: next, toReal: false };
  // Through an http proxy every plain http hop is a request to the real server itself.
  const viaProxy = job.service === 'http_proxy' && next.protocol === 'http:';
  if (viaProxy || namesTheReal(job, next)) return { follow: true, url: next, toReal: !viaProxy };
  return {
    follow: false,
    reason: `status ${status}: redirect to another host not followed (${redirectTargetText(next)}; httpredirect=samehost)`,
  };
}
