// A real Prometheus server (Debian's `prometheus`) scraping one target on loopback every second, with its HTTP query
// API: for tests that show ldir's endpoint as Prometheus itself reads it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { httpGet } from '../integration/metrics/http-client';
import { freePort } from './system';
import { eventually } from './wait';

/** One series of an instant query's answer. */
export interface QueryRow {
  readonly metric: Record<string, string>;
  readonly value: number;
}

/** A running Prometheus: its web address, queries, its recent log, and how to stop it. */
export interface PrometheusServer {
  /** `http://127.0.0.1:PORT` of its web UI and API. */
  readonly web: string;
  /** Instant query through the HTTP API (`/api/v1/query`): one row per result series. Rejects on an API error. */
  query(q: string): Promise<QueryRow[]>;
  /** The scrape targets as `/api/v1/targets` lists them: health and last error of each. */
  targets(): Promise<Array<{ health: string; lastError: string }>>;
  /** The last 4,000 characters it wrote to stderr. */
  log(): string;
  /** SIGTERM (SIGKILL after 10 s), then removes its data directory. Never throws. */
  stop(): Promise<void>;
}

/** Options of {@link startPrometheus}. */
export interface PrometheusOptions {
  /** How long it may take to report ready (ms); default 30 s. Under the emulated VM Go's start-up takes seconds. */
  readonly readyTimeoutMs?: number;
  /** `scrape_interval` and `scrape_timeout` in seconds; default 1 and 1. A scrape over its timeout marks the target down. */
  readonly scrapeIntervalS?: number;
  readonly scrapeTimeoutS?: number;
}

/**
 * Starts Prometheus on a free port of 127.0.0.1 with job `ldir` scraping `target` (`HOST:PORT`, path `/metrics`)
 * every second (or as `options` say), and resolves once it reports ready. Rejects with its log when it exits or never
 * gets ready.
 */
export async function startPrometheus(target: string, options: PrometheusOptions = {}): Promise<PrometheusServer> {
  const interval = options.scrapeIntervalS ?? 1;
  const timeout = options.scrapeTimeoutS ?? 1;
  const dir = mkdtempSync(join(tmpdir(), 'ldir-prometheus-'));
  const webPort = await freePort();
  const web = `http://127.0.0.1:${webPort}`;
  writeFileSync(
    join(dir, 'prometheus.yml'),
    [
      'global:',
      `  scrape_interval: ${interval}s`,
      `  scrape_timeout: ${timeout}s`,
      `  evaluation_interval: ${interval}s`,
      'scrape_configs:',
      '  - job_name: ldir',
      '    static_configs:',
      `      - targets: ['${target}']`,
      '',
    ].join('\n'),
  );
  const prom: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${webPort}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  prom.stderr?.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-4000);
  });
  const stop = async (): Promise<void> => {
    if (prom.exitCode === null && prom.signalCode === null) {
      const exited = new Promise((resolve) => prom.once('exit', resolve));
      prom.kill('SIGTERM');
      const killer = setTimeout(() => prom.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await eventually(
      'prometheus ready',
      async () => {
        if (prom.exitCode !== null) throw new Error(`prometheus exited (${prom.exitCode}): ${stderr}`);
        try {
          return (await httpGet(`${web}/-/ready`, { timeoutMs: 2_000 })).status === 200 ? true : undefined;
        } catch {
          return undefined; // not listening yet
        }
      },
      options.readyTimeoutMs ?? 30_000,
      200,
      () => `prometheus log: ${stderr}`,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    web,
    log: () => stderr,
    stop,
    query: async (q) => {
      const r = await httpGet(`${web}/api/v1/query?query=${encodeURIComponent(q)}`, { timeoutMs: 5_000 });
      const json = JSON.parse(r.body.toString()) as {
        status: string;
        error?: string;
        data?: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
      };
      if (json.status !== 'success') throw new Error(`query ${q}: ${json.error}`);
      return (json.data?.result ?? []).map((x) => ({ metric: x.metric, value: Number(x.value[1]) }));
    },
    targets: async () => {
      const json = JSON.parse((await httpGet(`${web}/api/v1/targets`)).body.toString()) as {
        data: { activeTargets: Array<{ health: string; lastError: string }> };
      };
      return json.data.activeTargets.map((t) => ({ health: t.health, lastError: t.lastError }));
    },
  };
}
