// Connection slots of a server (the metrics endpoint, the control socket): how many connections it holds, how many idle
// ones one client address may keep, and which connection goes when a flood of idle ones arrives, so that slow or idle
// clients cannot starve the ones that ask something.
import type { Clock, TimerHandle } from '../clock';

/** Bounds of {@link ConnectionSlots}. */
export interface SlotLimits {
  /**
   * Most connections held at once. A new connection beyond it closes the longest-connected idle one (an address over
   * its share first); when every connection is busy with a request, the new one is refused.
   */
  readonly maxConnections: number;
  /** Most connections one client address keeps: beyond it, its idle connections past {@link graceMs} are closed. */
  readonly maxPerAddress: number;
  /**
   * How long a connection that just arrived (or just finished a response) is safe from {@link maxPerAddress}: time for
   * its request to arrive. A scraper sends its request at once, so it is served even from an address that floods.
   */
  readonly graceMs: number;
}

/** Defaults of {@link SlotLimits}: 1,024 connections (about 5 MB of idle sockets), 16 per address, 1 s grace. */
export const DEFAULT_SLOT_LIMITS: SlotLimits = { maxConnections: 1_024, maxPerAddress: 16, graceMs: 1_000 };

/** Why a connection was closed to make room. */
export type EvictionReason = 'capacity' | 'per-address';

interface Slot {
  readonly address: string;
  /** A request is in progress: never closed to make room (its own deadlines bound it). */
  busy: boolean;
  /** Monotonic time it arrived or last finished a response. */
  idleSince: number;
}

/**
 * Admission and eviction of connections, by client address. `evict` closes a connection (the slot is already free
 * when it is called). Connections are kept in arrival order, so "oldest" is the one connected longest.
 */
export class ConnectionSlots<C> {
  private readonly slots = new Map<C, Slot>();
  private readonly byAddress = new Map<string, Set<C>>();
  /** Addresses holding more than their share: looked at every half grace until they are back within it. */
  private readonly overShare = new Set<string>();
  private timer: TimerHandle | undefined;
  private readonly counts = { refused: 0, capacity: 0, perAddress: 0 };

  constructor(
    private readonly limits: SlotLimits,
    private readonly clock: Clock,
    private readonly evict: (connection: C, why: EvictionReason) => void,
  ) {}

  /** A new connection from `address`: true when it may stay (another may have been closed for it), false when refused. */
  admit(connection: C, address: string): boolean {
    if (this.slots.size >= this.limits.maxConnections) {
      const victim = this.oldestIdle(true) ?? this.oldestIdle(false);
      if (victim === undefined) {
        this.counts.refused++;
        return false;
      }
      this.counts.capacity++;
      this.drop(victim, 'capacity');
    }
    this.slots.set(connection, { address, busy: false, idleSince: this.clock.monotonic() });
    let mine = this.byAddress.get(address);
    if (!mine) {
      mine = new Set();
      this.byAddress.set(address, mine);
    }
    mine.add(connection);
    if (mine.size > this.limits.maxPerAddress && !this.overShare.has(address)) {
      this.overShare.add(address);
      this.arm();
    }
    return true;
  }

  /** A request began on `connection` (busy), or its response ended (idle again: the grace starts over). */
  setBusy(connection: C, busy: boolean): void {
    const slot = this.slots.get(connection);
    if (!slot) return;
    slot.busy = busy;
    if (!busy) slot.idleSince = this.clock.monotonic();
  }

  /** `connection` closed; its slot is free. Unknown connections (refused, already evicted) are ignored. */
  release(connection: C): void {
    const slot = this.slots.get(connection);
    if (!slot) return;
    this.slots.delete(connection);
    const mine = this.byAddress.get(slot.address);
    mine?.delete(connection);
    if (mine && mine.size === 0) this.byAddress.delete(slot.address);
    if ((mine?.size ?? 0) <= this.limits.maxPerAddress) this.overShare.delete(slot.address);
  }

  /** Connections held now. */
  size(): number {
    return this.slots.size;
  }

  /** Connections held by `address` now. */
  sizeOf(address: string): number {
    return this.byAddress.get(address)?.size ?? 0;
  }

  /** Connections refused (all busy at the bound) and closed to make room, since the start. */
  stats(): { readonly refused: number; readonly capacity: number; readonly perAddress: number } {
    return { ...this.counts };
  }

  /** Stops the per-address timer (the server is closing). */
  stop(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Closes the idle connections past their grace of every address over its share, oldest first. */
  sweep(): void {
    const now = this.clock.monotonic();
    for (const address of [...this.overShare]) {
      const mine = this.byAddress.get(address);
      let excess = (mine?.size ?? 0) - this.limits.maxPerAddress;
      for (const connection of [...(mine ?? [])]) {
        if (excess <= 0) break;
        const slot = this.slots.get(connection) as Slot;
        if (slot.busy || now - slot.idleSince < this.limits.graceMs) continue;
        this.counts.perAddress++;
        this.drop(connection, 'per-address');
        excess--;
      }
      if (this.sizeOf(address) <= this.limits.maxPerAddress) this.overShare.delete(address);
    }
  }

  private arm(): void {
    if (this.timer !== undefined) return;
    this.timer = this.clock.setTimeout(
      () => {
        this.timer = undefined;
        this.sweep();
        if (this.overShare.size > 0) this.arm();
      },
      Math.max(1, Math.floor(this.limits.graceMs / 2)),
    );
  }

  /** The longest-connected idle connection (of an address over its share when `greedyOnly`). */
  private oldestIdle(greedyOnly: boolean): C | undefined {
    for (const [connection, slot] of this.slots) {
      if (slot.busy) continue;
      if (greedyOnly && this.sizeOf(slot.address) <= this.limits.maxPerAddress) continue;
      return connection;
    }
    return undefined;
  }

  private drop(connection: C, why: EvictionReason): void {
    this.release(connection);
    this.evict(connection, why);
  }
}
