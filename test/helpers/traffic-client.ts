// Live client traffic through a VIP for kernel-tier tests (inside the VM only): one Node process in the client
// namespace opens a steady stream of new HTTP connections (and UDP queries), and keeps long-lived connections busy,
// while the test drives the director through its lifecycle. Outcomes are counted per phase: requests, failures by
// kind, answers by real server, long-lived connections broken. Traffic goes only to the lab the test built.
import { LineProcess } from './sync-lab';

/** What the client sends. */
export interface TrafficPlan {
  /** New HTTP connections: one GET each (`agent: false`), `perSecond` of them, answers `hello from NAME`. */
  readonly http?: readonly { readonly url: string; readonly perSecond: number }[];
  /** UDP queries, each from a new socket (a new flow for IPVS), answered with the real server's name. */
  readonly udp?: readonly { readonly host: string; readonly port: number; readonly perSecond: number }[];
  /** Long-lived keep-alive HTTP connections, each sending a GET every `everyMs` on the same connection. */
  readonly held?: readonly {
    readonly host: string;
    readonly port: number;
    readonly count: number;
    readonly everyMs: number;
  }[];
  /** A request or query without an answer by then counts as failed (`timeout`). Default 5000. */
  readonly timeoutMs?: number;
  /**
   * A new HTTP connection answered this late (ms) or later counts as `late` (answered, not failed), and its start
   * time is kept in {@link PhaseOutcome.disturbedStarts}: with 1000, the connections whose first SYN was lost (the
   * kernel sends the second one a second later). Unset: none is late.
   */
  readonly lateMs?: number;
}

/** Outcomes of one phase (requests are counted in the phase in which they started). */
export interface PhaseOutcome {
  readonly phase: string;
  readonly durationMs: number;
  readonly requests: number;
  readonly failed: number;
  /** Failures by kind: `ECONNREFUSED`, `ECONNRESET`, `timeout`, `status 503`, ... */
  readonly failures: Record<string, number>;
  /** Answers by real server name (`hello from NAME`). */
  readonly answeredBy: Record<string, number>;
  readonly udpQueries: number;
  readonly udpFailed: number;
  /** Long-lived connections broken during the phase, and the requests they made. */
  readonly heldBroken: number;
  readonly heldRequests: number;
  /** Epoch ms of each failure (first 200), for the real-failure window. */
  readonly failureTimes: readonly number[];
  /** Each long-lived connection broken: the real it was on, and why. */
  readonly heldLost: readonly string[];
  /** New HTTP connections answered, but after {@link TrafficPlan.lateMs}. */
  readonly late: number;
  /** Epoch ms at which each failed or late new HTTP connection started (first 2,000), in order of their outcome. */
  readonly disturbedStarts: readonly number[];
}

