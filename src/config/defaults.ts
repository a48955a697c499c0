// ldirectord's defaults and its port <-> service table (ld_port_to_service / ld_service_to_port).
import type { CheckService } from '../model';

/** Default values of ldirectord 4.12's code (`set_defaults` and the per-virtual initialisation). */
export const DEFAULTS = {
  checkTimeout: 5,
  negotiateTimeout: 30,
  checkInterval: 10,
  checkCount: 1,
  failureCount: 1,
  /** ldir extension: one success brings a down real back, as ldirectord. */
  riseCount: 1,
  /** The code's default; ldirectord's manual says yes (see docs/compatibility.md). */
  quiescent: false,
  cleanstop: true,
  readdQuiescent: false,
  autoreload: false,
  fork: false,
  supervised: false,
  emailAlertFreq: 0,
  logfile: '/var/log/ldirectord.log',
  scheduler: 'wrr',
  request: '/',
  receive: '',
  httpMethod: 'GET',
  checkCommand: '/bin/true',
  /** ldir extension: sysctl setup on (it only acts for masq servers and configured IPVS tunables). */
  sysctl: true,
  /** ldir extensions: alert mail throttling (see docs/config-reference.md, section 10.4). */
  emailAlertWindow: 5,
  emailAlertInterval: 60,
  emailAlertFlapChanges: 4,
  emailAlertFlapPeriod: 600,
  /** ldir extension: the Prometheus endpoint, on loopback unless configured otherwise. */
  metrics: { host: '127.0.0.1', port: 9547 },
  /** ldir extension: removed reals and virtuals drain (weight 0) before they are deleted. */
  drain: true,
  /** ldir extension: seconds a drain may last. */
  drainTimeout: 30,
  /** ldir extension: sync id of the connection sync daemon (the kernel's and ipvsadm's default). */
  syncId: 0,
  /** ldir extension: role at start once `syncinterface` is given: receive until promoted. */
  syncRole: 'backup',
  /** ldir extension: BIRD 2's control socket (route health injection, `announcesocket`). */
  announceSocket: '/run/bird/bird.ctl',
  /** ldir extension: the directory of FRR's vty sockets (`announce=frr`, `announcesocket`; Debian's /run/frr). */
  announceSocketFrr: '/run/frr',
  /** ldir extension: the include file holding the announced prefix sets (`announcefile`). */
  announceFile: '/etc/bird/ldir-announce.conf',
} as const;

const PORT_SERVICES: ReadonlyArray<readonly [number, CheckService]> = [
  [21, 'ftp'],
  [25, 'smtp'],
  [53, 'dns'],
  [80, 'http'],
  [110, 'pop'],
  [119, 'nntp'],
  [143, 'imap'],
  [389, 'ldap'],
  [443, 'https'],
  [587, 'submission'],
  [636, 'ldaps'],
  [993, 'imaps'],
  [995, 'pops'],
  [1521, 'oracle'],
  [1812, 'radius'],
  [3128, 'http_proxy'],
  [3306, 'mysql'],
  [5060, 'sip'],
  [5432, 'pgsql'],
];

/** The negotiate service ldirectord derives from a virtual port (`none` when the port is not in its table). */
export function serviceForPort(port: number): CheckService {
  return PORT_SERVICES.find(([p]) => p === port)?.[1] ?? 'none';
}

/** The well-known port of a negotiate service (used as check port when a real server has port 0). */
export function portForService(service: CheckService): number | undefined {
  return PORT_SERVICES.find(([, s]) => s === service)?.[0];
}
