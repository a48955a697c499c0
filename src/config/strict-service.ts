// Strict validation of the IPVS service of a virtual: scheduler and flags, persistence and netmask, ops, address.
import {
  flagsReadBy,
  isKnownScheduler,
  KERNEL_SCHEDULERS,
  schedulerFlagWord,
  SCHEDULER_FLAG_WORDS,
} from '../ipvs/schedulers';
import { describeUnusable, MAX_PERSISTENT, MIN_PERSISTENT, readIpv4Netmask, unusableAddress } from './kernel-limits';
import { lineOf, listWords, type StrictRule } from './strict-subject';

/** The words of a `schedflags` value as ipvsadm splits them (commas; empty items are skipped, as strtok does). */
function flagWords(text: string): string[] {
  return text.split(',').filter((w) => w !== '');
}

/** `schedflags`: every word must be a flag name ipvsadm knows (ldir would otherwise drop it without a word). */
const schedflagWords: StrictRule = ({ draft, virtual }, sink) => {
  if (virtual.schedFlags === undefined) return;
  const unknown = flagWords(virtual.schedFlags).filter((w) => schedulerFlagWord(w) === undefined);
  if (unknown.length === 0) return;
  sink.error(
    'invalid-value',
    lineOf({ draft, virtual }, 'schedflags'),
    `schedflags: ${listWords(unknown.map((w) => `"${w}"`))} ${unknown.length > 1 ? 'are not scheduler flags' : 'is not a scheduler flag'} (the flags are ${listWords(Object.keys(SCHEDULER_FLAG_WORDS))}, lowercase, comma separated)`,
    'schedflags',
  );
};

/**
 * `schedflags`: each flag must be one the scheduler reads. The aliases belong to their scheduler (ipvsadm refuses
 * `sh-port` with mh: "incompatible scheduler flag"); a flag no known scheduler reads would be set and ignored by
 * the kernel. A scheduler ldir does not know (an out-of-tree module) may read any `flag-N`.
 */
const schedflagsForScheduler: StrictRule = (subject, sink) => {
  const { virtual } = subject;
  if (virtual.schedFlags === undefined) return;
  const scheduler = virtual.scheduler;
  const read = flagsReadBy(scheduler);
  for (const word of flagWords(virtual.schedFlags)) {
    const known = schedulerFlagWord(word);
    if (known === undefined) continue;
    let why: string | undefined;
    if (known.scheduler !== undefined && known.scheduler !== scheduler) {
      why = `${word} is a flag of the ${known.scheduler} scheduler, not of ${scheduler} (ipvsadm refuses it: "incompatible scheduler flag")`;
    } else if (read !== undefined && !read.includes(known.flag)) {
      why =
        read.length === 0
          ? `the ${scheduler} scheduler reads no flag: the kernel would ignore ${word} (only sh and mh read flag-1 and flag-2)`
          : `the ${scheduler} scheduler does not read ${word}: the kernel would ignore it (${scheduler} reads ${listWords(read.map(String))})`;
    }
    if (why !== undefined)
      sink.error('ineffective-setting', lineOf(subject, 'schedflags'), `schedflags: ${why}`, 'schedflags');
  }
};

/**
 * `scheduler`: a name mainline Linux does not have is a warning, not an error: an out-of-tree module may provide
 * it, and ldirectord does not check the name either. Without the module the kernel refuses the service (ENOENT).
 */
const knownScheduler: StrictRule = (subject, sink) => {
  const name = subject.virtual.scheduler;
  if (isKnownScheduler(name)) return;
  sink.warn(
    'unknown-scheduler',
    lineOf(subject, 'scheduler'),
    `scheduler "${name}" is not one of Linux's (${KERNEL_SCHEDULERS.join(', ')}, none): unless a module ip_vs_${name} is installed, the kernel refuses the service`,
    'scheduler',
  );
};

