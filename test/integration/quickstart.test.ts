// The quick start (`npm run quickstart`, scripts/quickstart.ts) as a newcomer runs it: checks, table, status and
// metrics in its output, exit 0 well within a minute, nothing left behind; Ctrl-C (SIGINT) midway cleans up too.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { test } from 'node:test';

const ROOT = path.resolve(__dirname, '../../..');
const SCRIPT = path.join(ROOT, 'dist', 'scripts', 'quickstart.js');
const MAIN = path.join(ROOT, 'dist', 'src', 'main.js');

/**
 * On a machine whose kernel IPVS table ldir can use (root, ip_vs loaded) a test must not add services to the host's
 * table: the quick start is told `--ipvs=memory` there. Elsewhere it runs as the README says, and falls back to memory.
 */
function quickstartArgs(): string[] {
  const info = spawnSync(process.execPath, [MAIN, 'ipvs', '--ipvs=auto', 'info'], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  return info.status === 0 ? ['--ipvs=memory'] : [];
}

interface Finished {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly output: string;
  readonly ms: number;
}

/** Runs the quick start; `onOutput` sees the output so far and may signal the process. Killed after 60 s. */
function runQuickstart(args: string[], onOutput?: (text: string, pid: number) => void): Promise<Finished> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, [SCRIPT, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const take = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      onOutput?.(output, child.pid as number);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output, ms: Date.now() - t0 });
    });
  });
}

/** True while `pid` is a live process (not a zombie). */
function alive(pid: number): boolean {
  try {
    return !/^\S+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Waits up to `ms` for `pid` to be gone. */
async function gone(pid: number, ms = 3000): Promise<boolean> {
  for (let i = 0; i < ms / 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
  return !alive(pid);
}

/** True when something accepts connections at host:port. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const settle = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => settle(false));
    s.once('connect', () => settle(true));
    s.once('error', () => resolve(false));
  });
}

/** The parts of the output the checks below need. */
function parse(output: string): { tmp: string; daemonPid: number; web1Port: number } {
  const tmp = /Temporary pid file and control socket: (\S+)/.exec(output)?.[1];
  const daemonPid = /ldir started: pid (\d+)/.exec(output)?.[1];
  const web1Port = /web1 {2}http:\/\/127\.0\.0\.21:(\d+)\//.exec(output)?.[1];
  assert.ok(tmp && daemonPid && web1Port, `unexpected output:\n${output}`);
  return { tmp, daemonPid: Number(daemonPid), web1Port: Number(web1Port) };
}

test("npm run quickstart is the README's first command and runs the compiled script", () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  assert.equal(pkg.scripts['quickstart'], 'node dist/scripts/quickstart.js');
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const firstCommand = /## Two commands[\s\S]*?```sh\n(.*)\n```/.exec(readme)?.[1];
  assert.equal(firstCommand, 'npm install && npm run quickstart');
  assert.ok(fs.existsSync(path.join(ROOT, 'conf', 'quickstart.cf')));
});

test('the quick start shows checks, the table, status and metrics, then stops everything (exit 0, < 45 s)', {
  timeout: 90_000,
}, async () => {
  const r = await runQuickstart(quickstartArgs());
  const o = r.output;
  assert.equal(r.code, 0, o);
  assert.ok(r.ms < 45_000, `took ${r.ms} ms`);

  // Kernel or memory, said loudly.
  assert.match(
    o,
    /IPVS table: (IN MEMORY\. This machine's kernel IPVS table cannot be used here|in memory \(--ipvs=memory asked\))/,
  );
  assert.match(o, /== \$ ldir --foreground --ipvs=memory \S*quickstart\.cf start/);
  // Checks came in, as the daemon logged them: the broken web3 and the refused api1 down, the others up.
  assert.match(o, /check: 127\.0\.0\.21:\d+ of tcp:127\.0\.0\.80:80 unknown -> up \(status 200, body matched\)/);
  assert.match(o, /check: 127\.0\.0\.23:\d+ of tcp:127\.0\.0\.80:80 unknown -> down \(status 503\)/);
  assert.match(o, /check: 127\.0\.0\.24:\d+ of tcp:127\.0\.0\.81:80 unknown -> down \(refused\)/);
  assert.match(o, /no real server up: fallback in/);
  // ldir status: the table with configured/kernel weights, the fallback, the in-memory warning.
  assert.match(o, /== \$ ldir \S*quickstart\.cf status/);
  assert.match(o, /is running with pid: \d+/);
  assert.match(o, /WARNING: in-memory IPVS backend, the kernel table is NOT changed/);
  assert.match(o, /tcp:127\.0\.0\.80:80 {2}sched wlc {2}2\/3 up/);
  assert.match(o, /127\.0\.0\.21:\d+ +masq +up +10\/10 /);
  assert.match(o, /127\.0\.0\.23:\d+ +masq +down +5\/0 /);
  assert.match(o, /tcp:127\.0\.0\.81:80 {2}sched rr {2}0\/1 up {2}FALLBACK 127\.0\.0\.21:\d+/);
  // /metrics of the running daemon.
  assert.match(o, /ldir_real_server_up\{virtual="tcp:127\.0\.0\.80:80",real="127\.0\.0\.23:\d+"\} 0/);
  assert.match(o, /ldir_real_server_up\{virtual="tcp:127\.0\.0\.80:80",real="127\.0\.0\.21:\d+"\} 1/);
  assert.match(o, /ldir_virtual_fallback_active\{virtual="tcp:127\.0\.0\.81:80"\} 1/);
  assert.match(o, /\/healthz answers 200/);
  // The repair comes through, then stop waits for the daemon's cleanup.
  assert.match(o, /check: 127\.0\.0\.23:\d+ of tcp:127\.0\.0\.80:80 down -> up/);
  assert.match(o, /tcp:127\.0\.0\.80:80: 3\/3 real servers up/);
  assert.match(o, /== \$ ldir \S*quickstart\.cf stop/);
  assert.match(o, /stopped \(exit 0\); the daemon exited with status 0/);
  assert.match(o, /Done in \d+\.\d s\./);

  // Nothing left behind.
  const { tmp, daemonPid, web1Port } = parse(o);
  assert.equal(fs.existsSync(tmp), false, `${tmp} removed`);
  assert.ok(await gone(daemonPid), `daemon pid ${daemonPid} gone`);
  assert.equal(await accepts('127.0.0.21', web1Port), false, 'the real servers are closed');
});

test('Ctrl-C (SIGINT) midway stops the daemon and the servers and removes the temporary directory', {
  timeout: 90_000,
}, async () => {
  let sent = false;
  const r = await runQuickstart(quickstartArgs(), (text, pid) => {
    if (!sent && /ldir started: pid \d+/.test(text)) {
      sent = true;
      process.kill(pid, 'SIGINT');
    }
  });
  assert.ok(sent, r.output);
  assert.equal(r.code, 130, r.output);
  assert.ok(r.ms < 30_000, `took ${r.ms} ms`);
  assert.match(r.output, /Interrupted \(SIGINT\): stopping the daemon and the servers/);
  assert.match(r.output, /quick start ended after [\d.]+ s \(exit 130\)/);
  const { tmp, daemonPid, web1Port } = parse(r.output);
  assert.equal(fs.existsSync(tmp), false, `${tmp} removed`);
  assert.ok(await gone(daemonPid), `daemon pid ${daemonPid} gone`);
  assert.equal(await accepts('127.0.0.21', web1Port), false, 'the real servers are closed');
});
