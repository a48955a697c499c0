// Pure planning of the kernel's connection sync daemons: what runs for a role, whether a running one is it, and the
// stops and starts that get from what the kernel runs to what ldir wants.
import type { IpvsSyncDaemon } from '../ipvs/types';
import type { StateSyncSettings, SyncRole, SyncStartRole } from '../model';

/** A sync daemon state in kernel words (`IP_VS_STATE_MASTER`, `IP_VS_STATE_BACKUP`). */
export type SyncDaemonState = IpvsSyncDaemon['state'];
/** Both states, in the order ldir reports them. */
export const SYNC_DAEMON_STATES: readonly SyncDaemonState[] = ['master', 'backup'];

/**
 * What the kernel fills in for a field left out of NEW_DAEMON (`start_sync_thread` in net/netfilter/ipvs/ip_vs_sync.c):
 * group 224.0.0.81 (`IP_VS_SYNC_GROUP`), port 8848 (`IP_VS_SYNC_PORT`), TTL 1.
 */
export const KERNEL_SYNC_DEFAULTS = { group: '224.0.0.81', port: 8848, ttl: 1 } as const;

/** One change to the kernel's sync daemons. `restart` marks the start that follows a stop of the same state. */
export type SyncDaemonOp =
  | { readonly op: 'stop-daemon'; readonly state: SyncDaemonState }
  | { readonly op: 'start-daemon'; readonly daemon: IpvsSyncDaemon; readonly restart: boolean };

/** The daemon of state `state` that `settings` describe (fields left out stay out: the kernel fills them in). */
export function syncDaemonFor(settings: StateSyncSettings, state: SyncDaemonState): IpvsSyncDaemon {
  return {
    state,
    interface: settings.interface,
    syncId: settings.syncId,
    ...(settings.maxLength !== undefined ? { maxLength: settings.maxLength } : {}),
    ...(settings.group !== undefined ? { group: settings.group } : {}),
    ...(settings.port !== undefined ? { port: settings.port } : {}),
    ...(settings.ttl !== undefined ? { ttl: settings.ttl } : {}),
  };
}

/** What should run: the daemon of the role, none without settings or without a role. */
export function desiredSyncDaemons(settings: StateSyncSettings | null, role: SyncStartRole): IpvsSyncDaemon[] {
  return settings && role !== 'none' ? [syncDaemonFor(settings, role)] : [];
}

/**
 * The message length the kernel keeps for a requested `maxLength`: it clamps it to at least 1024 for a backup (1 for
 * a master) and at most 65535 minus the IP and UDP headers. Undefined when none was requested (the kernel derives
 * it from the interface MTU, which ldir does not know).
 */
export function effectiveMaxLength(
  state: SyncDaemonState,
  requested: number | undefined,
  ipv6: boolean,
): number | undefined {
  if (requested === undefined) return undefined;
  return Math.min(Math.max(requested, state === 'backup' ? 1024 : 1), 65535 - (ipv6 ? 48 : 28));
}

const groupOf = (d: IpvsSyncDaemon): string => (d.group ?? KERNEL_SYNC_DEFAULTS.group).toLowerCase();

/**
 * True when `observed` (as the kernel lists it) is the daemon `desired` asks for: same state, interface and sync id,
 * and the same group, port and TTL once the kernel defaults are filled in on both sides; the message length is
 * compared only when ldir set one, after the kernel's clamping, and only when the kernel reports it.
 */
export function sameSyncDaemon(desired: IpvsSyncDaemon, observed: IpvsSyncDaemon): boolean {
  if (
    desired.state !== observed.state ||
    desired.interface !== observed.interface ||
    desired.syncId !== observed.syncId
  )
    return false;
  if (groupOf(desired) !== groupOf(observed)) return false;
  if ((desired.port ?? KERNEL_SYNC_DEFAULTS.port) !== (observed.port ?? KERNEL_SYNC_DEFAULTS.port)) return false;
  if ((desired.ttl ?? KERNEL_SYNC_DEFAULTS.ttl) !== (observed.ttl ?? KERNEL_SYNC_DEFAULTS.ttl)) return false;
  const wanted = effectiveMaxLength(desired.state, desired.maxLength, groupOf(desired).includes(':'));
  return wanted === undefined || observed.maxLength === undefined || wanted === observed.maxLength;
}

/**
 * The operations that turn `observed` into `desired`, stops first (a state runs once per kernel, so a changed daemon
 * is stopped, then started again; a role switch stops the old state before the new one starts, as keepalived does).
 * A running daemon that is not wanted is stopped only when its state is in `owned`: ldir leaves alone what it does
 * not manage.
 */
export function planSyncDaemons(
  desired: readonly IpvsSyncDaemon[],
  observed: readonly IpvsSyncDaemon[],
  owned: ReadonlySet<SyncDaemonState>,
): SyncDaemonOp[] {
  const stops: SyncDaemonOp[] = [];
  const starts: SyncDaemonOp[] = [];
  for (const state of SYNC_DAEMON_STATES) {
    const want = desired.find((d) => d.state === state);
    const have = observed.find((d) => d.state === state);
    if (want && !have) starts.push({ op: 'start-daemon', daemon: want, restart: false });
    else if (want && have && !sameSyncDaemon(want, have)) {
      stops.push({ op: 'stop-daemon', state });
      starts.push({ op: 'start-daemon', daemon: want, restart: true });
    } else if (!want && have && owned.has(state)) stops.push({ op: 'stop-daemon', state });
  }
  return [...stops, ...starts];
}

