// Closed vocabularies of the configuration model (string-literal unions that travel in JSON and logs).

/**
 * IPVS forwarding method as ldirectord spells it: gate = direct routing, masq = NAT, ipip = IP-in-IP tunnel; and
 * ldir's tunnels (LVS-TUN with another encapsulation): gue = Generic UDP Encapsulation, gre = GRE.
 */
export type ForwardMethod = 'gate' | 'masq' | 'ipip' | 'gue' | 'gre';
/** Every forwarding method of a real server. */
export const FORWARD_METHODS: readonly ForwardMethod[] = ['gate', 'masq', 'ipip', 'gue', 'gre'];
/** The forwarding methods of a fallback server (ldirectord's; a sorry server is not reached through GUE or GRE). */
export const FALLBACK_FORWARD_METHODS: readonly ForwardMethod[] = ['gate', 'masq', 'ipip'];
/** The tunnelling methods: the only ones whose real server may be of another address family than its virtual service. */
export const TUNNEL_METHODS: readonly ForwardMethod[] = ['ipip', 'gue', 'gre'];

/**
 * Checksums of a GUE or GRE tunnel (`tunnelflags=`, ipvsadm's `--tun-nocsum|--tun-csum|--tun-remcsum`): none, a
 * checksum of the outer UDP or GRE header, or remote checksum offload (GUE only).
 */
export type TunnelFlags = 'nocsum' | 'csum' | 'remcsum';
/** Every `tunnelflags` value. */
export const TUNNEL_FLAGS: readonly TunnelFlags[] = ['nocsum', 'csum', 'remcsum'];

/** Virtual service protocol; `fwm` for firewall-mark virtual services (`sctp` is an ldir extension). */
export type VirtualProtocol = 'tcp' | 'udp' | 'sctp' | 'fwm';

/** Address family of a virtual service. */
export type AddressFamily = 'inet' | 'inet6';

/** Health check kinds; `combined` is ldirectord's `checktype=N`. */
export type CheckType = 'connect' | 'negotiate' | 'ping' | 'external' | 'external-perl' | 'off' | 'on' | 'combined';
/** The named check types accepted by `checktype=` (numbers give `combined`). */
export const NAMED_CHECK_TYPES: readonly CheckType[] = [
  'connect',
  'negotiate',
  'ping',
  'off',
  'on',
  'external',
  'external-perl',
];

/** Protocol spoken by a `negotiate` check (`service=`). */
export type CheckService =
  | 'dns'
  | 'ftp'
  | 'http'
  | 'https'
  | 'http_proxy'
  | 'imap'
  | 'imaps'
  | 'ldap'
  | 'ldaps'
  | 'nntp'
  | 'mysql'
  | 'none'
  | 'oracle'
  | 'pop'
  | 'pops'
  | 'radius'
  | 'pgsql'
  | 'sip'
  | 'smtp'
  | 'submission'
  | 'simpletcp';
/** Every `service=` value, in ldirectord's order. */
export const CHECK_SERVICES: readonly CheckService[] = [
  'dns',
  'ftp',
  'http',
  'https',
  'http_proxy',
  'imap',
  'imaps',
  'ldap',
  'ldaps',
  'nntp',
  'mysql',
  'none',
  'oracle',
  'pop',
  'pops',
  'radius',
  'pgsql',
  'sip',
  'smtp',
  'submission',
  'simpletcp',
];

/** HTTP method of http/https/http_proxy checks. */
export type HttpMethod = 'GET' | 'HEAD';

/** Daemon states that `emailalertstatus` filters on. */
export type DaemonState = 'starting' | 'running' | 'stopping' | 'reloading';
/** Every daemon state, in ldirectord's bit order. */
export const DAEMON_STATES: readonly DaemonState[] = ['starting', 'running', 'stopping', 'reloading'];

/** How alert mail uses TLS with an `smtp` server (`smtptls`, an ldir extension), after Postfix's security levels. */
export type SmtpTls = 'none' | 'may' | 'encrypt' | 'verify';
/** Every `smtptls` value: none = plain text, may = STARTTLS when offered, encrypt = STARTTLS required, verify = required and verified. */
export const SMTP_TLS_MODES: readonly SmtpTls[] = ['none', 'may', 'encrypt', 'verify'];

/** A director's part in connection synchronisation: the master sends its connection table, a backup receives it. */
export type SyncRole = 'master' | 'backup';
/** The role `syncrole` gives at start: a {@link SyncRole}, or none (no sync daemon until `ldir promote|demote`). */
export type SyncStartRole = SyncRole | 'none';
/** Every `syncrole` value. */
export const SYNC_START_ROLES: readonly SyncStartRole[] = ['none', 'master', 'backup'];