// argv: plan JSON. stdin: "phase NAME" | "report" | "quit". stdout: "ready", "held N", then one JSON line per report.
const CLIENT_JS = String.raw`
const http = require('node:http');
const dgram = require('node:dgram');
const net = require('node:net');
const plan = JSON.parse(process.argv[1]);
const timeoutMs = plan.timeoutMs || 5000;
const lateMs = plan.lateMs || 0;
const phases = [];
let current;
function newPhase(name) {
  current = { phase: name, start: Date.now(), end: 0, requests: 0, failed: 0, failures: {}, answeredBy: {}, udpQueries: 0, udpFailed: 0,
    heldBroken: 0, heldRequests: 0, failureTimes: [], heldLost: [], late: 0, disturbedStarts: [], pending: 0 };
  phases.push(current);
}
newPhase('warmup');
function fail(p, kind) {
  p.failed++;
  p.failures[kind] = (p.failures[kind] || 0) + 1;
  if (p.failureTimes.length < 200) p.failureTimes.push(Date.now());
}
function oneHttp(url) {
  const p = current;
  p.requests++;
  p.pending++;
  let done = false;
  const started = Date.now();
  const finish = (kind, name) => {
    if (done) return;
    done = true;
    p.pending--;
    const late = !kind && lateMs > 0 && Date.now() - started >= lateMs;
    if (late) p.late++;
    if ((kind || late) && p.disturbedStarts.length < 2000) p.disturbedStarts.push(started);
    if (kind) fail(p, kind); else p.answeredBy[name] = (p.answeredBy[name] || 0) + 1;
  };
  const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
    let b = '';
    res.setEncoding('utf8');
    res.on('data', (c) => { b += c; });
    res.on('end', () => {
      const m = /^hello from (\S+)/.exec(b);
      if (res.statusCode !== 200) finish('status ' + res.statusCode);
      else if (!m) finish('bad body');
      else finish(undefined, m[1]);
    });
    res.on('error', (e) => finish(e.code || 'response error'));
  });
  req.on('timeout', () => { req.destroy(); finish('timeout'); });
  req.on('error', (e) => finish(e.code || e.message));
}
function oneUdp(host, port) {
  const p = current;
  p.udpQueries++;
  p.pending++;
  const s = dgram.createSocket('udp4');
  let done = false;
  const finish = (ok) => {
    if (done) return;
    done = true;
    p.pending--;
    clearTimeout(timer);
    s.close();
    if (!ok) { p.udpFailed++; fail(p, 'udp timeout'); }
  };
  const timer = setTimeout(() => finish(false), timeoutMs);
  s.on('message', (m) => {
    const name = /^hello from (\S+)/.exec(m.toString());
    if (name) p.answeredBy[name[1] + '/udp'] = (p.answeredBy[name[1] + '/udp'] || 0) + 1;
    finish(!!name);
  });
  s.on('error', () => finish(false));
  s.send('hello\n', port, host);
}
const heldConns = [];
function hold(host, port, everyMs) {
  const c = { broken: false, name: undefined };
  heldConns.push(c);
  const s = net.connect(port, host);
  let buf = '';
  let waiting = false;
  let sentAt = 0;
  s.setEncoding('utf8');
  const ask = () => {
    if (c.broken) return;
    if (waiting) {
      if (Date.now() - sentAt > timeoutMs) breakIt('timeout');
      return;
    }
    waiting = true;
    sentAt = Date.now();
    current.heldRequests++;
    s.write('GET / HTTP/1.1\r\nHost: lab\r\nConnection: keep-alive\r\n\r\n');
  };
  const breakIt = (why) => {
    if (c.broken) return;
    c.broken = true;
    current.heldBroken++;
    current.heldLost.push((c.name || '?') + ' ' + why);
    fail(current, 'held ' + why);
    s.destroy();
  };
  s.on('connect', () => ask());
  s.on('data', (d) => {
    buf += d;
    const m = /hello from (\S+)\n/.exec(buf);
    if (!m) return;
    buf = '';
    waiting = false;
    if (!c.name) { c.name = m[1]; c.port = s.localPort; if (heldConns.every((h) => h.name || h.broken)) out('held ' + heldConns.map((h) => (h.name || 'broken') + ':' + (h.port || 0)).join(',')); }
  });
  s.on('error', (e) => breakIt(e.code || 'error'));
  s.on('close', () => breakIt('closed'));
  setInterval(ask, everyMs);
}
function out(line) { process.stdout.write(line + '\n'); }
for (const h of plan.http || []) setInterval(() => oneHttp(h.url), 1000 / h.perSecond);
for (const u of plan.udp || []) setInterval(() => oneUdp(u.host, u.port), 1000 / u.perSecond);
for (const h of plan.held || []) for (let i = 0; i < h.count; i++) hold(h.host, h.port, h.everyMs);
if (!(plan.held || []).length) out('held ');
const rl = require('node:readline').createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const [cmd, ...rest] = line.trim().split(' ');
  if (cmd === 'phase') { current.end = Date.now(); newPhase(rest.join(' ')); }
  else if (cmd === 'report') {
    current.end = Date.now();
    // Requests still running belong to their phases: wait (bounded) until they settle.
    const t0 = Date.now();
    const wait = () => {
      if (phases.some((p) => p.pending > 0) && Date.now() - t0 < timeoutMs + 1000) return setTimeout(wait, 50);
      out(JSON.stringify(phases.map(({ pending, start, end, ...p }) => ({ ...p, durationMs: (end || Date.now()) - start }))));
    };
    wait();
  } else if (cmd === 'quit') process.exit(0);
});
rl.on('close', () => process.exit(0));
out('ready');
`;

/** The running client. */
export class TrafficClient {
  private readonly proc: LineProcess;
  /** Names of the real servers the long-lived connections landed on, once known. */
  heldOn: string[] = [];
  /** The client ports of the long-lived connections, in the same order. */
  heldPorts: number[] = [];

