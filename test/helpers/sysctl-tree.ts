// Test helper: a temporary directory shaped like /proc/sys, filled with given sysctl values.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { sysctlPath } from '../../src/system/sysctl-store';

/** A typical NAT director: forwarding off, redirects on, interfaces lo, eth0, eth1 and the VLAN eth0.100, ip_vs loaded. */
export const DIRECTOR_SYSCTLS: Readonly<Record<string, string>> = {
  'net.ipv4.ip_forward': '0',
  'net.ipv4.conf.all.send_redirects': '1',
  'net.ipv4.conf.default.send_redirects': '1',
  'net.ipv4.conf.lo.send_redirects': '1',
  'net.ipv4.conf.eth0.send_redirects': '1',
  'net.ipv4.conf.eth1.send_redirects': '0',
  'net.ipv4.conf.eth0/100.send_redirects': '1',
  'net.ipv6.conf.all.forwarding': '0',
  'net.ipv4.vs.expire_nodest_conn': '0',
  'net.ipv4.vs.expire_quiescent_template': '0',
  'net.ipv4.vs.sync_threshold': '3\t50',
};

/** Creates a temporary sysctl tree holding `values` (each file ends with a newline, as in /proc/sys); returns its root. */
export function sysctlTree(values: Readonly<Record<string, string>> = DIRECTOR_SYSCTLS): string {
  const root = mkdtempSync(join(tmpdir(), 'ldir-sysctl-'));
  for (const [key, value] of Object.entries(values)) {
    const path = sysctlPath(root, key);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, `${value}\n`);
  }
  return root;
}

/** The raw content of a sysctl file in a tree. */
export function treeValue(root: string, key: string): string {
  return readFileSync(sysctlPath(root, key), 'utf8');
}
