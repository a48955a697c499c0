// The IPVS tunables under net.ipv4.vs that ldir may set from its configuration, with their valid values.

/** How a tunable's value is written and checked. */
export type IpvsTunableKind = 'boolean' | 'integer' | 'threshold';

/** One settable IPVS tunable (Documentation/networking/ipvs-sysctl.rst, net/netfilter/ipvs/ip_vs_ctl.c). */
export interface IpvsTunableSpec {
  readonly name: string;
  /** `boolean`: 0 or 1; `integer`: one integer in [min, max]; `threshold`: `sync_threshold`'s "THRESHOLD PERIOD". */
  readonly kind: IpvsTunableKind;
  readonly min: number;
  readonly max: number;
  /** The kernel refuses anything but a power of two (`sync_ports`). */
  readonly powerOfTwo?: boolean;
  /** One line on what it does, for messages and documentation. */
  readonly summary: string;
}

/** Largest value of a C `int`: the bound of most proc_dointvec tunables. */
const INT_MAX = 2147483647;

const bool = (name: string, summary: string): IpvsTunableSpec => ({ name, kind: 'boolean', min: 0, max: 1, summary });
const int = (name: string, min: number, max: number, summary: string, powerOfTwo?: boolean): IpvsTunableSpec => ({
  name,
  kind: 'integer',
  min,
  max,
  summary,
  ...(powerOfTwo ? { powerOfTwo } : {}),
});

/**
 * Every tunable ldir accepts, by name. Left out on purpose: `debug_level` (needs CONFIG_IP_VS_DEBUG), `est_cpulist`
 * (a CPU list, not a number), the `lblc*_expiration` scheduler timers and tunables newer than Linux 6.6.
 * Ranges are the kernel's where it enforces one (drop_* and secure_tcp 0..3, sync_retries 0..3, sync_version 0..1,
 * est_nice -20..19, sync_ports a power of two, clamped to 64 when the sync daemon starts); booleans are limited to
 * 0 and 1 although the kernel takes any number.
 */
export const IPVS_TUNABLES: ReadonlyMap<string, IpvsTunableSpec> = new Map(
  (
    [
      int('am_droprate', 0, INT_MAX, 'drop rate of the always-on drop_packet defense (mode 3)'),
      int('amemthresh', 0, INT_MAX, 'available memory threshold (pages) of the automatic defenses'),
      bool('backup_only', 'disable the director while the sync daemon is in backup mode (DR/TUN loop guard)'),
      bool('cache_bypass', 'forward to the original destination when no cache server is available'),
      int('conn_reuse_mode', 0, 3, 'handling of connections that reuse a port (bitmap)'),
      bool('conntrack', 'keep netfilter connection tracking entries for IPVS connections'),
      int('drop_entry', 0, 3, 'drop_entry defense: 0 off, 1-2 automatic, 3 always'),
      int('drop_packet', 0, 3, 'drop_packet defense: 0 off, 1-2 automatic, 3 always'),
      int('est_nice', -20, 19, 'niceness of the estimation kernel threads (Linux 6.2+)'),
      bool('expire_nodest_conn', 'expire a connection at once when its real server is gone'),
      bool('expire_quiescent_template', 'expire persistence templates of quiescent (weight 0) real servers'),
      bool('ignore_tunneled', 'do not schedule packets of unrecognized (tunneled) protocols'),
      bool('nat_icmp_send', 'send ICMP errors for NAT packets without a connection entry'),
      bool('pmtu_disc', 'reject DF packets larger than the path MTU (0 fragments them for TUN)'),
      bool('run_estimation', 'run the rate estimators (Linux 6.2+)'),
      bool('schedule_icmp', 'schedule ICMP packets to a service that match no connection'),
      int('secure_tcp', 0, 3, 'secure_tcp defense: 0 off, 1-2 automatic, 3 always'),
      bool('sloppy_sctp', 'accept SCTP connections not seen from their start (sync backups)'),
      bool('sloppy_tcp', 'accept TCP connections not seen from their start (sync backups)'),
      bool('snat_reroute', 'route NAT replies as if they came from the director'),
      int('sync_persist_mode', 0, 1, 'synchronise only persistence templates of persistent services'),
      int('sync_ports', 1, 64, 'sync threads, one UDP port each (the kernel uses at most 64)', true),
      int('sync_qlen_max', 0, Number.MAX_SAFE_INTEGER, 'limit of queued sync messages'),
      int('sync_refresh_period', 0, 2147483, 'seconds between syncs of an unchanged connection'),
      int('sync_retries', 0, 3, 'sync retries, every sync_refresh_period/8'),
      int('sync_sock_size', 0, INT_MAX, 'sync socket SNDBUF/RCVBUF size (0 = system default)'),
      {
        name: 'sync_threshold',
        kind: 'threshold',
        min: 0,
        max: INT_MAX,
        summary: 'packets a connection receives before it is synchronised, and the period of later syncs',
      },
      int('sync_version', 0, 1, 'sync protocol version'),
    ] satisfies IpvsTunableSpec[]
  ).map((t) => [t.name, t]),
);