/**
 * The role to take over at start from what the kernel runs: the state of the one sync daemon running, when it has
 * the configured interface and sync id (left by a previous ldir with `cleanstop=no`, or by one that died), so that a
 * restart keeps the director's role. Undefined when nothing, both states, or a different daemon runs.
 */
export function adoptableRole(settings: StateSyncSettings, observed: readonly IpvsSyncDaemon[]): SyncRole | undefined {
  if (observed.length !== 1) return undefined;
  const [only] = observed as [IpvsSyncDaemon];
  return only.interface === settings.interface && only.syncId === settings.syncId ? only.state : undefined;
}

/** `master sync daemon on eth1 (sync id 7, group 224.0.0.81:8848, ttl 1, maxlen 1472)`, for logs and status. */
export function describeSyncDaemon(d: IpvsSyncDaemon): string {
  const group = d.group ?? KERNEL_SYNC_DEFAULTS.group;
  const where = `${group.includes(':') ? `[${group}]` : group}:${d.port ?? KERNEL_SYNC_DEFAULTS.port}`;
  const extra = [
    `sync id ${d.syncId}`,
    `group ${where}`,
    `ttl ${d.ttl ?? KERNEL_SYNC_DEFAULTS.ttl}`,
    ...(d.maxLength !== undefined ? [`maxlen ${d.maxLength}`] : []),
  ];
  return `${d.state} sync daemon on ${d.interface} (${extra.join(', ')})`;
}

/** What decides the role when a configuration comes into force (see {@link roleOnConfigure}). */
export interface RoleState {
  /** The sync settings of the configuration in force; null without `syncinterface` (or before the first one). */
  readonly settings: StateSyncSettings | null;
  /** A configuration was taken before. */
  readonly configuredOnce: boolean;
  readonly role: SyncStartRole;
  readonly roleSource: 'config' | 'adopted' | 'command';
}

/**
 * The role a configuration with `settings` gives, or undefined when the role stays. The first configuration sets
 * it from `syncrole` (a matching daemon already running is then taken over at the next look: `adopting`); a later one
 * switches to `syncrole` only when it changed the directive's value, or when there was no role yet: otherwise the
 * role set by `promote`/`demote` (or taken over) stays, as does one set by a `promote`/`demote` that came before the
 * first configuration.
 */
export function roleOnConfigure(
  state: RoleState,
  settings: StateSyncSettings | null,
): { readonly role: SyncStartRole; readonly adopting: boolean } | undefined {
  if (!settings) return undefined;
  const changed = state.settings !== null && state.settings.role !== settings.role;
  const commanded = state.roleSource === 'command' && state.role !== 'none';
  if ((!state.configuredOnce && !commanded) || state.role === 'none' || changed) {
    return { role: settings.role, adopting: !changed && state.role === 'none' };
  }
  return undefined;
}

/** What one look at the kernel's sync daemons starts from (see {@link planStateSyncLook}). */
export interface StateSyncLookInput {
  readonly settings: StateSyncSettings | null;
  readonly role: SyncStartRole;
  /** Take over a matching running daemon at this look. */
  readonly adopting: boolean;
  /** States ldir started or took over and has not stopped since. */
  readonly owned: ReadonlySet<SyncDaemonState>;
}

/** The plan of one look. */
export interface StateSyncLookPlan {
  /** The role taken over from the kernel at this look, if any. */
  readonly adopted?: SyncRole;
  /** The role after the look. */
  readonly role: SyncStartRole;
  /** States ldir owns after taking over. */
  readonly owned: ReadonlySet<SyncDaemonState>;
  readonly desired: readonly IpvsSyncDaemon[];
  /** States ldir manages at this look: both with a role and settings, otherwise only the owned ones. */
  readonly manages: ReadonlySet<SyncDaemonState>;
  /** Stops and starts, in order. */
  readonly ops: readonly SyncDaemonOp[];
}

/**
 * One look's plan against what the kernel runs (`observed`): a matching daemon is taken over when `adopting`, then
 * {@link planSyncDaemons} from the role's daemon to what runs, over the states ldir manages. The engine's looks
 * and a reload preview both plan here.
 */
export function planStateSyncLook(input: StateSyncLookInput, observed: readonly IpvsSyncDaemon[]): StateSyncLookPlan {
  let role = input.role;
  const owned = new Set(input.owned);
  let adopted: SyncRole | undefined;
  if (input.adopting && input.settings) {
    adopted = adoptableRole(input.settings, observed);
    if (adopted !== undefined) {
      for (const d of observed) owned.add(d.state);
      role = adopted;
    }
  }
  const desired = desiredSyncDaemons(input.settings, role);
  const manages = new Set(
    SYNC_DAEMON_STATES.filter((s) => (input.settings !== null && role !== 'none') || owned.has(s)),
  );
  return {
    ...(adopted !== undefined ? { adopted } : {}),
    role,
    owned,
    desired,
    manages,
    ops: planSyncDaemons(desired, observed, manages),
  };
}
