// `ldir probe [CONFIG] [--virtual VIP:PORT] [--json]`: runs every configured check once, now, without the kernel.
import { jobsFromConfig, checkDeadlineMs, type CheckTarget } from '../checks/jobs';
import { runCheck } from '../checks/dispatch';
import type { CheckerTable, CheckResult } from '../checks/types';
import type { LoadOptions } from '../config/load';
import type { LocateOptions } from '../config/locate';
import type { Config, VirtualService } from '../model';
import { ExitCode } from './exit-codes';
import type { CliIo } from './io';
import { loadForCli } from './load-for-cli';
import { SecretRedactor } from '../secrets';

/** Options of {@link runProbe}. */
export interface ProbeOptions {
  readonly config?: string;
  /** Only the virtual service written as `VIP:PORT`, `[VIP6]:PORT`, a firewall mark, or its id (`tcp:VIP:PORT`). */
  readonly virtual?: string;
  readonly json: boolean;
  readonly checkers: CheckerTable;
  /** Services this build cannot check, with the reason (refused at configuration time). */
  readonly unsupported?: (service: string) => string | undefined;
  readonly load?: LoadOptions;
  readonly locate?: LocateOptions;
  /** Checks run at once; default 256. */
  readonly concurrency?: number;
}

/** One line of the report. */
export interface ProbeRow {
  readonly virtual: string;
  readonly real: string;
  readonly check: string;
  readonly up: boolean | null;
  readonly reason: string;
  readonly durationMs: number;
}

/** True when `v` is the virtual service the operator named. */
export function matchesVirtual(v: VirtualService, wanted: string): boolean {
  const w = wanted.trim().toLowerCase();
  if (v.id.toLowerCase() === w) return true;
  if (v.fwmark !== undefined) return w === String(v.fwmark);
  const addr = v.family === 'inet6' ? `[${v.address}]` : v.address;
  return w === `${addr}:${v.port}`;
}

function checkName(t: CheckTarget): string {
  const j = t.job;
  if (j.type === 'negotiate' || j.type === 'combined')
    return `${j.type === 'combined' ? `combined(${t.connectsBetweenNegotiates}) ` : ''}negotiate/${j.service}`;
  return j.type;
}

/** Runs one target once (negotiate for combined checks), bounded by its deadline. */
async function probeOne(t: CheckTarget, checkers: CheckerTable): Promise<CheckResult | null> {
  if (t.job.type === 'off') return null;
  const kind = t.job.type === 'connect' || t.job.type === 'ping' ? 'connect' : 'negotiate';
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), checkDeadlineMs(t.job, kind) + 1000);
  try {
    return await runCheck(t.job, kind, controller.signal, checkers);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `fn` over `items` with at most `limit` in flight, keeping the order of results. */
async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Probes every check of `config` (restricted to one virtual service when asked). */
export async function probeConfig(
  config: Config,
  options: Pick<ProbeOptions, 'virtual' | 'checkers' | 'concurrency'>,
): Promise<ProbeRow[]> {
  const wanted = options.virtual;
  const keep = new Set(
    config.virtualServices.filter((v) => wanted === undefined || matchesVirtual(v, wanted)).map((v) => v.id),
  );
  const targets = jobsFromConfig(config).filter((t) => t.members.some((m) => keep.has(m.virtualId)));
  const results = await mapLimited(targets, options.concurrency ?? 256, (t) => probeOne(t, options.checkers));
  const rows: ProbeRow[] = [];
  targets.forEach((t, i) => {
    const r = results[i] ?? null;
    for (const m of t.members) {
      if (!keep.has(m.virtualId)) continue;
      rows.push({
        virtual: m.virtualId,
        real: m.realKey,
        check: checkName(t),
        up: r ? r.up : null,
        reason: r ? r.reason : 'checktype off: not checked',
        durationMs: r ? r.durationMs : 0,
      });
    }
  });
  const order = new Map(config.virtualServices.map((v, i) => [v.id, i]));
  return rows.sort((a, b) => (order.get(a.virtual) ?? 0) - (order.get(b.virtual) ?? 0));
}

/** The report for people: one line per real server, grouped by virtual service. */
export function formatProbe(rows: readonly ProbeRow[]): string {
  const lines: string[] = [];
  let current = '';
  for (const r of rows) {
    if (r.virtual !== current) {
      current = r.virtual;
      lines.push(current);
    }
    const state = r.up === null ? 'OFF ' : r.up ? 'UP  ' : 'DOWN';
    lines.push(
      `  ${r.real.padEnd(28)} ${state} ${r.check.padEnd(22)} ${`${r.durationMs.toFixed(0)} ms`.padStart(8)}  ${r.reason}`,
    );
  }
  return lines.length ? `${lines.join('\n')}\n` : 'no real servers to check\n';
}

/** `ldir probe`: exit 0 when every checked real server is up, 1 when any is down, 2 on a configuration error. */
export async function runProbe(options: ProbeOptions, io: CliIo): Promise<number> {
  const loaded = await loadForCli(options.config, io, options.load, options.locate);
  if ('exitCode' in loaded) return loaded.exitCode;
  const { config, located } = loaded;
  let refused = false;
  for (const v of config.virtualServices) {
    const why = options.unsupported?.(v.check.service);
    if (why && (v.check.type === 'negotiate' || v.check.type === 'combined')) {
      io.stderr(`${v.source.file}:${v.source.line}: service=${v.check.service} cannot be checked: ${why}\n`);
      refused = true;
    }
  }
  if (refused) return ExitCode.CONFIG_ERROR;
  if (
    options.virtual !== undefined &&
    !config.virtualServices.some((v) => matchesVirtual(v, options.virtual as string))
  ) {
    io.stderr(`ldir: no virtual service ${options.virtual} in ${located.path}\n`);
    return ExitCode.USAGE;
  }
  // A server may repeat a password in its refusal, which becomes the reason: hidden as everywhere (src/secrets.ts).
  const redactor = new SecretRedactor(loaded.secrets);
  const rows = (await probeConfig(config, options)).map((r) => ({ ...r, reason: redactor.text(r.reason) }));
  io.stdout(options.json ? `${JSON.stringify(rows, null, 2)}\n` : formatProbe(rows));
  return rows.some((r) => r.up === false) ? ExitCode.FAILURE : ExitCode.OK;
}