  /** Starts the client in namespace `netns` (nothing else: traffic only to the lab). */
  constructor(netns: string, plan: TrafficPlan) {
    this.proc = new LineProcess('ip', [
      'netns',
      'exec',
      netns,
      process.execPath,
      '-e',
      CLIENT_JS,
      JSON.stringify(plan),
    ]);
  }

  /** Resolves once the client runs and every long-lived connection has its first answer. */
  async ready(ms = 60_000): Promise<void> {
    if ((await this.proc.next(ms)) !== 'ready') throw new Error('traffic client did not start');
    const held = await this.proc.next(ms);
    if (!held.startsWith('held')) throw new Error(`traffic client: ${held}`);
    const entries = held
      .slice(5)
      .split(',')
      .filter((n) => n !== '');
    this.heldOn = entries.map((e) => e.split(':')[0] as string);
    this.heldPorts = entries.map((e) => Number(e.split(':')[1]));
  }

  /** Starts a new phase: what starts from now on is counted under `name`. */
  phase(name: string): void {
    this.proc.send(`phase ${name}`);
  }

  /**
   * Runs one phase: marks it, runs `action` (the lifecycle step), prints how long that took (`figure: ...`), then lets
   * the traffic run `settleMs` more, so that what follows the step is counted in its phase too.
   */
  async runPhase(name: string, action: () => Promise<void>, settleMs: number): Promise<void> {
    this.phase(name);
    const t0 = Date.now();
    await action();
    console.log(`figure: phase ${name}: action done in ${Date.now() - t0} ms`);
    await new Promise((r) => setTimeout(r, settleMs));
  }

  /** Every phase so far (the current one ends now), once the requests in flight have settled. */
  async report(ms = 30_000): Promise<PhaseOutcome[]> {
    return JSON.parse(await this.proc.ask('report', ms)) as PhaseOutcome[];
  }

  /** Stops the client. */
  stop(): void {
    this.proc.send('quit');
    setTimeout(() => this.proc.kill(), 2_000).unref();
  }
}

/**
 * The longest stretch of time (seconds) over which new connections kept being disturbed (failed or late): the
 * disturbed start times are sorted and cut wherever two are more than `gapMs` apart; a stretch lasts from its first
 * start to its last plus one request period (`periodMs`). 0 when nothing was disturbed. Only part of the traffic
 * meets a failure (the flows a router sends to one director), so `gapMs` bridges the undisturbed ones in between.
 */
export function longestDisturbance(starts: readonly number[], gapMs: number, periodMs: number): number {
  const sorted = [...starts].sort((a, b) => a - b);
  let longest = 0;
  let first = sorted[0];
  for (let i = 0; i < sorted.length; i++) {
    const t = sorted[i] as number;
    const next = sorted[i + 1];
    if (next === undefined || next - t > gapMs) {
      longest = Math.max(longest, t - (first as number) + periodMs);
      first = next;
    }
  }
  return longest / 1000;
}

/** One line per phase, for the test output and `bench:traffic`: `traffic: lab=... phase=... requests=... failed=...`. */
export function phaseLine(lab: string, p: PhaseOutcome): string {
  const kinds = Object.entries(p.failures)
    .map(([k, n]) => `${k.replace(/\s+/g, '_')}:${n}`)
    .join(',');
  return (
    `traffic: lab=${lab} phase=${p.phase.replace(/\s+/g, '_')} seconds=${(p.durationMs / 1000).toFixed(1)} requests=${p.requests} ` +
    `failed=${p.failed - p.heldBroken - p.udpFailed} udp=${p.udpQueries} udp_failed=${p.udpFailed} held_requests=${p.heldRequests} ` +
    `held_broken=${p.heldBroken}${kinds ? ` kinds=${kinds}` : ''}`
  );
}

/** The per-phase table as Markdown (README, test output). */
export function phaseTable(lab: string, phases: readonly PhaseOutcome[]): string {
  const rows = phases.map(
    (p) =>
      `| ${lab} | ${p.phase} | ${p.requests} | ${p.failed - p.heldBroken - p.udpFailed} | ${p.udpQueries} / ${p.udpFailed} | ` +
      `${p.heldBroken} of ${p.heldRequests} | ${
        Object.entries(p.failures)
          .map(([k, n]) => `${k} ${n}`)
          .join(', ') || '-'
      } |`,
  );
  return [
    '| lab | phase | new connections | failed | UDP queries / failed | long-lived broken | failure kinds |',
    '|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}
