// Strict validation: each rule in both forms, with the line (and YAML column) of the directive concerned.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Diagnostic } from '../../../src/config/diagnostics';
import { STRICT_RULES } from '../../../src/config/strict';
import { load } from '../../helpers/config';

/** `virtual=HEAD` with body lines (tab-indented): the first body line is line 2. */
function cf(body: readonly string[], head = 'virtual=192.0.2.1:80'): string {
  return `${head}\n${body.map((l) => `\t${l}`).join('\n')}\n`;
}

/** The same in YAML: `virtuals:` on line 1, the head on line 2, the first field on line 3 (column 5). */
function yaml(fields: readonly string[], head = 'virtual: 192.0.2.1:80'): string {
  return `virtuals:\n  - ${head}\n${fields.map((f) => `    ${f}`).join('\n')}\n`;
}

/** One finding a case expects: severity, code, directive, message, and its line in each form. */
interface Expected {
  readonly severity: 'error' | 'warning';
  readonly code: string;
  readonly directive: string;
  readonly message: RegExp;
  /** Line in the cf text (the YAML line is one more: `virtuals:` comes first; the column is 5, head and fields). */
  readonly line: number;
}

/** A rule's case: the same virtual in both forms. */
interface Case {
  readonly name: string;
  readonly rule: string;
  readonly cf: string;
  readonly yaml: string;
  readonly expected: Expected;
}

/** The findings of `text` with the expected severity and code. */
async function findings(text: string, file: string, e: Expected): Promise<Diagnostic[]> {
  const r = await load(text, file);
  const found = r.diagnostics.filter((d) => d.severity === e.severity && d.code === e.code);
  if (e.severity === 'error') assert.equal(r.config, undefined, 'an error leaves no model');
  return found;
}

/** Asserts that `text` gives exactly one finding as expected, at `line` (and `column` when given). */
async function expectOne(text: string, file: string, e: Expected, line: number, column?: number): Promise<void> {
  const found = await findings(text, file, e);
  assert.equal(
    found.length,
    1,
    `${file}: ${found.map((d) => `${d.pos.line}: ${d.message}`).join('; ') || 'nothing found'}`,
  );
  const d = found[0] as Diagnostic;
  assert.match(d.message, e.message);
  assert.equal(d.directive, e.directive);
  assert.equal(d.pos.line, line);
  if (column !== undefined) assert.equal(d.pos.column, column);
}

const CF = '/etc/ha.d/strict.cf';
const YAML = '/etc/ha.d/strict.yaml';
const REAL_CF = 'real=10.0.0.1:80 gate';
const REAL_YAML = 'real: 10.0.0.1:80 gate';

