// Test harness of the engine: memory backend, fake clock, recorded fallback commands and events, health by hand.
import type { Health, HealthTransition } from '../../src/model/health';
import { Engine } from '../../src/engine/engine';
import type { EngineEvent, EngineOptions } from '../../src/engine/engine-types';
import type { CommandOutcome } from '../../src/engine/fallback-command';
import { destinationKeyString, serviceKeyString } from '../../src/ipvs/normalize';
import type {
  DesiredService,
  IpvsBackend,
  IpvsInfo,
  IpvsOp,
  IpvsOpResult,
  IpvsSyncDaemon,
  IpvsTimeouts,
  ListOptions,
  ObservedService,
  ServiceKey,
} from '../../src/ipvs/types';
import { MemoryBackend } from '../../src/ipvs/memory';
import type { Config } from '../../src/model';
import { FakeClock } from './fake-clock';
import { specOf } from './ipvs-tables';

/** `op service [destination]` of an operation, e.g. `add-destination tcp:192.0.2.1:80 10.0.0.1:80`. */
export function opName(op: IpvsOp): string {
  return `${op.op} ${serviceKeyString(op.service)}${'destination' in op ? ` ${destinationKeyString(op.destination)}` : ''}`;
}

/** Compact view of a table: `service → [dest=weight]`, for assertions that read like `ipvsadm -Ln`. */
export function weights(table: readonly DesiredService[]): Record<string, string[]> {
  return Object.fromEntries(
    table.map((s) => [
      serviceKeyString(s.service),
      s.destinations.map((d) => `${destinationKeyString(d)}=${d.weight}${d.forward === 'masq' ? '' : `/${d.forward}`}`),
    ]),
  );
}

/** Options of {@link EngineHarness}. */
export interface HarnessOptions extends Partial<Omit<EngineOptions, 'backend' | 'clock' | 'runCommand' | 'onEvent'>> {
  /** Initial kernel table. */
  readonly initial?: readonly DesiredService[];
  /** Exit code of every fallback command (default 0). */
  readonly commandExit?: number;
}

/**
 * The memory backend seen through a dump that can show active connections (the memory backend always lists 0) and
 * fail on demand; `kind` may pose as another backend (a daemon sets sysctls only with a real kernel backend).
 */
export class ObservableBackend implements IpvsBackend {
  /** Active connections by `service destination` id. */
  readonly conns = new Map<string, number>();
  failLists = 0;
  lists = 0;
  /** Options of the last listing. */
  listOptions: ListOptions | undefined;
  /** When true, dumps never answer (a stuck kernel socket). */
  hang = false;
  /**
   * For each dump listed so far, in order: how many times the engine read the settings of a service of it (the most
   * over its services). 1 when the dump was normalized once; 0 when nobody read it.
   */
  readonly dumpReads: number[] = [];

  constructor(
    private readonly inner: MemoryBackend,
    readonly kind: IpvsBackend['kind'] = 'memory',
  ) {}

  async list(options?: ListOptions): Promise<readonly ObservedService[]> {
    this.lists++;
    this.listOptions = options;
    if (this.hang) return new Promise<never>(() => undefined);
    if (this.failLists > 0) {
      this.failLists--;
      throw new Error('netlink: ENOBUFS');
    }
    const listing = this.dumpReads.push(0) - 1;
    return (await this.inner.list(options)).map((o) =>
      this.counted(listing, {
        ...o,
        destinations: o.destinations.map((d) => ({
          ...d,
          activeConns: this.conns.get(`${serviceKeyString(o.service)} ${destinationKeyString(d)}`) ?? 0,
        })),
      }),
    );
  }

  /** `o` with its `service` read through a getter that counts, per listing, the most reads of any one service. */
  private counted(listing: number, o: ObservedService): ObservedService {
    const { service, ...rest } = o;
    let reads = 0;
    return Object.defineProperty({ ...rest }, 'service', {
      enumerable: true,
      get: () => {
        reads++;
        this.dumpReads[listing] = Math.max(this.dumpReads[listing] ?? 0, reads);
        return service;
      },
    }) as ObservedService;
  }

