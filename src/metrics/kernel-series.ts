// Scrape-time kernel series: IPVS traffic counters per service and destination, read once per scrape, bounded in time.
import type { Clock, TimerHandle } from '../clock';
import { ErrorCodes, LdirError } from '../errors';
import { destinationKeyString, serviceKeyString } from '../ipvs/normalize';
import type { IpvsStats, ObservedService } from '../ipvs/types';
import { counterValue, seconds, setCounter, setFlag } from './convert';
import type { SeriesFactory } from './factory';
import type { RowSeries } from './row-series';
import type { SliceYielder } from '../system/slice-yielder';

/** Outcome of one bounded kernel read. */
export type KernelRead =
  | { readonly ok: true; readonly services: readonly ObservedService[]; readonly durationMs: number }
  | { readonly ok: false; readonly reason: 'timeout' | 'error'; readonly error: unknown; readonly durationMs: number };

/**
 * Reads the kernel table with a time bound. A read still running when its bound passes is not started again by the
 * next scrape: that scrape waits (again bounded) on the same read, so a hung backend holds at most one read.
 */
export class KernelReader {
  private pending: Promise<readonly ObservedService[]> | undefined;

  constructor(
    private readonly list: () => Promise<readonly ObservedService[]>,
    private readonly timeoutMs: number,
    private readonly clock: Clock,
  ) {}

  /** Lists the kernel table, or says why not within `timeoutMs` (on the clock). Never rejects. */
  async read(): Promise<KernelRead> {
    const started = this.clock.monotonic();
    const elapsed = (): number => this.clock.monotonic() - started;
    let current = this.pending;
    if (!current) {
      try {
        current = Promise.resolve(this.list());
      } catch (err) {
        return { ok: false, reason: 'error', error: err, durationMs: elapsed() };
      }
      this.pending = current;
      const forget = (): void => {
        if (this.pending === current) this.pending = undefined;
      };
      current.then(forget, forget);
    }
    let timer: TimerHandle | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = this.clock.setTimeout(() => resolve('timeout'), this.timeoutMs);
    });
    try {
      const r = await Promise.race([current, timeout]);
      if (r === 'timeout') {
        const error = new LdirError(
          ErrorCodes.METRICS_KERNEL_TIMEOUT,
          `kernel table not read within ${this.timeoutMs} ms`,
        );
        return { ok: false, reason: 'timeout', error, durationMs: elapsed() };
      }
      return { ok: true, services: r, durationMs: elapsed() };
    } catch (err) {
      return { ok: false, reason: 'error', error: err, durationMs: elapsed() };
    } finally {
      if (timer !== undefined) this.clock.clearTimeout(timer);
    }
  }
}

type Traffic = {
  readonly conns: RowSeries<string>;
  readonly inPackets: RowSeries<string>;
  readonly outPackets: RowSeries<string>;
  readonly inBytes: RowSeries<string>;
  readonly outBytes: RowSeries<string>;
};

/** The five traffic counters of services or destinations: one sample per kernel entry, written straight into the exposition. */
function traffic(series: SeriesFactory, prefix: string, what: string, labels: readonly string[]): Traffic {
  return {
    conns: series.rowCounter(
      `${prefix}_connections_total`,
      `Connections scheduled to ${what} (kernel counter).`,
      labels,
    ),
    inPackets: series.rowCounter(
      `${prefix}_incoming_packets_total`,
      `Packets from clients to ${what} (kernel counter).`,
      labels,
    ),
    outPackets: series.rowCounter(
      `${prefix}_outgoing_packets_total`,
      `Packets from ${what} to clients (kernel counter).`,
      labels,
    ),
    inBytes: series.rowCounter(
      `${prefix}_incoming_bytes_total`,
      `Bytes from clients to ${what} (kernel counter).`,
      labels,
    ),
    outBytes: series.rowCounter(
      `${prefix}_outgoing_bytes_total`,
      `Bytes from ${what} to clients (kernel counter).`,
      labels,
    ),
  };
}

function setTraffic(t: Traffic, labels: Record<string, string>, s: IpvsStats): void {
  setCounter(t.conns, labels, counterValue(s.conns));
  setCounter(t.inPackets, labels, counterValue(s.inPackets));
  setCounter(t.outPackets, labels, counterValue(s.outPackets));
  setCounter(t.inBytes, labels, counterValue(s.inBytes));
  setCounter(t.outBytes, labels, counterValue(s.outBytes));
}

/**
 * The `ldir_ipvs_*` series, rewritten from one kernel read per scrape (every service in the table, ldir's or not:
 * the table's size bounds the label sets), and `ldir_kernel_scrape_*`, which say whether that read worked. After a
 * failed read the traffic series are absent for that scrape rather than stale.
 */
export class KernelSeries {
  private readonly service: Traffic;
  private readonly destination: Traffic;
  private readonly active;
  private readonly inactive;
  private readonly scrapeError;
  private readonly scrapeDuration;
  private readonly scrapeFailures;

  constructor(series: SeriesFactory) {
    this.service = traffic(series, 'ldir_ipvs_service', 'a virtual service', ['virtual']);
    this.destination = traffic(series, 'ldir_ipvs_destination', 'a real server (destination) of a virtual service', [
      'virtual',
      'real',
    ]);
    this.active = series.rowGauge(
      'ldir_ipvs_destination_active_connections',
      'Active connections of a destination (kernel).',
      ['virtual', 'real'],
    );
    this.inactive = series.rowGauge(
      'ldir_ipvs_destination_inactive_connections',
      'Inactive connections of a destination (kernel).',
      ['virtual', 'real'],
    );
    this.scrapeError = series.gauge(
      'ldir_kernel_scrape_error',
      'Whether reading the kernel table for this scrape failed or timed out (1) or not (0).',
    );
    this.scrapeDuration = series.gauge(
      'ldir_kernel_scrape_duration_seconds',
      'Time spent reading the kernel table for this scrape.',
    );
    this.scrapeFailures = series.counter(
      'ldir_kernel_scrape_failures_total',
      'Kernel table reads for scrapes that failed, by reason (timeout, error).',
      ['reason'],
    );
    for (const reason of ['timeout', 'error']) this.scrapeFailures.inc({ reason }, 0);
  }

  /** Rewrites the kernel series from `read`; with a `yielder`, in slices of destinations. */
  async refresh(read: KernelRead, yielder?: SliceYielder): Promise<void> {
    const all = [...Object.values(this.service), ...Object.values(this.destination), this.active, this.inactive];
    for (const c of all) c.rewrite();
    this.scrapeDuration.set(seconds(read.durationMs));
    setFlag(this.scrapeError, {}, !read.ok);
    if (!read.ok) this.scrapeFailures.inc({ reason: read.reason });
    for (const s of read.ok ? read.services : []) {
      const virtual = serviceKeyString(s.service);
      if (s.stats) setTraffic(this.service, { virtual }, s.stats);
      for (const d of s.destinations) {
        const labels = { virtual, real: destinationKeyString(d) };
        if (d.stats) setTraffic(this.destination, labels, d.stats);
        this.active.set(labels, d.activeConns);
        this.inactive.set(labels, d.inactiveConns);
        const pause = yielder?.maybeYield();
        if (pause) await pause;
      }
    }
    for (const c of all) await c.dropStale(yielder);
  }
}
