// The kernel's IPVS schedulers, ipvsadm's names of the scheduler flag bits, and which flags each scheduler reads.
import type { SchedulerFlag } from './types';

/**
 * Schedulers of mainline Linux (`net/netfilter/ipvs/ip_vs_<name>.c`, loaded on demand as `ip_vs_<name>`). The kernel
 * also accepts `none` (a service without a scheduler, see {@link NO_SCHEDULER}); any other name needs an out-of-tree
 * module, else the kernel answers ENOENT.
 */
export const KERNEL_SCHEDULERS: readonly string[] = [
  'rr',
  'wrr',
  'lc',
  'wlc',
  'lblc',
  'lblcr',
  'dh',
  'sh',
  'sed',
  'nq',
  'fo',
  'ovf',
  'mh',
  'twos',
];

/** The scheduler name the kernel takes as "no scheduler" (only persistence templates and synced connections). */
export const NO_SCHEDULER = 'none';

/** One word of ipvsadm's `-b` list: the flag bit it sets, and the only scheduler it is valid with (aliases). */
export interface SchedulerFlagWord {
  readonly flag: SchedulerFlag;
  /** ipvsadm refuses the alias ("incompatible scheduler flag") with any other scheduler. */
  readonly scheduler?: string;
}

/** ipvsadm's scheduler flag words (`parse_sched_flags`): the generic `flag-N` and the aliases of sh and mh. */
export const SCHEDULER_FLAG_WORDS: Readonly<Record<string, SchedulerFlagWord>> = {
  'flag-1': { flag: 'flag-1' },
  'flag-2': { flag: 'flag-2' },
  'flag-3': { flag: 'flag-3' },
  'sh-fallback': { flag: 'flag-1', scheduler: 'sh' },
  'sh-port': { flag: 'flag-2', scheduler: 'sh' },
  'mh-fallback': { flag: 'flag-1', scheduler: 'mh' },
  'mh-port': { flag: 'flag-2', scheduler: 'mh' },
};

/** Flag bits read by the schedulers that read any: sh and mh use flag-1 (fallback) and flag-2 (port). */
const FLAGS_READ: Readonly<Record<string, readonly SchedulerFlag[]>> = {
  sh: ['flag-1', 'flag-2'],
  mh: ['flag-1', 'flag-2'],
};

/** The flag word of `word` as ipvsadm spells it (lowercase, exact), or undefined when ipvsadm does not know it. */
export function schedulerFlagWord(word: string): SchedulerFlagWord | undefined {
  return Object.hasOwn(SCHEDULER_FLAG_WORDS, word) ? SCHEDULER_FLAG_WORDS[word] : undefined;
}

/** True for the schedulers of mainline Linux and `none`. */
export function isKnownScheduler(name: string): boolean {
  return name === NO_SCHEDULER || KERNEL_SCHEDULERS.includes(name);
}

/**
 * The flag bits `scheduler` reads: empty for every known scheduler but sh and mh; undefined for a scheduler ldir
 * does not know (an out-of-tree module may read any of them).
 */
export function flagsReadBy(scheduler: string): readonly SchedulerFlag[] | undefined {
  if (!isKnownScheduler(scheduler)) return undefined;
  return FLAGS_READ[scheduler] ?? [];
}