/** `netmask` is the granularity of persistence: without `persistent` it is dropped (ldirectord drops it too). */
const netmaskNeedsPersistent: StrictRule = (subject, sink) => {
  const { draft } = subject;
  if (draft.netmask === undefined || draft.persistent !== undefined) return;
  sink.error(
    'ineffective-setting',
    lineOf(subject, 'netmask'),
    `netmask=${draft.netmask} without persistent: the netmask is the granularity of persistence and would be dropped (ldirectord drops it too); add persistent=SECONDS or remove netmask`,
    'netmask',
  );
};

/** An IPv4 `netmask`: four parts 0..255 whose one bits come first (the IPv6 prefix length is checked when read). */
const netmaskContiguous: StrictRule = (subject, sink) => {
  const { draft } = subject;
  if (draft.family !== 'inet' || draft.netmask === undefined) return;
  const mask = readIpv4Netmask(draft.netmask);
  if (mask === undefined) {
    sink.error(
      'invalid-value',
      lineOf(subject, 'netmask'),
      `invalid netmask "${draft.netmask}": each of the four parts must be 0..255`,
      'netmask',
    );
  } else if (mask.prefix === null) {
    const read = mask.mask !== draft.netmask ? ` (read as ${mask.mask}: a part with a leading 0 is octal)` : '';
    sink.error(
      'invalid-value',
      lineOf(subject, 'netmask'),
      `netmask ${draft.netmask}${read} is not a contiguous netmask: its one bits must come first, as in 255.255.255.0`,
      'netmask',
    );
  }
};

/** `persistent`: 1 second to 31 days (ipvsadm refuses 0 and more; the kernel would expire at once, or wrap). */
const persistentRange: StrictRule = (subject, sink) => {
  const p = subject.draft.persistent;
  if (p === undefined || (p >= MIN_PERSISTENT && p <= MAX_PERSISTENT)) return;
  const hint =
    p === 0
      ? ' (0 would not turn persistence off: remove the directive for that)'
      : ' (31 days, the most ipvsadm accepts)';
  sink.error(
    'invalid-value',
    lineOf(subject, 'persistent'),
    `persistent=${p} is out of range: the timeout must be ${MIN_PERSISTENT}..${MAX_PERSISTENT} seconds${hint}`,
    'persistent',
  );
};

/** `ops=yes`: one-packet scheduling is applied to UDP services only; on TCP or fwmark services it is dropped. */
const opsNeedsUdp: StrictRule = (subject, sink) => {
  const { draft, virtual } = subject;
  if (!draft.ops || virtual.protocol === 'udp') return;
  const what =
    virtual.protocol === 'fwm'
      ? 'a firewall-mark service'
      : virtual.protocol === 'sctp'
        ? 'an SCTP service'
        : 'a TCP service';
  sink.error(
    'ineffective-setting',
    lineOf(subject, 'ops'),
    `ops=yes on ${what}: one-packet scheduling is applied to UDP services only (protocol=udp) and would be dropped, as ldirectord drops it`,
    'ops',
  );
};

/** The virtual address must be one IPVS can serve: not unspecified, multicast or the broadcast address. */
const usableVirtualAddress: StrictRule = ({ draft, virtual }, sink) => {
  if (virtual.address === undefined) return;
  const why = unusableAddress(virtual.address);
  if (why === undefined) return;
  sink.error(
    'invalid-value',
    draft.pos,
    `virtual service address ${describeUnusable(virtual.address, why)}: IPVS only serves packets addressed to this host`,
    draft.family === 'inet' ? 'virtual' : 'virtual6',
  );
};

/** The rules about a virtual's IPVS service, by name, in the order they run. */
export const SERVICE_RULES: Readonly<Record<string, StrictRule>> = {
  schedflagWords,
  schedflagsForScheduler,
  knownScheduler,
  netmaskNeedsPersistent,
  netmaskContiguous,
  persistentRange,
  opsNeedsUdp,
  usableVirtualAddress,
};
