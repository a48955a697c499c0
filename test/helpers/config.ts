// Test helpers: load configuration text with a fake resolver and fake file probes (no DNS, no file system).
import type { Config, VirtualService } from '../../src/model';
import assert from 'node:assert/strict';
import { writeCf } from '../../src/config/cf-writer';
import { sameMeaning } from '../../src/config/compare';
import { formatDiagnostic, type Diagnostic } from '../../src/config/diagnostics';
import { writeYaml } from '../../src/config/yaml-writer';
import { loadConfigText, type FileProbes, type LoadResult } from '../../src/config/load';
import { canonicalAddress, parseServices, portFromTable, type Resolver } from '../../src/config/resolver';
import { isIP } from 'node:net';

/** A small services table, like Debian's /etc/services. */
export const TEST_SERVICES = `
ftp 21/tcp
smtp 25/tcp mail
domain 53/tcp
domain 53/udp
http 80/tcp www
pop3 110/tcp pop-3
nntp 119/tcp readnews untp
imap2 143/tcp imap
ldap 389/tcp
ldap 389/udp
https 443/tcp
https 443/udp
submission 587/tcp
ldaps 636/tcp
imaps 993/tcp
pop3s 995/tcp
radius 1812/tcp
radius 1812/udp
mysql 3306/tcp
sip 5060/tcp
sip 5060/udp
postgresql 5432/tcp
http-alt 8080/tcp webcache
`;

/** Hosts known to the fake resolver. */
export const TEST_HOSTS: Record<string, { inet?: string; inet6?: string }> = {
  localhost: { inet: '127.0.0.1', inet6: '::1' },
  web1: { inet: '10.0.0.1' },
  web3: { inet: '10.0.0.3' },
  www6: { inet6: '2001:db8::80' },
  'lb.example.com': { inet: '192.0.2.10', inet6: '2001:db8::10' },
};

/** A resolver over {@link TEST_HOSTS} and {@link TEST_SERVICES}. */
export function fakeResolver(hosts = TEST_HOSTS): Resolver {
  const table = parseServices(TEST_SERVICES);
  return {
    resolveHost: async (host, family) => {
      const bare = host.replace(/^\[(.*)\]$/, '$1');
      const kind = isIP(bare);
      if (kind !== 0) return kind === (family === 'inet' ? 4 : 6) ? canonicalAddress(bare) : undefined;
      return hosts[bare]?.[family];
    },
    resolvePort: (name, protocol) => portFromTable(table, name, protocol),
  };
}

/** Probes where every path under /tmp is writable and `/tmp/maint` is the only directory. */
export const TEST_PROBES: FileProbes = {
  appendProblem: (p) =>
    p.startsWith('/tmp/') && !p.startsWith('/tmp/missing/')
      ? undefined
      : 'its directory does not exist or is not writable',
  isDirectory: (p) => p === '/tmp/maint',
};

/** Loads cf (or YAML) text with the fake resolver, probes and host name `director`. */
export function load(text: string, file = '/etc/ha.d/test.cf'): Promise<LoadResult> {
  return loadConfigText(text, file, { resolver: fakeResolver(), probes: TEST_PROBES, hostname: 'director' });
}

/** Loads text that must be valid and returns its model. */
export async function loadValid(text: string, file?: string): Promise<Config> {
  const r = await load(text, file);
  if (!r.config)
    throw new Error(
      `expected a valid config, got:\n${r.diagnostics.map((d) => `${d.pos.line}: ${d.message}`).join('\n')}`,
    );
  return r.config;
}

/** Errors of a load result. */
export function errors(r: LoadResult): Diagnostic[] {
  return r.diagnostics.filter((d) => d.severity === 'error');
}

/** Warnings of a load result. */
export function warnings(r: LoadResult): Diagnostic[] {
  return r.diagnostics.filter((d) => d.severity === 'warning');
}

/** Loads text that must be invalid; returns its errors. */
export async function loadErrors(text: string, file?: string): Promise<Diagnostic[]> {
  const r = await load(text, file);
  if (r.config) throw new Error('expected errors, got a valid config');
  return errors(r);
}

/** The only virtual service of a valid config. */
export async function onlyVirtual(text: string): Promise<VirtualService> {
  const c = await loadValid(text);
  if (c.virtualServices.length !== 1) throw new Error(`expected one virtual service, got ${c.virtualServices.length}`);
  return c.virtualServices[0] as VirtualService;
}

/** Wraps body lines (without indentation) in `virtual=192.0.2.1:80`. */
export function vs(...body: string[]): string {
  return `virtual=192.0.2.1:80\n${body.map((l) => `\t${l}`).join('\n')}\n`;
}

/** What {@link convertRoundTrip} went through. */
export interface RoundTrip {
  /** The YAML written from the ldirectord.cf text. */
  readonly yaml: string;
  /** The ldirectord.cf written from that YAML. */
  readonly cf: string;
  /** The model of `cf`. */
  readonly config: Config;
  /** The YAML written again from `cf` (equal to `yaml` when conversion is a fixpoint). */
  readonly yamlAgain: string;
}

/**
 * ldirectord.cf text → YAML → ldirectord.cf through the writers of `ldir convert`, asserting that every step loads
 * without errors and means the same as the original text.
 */
export async function convertRoundTrip(cfText: string, yamlFile = '/etc/ha.d/ldir.yaml'): Promise<RoundTrip> {
  const r = await load(cfText);
  assert.ok(r.config && r.document, r.diagnostics.map(formatDiagnostic).join('\n'));
  const yaml = writeYaml(r.document);
  const y = await load(yaml, yamlFile);
  assert.ok(y.config && y.document, `${yaml}\n${y.diagnostics.map(formatDiagnostic).join('\n')}`);
  assert.ok(sameMeaning(r.config, y.config));
  const cf = writeCf(y.document);
  const c = await load(cf);
  assert.ok(c.config && c.document, `${cf}\n${c.diagnostics.map(formatDiagnostic).join('\n')}`);
  assert.ok(sameMeaning(r.config, c.config));
  return { yaml, cf, config: c.config, yamlAgain: writeYaml(c.document) };
}
