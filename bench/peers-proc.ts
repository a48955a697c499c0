// What `npm run bench:peers` reads from /proc without starting a process: the CPU time and memory of a peer's process
// tree (/proc/PID/stat, /proc/PID/status, per thread /proc/PID/task/TID/stat), and the weight of one destination in
// /proc/net/ip_vs (read every 10 ms while a failure is being detected, so it must stay cheap under emulation).
import * as fs from 'node:fs';

/**
 * Clock ticks per second of the times in /proc/PID/stat. USER_HZ is 100 on every Linux architecture ldir runs on
 * (x86, arm64), whatever the kernel's own HZ; Node has no sysconf(_SC_CLK_TCK) to ask.
 */
export const CLOCK_TICKS_PER_S = 100;

/** The fields of one /proc/PID/stat (or task stat) line that the benchmark uses; times in clock ticks. */
export interface StatLine {
  readonly pid: number;
  readonly comm: string;
  readonly ppid: number;
  readonly utime: number;
  readonly stime: number;
  /** Time of children that exited and were waited for (a fork-per-check peer shows its checks here). */
  readonly cutime: number;
  readonly cstime: number;
}

/**
 * Parses a /proc/PID/stat line. The command name is in parentheses and may hold spaces and parentheses itself, so
 * the fields are counted from the last `)`. Undefined when the text is not such a line.
 */
export function parseStat(text: string): StatLine | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  // After ")": state(3) ppid(4) pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime(14) stime(15)
  // cutime(16) cstime(17); index = field - 3.
  const f = text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  const n = (i: number): number => Number(f[i]);
  const line = {
    pid: Number(text.slice(0, open).trim()),
    comm: text.slice(open + 1, close),
    ppid: n(1),
    utime: n(11),
    stime: n(12),
    cutime: n(13),
    cstime: n(14),
  };
  return [line.pid, line.ppid, line.utime, line.stime, line.cutime, line.cstime].every(Number.isFinite)
    ? line
    : undefined;
}

function readStat(path: string): StatLine | undefined {
  try {
    return parseStat(fs.readFileSync(path, 'utf8'));
  } catch {
    return undefined; // the process or thread exited meanwhile
  }
}

/** Every process now: pid → its stat line. */
function allProcesses(): Map<number, StatLine> {
  const out = new Map<number, StatLine>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(`/proc/${name}/stat`);
    if (s) out.set(s.pid, s);
  }
  return out;
}

/** `root` and all its descendants alive now, root first. */
export function processTree(root: number): StatLine[] {
  const all = allProcesses();
  const top = all.get(root);
  if (!top) return [];
  const children = new Map<number, StatLine[]>();
  for (const s of all.values()) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s]);
  const out: StatLine[] = [];
  const queue = [top];
  for (let i = 0; i < queue.length && i < 100_000; i++) {
    const s = queue[i] as StatLine;
    out.push(s);
    queue.push(...(children.get(s.pid) ?? []));
  }
  return out;
}

/** CPU and memory of a process tree at one instant. */
export interface TreeSample {
  /** Monotonic milliseconds when it was taken. */
  readonly atMs: number;
  readonly pids: readonly number[];
  /** utime + cutime of every process, in clock ticks. */
  readonly userTicks: number;
  /** stime + cstime of every process, in clock ticks. */
  readonly sysTicks: number;
  /** Sum of VmRSS, kB. */
  readonly rssKb: number;
  /** Of which anonymous memory (heaps, stacks), kB; the rest is mostly mapped files (the binary's pages). */
  readonly rssAnonKb: number;
  /** CPU ticks (user + system) of every thread of the tree, by a label stable between samples (see threadTicks). */
  readonly threads: ReadonlyMap<string, number>;
  /** Of which system time (stime), by the same labels. */
  readonly threadsSys: ReadonlyMap<string, number>;
  /** Context switches (voluntary + involuntary) of every thread of the tree: how often its threads went to sleep and woke. */
  readonly switches: number;
}

/** Numeric fields of a /proc status file (`VmRSS`, `RssAnon`, `voluntary_ctxt_switches`...), 0 each when it is gone. */
function statusFields(file: string, names: readonly string[]): number[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return names.map(() => 0);
  }
  return names.map((name) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0));
}

