// sysctl setup: applies (or previews) the planned values through a SysctlStore, one report entry per sysctl.
import { ErrorCodes, errorMessage, isLdirError, LdirError } from '../errors';
import type { Logger } from '../log';
import type { Config } from '../model';
import { planSysctls, type SysctlSetting } from './sysctl-plan';
import type { SysctlStore } from './sysctl-store';

export { planSysctls, type SysctlSetting } from './sysctl-plan';
export { keyComponent, procSysStore, PROC_SYS, type SysctlStore } from './sysctl-store';

/** Outcome for one sysctl: `would-change` only in a preview (`ldir check`), which writes nothing. */
export type SysctlStatus = 'changed' | 'unchanged' | 'would-change' | 'failed';

/** What happened to one sysctl. */
export interface SysctlResult {
  readonly key: string;
  /** Value before (undefined when it could not be read). */
  readonly old?: string;
  /** Value ldir wants. */
  readonly new: string;
  readonly status: SysctlStatus;
  /** Why ldir wants the value (from the planner). */
  readonly why: string;
  /** For `failed`: what went wrong, for people. */
  readonly reason?: string;
  /** For `failed`: the errno name when the kernel gave one (ENOENT for a sysctl that does not exist). */
  readonly errno?: string;
}

/** Options of {@link applySysctls}. */
export interface ApplySysctlOptions {
  /** Changes at info, failures at warn, unchanged values at debug. */
  readonly logger?: Logger;
  /** Read only: report `would-change` instead of writing. */
  readonly dryRun?: boolean;
}

/** Values compare equal when they hold the same white-space separated words (`sync_threshold` prints "3\t50"). */
function sameValue(a: string, b: string): boolean {
  return a.trim().split(/\s+/).join(' ') === b.trim().split(/\s+/).join(' ');
}

/** Why a sysctl that is not there is not there. */
function missingReason(key: string): string {
  if (key.startsWith('net.ipv4.vs.'))
    return 'no such sysctl: the ip_vs module is not loaded, or this kernel does not have this tunable';
  if (key.startsWith('net.ipv6.')) return 'no such sysctl: IPv6 is disabled or not available';
  return 'no such sysctl';
}

/** A message for a failed read or write, with a hint for the usual errno values. */
function failureReason(err: unknown): { reason: string; errno?: string } {
  const errno = isLdirError(err) ? (err.details['errno'] as string | undefined) : undefined;
  const hints: Record<string, string> = {
    EACCES: 'permission denied (ldir must run as root to change sysctls)',
    EPERM: 'operation not permitted (ldir needs root with CAP_NET_ADMIN / CAP_SYS_ADMIN)',
    EROFS: '/proc/sys is read-only here (a container?)',
    EINVAL: 'the kernel refused the value',
    EBUSY: 'the kernel refused the change while in use (sync daemon running?)',
    ENOENT: 'no such sysctl',
  };
  const reason = (errno !== undefined ? hints[errno] : undefined) ?? errorMessage(err);
  return errno !== undefined ? { reason, errno } : { reason };
}

/** Reads, compares and (unless `dryRun`) writes one setting. Never throws. */
function applyOne(s: SysctlSetting, store: SysctlStore, options: ApplySysctlOptions): SysctlResult {
  const log = options.logger;
  const base = { key: s.key, new: s.value, why: s.why };
  let old: string | undefined;
  try {
    old = store.read(s.key);
  } catch (err) {
    const r: SysctlResult = { ...base, status: 'failed', ...failureReason(err) };
    log?.warn(
      { key: s.key, new: s.value, reason: r.reason, errno: r.errno },
      `sysctl ${s.key}: cannot read: ${r.reason}`,
    );
    return r;
  }
  if (old === undefined) {
    const r: SysctlResult = { ...base, status: 'failed', reason: missingReason(s.key), errno: 'ENOENT' };
    log?.warn({ key: s.key, new: s.value, reason: r.reason }, `sysctl ${s.key}: cannot set ${s.value}: ${r.reason}`);
    return r;
  }
  if (sameValue(old, s.value)) {
    log?.debug({ key: s.key, value: old }, `sysctl ${s.key} is already ${old}`);
    return { ...base, old, status: 'unchanged' };
  }
  if (options.dryRun) return { ...base, old, status: 'would-change' };
  try {
    store.write(s.key, s.value);
    const now = store.read(s.key);
    if (now === undefined || !sameValue(now, s.value)) {
      const r: SysctlResult = {
        ...base,
        old,
        status: 'failed',
        reason: `the kernel kept ${now ?? 'no value'} after writing ${s.value}`,
      };
      log?.warn({ key: s.key, old, new: s.value, reason: r.reason }, `sysctl ${s.key}: ${r.reason}`);
      return r;
    }
  } catch (err) {
    const r: SysctlResult = { ...base, old, status: 'failed', ...failureReason(err) };
    log?.warn(
      { key: s.key, old, new: s.value, reason: r.reason, errno: r.errno },
      `sysctl ${s.key}: cannot change ${old} to ${s.value}: ${r.reason}`,
    );
    return r;
  }
  log?.info({ key: s.key, old, new: s.value, why: s.why }, `sysctl ${s.key} changed from ${old} to ${s.value}`);
  return { ...base, old, status: 'changed' };
}

