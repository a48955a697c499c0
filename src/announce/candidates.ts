// The announced virtuals of a configuration as decideAnnounce reads them.
import type { Config, VirtualService } from '../model';
import type { AnnounceCandidate, ServeState } from './decide-announce';
import { canonicalAddress } from '../ipvs/normalize';

/** A host prefix in one spelling (IPv6 compressed and lower case, as FRR prints it): `2001:DB8:0::A/128` → `2001:db8::a/128`. */
export function canonicalPrefix(prefix: string): string {
  const slash = prefix.indexOf('/');
  const address = slash < 0 ? prefix : prefix.slice(0, slash);
  return `${canonicalAddress(address, address.includes(':') ? 'inet6' : 'inet')}${slash < 0 ? '' : prefix.slice(slash)}`;
}

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
    return [
      {
        virtualId: v.id,
        prefix,
        delayMs: v.announce.delay * 1000,
        withdrawDelayMs: v.announce.withdrawDelay * 1000,
        serve: serve(v.id),
      },
    ];
  });
}
