// Which check directives each check reads (as ldirectord's check_* functions and ldir's checkers in src/checks/).
import type { CheckService, CheckType, VirtualProtocol } from '../model';
import { listWords } from './strict-subject';

/** A virtual directive that only some checks read. */
export type CheckSetting =
  | 'request'
  | 'receive'
  | 'checkport'
  | 'virtualhost'
  | 'httpmethod'
  | 'login'
  | 'passwd'
  | 'database'
  | 'secret'
  | 'checkcommand'
  | 'httpstatus'
  | 'receivenot'
  | 'tlsverify'
  | 'tlscafile'
  | 'tlsservername'
  | 'httpredirect';

/** Every {@link CheckSetting}, in the order diagnostics name them. */
export const CHECK_SETTINGS: readonly CheckSetting[] = [
  'request',
  'receive',
  'checkport',
  'virtualhost',
  'httpmethod',
  'login',
  'passwd',
  'database',
  'secret',
  'checkcommand',
  'httpstatus',
  'receivenot',
  'tlsverify',
  'tlscafile',
  'tlsservername',
  'httpredirect',
];

/** What the checks that can speak TLS read (plain http too: a redirect may lead to https). */
const TLS: readonly CheckSetting[] = ['tlsverify', 'tlscafile', 'tlsservername'];
const HTTP: readonly CheckSetting[] = [
  'checkport',
  'request',
  'receive',
  'virtualhost',
  'httpmethod',
  'httpstatus',
  'receivenot',
  'httpredirect',
  ...TLS,
];
const MAIL: readonly CheckSetting[] = ['checkport', 'login', 'passwd'];
const SQL: readonly CheckSetting[] = ['checkport', 'request', 'login', 'passwd', 'database'];

/** What the negotiate check of each service reads (`none` reads nothing: it is always up, nothing is contacted). */
const NEGOTIATE: Readonly<Record<CheckService, readonly CheckSetting[]>> = {
  http: HTTP,
  https: HTTP,
  http_proxy: HTTP,
  ftp: ['checkport', 'request', 'receive', 'login', 'passwd'],
  dns: ['checkport', 'request', 'receive'],
  ldap: ['checkport', 'request', 'receive', 'login', 'passwd'],
  ldaps: ['checkport', 'request', 'receive', 'login', 'passwd', ...TLS],
  mysql: SQL,
  pgsql: SQL,
  oracle: SQL,
  radius: ['checkport', 'login', 'passwd', 'secret'],
  sip: ['checkport', 'login'],
  imap: MAIL,
  imaps: [...MAIL, ...TLS],
  pop: MAIL,
  pops: [...MAIL, ...TLS],
  simpletcp: ['checkport', 'request', 'receive'],
  smtp: ['checkport'],
  submission: ['checkport'],
  nntp: ['checkport'],
  none: [],
};

/** What a connect check reads: the port, unless the service is UDP (a connect check of a UDP service is a ping). */
function connectReads(protocol: VirtualProtocol): readonly CheckSetting[] {
  return protocol === 'udp' ? [] : ['checkport'];
}

/** The check directives a virtual service's check reads, given its check type, negotiate service and protocol. */
export function settingsReadBy(
  type: CheckType,
  service: CheckService,
  protocol: VirtualProtocol,
): ReadonlySet<CheckSetting> {
  switch (type) {
    case 'on':
    case 'off':
    case 'ping':
      return new Set();
    case 'external':
    case 'external-perl':
      return new Set(['checkcommand']);
    case 'connect':
      return new Set(connectReads(protocol));
    case 'negotiate':
      return new Set(NEGOTIATE[service]);
    case 'combined':
      return new Set([...connectReads(protocol), ...NEGOTIATE[service]]);
  }
}

/** How a check is named in a diagnostic: `checktype=ping`, `the negotiate check of service=smtp`, ... */
export function checkLabel(type: CheckType, service: CheckService, protocol: VirtualProtocol): string {
  if (type === 'negotiate') return `the negotiate check of service=${service}`;
  if (type === 'combined') return `the combined check (connect, and negotiate of service=${service})`;
  if (type === 'connect' && protocol === 'udp') return 'checktype=connect of a UDP service (a ping)';
  if (type === 'connect' && protocol === 'sctp') return 'checktype=connect of an SCTP service (an SCTP association)';
  return `checktype=${type}`;
}

/** Which checks read `setting`, for the end of a diagnostic: `negotiate checks of http, https and http_proxy`. */
export function readersOf(setting: CheckSetting): string {
  if (setting === 'checkcommand') return 'external and external-perl checks';
  if (setting === 'checkport')
    return 'connect checks of TCP, SCTP and fwmark services, and negotiate checks of every service but none';
  const services = (Object.keys(NEGOTIATE) as CheckService[]).filter((s) => NEGOTIATE[s].includes(setting));
  return `negotiate checks of ${listWords(services)}`;
}
