// A resolver that never waits for the network, for reading a configuration only to say whether it is broken.
import { isIP } from 'node:net';
import type { AddressFamily } from '../model';
import { canonicalAddress, systemResolver, type Resolver } from './resolver';

/**
 * Resolves without asking anyone: numeric addresses as the system resolver does, every host name to an address of
 * its own in the requested family (198.18.0.0/15, the benchmarking range, and 2001:db8::/32, the documentation
 * prefix; the same name always gets the same address), ports as `ports` does (default: the services file, a local
 * read). A file read with it is checked for everything but its names, and the read can never block on DNS: `stop`,
 * `status` and `ping` use it to warn about a broken file without depending on it.
 */
export function offlineResolver(ports: Pick<Resolver, 'resolvePort'> = systemResolver()): Resolver {
  const names = new Map<string, number>();
  const numberOf = (name: string): number => {
    let n = names.get(name);
    if (n === undefined) names.set(name, (n = names.size + 1));
    return n;
  };
  return {
    resolveHost(host: string, family: AddressFamily): Promise<string | undefined> {
      const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
      if (bare === '') return Promise.resolve(undefined);
      const numeric = isIP(bare);
      if (numeric !== 0)
        return Promise.resolve(numeric === (family === 'inet' ? 4 : 6) ? canonicalAddress(bare) : undefined);
      const n = numberOf(bare) % 131_072;
      return Promise.resolve(
        family === 'inet'
          ? `198.${18 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`
          : canonicalAddress(`2001:db8::${n.toString(16)}`),
      );
    },
    resolvePort: (nameOrNumber, protocol) => ports.resolvePort(nameOrNumber, protocol),
  };
}
