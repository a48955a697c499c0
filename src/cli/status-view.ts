// Renders the daemon's StatusReport for `ldir status`: a table for people (80 columns) or JSON for programs.
import type {
  AnnounceStatus,
  CheckOutcome,
  EventRecord,
  HealthStatus,
  IpvsTimeoutHeldStatus,
  RealStatus,
  StateSyncStatus,
  StatusReport,
  VirtualStatus,
  WatchdogStatus,
} from '../daemon/protocol';

/** Options of {@link renderStatus}. */
export interface StatusViewOptions {
  /** Terminal width; the last column is shortened to fit. Default 80; `Infinity` never shortens (output to a pipe). */
  readonly width?: number;
}

/** Control characters (including ESC, so a check reason cannot drive the terminal) become `?`. */
function clean(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

/** Shortens `text` to `max` characters, ending with `...` when cut. */
function fit(text: string, max: number): string {
  if (text.length <= max) return text;
  return max <= 3 ? text.slice(0, max) : `${text.slice(0, max - 3)}...`;
}

/** A duration like `45s`, `3m12s`, `2h03m` or `3d04h` (negative durations count as 0). */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const two = (n: number): string => String(n).padStart(2, '0');
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${two(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${two(Math.floor(s / 60) % 60)}m`;
  return `${Math.floor(s / 86400)}d${two(Math.floor(s / 3600) % 24)}h`;
}

/** A check duration: `12ms` below one second, `1.5s` above. */
function formatCheckDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(1)}s`;
}

/** Milliseconds from ISO time `from` to ISO time `to`; undefined when either does not parse. */
function between(from: string, to: string): number | undefined {
  const d = Date.parse(to) - Date.parse(from);
  return Number.isNaN(d) ? undefined : d;
}

function eventText(label: string, event: EventRecord | null, now: string): string {
  if (event === null) return `${label}: never`;
  const ago = between(event.at, now);
  const when = ago === undefined ? event.at : `${formatDuration(ago)} ago`;
  const what = event.ok ? 'ok' : 'FAILED';
  return `${label} ${when}: ${what}${event.message ? ` (${clean(event.message)})` : ''}`;
}

/** The last check's reason and duration; marked `failed:`/`ok:` only when it disagrees with the health column. */
function checkText(check: CheckOutcome | null, health: RealStatus['health']): string {
  if (check === null) return '-';
  const mark = !check.up && health !== 'down' ? 'failed: ' : check.up && health !== 'up' ? 'ok: ' : '';
  return `${mark}${clean(check.reason)} (${formatCheckDuration(check.durationMs)})`;
}

/** True when the real has a runtime weight (`ldir weight`). */
const overridden = (r: RealStatus): boolean => r.override !== undefined && r.override !== null;

function realFlags(r: RealStatus): string {
  const rising = r.rising ? `RISING ${r.rising.successes}/${r.rising.needed}` : '';
  const ramp = r.slowStart ? `SLOWSTART ${r.slowStart.weight}/${r.slowStart.target}` : '';
  const reported = r.checkWeight != null ? `REPORTED ${r.checkWeight}` : '';
  const weight = overridden(r) ? `WEIGHT ${r.override}` : '';
  return [
    r.drained ? 'DRAINED' : '',
    r.draining ? 'DRAINING' : '',
    r.maintenance ? 'MAINT' : '',
    weight,
    rising,
    ramp,
    reported,
  ]
    .filter(Boolean)
    .join(',');
}

/** The FWD column: the method, with a gue real's port and a gue or gre real's checksums when not `nocsum` (`gue:6080,csum`). */
function forwardText(r: RealStatus): string {
  const port = r.tunnelPort != null ? `:${r.tunnelPort}` : '';
  const flags = r.tunnelFlags != null && r.tunnelFlags !== 'nocsum' ? `,${r.tunnelFlags}` : '';
  return `${r.forward}${port}${flags}`;
}

/** `ADDRESS:PORT` (`[V6]:PORT`); the address alone when the port is 0 (fwmark services). */
function realName(address: string, port: number): string {
  if (port === 0) return address;
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** The virtuals the health verdict names as refused by the kernel (`kernel-refused`). */
function refusedVirtuals(health: HealthStatus | undefined): ReadonlySet<string> {
  return new Set(health?.reasons.flatMap((r) => (r.code === 'kernel-refused' ? (r.virtuals ?? []) : [])) ?? []);
}

/**
 * The health line: `health: ok`, or the level in capitals and every reason (`health: DEGRADED: kernel-refused: ...`).
 * Undefined for a daemon before the verdict (issue 21).
 */
export function healthLine(health: HealthStatus | undefined): string | undefined {
  if (!health) return undefined;
  if (health.level === 'ok') return `health: ${clean(health.summary)}`;
  const reasons = health.reasons.map((r) => clean(r.message)).join('; ');
  return `health: ${health.level.toUpperCase()}: ${reasons || clean(health.summary)}`;
}

function virtualHeader(v: VirtualStatus, refused = false): string {
  const parts = [clean(v.id), `sched ${clean(v.scheduler)}`];
  if (v.persistent != null)
    parts.push(`persistent ${v.persistent}s${v.persistenceEngine != null ? ` pe ${clean(v.persistenceEngine)}` : ''}`);
  parts.push(`${v.realsUp}/${v.realsTotal} up`);
  const q = v.quorum;
  if (q?.configured === true) {
    const band = q.hysteresis > 0 ? `±${q.hysteresis}` : '';
    parts.push(
      `quorum ${q.serving}/${q.quorum}${band} ${q.state === 'up' ? 'met' : q.state === 'down' ? 'LOST' : 'pending'}`,
    );
  }
  if (v.fallbackActive && v.fallback) parts.push(`FALLBACK ${realName(v.fallback.address, v.fallback.port)}`);
  if (v.draining) parts.push('DRAINING');
  if (refused) parts.push('KERNEL REFUSED');
  return parts.join('  ');
}

/** The table of one virtual service: one row per real server. */
function virtualBlock(v: VirtualStatus, now: string, width: number, refused = false): string[] {
  const lines = [virtualHeader(v, refused)];
  if (v.reals.length === 0) return [...lines, '  (no real servers)'];
  const rows = v.reals.map((r) => {
    const since = r.since === null ? undefined : between(r.since, now);
    return {
      real: clean(realName(r.address, r.port)),
      forward: forwardText(r),
      health: r.health,
      weight: `${r.weight}/${r.kernelWeight === null ? '-' : r.kernelWeight}`,
      for: since === undefined ? '-' : formatDuration(since),
      flags: realFlags(r),
      check: checkText(r.lastCheck, r.health),
    };
  });
  const w = {
    real: Math.max(4, ...rows.map((r) => r.real.length)),
    forward: Math.max(4, ...rows.map((r) => r.forward.length)),
    health: Math.max(6, ...rows.map((r) => r.health.length)),
    weight: Math.max(6, ...rows.map((r) => r.weight.length)),
    for: Math.max(3, ...rows.map((r) => r.for.length)),
    flags: Math.max(...rows.map((r) => r.flags.length)),
  };
  const withFlags = w.flags > 0;
  if (withFlags) w.flags = Math.max(5, w.flags);
  const line = (c: {
    real: string;
    forward: string;
    health: string;
    weight: string;
    for: string;
    flags: string;
    check: string;
  }): string => {
    const head =
      `  ${c.real.padEnd(w.real)}  ${c.forward.padEnd(w.forward)}  ${c.health.padEnd(w.health)}  ${c.weight.padStart(w.weight)}  ` +
      `${c.for.padEnd(w.for)}  ${withFlags ? `${c.flags.padEnd(w.flags)}  ` : ''}`;
    const room = width - head.length;
    return `${head}${room >= 12 ? fit(c.check, room) : c.check}`.trimEnd();
  };
  lines.push(
    line({
      real: 'REAL',
      forward: 'FWD',
      health: 'HEALTH',
      weight: 'WEIGHT',
      for: 'FOR',
      flags: 'FLAGS',
      check: 'LAST CHECK',
    }),
  );
  for (const r of rows) lines.push(line(r));
  return lines;
}

const ROLE_SOURCE: Readonly<Record<StateSyncStatus['roleSource'], string>> = {
  config: 'syncrole',
  adopted: 'taken over from the kernel',
  command: 'promote/demote',
};

/**
 * The connection sync line: the role, where it came from and for how long, and what the kernel runs. Undefined for a
 * director that has neither sync configured nor a role (nothing to say, and the view stays as it was before sync).
 */
export function syncLine(s: StateSyncStatus | undefined, now: string): string | undefined {
  if (!s || (!s.configured && s.role === 'none')) return undefined;
  const since = s.since === null ? undefined : between(s.since, now);
  const role = `sync: role ${s.role}${since === undefined ? '' : ` for ${formatDuration(since)}`} (${ROLE_SOURCE[s.roleSource]})`;
  if (!s.configured) return `${role}; no sync daemon (syncinterface not configured)`;
  const running = s.daemons
    .filter((d) => d.running)
    .map((d) => {
      const group =
        d.group === null ? '' : `, ${d.group.includes(':') ? `[${clean(d.group)}]` : clean(d.group)}:${d.port ?? '?'}`;
      return `${d.state} on ${clean(d.interface ?? '?')} id ${d.syncId ?? '?'}${group}${d.matches ? '' : ' (NOT as configured)'}`;
    });
  const missing = s.daemons.filter((d) => d.wanted && !d.running).map((d) => `${d.state} NOT running`);
  const kernel = [...running, ...missing].join(', ') || (s.checkedAt === null ? 'not looked at yet' : 'none');
  const error = !s.ok && s.lastError ? ` (${clean(s.lastError.message)})` : '';
  return `${role}; kernel sync daemon: ${kernel}${error}`;
}

/**
 * The IPVS timeouts line: each timeout ldir holds with the value it found, and what happens to it at stop. Undefined
 * when ldir holds none (no `ipvstimeouts`, or a daemon before it).
 */
export function timeoutsLine(held: readonly IpvsTimeoutHeldStatus[] | undefined): string | undefined {
  if (!held || held.length === 0) return undefined;
  const atStop = (restore: boolean): string => (restore ? 'restored at stop' : 'left at stop');
  const same = held.every((t) => t.restore === held[0]?.restore);
  const items = held.map((t) => `${t.timeout} ${t.value}s (found ${t.found}s${same ? '' : `, ${atStop(t.restore)}`})`);
  return `ipvs timeouts: ${items.join(', ')}${same ? `; ${atStop(held[0]?.restore ?? false)}` : ''}`;
}

const ANNOUNCE_REASON_TEXT: Readonly<Record<AnnounceStatus['virtuals'][number]['reason'], string>> = {
  serving: 'can serve',
  'not-serving': 'below quorum',
  'announce-delay': 'announcedelay',
  'withdraw-delay': 'withdrawdelay',
  'not-decided': 'quorum not decided yet',
};

/**
 * Route health injection lines: the driver with what it announces (and the last error), then one line per announced
 * virtual: `announced`, `withdrawn`, `pending announce in Ns`, `pending withdraw in Ns`, with the reason. None when
 * no virtual is announced.
 */
export function announceLines(a: AnnounceStatus | undefined): string[] {
  if (!a) return [];
  const head =
    `announce: ${clean(a.driver)}; announced ${a.announced.length === 0 ? 'nothing' : a.announced.map(clean).join(', ')}` +
    `; guard ${a.guard}${a.lastError !== null ? `; ERROR ${clean(a.lastError)}` : ''}`;
  return [
    head,
    ...a.virtuals.map((v) => {
      const state =
        v.state === 'pending-announce' || v.state === 'pending-withdraw'
          ? `pending ${v.state === 'pending-announce' ? 'announce' : 'withdraw'} in ${v.dueInS ?? 0}s`
          : v.state;
      return `  ${clean(v.virtualId)} ${clean(v.prefix)}: ${state} (${ANNOUNCE_REASON_TEXT[v.reason] ?? clean(v.reason)})`;
    }),
  ];
}

/** Seconds as the view shows them: `12.5s` below a minute (to 0.1 s: close to a limit the tenth matters), else `3m12s`, `1d02h`. */
const secs = (s: number): string => (s < 60 ? `${s}s` : formatDuration(s * 1000));

/**
 * The watchdog's lines when it fails (none when ok, or from a daemon without one): one per reason, the worst real
 * of `checks-overdue` on a line of its own (its name can be long).
 */
export function watchdogLines(w: WatchdogStatus | undefined): string[] {
  if (!w || w.ok) return [];
  if (w.reasons.length === 0) return ['WATCHDOG FAILING'];
  return w.reasons.flatMap((r) => {
    if (r.code === 'checks-overdue' && r.reals !== undefined && r.worst) {
      return [
        `WATCHDOG: checks-overdue: ${r.reals} real${r.reals === 1 ? '' : 's'} without result, worst ${secs(r.ageSeconds)} (limit ${secs(r.limitSeconds)}):`,
        `  ${clean(r.worst.virtual)} ${clean(r.worst.real)}`,
      ];
    }
    if (r.code === 'engine-stalled')
      return [
        `WATCHDOG: engine-stalled: no kernel sync pass for ${secs(r.ageSeconds)} (limit ${secs(r.limitSeconds)})`,
      ];
    return [`WATCHDOG: ${clean(r.message)}`];
  });
}

/**
 * Renders a status report for people: the daemon in two lines (then its health verdict, `health: ok|DEGRADED|FAILING`
 * with the reasons, and the watchdog's lines when it fails: checks overdue, engine stalled), then one block per virtual service with one row per real server (address:port,
 * forwarding, health, weight configured/kernel, time in state, flags: DRAINED, DRAINING, MAINT, WEIGHT n for a
 * runtime weight, RISING n/N; last check). Fits
 * `width` columns (the last-check column is shortened); every string from the daemon has its control characters
 * replaced.
 */
export function renderStatus(report: StatusReport, options: StatusViewOptions = {}): string {
  const width = options.width ?? 80;
  const now = report.generatedAt;
  const d = report.daemon;
  const uptime = between(d.startedAt, now);
  // "running" on stdout: Heartbeat v1 decides that it holds a resource by matching *running* in `status` stdout.
  const lines = [
    fit(
      `ldir running, pid ${d.pid}, up ${uptime === undefined ? '?' : formatDuration(uptime)}, config ${clean(d.configFile)}`,
      width,
    ),
    ...(d.includedFiles !== undefined && d.includedFiles.length > 0
      ? [
          fit(
            `included: ${d.includedFiles.length} file${d.includedFiles.length === 1 ? '' : 's'}: ${d.includedFiles.map(clean).join(', ')}`,
            width,
          ),
        ]
      : []),
    ...[healthLine(d.health)].filter((l): l is string => l !== undefined).map((l) => fit(l, width)),
    ...watchdogLines(d.watchdog).map((l) => fit(l, width)),
    ...(d.backend.inMemory ? [fit('WARNING: in-memory IPVS backend, the kernel table is NOT changed', width)] : []),
    fit(
      `kernel: ${clean(d.backend.name)}; ${eventText('last sync', d.lastSync, now)}` +
        (d.kernelOps
          ? `; ${d.kernelOps.applied} ops applied, ${d.kernelOps.failed} refused, ${d.kernelOps.driftRepairs} repairs`
          : ''),
      width,
    ),
    fit(eventText('last reload', d.lastReload, now), width),
  ];
  const sync = syncLine(d.stateSync, now);
  if (sync !== undefined) lines.push(fit(sync, width));
  const timeouts = timeoutsLine(d.ipvsTimeouts);
  if (timeouts !== undefined) lines.push(fit(timeouts, width));
  for (const l of announceLines(d.announce)) lines.push(fit(l, width));
  if (report.virtualServices.length === 0) {
    lines.push('', 'no virtual services');
  } else {
    const refused = refusedVirtuals(d.health);
    for (const v of report.virtualServices) lines.push('', ...virtualBlock(v, now, width, refused.has(v.id)));
    lines.push('', fit('WEIGHT = configured/kernel (- = not in kernel); FOR = time in health state', width));
    if (report.virtualServices.some((v) => v.reals.some(overridden))) {
      lines.push(fit('flag WEIGHT n = runtime weight (ldir weight VIRTUAL REAL N; reset to undo)', width));
    }
  }
  lines.push(...eventLines(report.events, now, width));
  return `${lines.join('\n')}\n`;
}

/** Events the text view lists (the JSON and the status page carry every one the daemon keeps). */
export const STATUS_VIEW_EVENTS = 5;

/** The last {@link STATUS_VIEW_EVENTS} events, newest last, with their age; none without events. */
export function eventLines(events: StatusReport['events'], now: string, width: number): string[] {
  if (!events || events.length === 0) return [];
  const shown = events.slice(-STATUS_VIEW_EVENTS);
  const head = `recent events (last ${shown.length} of ${events.length}; all in --json and on the status page):`;
  return [
    '',
    fit(head, width),
    ...shown.map((e) => {
      const age = between(e.at, now);
      return fit(
        `  ${(age === undefined ? '?' : `${formatDuration(age)} ago`).padEnd(9)} ${e.ok ? 'ok     ' : 'PROBLEM'} ${clean(e.text)}`,
        width,
      );
    }),
  ];
}

/** The report as `--json` prints it: the daemon's report as is, indented, one trailing newline. */
export function renderStatusJson(report: StatusReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
