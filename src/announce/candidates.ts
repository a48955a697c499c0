// The announced virtuals of a configuration as decideAnnounce reads them.
import type { Config, VirtualService } from '../model';
import type { AnnounceCandidate, ServeState } from './decide-announce';
import { canonicalPrefix } from './frr-config';

/** A virtual's address as a host prefix (`/32`, `/128`); undefined for a virtual without one (fwmark). */
export function hostPrefix(v: Pick<VirtualService, 'address' | 'family'>): string | undefined {
  if (v.address === undefined) return undefined;
  return canonicalPrefix(`${v.address}/${v.family === 'inet6' ? 128 : 32}`);
}

/** Every virtual of `config` with `announce`, with its serve state (`serve`, by virtual id). */
export function announceCandidates(config: Config, serve: (virtualId: string) => ServeState): AnnounceCandidate[] {
  return config.virtualServices.flatMap((v) => {
    const prefix = hostPrefix(v);
    if (!v.announce || prefix === undefined) return [];
    return [{ virtualId: v.id, prefix, delayMs: v.announce.delay * 1000, withdrawDelayMs: v.announce.withdrawDelay * 1000, serve: serve(v.id) }];
  });
}