/**
 * Brings each sysctl to its planned value: reads it, writes only when it differs, reads it back. Every outcome is a
 * report entry; nothing throws (a missing sysctl, such as `net.ipv4.vs.*` without the ip_vs module, is a `failed`
 * entry with errno ENOENT). Settings are handled in order, and one failure does not stop the others.
 */
export function applySysctls(
  settings: readonly SysctlSetting[],
  store: SysctlStore,
  options: ApplySysctlOptions = {},
): SysctlResult[] {
  return settings.map((s) => applyOne(s, store, options));
}

/** The director's interfaces as `net.ipv4.conf` lists them; none when the directory cannot be listed. */
function interfaceLister(store: SysctlStore, logger?: Logger): () => readonly string[] {
  return () => {
    try {
      return store.list('net.ipv4.conf') ?? [];
    } catch (err) {
      logger?.warn({ err }, 'sysctl: cannot list net.ipv4.conf: send_redirects is set for all and default only');
      return [];
    }
  };
}

/**
 * The sysctl setup of the daemon (at start and after each reload): plans what `config` needs and applies it,
 * logging each change with its old and new value. Returns the report; never throws. Nothing happens with `sysctl=no`.
 * Values are never restored: not on stop, and not when a reload removes the masq servers that needed them.
 */
export function setupSysctls(config: Config, store: SysctlStore, logger: Logger): SysctlResult[] {
  if (!config.globals.sysctl.enabled) {
    logger.debug('sysctl setup is off (sysctl=no)');
    return [];
  }
  return applySysctls(planSysctls(config, interfaceLister(store, logger)), store, { logger });
}

/** What {@link setupSysctls} would do, without writing anything (for `ldir check`). */
export function previewSysctls(config: Config, store: SysctlStore): SysctlResult[] {
  return applySysctls(planSysctls(config, interfaceLister(store)), store, { dryRun: true });
}

/** The entries that failed. */
export function sysctlFailures(results: readonly SysctlResult[]): SysctlResult[] {
  return results.filter((r) => r.status === 'failed');
}

/**
 * An `LDIR_ERR_SYSCTL_FAILED` error summarizing the failed entries (details.failed holds them), or undefined when
 * none failed: for callers that treat a failed sysctl as fatal.
 */
export function sysctlError(results: readonly SysctlResult[]): LdirError | undefined {
  const failed = sysctlFailures(results);
  if (failed.length === 0) return undefined;
  return new LdirError(ErrorCodes.SYSCTL_FAILED, `sysctl setup failed: ${failed.map(formatSysctlResult).join('; ')}`, {
    details: { failed },
  });
}

/**
 * One line for people: `net.ipv4.ip_forward 0 -> 1`; a failure as `net.ipv4.vs.conntrack cannot be set to 1: REASON`
 * (`net.ipv4.ip_forward (now 0) cannot be set to 1: ...` when the old value is known); an unchanged value as
 * `net.ipv4.ip_forward 1 (unchanged)`.
 */
export function formatSysctlResult(r: SysctlResult): string {
  switch (r.status) {
    case 'changed':
    case 'would-change':
      return `${r.key} ${r.old ?? '?'} -> ${r.new}`;
    case 'unchanged':
      return `${r.key} ${r.new} (unchanged)`;
    case 'failed':
      return `${r.key}${r.old !== undefined ? ` (now ${r.old})` : ''} cannot be set to ${r.new}: ${r.reason ?? 'unknown error'}`;
  }
}