/** A checked `NAME=VALUE`, or why it is refused. */
export type TunableParse = { ok: true; name: string; value: string } | { ok: false; message: string };

/** Parses one integer in [min, max]; undefined when it is not one. */
function integer(text: string, min: number, max: number): number | undefined {
  if (!/^-?\d+$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) && n >= min && n <= max ? n : undefined;
}

/** Checks a value for a tunable and normalizes it to what the kernel prints; a message when it is refused. */
export function checkTunableValue(spec: IpvsTunableSpec, text: string): { value: string } | { message: string } {
  const t = text.trim();
  if (spec.kind === 'boolean') {
    return t === '0' || t === '1' ? { value: t } : { message: `ipvssysctl ${spec.name} must be 0 or 1, not "${text}"` };
  }
  if (spec.kind === 'threshold') {
    const parts = t.split(/\s+/);
    const [threshold, period] = parts.map((p) => integer(p, spec.min, spec.max));
    if (parts.length !== 2 || threshold === undefined || period === undefined) {
      return { message: `ipvssysctl ${spec.name} must be two non-negative integers "THRESHOLD PERIOD", not "${text}"` };
    }
    if (period !== 0 && threshold >= period) {
      return {
        message: `ipvssysctl ${spec.name}: the threshold (${threshold}) must be less than the period (${period}) unless the period is 0`,
      };
    }
    return { value: `${threshold} ${period}` };
  }
  const n = integer(t, spec.min, spec.max);
  const range = spec.max >= INT_MAX ? `${spec.min} or more` : `from ${spec.min} to ${spec.max}`;
  if (n === undefined) return { message: `ipvssysctl ${spec.name} must be an integer ${range}, not "${text}"` };
  if (spec.powerOfTwo && (n & (n - 1)) !== 0)
    return { message: `ipvssysctl ${spec.name} must be a power of two, not ${n}` };
  return { value: String(n) };
}

/** Splits and checks `NAME=VALUE` (white space around `=` allowed) against {@link IPVS_TUNABLES}. */
export function parseIpvsTunable(text: string): TunableParse {
  const m = /^\s*([^=\s]*)\s*=\s*(.*?)\s*$/.exec(text);
  if (!m || m[1] === '' || m[2] === '') {
    return {
      ok: false,
      message: `ipvssysctl must be NAME=VALUE (for example ipvssysctl=expire_nodest_conn=1), not "${text}"`,
    };
  }
  const name = m[1] as string;
  const spec = IPVS_TUNABLES.get(name);
  if (!spec)
    return { ok: false, message: `unknown IPVS tunable "${name}" (known: ${[...IPVS_TUNABLES.keys()].join(', ')})` };
  const checked = checkTunableValue(spec, m[2] as string);
  return 'message' in checked ? { ok: false, message: checked.message } : { ok: true, name, value: checked.value };
}
