// ldirectord's `maintenancedir`: a file named after a real server forces it down without running its check.
import { readdir } from 'node:fs/promises';
import type { Clock } from '../clock';
import type { Logger } from '../log';

/** True when the real server at `address`:`port` (known by `hostnames`) is in maintenance. Synchronous and cheap. */
export type MaintenanceProbe = (address: string, port: number, hostnames: readonly string[]) => boolean;

/**
 * File names that put a real server in maintenance, in ldirectord's order (`_check_real_for_maintenance`):
 * `IP:PORT`, `IP` (IPv6 in brackets; the bare IPv6 address is accepted too), then for each host name
 * `name:PORT`, `name`, and the short name (first label of a dotted name) with and without the port.
 */
export function maintenanceNames(address: string, port: number, hostnames: readonly string[]): string[] {
  const v6 = address.includes(':');
  const ip = v6 ? `[${address}]` : address;
  const names = [`${ip}:${port}`, ip];
  if (v6) names.push(address);
  for (const raw of hostnames) {
    const name = raw.toLowerCase().replace(/\.$/, '');
    if (name === '') continue;
    names.push(`${name}:${port}`, name);
    const short = /^([a-z][a-z0-9-]+)\./.exec(name)?.[1];
    if (short) names.push(`${short}:${port}`, short);
  }
  return names;
}

/** Options of {@link MaintenanceDir}. */
export interface MaintenanceDirOptions {
  /** The `maintenancedir` directory. */
  readonly dir: string;
  readonly clock: Clock;
  /** Lists the directory's entry names; default `fs.promises.readdir`. */
  readonly list?: (dir: string) => Promise<readonly string[]>;
  /** Milliseconds a listing stays fresh; the probe starts a new one (without waiting) when it is older. Default 1000. */
  readonly refreshMs?: number;
  readonly logger?: Logger;
}

/**
 * The maintenance directory as a {@link MaintenanceProbe}: probes answer from the last listing and never block;
 * a stale listing is refreshed in the background, so a new file takes effect within about `refreshMs`.
 * Call {@link MaintenanceDir.refresh} once before the first round so it starts with a listing.
 */
export class MaintenanceDir {
  private files: ReadonlySet<string> = new Set();
  private listedAt = Number.NEGATIVE_INFINITY;
  private pending: Promise<void> | undefined;
  private missingWarned = false;
  private readonly list: (dir: string) => Promise<readonly string[]>;
  private readonly refreshMs: number;

  /** The directory watched. */
  get dir(): string {
    return this.options.dir;
  }

  constructor(private readonly options: MaintenanceDirOptions) {
    this.list = options.list ?? ((dir) => readdir(dir));
    this.refreshMs = options.refreshMs ?? 1000;
  }

  /** The probe to hand to the scheduler. */
  readonly probe: MaintenanceProbe = (address, port, hostnames) => {
    if (this.options.clock.monotonic() - this.listedAt >= this.refreshMs) void this.refresh();
    if (this.files.size === 0) return false;
    return maintenanceNames(address, port, hostnames).some((name) => this.files.has(name));
  };

  /** Reads the directory now (one listing at a time); a missing directory counts as empty, with one warning. */
  refresh(): Promise<void> {
    if (this.pending) return this.pending;
    const started = this.options.clock.monotonic();
    this.pending = Promise.resolve()
      .then(() => this.list(this.options.dir))
      .then(
        (names) => {
          this.files = new Set(names);
          this.missingWarned = false;
        },
        (err: unknown) => {
          this.files = new Set();
          if (!this.missingWarned) {
            this.missingWarned = true;
            this.options.logger?.warn(
              { dir: this.options.dir, err: String(err) },
              'maintenance directory cannot be read',
            );
          }
        },
      )
      .finally(() => {
        this.listedAt = started;
        this.pending = undefined;
      });
    return this.pending;
  }
}

/** Options of {@link ReverseNames}. */
export interface ReverseNamesOptions {
  /** Reverse lookup, e.g. `dns.promises.reverse`. */
  readonly lookup: (address: string) => Promise<readonly string[]>;
  readonly clock: Clock;
  /** Milliseconds a looked-up answer is reused. Default 300000. */
  readonly ttlMs?: number;
}

/**
 * Cached reverse names for the maintenance probe: {@link ReverseNames.names} answers at once from the cache (empty
 * until the first lookup finishes) and refreshes stale entries in the background, one lookup per address at a time.
 */
export class ReverseNames {
  private readonly cache = new Map<string, { names: readonly string[]; at: number; pending: boolean }>();
  private readonly ttlMs: number;

  constructor(private readonly options: ReverseNamesOptions) {
    this.ttlMs = options.ttlMs ?? 300_000;
  }

  /** Cached names of `address` (possibly empty); starts a lookup when there is none or it is stale. */
  readonly names = (address: string): readonly string[] => {
    const now = this.options.clock.monotonic();
    let entry = this.cache.get(address);
    if (!entry) {
      entry = { names: [], at: Number.NEGATIVE_INFINITY, pending: false };
      this.cache.set(address, entry);
    }
    if (!entry.pending && now - entry.at >= this.ttlMs) {
      const e = entry;
      e.pending = true;
      this.options
        .lookup(address)
        .then(
          (names) => {
            e.names = names;
          },
          () => {
            e.names = [];
          },
        )
        .finally(() => {
          e.at = this.options.clock.monotonic();
          e.pending = false;
        });
    }
    return entry.names;
  };

  /** Forgets addresses not in `keep` (call after a reload). */
  retain(keep: Iterable<string>): void {
    const set = new Set(keep);
    for (const address of this.cache.keys()) if (!set.has(address)) this.cache.delete(address);
  }
}
