// Where the machine spends its CPU, kernel included, by thread and function: `perf record` (the cpu-clock software
// event, so it works under emulation, where no hardware counter exists) on every CPU for a while, then
// `perf report` by thread name and symbol. Used by bench:peers (BENCH_PEERS_PERF=1) to compare ldir's probe thread
// with keepalived's checker inside the kernel, where most of both peers' time goes.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** One symbol's share of the samples. */
export interface PerfSymbol {
  readonly percent: number;
  readonly thread: string;
  readonly symbol: string;
}

/** Parses `perf report --stdio --no-children --sort comm,sym` lines (`  12.34%  ldir-probe  [k] tcp_v4_connect`). */
export function parsePerfReport(text: string): PerfSymbol[] {
  const out: PerfSymbol[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*([\d.]+)%\s+(\S+)\s+\[[k.]\]\s+(\S+)/.exec(line);
    if (m) out.push({ percent: Number(m[1]), thread: m[2] ?? '', symbol: m[3] ?? '' });
  }
  return out;
}

function runTool(
  cmd: string,
  args: readonly string[],
  timeoutMs: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout, stderr: stderr + String(err) });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Samples every CPU for `seconds` at `hz` (system-wide: `perf record -p` on a busy process did not finish under
 * emulation); resolves with the thread/symbol pairs above `minPercent` of the samples, or throws with perf's own words
 * when it cannot sample. `label` names the data file.
 */
export async function samplePerf(
  label: string,
  seconds: number,
  dir: string,
  hz = 499,
  minPercent = 0.5,
): Promise<PerfSymbol[]> {
  const file = path.join(dir, `perf-${label.replace(/[^\w.-]/g, '_')}.data`);
  const rec = await runTool(
    'perf',
    ['record', '-q', '-a', '-e', 'cpu-clock', '-F', String(hz), '-o', file, '--', 'sleep', String(seconds)],
    (seconds + 120) * 1000,
  );
  if (rec.code !== 0 || !fs.existsSync(file))
    throw new Error(`perf record failed (${rec.code}): ${rec.stderr.trim().slice(-400)}`);
  const rep = await runTool(
    'perf',
    ['report', '--stdio', '--no-children', '--sort', 'comm,sym', '--percent-limit', String(minPercent), '-i', file],
    120_000,
  );
  if (rep.code !== 0) throw new Error(`perf report failed (${rep.code}): ${rep.stderr.trim().slice(-400)}`);
  return parsePerfReport(rep.stdout);
}