/** Voluntary + involuntary context switches of one thread (0 when it exited). */
function threadSwitches(pid: number, tid: string): number {
  const [v = 0, n = 0] = statusFields(`/proc/${pid}/task/${tid}/status`, [
    'voluntary_ctxt_switches',
    'nonvoluntary_ctxt_switches',
  ]);
  return v + n;
}

/** RssAnon of `pid` in kB (0 when it exited). */
function rssAnonKb(pid: number): number {
  return statusFields(`/proc/${pid}/status`, ['RssAnon'])[0] ?? 0;
}

/** VmRSS of `pid` in kB (0 when it exited). */
export function rssKb(pid: number): number {
  return statusFields(`/proc/${pid}/status`, ['VmRSS'])[0] ?? 0;
}

/**
 * Adds the CPU ticks of every thread of `pid` to `into` (and returns the threads' context switches), by a label
 * that stays the same between two samples: `main` for the main thread of the tree's root, `COMM-child` for a child process's main thread, `COMM+N` for the thread
 * whose id is the process's plus N. Node names every thread `node`; the offsets tell its JavaScript thread from V8's
 * platform workers (the first few), libuv's pool and the native addon's probe thread (the last ones).
 */
function threadTicks(pid: number, root: number, into: Map<string, number>, intoSys: Map<string, number>): number {
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return 0;
  }
  let switches = 0;
  for (const tid of tids) {
    switches += threadSwitches(pid, tid);
    const t = readStat(`/proc/${pid}/task/${tid}/stat`);
    if (!t) continue;
    const label = t.pid !== pid ? `${t.comm}+${t.pid - pid}` : pid === root ? 'main' : `${t.comm}-child`;
    into.set(label, (into.get(label) ?? 0) + t.utime + t.stime);
    intoSys.set(label, (intoSys.get(label) ?? 0) + t.stime);
  }
  return switches;
}

/**
 * Samples the tree under `root`. The times of a process include all its threads; cutime/cstime add its children
 * that exited (fork-per-check designs), so the sum covers every process the peer ran.
 */
export function sampleTree(root: number): TreeSample {
  const atMs = performance.now();
  const tree = processTree(root);
  const threads = new Map<string, number>();
  const threadsSys = new Map<string, number>();
  let switches = 0;
  for (const s of tree) switches += threadTicks(s.pid, root, threads, threadsSys);
  return {
    atMs,
    pids: tree.map((s) => s.pid),
    userTicks: tree.reduce((a, s) => a + s.utime + s.cutime, 0),
    sysTicks: tree.reduce((a, s) => a + s.stime + s.cstime, 0),
    rssKb: tree.reduce((a, s) => a + rssKb(s.pid), 0),
    rssAnonKb: tree.reduce((a, s) => a + rssAnonKb(s.pid), 0),
    threads,
    threadsSys,
    switches,
  };
}

/** `10.201.1.1`, 80 → `0AC90101:0050`: an IPv4 destination as /proc/net/ip_vs prints it. */
export function procHex(address: string, port: number): string {
  const hex = address
    .split('.')
    .map((o) => Number(o).toString(16).padStart(2, '0'))
    .join('');
  return `${hex}:${port.toString(16).padStart(4, '0')}`.toUpperCase();
}

/**
 * The weight of destination `destHex` ({@link procHex}) in /proc/net/ip_vs text, or undefined when it is not listed.
 * A string search instead of a parse of every line: the benchmark polls it every 10 ms with 1,000 destinations.
 */
export function destinationWeight(text: string, destHex: string): number | undefined {
  const at = text.indexOf(`-> ${destHex} `);
  if (at < 0) return undefined;
  const m = /^-> \S+\s+\S+\s+(\d+)/.exec(text.slice(at, at + 200));
  return m ? Number(m[1]) : undefined;
}

/** The weight of `destHex` in the kernel table now ({@link destinationWeight} on /proc/net/ip_vs). */
export function kernelWeight(destHex: string): number | undefined {
  return destinationWeight(fs.readFileSync('/proc/net/ip_vs', 'latin1'), destHex);
}