const CASES: readonly Case[] = [
  {
    name: 'a schedflags word that is not a flag',
    rule: 'schedflagWords',
    cf: cf([REAL_CF, 'scheduler=sh', 'schedflags=sh-port,port']),
    yaml: yaml([REAL_YAML, 'scheduler: sh', 'schedflags: sh-port,port']),
    expected: {
      severity: 'error',
      code: 'invalid-value',
      directive: 'schedflags',
      line: 4,
      message: /schedflags: "port" is not a scheduler flag \(the flags are flag-1, .*mh-port/,
    },
  },
  {
    name: 'a schedflags word in capitals (ipvsadm compares exactly)',
    rule: 'schedflagWords',
    cf: cf([REAL_CF, 'scheduler=sh', 'schedflags=SH-PORT']),
    yaml: yaml([REAL_YAML, 'scheduler: sh', 'schedflags: SH-PORT']),
    expected: {
      severity: 'error',
      code: 'invalid-value',
      directive: 'schedflags',
      line: 4,
      message: /"SH-PORT" is not a scheduler flag/,
    },
  },
  {
    name: 'an sh flag on the default wrr scheduler',
    rule: 'schedflagsForScheduler',
    cf: cf([REAL_CF, 'schedflags=sh-port']),
    yaml: yaml([REAL_YAML, 'schedflags: sh-port']),
    expected: {
      severity: 'error',
      code: 'ineffective-setting',
      directive: 'schedflags',
      line: 3,
      message: /sh-port is a flag of the sh scheduler, not of wrr \(ipvsadm refuses it/,
    },
  },
  {
    name: 'an sh alias on mh',
    rule: 'schedflagsForScheduler',
    cf: cf([REAL_CF, 'schedflags=sh-fallback', 'scheduler=mh']),
    yaml: yaml([REAL_YAML, 'schedflags: sh-fallback', 'scheduler: mh']),
    expected: {
      severity: 'error',
      code: 'ineffective-setting',
      directive: 'schedflags',
      line: 3,
      message: /sh-fallback is a flag of the sh scheduler, not of mh/,
    },
  },
  {
    name: 'flag-1 on rr, which reads no flag',
    rule: 'schedflagsForScheduler',
    cf: cf([REAL_CF, 'scheduler=rr', 'schedflags=flag-1']),
    yaml: yaml([REAL_YAML, 'scheduler: rr', 'schedflags: flag-1']),
    expected: {
      severity: 'error',
      code: 'ineffective-setting',
      directive: 'schedflags',
      line: 4,
      message: /the rr scheduler reads no flag: the kernel would ignore flag-1/,
    },
  },
  {
    name: 'flag-3 on sh, which reads flag-1 and flag-2',
    rule: 'schedflagsForScheduler',
    cf: cf([REAL_CF, 'scheduler=sh', 'schedflags=sh-port,flag-3']),
    yaml: yaml([REAL_YAML, 'scheduler: sh', 'schedflags: sh-port,flag-3']),
    expected: {
      severity: 'error',
      code: 'ineffective-setting',
      directive: 'schedflags',
      line: 4,
      message: /the sh scheduler does not read flag-3: the kernel would ignore it \(sh reads flag-1 and flag-2\)/,
    },
  },
  {
    name: 'flags after a space (ldirectord passes the first word only)',
    rule: 'schedflags directive',
    cf: cf([REAL_CF, 'scheduler=sh', 'schedflags=sh-port sh-fallback']),
    yaml: yaml([REAL_YAML, 'scheduler: sh', 'schedflags: sh-port sh-fallback']),
    expected: {
      severity: 'error',
      code: 'ineffective-setting',
      directive: 'schedflags',
      line: 4,
      message: /"sh-fallback" after "sh-port" would be ignored .*comma separated, without spaces/,
    },
  },
  {
    name: 'a scheduler Linux does not have is a warning',
    rule: 'knownScheduler',
    cf: cf([REAL_CF, 'scheduler=foo']),
    yaml: yaml([REAL_YAML, 'scheduler: foo']),
    expected: {
      severity: 'warning',
      code: 'unknown-scheduler',
      directive: 'scheduler',
      line: 3,
      message: /scheduler "foo" is not one of Linux's \(rr, wrr, .*none\): unless a module ip_vs_foo is installed/,
    },
  },
  {
    name: 'netmask without persistent',
    rule: 'netmaskNeedsPersistent',
    cf: cf([REAL_CF, 'netmask=255.255.255.0']),
    yaml: yaml([REAL_YAML, 'netmask: 255.255.255.0']),
    expected: {
      severity: 'error',
      code: 'ineffective-setting',
      directive: 'netmask',
      line: 3,
      message: /netmask=255\.255\.255\.0 without persistent: .*would be dropped \(ldirectord drops it too\)/,
    },
  },
  {
    name: 'an IPv6 prefix length without persistent',
    rule: 'netmaskNeedsPersistent',
    cf: cf(['real6=[2001:db8::2]:80 gate', 'netmask=64'], 'virtual6=[2001:db8::1]:80'),
    yaml: yaml(['real6: "[2001:db8::2]:80 gate"', 'netmask: 64'], 'virtual6: "[2001:db8::1]:80"'),
    expected: {
      severity: 'error',
      code: 'ineffective-setting',
      directive: 'netmask',
      line: 3,
      message: /netmask=64 without persistent/,
    },
  },
  {
    name: 'a netmask that is not contiguous',
    rule: 'netmaskContiguous',
    cf: cf([REAL_CF, 'persistent=300', 'netmask=255.0.255.0']),
    yaml: yaml([REAL_YAML, 'persistent: 300', 'netmask: 255.0.255.0']),
    expected: {
      severity: 'error',
      code: 'invalid-value',
      directive: 'netmask',
      line: 4,
      message: /netmask 255\.0\.255\.0 is not a contiguous netmask/,
    },
  },
  {
    name: 'a netmask part with a leading 0 is octal, as inet_aton reads it',
    rule: 'netmaskContiguous',
    cf: cf([REAL_CF, 'persistent=300', 'netmask=255.255.255.010']),
    yaml: yaml([REAL_YAML, 'persistent: 300', 'netmask: 255.255.255.010']),
    expected: {
      severity: 'error',
      code: 'invalid-value',
      directive: 'netmask',
      line: 4,
      message: /netmask 255\.255\.255\.010 \(read as 255\.255\.255\.8: a part with a leading 0 is octal\)/,
    },
  },
  {
    name: 'a netmask part above 255',
    rule: 'netmaskContiguous',
    cf: cf([REAL_CF, 'persistent=300', 'netmask=255.255.256.0']),
    yaml: yaml([REAL_YAML, 'persistent: 300', 'netmask: 255.255.256.0']),
    expected: {
      severity: 'error',
      code: 'invalid-value',
      directive: 'netmask',
      line: 4,
      message: /invalid netmask "255\.255\.256\.0": each of the four parts must be 0\.\.255/,
    },
  },
  {
    name: 'persistent=0',
    rule: 'persistentRange',
    cf: cf([REAL_CF, 'persistent=0']),
    yaml: yaml([REAL_YAML, 'persistent: 0']),
    expected: {
      severity: 'error',
      code: 'invalid-value',
      directive: 'persistent',
      line: 3,
      message:
        /persistent=0 is out of range: the timeout must be 1\.\.2678400 seconds \(0 would not turn persistence off/,
    },
  },
  {
    name: 'persistent above 31 days',
    rule: 'persistentRange',
    cf: cf([REAL_CF, 'persistent=99999999999']),
    yaml: yaml([REAL_YAML, 'persistent: 99999999999']),
    expected: {
      severity: 'error',
      code: 'invalid-value',
      directive: 'persistent',
      line: 3,
      message: /persistent=99999999999 is out of range: .*\(31 days, the most ipvsadm accepts\)/,
    },
  },
  {
    name: 'ops=yes on a TCP service',
    rule: 'opsNeedsUdp',
    cf: cf([REAL_CF, 'ops=yes']),
    yaml: yaml([REAL_YAML, 'ops: yes']),
    expected: {
      severity: 'error',
      code: 'ineffective-setting',
      directive: 'ops',
      line: 3,
      message: /ops=yes on a TCP service: one-packet scheduling is applied to UDP services only/,
    },
  },
  {
    name: 'ops=yes on a firewall-mark service',
    rule: 'opsNeedsUdp',
    cf: cf(['real=10.0.0.1 gate', 'ops=yes'], 'virtual=7'),
    yaml: yaml(['real: 10.0.0.1 gate', 'ops: yes'], 'virtual: 7'),
    expected: {
      severity: 'error',
      code: 'ineffective-setting',
      directive: 'ops',
      line: 3,
      message: /ops=yes on a firewall-mark service/,
    },
  },
  {
    name: 'persistenceengine without persistent',
    rule: 'engineNeedsPersistent',
    cf: cf([REAL_CF, 'protocol=udp', 'persistenceengine=sip']),
    yaml: yaml([REAL_YAML, 'protocol: udp', 'persistenceengine: sip']),
    expected: {
      severity: 'error',
      code: 'ineffective-setting',
      directive: 'persistenceengine',
      line: 4,
      message: /persistenceengine=sip without persistent: the engine keys the persistence templates/,
    },
  },
  {
    name: 'a persistence engine Linux does not have is a warning',
    rule: 'knownEngine',
    cf: cf([REAL_CF, 'protocol=udp', 'persistent=60', 'persistenceengine=rtsp']),
    yaml: yaml([REAL_YAML, 'protocol: udp', 'persistent: 60', 'persistenceengine: rtsp']),
    expected: {
      severity: 'warning',
      code: 'unknown-persistence-engine',
      directive: 'persistenceengine',
      line: 5,
      message: /persistence engine "rtsp" is not one of Linux's \(sip\): unless a module ip_vs_pe_rtsp is installed/,
    },
  },
  {
    name: 'persistenceengine=sip on a TCP service',
    rule: 'engineProtocol',
    cf: cf([REAL_CF, 'persistenceengine=sip', 'persistent=60']),
    yaml: yaml([REAL_YAML, 'persistenceengine: sip', 'persistent: 60']),
    expected: {
      severity: 'error',
      code: 'invalid-value',
      directive: 'persistenceengine',
      line: 3,
      message: /persistenceengine=sip on a TCP service: the engine reads UDP packets only .*use protocol=udp/,
    },
  },
  {
    name: 'persistenceengine=sip on a firewall-mark service is a warning',
    rule: 'engineProtocol',
    cf: cf(['real=10.0.0.1 gate', 'persistent=60', 'persistenceengine=sip'], 'virtual=7'),
    yaml: yaml(['real: 10.0.0.1 gate', 'persistent: 60', 'persistenceengine: sip'], 'virtual: 7'),
    expected: {
      severity: 'warning',
      code: 'ineffective-setting',
      directive: 'persistenceengine',
      line: 4,
      message: /persistenceengine=sip on firewall mark 7: the engine reads UDP packets only/,
    },
  },
  {
    name: 'ops=yes on an SCTP service',
    rule: 'opsNeedsUdp',
    cf: cf([REAL_CF, 'protocol=sctp', 'ops=yes']),
    yaml: yaml([REAL_YAML, 'protocol: sctp', 'ops: yes']),
    expected: {
      severity: 'error',
      code: 'ineffective-setting',
      directive: 'ops',
      line: 4,
      message: /ops=yes on an SCTP service/,
    },
  },
  {
    name: 'a negotiate check on an SCTP service',
    rule: 'sctpCheckType',
    cf: cf(['checktype=negotiate', REAL_CF, 'protocol=sctp']),
    yaml: yaml(['checktype: negotiate', REAL_YAML, 'protocol: sctp']),
    expected: {
      severity: 'error',
      code: 'invalid-value',
      directive: 'checktype',
      line: 2,
      message:
        /checktype=negotiate cannot check an SCTP virtual service \(protocol=sctp\): negotiate checks speak TCP or UDP protocols; use checktype=connect/,
    },
  },
  {
    name: 'a combined check (connects, then negotiate) on an SCTP service',
    rule: 'sctpCheckType',
    cf: cf(['protocol=sctp', REAL_CF, 'checktype=3']),
    yaml: yaml(['protocol: sctp', REAL_YAML, 'checktype: 3']),
    expected: {
      severity: 'error',
      code: 'invalid-value',
      directive: 'checktype',
      line: 4,
      message: /checktype=3 cannot check an SCTP virtual service/,
    },
  },
  {
    name: 'a negotiate service on an SCTP service',
    rule: 'sctpService',
    cf: cf(['protocol=sctp', REAL_CF, 'service=http']),
    yaml: yaml(['protocol: sctp', REAL_YAML, 'service: http']),
    expected: {
      severity: 'error',
      code: 'invalid-value',
      directive: 'service',
      line: 4,
      message: /service=http names a negotiate check, which cannot run on an SCTP virtual service/,
    },
  },
  {
    name: 'a multicast virtual address',
    rule: 'usableVirtualAddress',
    cf: cf(['real=10.0.0.1:80 gate'], 'virtual=224.0.0.1:80'),
    yaml: yaml([REAL_YAML], 'virtual: 224.0.0.1:80'),
    expected: {
      severity: 'error',
      code: 'invalid-value',
      directive: 'virtual',
      line: 1,
      message:
        /virtual service address 224\.0\.0\.1 is a multicast address: IPVS only serves packets addressed to this host/,
    },
  },
  {
    name: 'an unspecified IPv6 virtual address',
    rule: 'usableVirtualAddress',
    cf: cf(['real6=[2001:db8::2]:80 gate'], 'virtual6=[::]:80'),
    yaml: yaml(['real6: "[2001:db8::2]:80 gate"'], 'virtual6: "[::]:80"'),
    expected: {
      severity: 'error',
      code: 'invalid-value',
      directive: 'virtual6',
      line: 1,
      message: /virtual service address :: is an unspecified address/,
    },
  },
  {
    name: 'a weight above INT_MAX',
    rule: 'realWeight',
    cf: cf(['real=10.0.0.1:80 gate 4294967296']),
    yaml: yaml(['real: {host: 10.0.0.1, port: 80, forward: gate, weight: 4294967296}']),
    expected: {
      severity: 'error',
      code: 'invalid-value',
      directive: 'real',
      line: 2,
      message: /real server weight 4294967296 is too large: the kernel accepts 0\.\.2147483647/,
    },
  },
  {
    name: 'an upper threshold above INT_MAX',
    rule: 'realThresholds',
    cf: cf(['real=10.0.0.1:80 masq u:99999999999']),
    yaml: yaml(['real: {host: 10.0.0.1, port: 80, forward: masq, upper: 99999999999}']),
    expected: {
      severity: 'error',
      code: 'invalid-value',
      directive: 'real',
      line: 2,
      message: /upper threshold u:99999999999 is too large/,
    },
  },
  {
    name: 'a lower threshold above the upper one',
    rule: 'realThresholds',
    cf: cf(['real=10.0.0.1:80 masq l:100 u:10']),
    yaml: yaml(['real: {host: 10.0.0.1, port: 80, forward: masq, lower: 100, upper: 10}']),
    expected: {
      severity: 'error',
      code: 'invalid-value',
      directive: 'real',
      line: 2,
      message: /lower threshold l:100 is above the upper threshold u:10: the kernel refuses it/,
    },
  },
  {
    name: 'a lower threshold alone (no u: is 0)',
    rule: 'realThresholds',
    cf: cf(['real=10.0.0.1:80 masq l:5']),
    yaml: yaml(['real: {host: 10.0.0.1, port: 80, forward: masq, lower: 5}']),
    expected: {
      severity: 'error',
      code: 'invalid-value',
      directive: 'real',
      line: 2,
      message: /lower threshold l:5 without an upper threshold: .*add u:N with N >= 5/,
    },
  },
  {
    name: 'a real server 0.0.0.0',
    rule: 'usableServerAddresses',
    cf: cf(['real=0.0.0.0:80 gate']),
    yaml: yaml(['real: 0.0.0.0:80 gate']),
    expected: {
      severity: 'error',
      code: 'invalid-value',
      directive: 'real',
      line: 2,
      message: /real server 0\.0\.0\.0 is an unspecified address: the kernel refuses it as a destination/,
    },
  },
  {
    name: 'a range reaching into multicast: one error at its line',
    rule: 'usableServerAddresses',
    cf: cf(['real=223.255.255.254->224.0.0.1:80 gate']),
    yaml: yaml(['real: {host: 223.255.255.254, to: 224.0.0.1, port: 80, forward: gate}']),
    expected: {
      severity: 'error',
      code: 'invalid-value',
      directive: 'real',
      line: 2,
      message: /real server 224\.0\.0\.0 is a multicast address/,
    },
  },
  {
    name: 'a fallback on the broadcast address',
    rule: 'usableServerAddresses',
    cf: cf([REAL_CF, 'fallback=255.255.255.255:80 gate']),
    yaml: yaml([REAL_YAML, 'fallback: 255.255.255.255:80 gate']),
    expected: {
      severity: 'error',
      code: 'invalid-value',
      directive: 'fallback',
      line: 3,
      message: /fallback server 255\.255\.255\.255 is the broadcast address/,
    },
  },
  {
    name: 'a gate real with another port than the virtual: traffic keeps the virtual port',
    rule: 'gatePorts',
    cf: cf(['real=10.0.0.1:8080 gate']),
    yaml: yaml(['real: 10.0.0.1:8080 gate']),
    expected: {
      severity: 'warning',
      code: 'ignored-setting',
      directive: 'real',
      line: 2,
      message:
        /real server port 8080 is used by the check only: traffic goes to port 80, the virtual service's \(a gate destination cannot change the port; masq can\)/,
    },
  },
  {
    name: 'an ipip fallback with another port than the virtual',
    rule: 'gatePorts',
    cf: cf([REAL_CF, 'fallback=127.0.0.1:8080 ipip']),
    yaml: yaml([REAL_YAML, 'fallback: 127.0.0.1:8080 ipip']),
    expected: {
      severity: 'warning',
      code: 'ignored-setting',
      directive: 'fallback',
      line: 3,
      message: /fallback port 8080 is not used: traffic goes to port 80, the virtual service's \(an ipip destination/,
    },
  },
  {
    name: 'a gue real without a tunnel port (the kernel refuses it)',
    rule: 'gueTunnelPort',
    cf: cf(['checktype=connect', 'real=10.0.0.1:80 gue']),
    yaml: yaml(['checktype: connect', 'real: {host: 10.0.0.1, port: 80, forward: gue}']),
    expected: {
      severity: 'error',
      code: 'invalid-value',
      directive: 'real',
      line: 3,
      message: /a gue real server needs the UDP port its GUE decapsulation listens on/,
    },
  },
  {
    name: "a real's own remcsum on gre",
    rule: 'realTunnelOptions',
    cf: cf(['real=10.0.0.1:80 gre tunnelflags=remcsum']),
    yaml: yaml(['real: {host: 10.0.0.1, port: 80, forward: gre, tunnelflags: remcsum}']),
    expected: {
      severity: 'error',
      code: 'invalid-value',
      directive: 'real',
      line: 2,
      message: /tunnelflags=remcsum \(remote checksum offload\) is for gue real servers only/,
    },
  },
  {
    name: "a real's own tunnel port on a gre real",
    rule: 'realTunnelOptions',
    cf: cf(['real=10.0.0.1:80 gre tunnelport=6080']),
    yaml: yaml(['real: {host: 10.0.0.1, port: 80, forward: gre, tunnelport: 6080}']),
    expected: {
      severity: 'error',
      code: 'invalid-value',
      directive: 'real',
      line: 2,
      message: /tunnelport=6080 is for gue real servers; this one forwards with gre: it would be ignored/,
    },
  },
  {
    name: "the section's remcsum reaching a gre real",
    rule: 'virtualTunnelOptions',
    cf: cf(['real=10.0.0.1:80 gre', 'tunnelflags=remcsum']),
    yaml: yaml(['real: 10.0.0.1:80 gre', 'tunnelflags: remcsum']),
    expected: {
      severity: 'error',
      code: 'invalid-value',
      directive: 'tunnelflags',
      line: 3,
      message: /applies to the gre real server at line \d+: give it tunnelflags=nocsum or csum/,
    },
  },
  {
    name: 'a tunnel port no gue real takes',
    rule: 'virtualTunnelOptions',
    cf: cf(['real=10.0.0.1:80 ipip', 'tunnelport=6080']),
    yaml: yaml(['real: 10.0.0.1:80 ipip', 'tunnelport: 6080']),
    expected: {
      severity: 'warning',
      code: 'ignored-setting',
      directive: 'tunnelport',
      line: 3,
      message: /tunnelport=6080 is not used: no gue real server of this virtual service takes it/,
    },
  },
  {
    name: 'virtualhost with a connect check',
    rule: 'unusedCheckSettings',
    cf: cf([REAL_CF, 'checktype=connect', 'virtualhost=www.example.com']),
    yaml: yaml([REAL_YAML, 'checktype: connect', 'virtualhost: www.example.com']),
    expected: {
      severity: 'warning',
      code: 'unused-setting',
      directive: 'virtualhost',
      line: 4,
      message:
        /virtualhost is not used by checktype=connect: only negotiate checks of http, https and http_proxy read it/,
    },
  },
  {
    name: 'checkport with a ping check',
    rule: 'unusedCheckSettings',
    cf: cf([REAL_CF, 'checkport=8080', 'checktype=ping']),
    yaml: yaml([REAL_YAML, 'checkport: 8080', 'checktype: ping']),
    expected: {
      severity: 'warning',
      code: 'unused-setting',
      directive: 'checkport',
      line: 3,
      message: /checkport is not used by checktype=ping/,
    },
  },
  {
    name: 'checkport with a connect check of a UDP service (a ping)',
    rule: 'unusedCheckSettings',
    cf: cf([REAL_CF, 'protocol=udp', 'checktype=connect', 'checkport=53']),
    yaml: yaml([REAL_YAML, 'protocol: udp', 'checktype: connect', 'checkport: 53']),
    expected: {
      severity: 'warning',
      code: 'unused-setting',
      directive: 'checkport',
      line: 5,
      message: /checkport is not used by checktype=connect of a UDP service \(a ping\)/,
    },
  },
  {
    name: 'request with an external check',
    rule: 'unusedCheckSettings',
    cf: cf([REAL_CF, 'checktype=external', 'request="/health"']),
    yaml: yaml([REAL_YAML, 'checktype: external', 'request: /health']),
    expected: {
      severity: 'warning',
      code: 'unused-setting',
      directive: 'request',
      line: 4,
      message: /request is not used by checktype=external: only negotiate checks of http, .*simpletcp read it/,
    },
  },
  {
    name: 'database with an http check',
    rule: 'unusedCheckSettings',
    cf: cf([REAL_CF, 'database="app"']),
    yaml: yaml([REAL_YAML, 'database: app']),
    expected: {
      severity: 'warning',
      code: 'unused-setting',
      directive: 'database',
      line: 3,
      message:
        /database is not used by the negotiate check of service=http: only negotiate checks of mysql, pgsql and oracle read it/,
    },
  },
  {
    name: 'receive with a mysql check (it runs the request, reads no answer pattern)',
    rule: 'unusedCheckSettings',
    cf: cf([REAL_CF, 'service=mysql', 'receive="1"']),
    yaml: yaml([REAL_YAML, 'service: mysql', 'receive: "1"']),
    expected: {
      severity: 'warning',
      code: 'unused-setting',
      directive: 'receive',
      line: 4,
      message: /receive is not used by the negotiate check of service=mysql/,
    },
  },
  {
    name: 'secret with a combined check of http',
    rule: 'unusedCheckSettings',
    cf: cf([REAL_CF, 'checktype=3', 'secret="s"']),
    yaml: yaml([REAL_YAML, 'checktype: 3', 'secret: s']),
    expected: {
      severity: 'warning',
      code: 'unused-setting',
      directive: 'secret',
      line: 4,
      message:
        /secret is not used by the combined check \(connect, and negotiate of service=http\): only negotiate checks of radius read it/,
    },
  },
  {
    name: 'checkcommand with a negotiate check',
    rule: 'unusedCheckSettings',
    cf: cf([REAL_CF, 'checkcommand=/usr/local/bin/check']),
    yaml: yaml([REAL_YAML, 'checkcommand: /usr/local/bin/check']),
    expected: {
      severity: 'warning',
      code: 'unused-setting',
      directive: 'checkcommand',
      line: 3,
      message:
        /checkcommand is not used by the negotiate check of service=http: only external and external-perl checks read it/,
    },
  },
  {
    name: 'a per-real request pair with a connect check',
    rule: 'unusedRealRequests',
    cf: cf(['checktype=connect', 'real=10.0.0.1:80 gate 1 "/up","OK"']),
    yaml: yaml(['checktype: connect', 'real: {host: 10.0.0.1, port: 80, forward: gate, request: /up, receive: OK}']),
    expected: {
      severity: 'warning',
      code: 'unused-setting',
      directive: 'real',
      line: 3,
      message: /the real server's "request","receive" pair is not used by checktype=connect/,
    },
  },
  {
    name: 'an announced virtual (ECMP across directors) with a scheduler other than mh',
    rule: 'ecmpConsistentScheduler',
    cf: cf([REAL_CF, 'announce=frr', 'scheduler=wlc']),
    yaml: yaml([REAL_YAML, 'announce: frr', 'scheduler: wlc']),
    expected: {
      severity: 'warning',
      code: 'inconsistent-scheduler',
      directive: 'scheduler',
      line: 4,
      message: /scheduler=wlc is not consistent across directors, .*use scheduler=mh with schedflags=mh-port/i,
    },
  },
  {
    name: 'load, which nothing reads',
    rule: 'unusedLoad',
    cf: cf([REAL_CF, 'load="cpu"']),
    yaml: yaml([REAL_YAML, 'load: cpu']),
    expected: {
      severity: 'warning',
      code: 'unused-setting',
      directive: 'load',
      line: 3,
      message: /load is accepted for compatibility and never used/,
    },
  },
];

describe('strict validation: each rule, in ldirectord.cf and in YAML, at the line of its directive', () => {
  test('every named rule has a case (and every case names a rule or the directive that checks it)', () => {
    const covered = new Set(CASES.map((c) => c.rule));
    for (const name of Object.keys(STRICT_RULES)) assert.ok(covered.has(name), `no case for rule ${name}`);
    for (const c of CASES)
      assert.ok(c.rule in STRICT_RULES || c.rule.endsWith(' directive'), `${c.name}: unknown rule ${c.rule}`);
  });

  for (const c of CASES) {
    test(`${c.rule}: ${c.name}`, async () => {
      await expectOne(c.cf, CF, c.expected, c.expected.line);
      await expectOne(c.yaml, YAML, c.expected, c.expected.line + 1, 5);
    });
  }
});

/** Loads `text` (cf) and returns its diagnostics as `severity code line` strings. */
async function summary(text: string, file = CF): Promise<string[]> {
  const r = await load(text, file);
  return r.diagnostics.map((d) => `${d.severity} ${d.code} ${d.pos.line}`);
}

describe('strict validation: what stays accepted', () => {
  test('flags of the scheduler that reads them; flag-N for a scheduler ldir does not know', async () => {
    assert.deepEqual(await summary(cf([REAL_CF, 'scheduler=sh', 'schedflags=sh-port,sh-fallback'])), []);
    assert.deepEqual(await summary(cf([REAL_CF, 'scheduler=mh', 'schedflags=mh-port,flag-1'])), []);
    assert.deepEqual(await summary(cf([REAL_CF, 'scheduler=mine', 'schedflags=flag-3'])), [
      'warning unknown-scheduler 3',
    ]);
    assert.deepEqual(await summary(cf([REAL_CF, 'scheduler=none'])), [], 'none is the kernel\'s "no scheduler"');
  });

  test('persistence 1 s and 31 days; contiguous netmasks, /0 and /32 included; IPv6 prefix with persistent', async () => {
    assert.deepEqual(await summary(cf([REAL_CF, 'persistent=1', 'netmask=0.0.0.0'])), []);
    assert.deepEqual(await summary(cf([REAL_CF, 'persistent=2678400', 'netmask=255.255.254.0'])), []);
    assert.deepEqual(await summary(cf([REAL_CF, 'persistent=60', 'netmask=255.255.255.255'])), []);
    assert.deepEqual(
      await summary(cf(['real6=[2001:db8::2]:80 gate', 'persistent=60', 'netmask=64'], 'virtual6=[2001:db8::1]:80')),
      [],
    );
  });

  test('ops=yes on UDP and ops=no anywhere', async () => {
    assert.deepEqual(await summary(cf([REAL_CF, 'protocol=udp', 'ops=yes'])), []);
    assert.deepEqual(await summary(cf([REAL_CF, 'ops=no'])), []);
  });

  test('weights 0 and INT_MAX; thresholds up to INT_MAX with l <= u; u: alone', async () => {
    assert.deepEqual(
      await summary(
        cf([
          'real=10.0.0.1:80 masq 0',
          'real=10.0.0.2:80 masq 2147483647 l:2147483647 u:2147483647',
          'real=10.0.0.3:80 masq u:50',
          'real=10.0.0.4:80 masq l:5 u:5',
        ]),
      ),
      [],
    );
  });

  test('gate and ipip ports equal to the virtual port, or on a port-0 or fwmark virtual; masq with any port', async () => {
    assert.deepEqual(
      await summary(
        cf(['real=10.0.0.1:80 gate', 'real=10.0.0.2 ipip', 'real=10.0.0.3:8080 masq', 'fallback=127.0.0.1:8080 masq']),
      ),
      [],
    );
    assert.deepEqual(await summary(cf(['real=10.0.0.1:80 gate', 'persistent=600'], 'virtual=192.0.2.1:0')), []);
    assert.deepEqual(await summary(cf(['real=10.0.0.1:80 gate', 'real=10.0.0.2:443 gate'], 'virtual=7')), []);
  });

  test('check settings the check reads', async () => {
    assert.deepEqual(
      await summary(
        cf([
          REAL_CF,
          'virtualhost=www.example.com',
          'httpmethod=HEAD',
          'request="/"',
          'receive="ok"',
          'checkport=8080',
        ]),
      ),
      [],
    );
    assert.deepEqual(await summary(cf([REAL_CF, 'checktype=external', 'checkcommand=/bin/true'])), []);
    assert.deepEqual(await summary(cf([REAL_CF, 'service=radius', 'login="u"', 'passwd="p"', 'secret="s"'])), []);
    assert.deepEqual(
      await summary(cf([REAL_CF, 'service=mysql', 'login="u"', 'passwd="p"', 'database="d"', 'request="SELECT 1"'])),
      [],
    );
    assert.deepEqual(
      await summary(cf(['real=10.0.0.1:80 gate 1 "/up","OK"', 'checktype=4'])),
      [],
      'a combined check negotiates too',
    );
  });
});

describe('strict validation: global fallbacks are checked once', () => {
  const two =
    'virtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate\n\nvirtual=192.0.2.1:443\n\treal=10.0.0.1:443 gate\n\nvirtual=192.0.2.1:53\n\treal=10.0.0.1:53 gate\n';

  test('an unusable global fallback is one error at its line, however many services use it', async () => {
    assert.deepEqual(await summary(`fallback=224.0.0.1\n${two}`), ['error invalid-value 1']);
  });

  test('a global gate fallback with a port: one warning naming the services whose own port is used instead', async () => {
    const r = await load(`fallback=127.0.0.1:80 gate\n${two}`);
    assert.ok(r.config);
    assert.deepEqual(
      r.diagnostics.map((d) => [d.severity, d.code, d.pos.line, d.directive]),
      [['warning', 'ignored-setting', 1, 'fallback']],
    );
    assert.match(
      r.diagnostics[0]?.message ?? '',
      /fallback port 80 is not used by tcp:192\.0\.2\.1:443, udp:192\.0\.2\.1:53: their traffic keeps each service's own port/,
    );
    assert.deepEqual(await summary(`fallback=127.0.0.1 gate\n${two}`), [], 'without a port: nothing to say');
    assert.deepEqual(await summary(`fallback=127.0.0.1:8080 masq\n${two}`), [], 'masq maps ports');
  });

  test('in YAML, at the line and column of the global key', async () => {
    const r = await load(
      'fallback: 0.0.0.0:80 masq\nvirtuals:\n  - virtual: 192.0.2.1:80\n    real: 10.0.0.1:80 gate\n',
      YAML,
    );
    assert.deepEqual(
      r.diagnostics.map((d) => [d.severity, d.pos.line, d.pos.column, d.directive]),
      [['error', 1, 1, 'fallback']],
    );
  });
});

describe('strict validation: several errors are all reported, each at its own line', () => {
  test('YAML list items on one line are each reported, at their column', async () => {
    const r = await load(yaml(['real: [0.0.0.0:80 gate, 224.0.0.1:80 gate, 10.0.0.1:8080 gate]']), YAML);
    assert.deepEqual(
      r.diagnostics.map((d) => [d.severity, d.pos.line, d.pos.column, d.directive]),
      [
        ['error', 3, 12, 'real'],
        ['error', 3, 29, 'real'],
        ['warning', 3, 48, 'real'],
      ],
    );
  });

  test('one file, every kind of refusal', async () => {
    const text = cf(
      [
        'real=0.0.0.0:80 gate',
        'real=10.0.0.2:80 masq 4294967296 l:100 u:10',
        'scheduler=rr',
        'schedflags=sh-port',
        'netmask=255.0.255.0',
        'ops=yes',
        'persistent=99999999999',
      ],
      'virtual=224.0.0.1:80',
    );
    const r = await load(text, CF);
    assert.equal(r.config, undefined);
    const errors = r.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.pos.line} ${d.directive}`);
    assert.deepEqual(errors, [
      '1 virtual',
      '2 real',
      '3 real',
      '3 real',
      '5 schedflags',
      '6 netmask',
      '7 ops',
      '8 persistent',
    ]);
  });
});