  apply(ops: readonly IpvsOp[]): Promise<readonly IpvsOpResult[]> {
    return this.inner.apply(ops);
  }
  info(): Promise<IpvsInfo> {
    return this.inner.info();
  }
  getTimeouts(): Promise<IpvsTimeouts> {
    return this.inner.getTimeouts();
  }
  setTimeouts(t: IpvsTimeouts): Promise<void> {
    return this.inner.setTimeouts(t);
  }
  zero(service?: ServiceKey): Promise<void> {
    return this.inner.zero(service);
  }
  flush(): Promise<void> {
    return this.inner.flush();
  }
  listSyncDaemons(): Promise<readonly IpvsSyncDaemon[]> {
    return this.inner.listSyncDaemons();
  }
  startSyncDaemon(d: IpvsSyncDaemon): Promise<void> {
    return this.inner.startSyncDaemon(d);
  }
  stopSyncDaemon(state: 'master' | 'backup'): Promise<void> {
    return this.inner.stopSyncDaemon(state);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/** An engine over a memory backend and a fake clock, with every command, event and operation recorded. */
export class EngineHarness {
  readonly clock = new FakeClock();
  readonly backend: MemoryBackend;
  /** What the engine talks to: the memory backend plus connection counts and dump failures. */
  readonly view: ObservableBackend;
  readonly engine: Engine;
  readonly commands: string[][] = [];
  readonly events: EngineEvent[] = [];
  private mark = 0;

  constructor(options: HarnessOptions = {}) {
    this.backend = new MemoryBackend(options.initial ?? []);
    this.view = new ObservableBackend(this.backend);
    const { initial: _initial, commandExit, ...rest } = options;
    this.engine = new Engine({
      coalesceMs: 20,
      resyncIntervalMs: 10_000,
      drainPollMs: 1_000,
      drainTimeoutMs: 30_000,
      ...rest,
      backend: this.view,
      clock: this.clock,
      runCommand: async (argv): Promise<CommandOutcome> => {
        this.commands.push([...argv]);
        return { exitCode: commandExit ?? 0 };
      },
      onEvent: (e) => this.events.push(e),
    });
  }

  /** Applies a config and waits for its sync. */
  async apply(config: Config): Promise<void> {
    await this.engine.applyConfig(config);
  }

  /** Feeds one health transition (as the scheduler would) without waiting. */
  transition(virtualId: string, realKey: string, to: Health, reason = to === 'up' ? 'ok' : 'refused'): void {
    const t: HealthTransition = {
      virtualId,
      realKey,
      identity: `id-${realKey}`,
      from: 'unknown',
      to,
      reason,
      at: this.clock.now(),
      checkStartedAt: this.clock.now(),
      durationMs: 1,
      consecutiveFailures: to === 'down' ? 1 : 0,
    };
    this.engine.onTransition(t);
  }

  /** Feeds transitions for several pairs of one virtual, then lets the coalesced sync run. */
  async health(virtualId: string, states: Record<string, Health>): Promise<void> {
    for (const [real, to] of Object.entries(states)) this.transition(virtualId, real, to);
    await this.settle();
  }

  /** Lets coalesced syncs (and anything else due within `ms`) run. */
  async settle(ms = 25): Promise<void> {
    await this.clock.advance(ms);
  }

  /** Sets the active connections the dump shows for a destination (`tcp:192.0.2.1:80`, `10.0.0.2:80`). */
  setConns(service: string, destination: string, n: number): void {
    this.view.conns.set(`${service} ${destination}`, n);
  }

  /** Events of one type. */
  eventsOf<T extends EngineEvent['type']>(type: T): Extract<EngineEvent, { type: T }>[] {
    return this.events.filter((e): e is Extract<EngineEvent, { type: T }> => e.type === type);
  }

  /** The kernel table in compact form. */
  async table(): Promise<Record<string, string[]>> {
    return weights(specOf(await this.backend.list()));
  }

  /** Operations applied to the backend since the last call (names only). */
  opsSinceMark(): string[] {
    const history = this.backend.history();
    const out = history.slice(this.mark).map(opName);
    this.mark = history.length;
    return out;
  }

  /** Fallback commands run so far, as `action vip proto` strings (the program path left out). */
  commandLines(): string[] {
    return this.commands.map((argv) => argv.slice(-3).join(' '));
  }
}
