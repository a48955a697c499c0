// `monitorfile` (per virtual): one line per check result, in ldirectord's format, for "when and why was it down".
import type { CheckRecord } from '../checks/scheduler';
import type { Logger } from '../log';
import type { Config } from '../model';
import { FileSink } from './file-sink';

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad2 = (n: number): string => String(n).padStart(2, '0');

/** Perl's scalar `localtime()`: `Sun Nov 22 08:10:00 2026` (day of month padded with a space). */
export function perlLocaltime(ms: number): string {
  const d = new Date(ms);
  return (
    `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())} ${d.getFullYear()}`
  );
}

/**
 * One monitorfile line as ldirectord's `service_set` writes it: `[localtime] [pid] REAL [up|down] MESSAGE`, where
 * REAL is the real's id with `:` runs turned into one space and `\` removed, and `%`, `|`, CR and LF in the message
 * are escaped as `%xx` (an empty message is `-`).
 */
export function monitorLine(at: number, pid: number, realKey: string, up: boolean, message: string): string {
  const real = realKey.replace(/:+/g, ' ').replace(/\\/g, '');
  const text = (message === '' ? '-' : message).replace(
    /[%|\r\n]/g,
    (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
  return `[${perlLocaltime(at)}] [${pid}] ${real} [${up ? 'up' : 'down'}] ${text}\n`;
}

/** Options of {@link MonitorFiles}. */
export interface MonitorFilesOptions {
  readonly logger: Logger;
  readonly pid?: number;
  /** Epoch milliseconds; default `Date.now`. */
  readonly now?: () => number;
}

/**
 * The monitorfiles of the configuration in force: each check result of a real is appended to the file of every
 * virtual service it serves that has one (kept open, reopened after rotation, never fatal: ldirectord dies here).
 */
export class MonitorFiles {
  private byVirtual = new Map<string, FileSink>();

  constructor(private readonly options: MonitorFilesOptions) {}

  /** Follows a new configuration: opens new files, closes those no longer named. */
  apply(config: Config): void {
    const next = new Map<string, FileSink>();
    const open = new Map([...this.byVirtual.values()].map((s) => [s.path, s]));
    for (const v of config.virtualServices) {
      if (!v.monitorFile) continue;
      const sink =
        open.get(v.monitorFile) ??
        [...next.values()].find((s) => s.path === v.monitorFile) ??
        new FileSink({
          path: v.monitorFile,
          format: 'json',
          mode: 0o644,
          // check lines never go anywhere else; problems (cannot open/write) go to the daemon log
          fallback: {
            write: (text) => {
              if (!text.startsWith('[')) this.options.logger.warn({ file: v.monitorFile }, text.trim());
            },
          },
        });
      next.set(v.id, sink);
    }
    const kept = new Set(next.values());
    for (const s of this.byVirtual.values()) if (!kept.has(s)) s.close();
    this.byVirtual = next;
  }

  /** Records one check result (scheduler `onCheck`). */
  record(r: CheckRecord): void {
    if (this.byVirtual.size === 0) return;
    const at = (this.options.now ?? Date.now)();
    for (const m of r.members) {
      const sink = this.byVirtual.get(m.virtualId);
      if (sink) sink.write(monitorLine(at, this.options.pid ?? process.pid, m.realKey, r.result.up, r.result.reason));
    }
  }

  /** Closes every file. */
  close(): void {
    for (const s of new Set(this.byVirtual.values())) s.close();
    this.byVirtual.clear();
  }
}
