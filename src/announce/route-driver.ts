// What every routing daemon driver of route health injection does (BIRD 2: bird-driver.ts, FRR: frr-driver.ts),
// and the target the announcer and the announce guard name a driver by.
import type { AnnounceDriver } from '../model';

/** What a routing daemon driver does: tell what it announces, announce a new set. Injected into the announcer. */
export interface RouteDriver {
  /** `bird socket=... file=...`, `frr socket=...`: for logs and `ldir status`. */
  readonly describe: string;
  /**
   * The prefixes the routing daemon announces for ldir now (read back at start: a restart keeps them); empty when
   * it cannot be read (the next {@link apply} reads again and fails loudly).
   */
  announced(): Promise<string[]>;
  /** Announces exactly `prefixes` (withdrawing the others); rejects with LDIR_ERR_ANNOUNCE when not taken. */
  apply(prefixes: readonly string[]): Promise<void>;
}

/**
 * Which routing daemon, and where: the announcer builds its driver from it and sends it to the announce guard (as a
 * JSON line), which builds the same driver to withdraw when the daemon dies.
 */
export interface RouteTarget {
  readonly driver: AnnounceDriver;
  /** BIRD's control socket, or the directory of FRR's vty sockets (`vtysh --vty_socket`). */
  readonly socket: string;
  /** BIRD's include file; absent for FRR (its running configuration holds ldir's statements). */
  readonly file?: string;
}

/** The target a JSON line from a daemon names, or undefined when it names none (a line without `driver` is BIRD). */
export function readRouteTarget(value: unknown): RouteTarget | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const t = value as Partial<Record<keyof RouteTarget, unknown>>;
  if (typeof t.socket !== 'string') return undefined;
  const driver = t.driver ?? 'bird';
  if (driver === 'frr') return { driver, socket: t.socket };
  if (driver === 'bird' && typeof t.file === 'string') return { driver, socket: t.socket, file: t.file };
  return undefined;
}
