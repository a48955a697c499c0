// A network namespace behind a veth pair where 10.203.0.2 has nothing behind it: packets to it vanish silently
// (a permanent neighbour entry with an unused MAC, so not even ARP answers). For timeout tests of checkers.
import { execFileSync } from 'node:child_process';

/** The silent address and the teardown of the namespace and veth pair. */
export interface Blackhole {
  readonly address: string;
  teardown(): void;
}

function ip(args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
}

/** Builds the blackhole, or returns the reason it cannot be built (no root, `ip netns` not permitted). */
export function makeBlackhole(): Blackhole | string {
  if (process.getuid?.() !== 0) return 'needs root for ip netns';
  const tag = String(process.pid % 100000);
  const ns = `ldbh${tag}`;
  const host = `ldbh${tag}h`;
  const teardown = (): void => {
    try {
      ip(['link', 'del', host]);
    } catch {
      /* gone with the namespace or never made */
    }
    try {
      ip(['netns', 'del', ns]);
    } catch {
      /* never made */
    }
  };
  try {
    ip(['netns', 'add', ns]);
    ip(['link', 'add', host, 'type', 'veth', 'peer', 'name', `ldbh${tag}n`, 'netns', ns]);
    ip(['addr', 'add', '10.203.0.1/24', 'dev', host]);
    ip(['link', 'set', host, 'up']);
    ip(['-n', ns, 'link', 'set', `ldbh${tag}n`, 'up']);
    ip(['neigh', 'replace', '10.203.0.2', 'lladdr', '02:00:00:cb:00:02', 'dev', host, 'nud', 'permanent']);
  } catch (err) {
    teardown();
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    return `ip netns not permitted here: ${stderr || (err as Error).message}`;
  }
  return { address: '10.203.0.2', teardown };
}
