// Test helpers for loopback integration tests: Debian packages installed on demand, free ports, waiting for servers.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { isCi } from './ci-skips';

/** True in CI, where a missing prerequisite must fail the test rather than skip it. */
export const IN_CI = isCi();

let aptUpdated = false;

/**
 * Makes sure Debian packages are installed (apt-get as root; services are not started by the install). Returns
 * undefined when they are there, else the reason they cannot be (the caller skips, or fails in CI).
 */
export function ensurePackages(
  packages: readonly string[],
  probe: (pkg: string) => boolean = isInstalled,
): string | undefined {
  const missing = packages.filter((p) => !probe(p));
  if (missing.length === 0) return undefined;
  if (process.getuid?.() !== 0) return `needs Debian packages ${missing.join(' ')} (run as root to install them)`;
  if (!existsSync('/usr/bin/apt-get')) return `needs Debian packages ${missing.join(' ')} (no apt-get here)`;
  // One installer at a time across test processes (flock), dpkg's own lock waited for, and policy-rc.d (exit 101)
  // keeping apt from starting the daemons it installs: tests start their own, on loopback only.
  const script = `
    printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    ${aptUpdated ? '' : 'apt-get update -qq >/dev/null 2>&1'}
    apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends "$@"; rc=$?
    rm -f /usr/sbin/policy-rc.d; exit $rc`;
  const r = spawnSync('flock', ['/var/lock/ldir-test-apt.lock', 'sh', '-c', script, 'sh', ...missing], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    encoding: 'utf8',
    timeout: 900_000,
  });
  aptUpdated = true;
  if (r.status !== 0)
    return `apt-get install ${missing.join(' ')} failed: ${(r.stderr || r.stdout || '').trim().split('\n').slice(-3).join(' ')}`;
  const still = missing.filter((p) => !probe(p));
  return still.length ? `packages still missing after apt-get: ${still.join(' ')}` : undefined;
}

/** True when a Debian package is installed. */
export function isInstalled(pkg: string): boolean {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format field, not a template.
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('install ok installed');
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const addr = s.address();
      s.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** Waits until a TCP port accepts connections, polling every 100 ms up to `timeoutMs`. */
export async function waitForPort(port: number, host = '127.0.0.1', timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = new Socket();
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => {
        s.destroy();
        resolve(false);
      });
      s.connect(port, host);
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
