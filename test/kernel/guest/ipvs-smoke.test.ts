// Guest-side smoke test of the kernel tier: IPVS and network namespaces work inside the VM.
// Runs only inside the VM (LDIR_IN_VM=1, set by test/kernel/vm/run-in-vm.ts); elsewhere it skips.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, test } from 'node:test';

const skip =
  process.env.LDIR_IN_VM === '1' ? false : 'runs inside the kernel-tier VM only (test/kernel/host-runs-guest-tests)';

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
}

describe('kernel tier smoke', { skip }, () => {
  test('the kernel has IPVS (/proc/net/ip_vs)', () => {
    assert.ok(existsSync('/proc/net/ip_vs'), '/proc/net/ip_vs is missing: ip_vs not loaded');
  });

  test('ipvsadm adds a wrr service with a masq destination and lists it', () => {
    try {
      run('ipvsadm', ['-A', '-t', '10.0.0.1:80', '-s', 'wrr']);
      run('ipvsadm', ['-a', '-t', '10.0.0.1:80', '-r', '127.0.0.1:80', '-m']);
      const listing = run('ipvsadm', ['-Ln']);
      assert.match(listing, /^TCP\s+10\.0\.0\.1:80\s+wrr\s*$/m, listing);
      assert.match(listing, /^\s+->\s+127\.0\.0\.1:80\s+Masq\s+1\s+0\s+0\s*$/m, listing);
    } finally {
      run('ipvsadm', ['-C']);
    }
    assert.doesNotMatch(run('ipvsadm', ['-Ln']), /10\.0\.0\.1:80/);
  });

  test('a fresh network namespace can bring its loopback up', () => {
    try {
      run('ip', ['netns', 'add', 't1']);
      run('ip', ['-n', 't1', 'link', 'set', 'lo', 'up']);
      const link = run('ip', ['-n', 't1', 'link', 'show', 'lo']);
      assert.match(link, /<[^>]*\bUP\b[^>]*>/, link);
    } finally {
      try {
        run('ip', ['netns', 'del', 't1']);
      } catch {
        // nothing to clean up when the add failed
      }
    }
  });
});
