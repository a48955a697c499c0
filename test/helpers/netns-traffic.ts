// Client traffic through the director of a netns lab (test/helpers/netns-lab.ts): bursts of HTTP/HTTPS requests to
// the VIP, one new connection each, and a connection held open to one chosen real server.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { NatLab } from './netns-lab';

// argv: url count timeoutMs. Sequential GETs, each on a new connection (agent: false), certificate not verified (the
// lab's is self-signed); prints one line per request: the body's first line, or "error <message>".
const BURST_JS = `
const [url, count, timeoutMs] = process.argv.slice(1);
const mod = require(url.startsWith('https:') ? 'node:https' : 'node:http');
function one() {
  return new Promise((resolve) => {
    const req = mod.get(url, { agent: false, rejectUnauthorized: false, timeout: Number(timeoutMs) }, (res) => {
      let b = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { b += c; });
      res.on('end', () => resolve(b.split('\\n')[0]));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve('error ' + e.message));
  });
}
(async () => { for (let i = 0; i < Number(count); i++) process.stdout.write((await one()) + '\\n'); })();
`;

/**
 * Runs `count` GETs of `url` from the client namespace, each on a new connection (so the director schedules each),
 * and resolves with the first line of each answer (`hello from <ns>`), or `error <message>` for a failed request
 * (one that got no answer within `requestTimeoutMs`, default 5 s).
 */
export function clientBurst(
  lab: Pick<NatLab, 'clientNetns'>,
  url: string,
  count: number,
  timeoutMs = 120_000,
  requestTimeoutMs = 5_000,
): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'ip',
      [
        'netns',
        'exec',
        lab.clientNetns,
        process.execPath,
        '-e',
        BURST_JS,
        url,
        String(count),
        String(requestTimeoutMs),
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`client burst to ${url} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`client burst to ${url} exited ${code}: ${err}`));
      else resolve(out.split('\n').filter((l) => l !== ''));
    });
  });
}

/** Counts the answers of a burst by the server name in them (`hello from X` → X); errors under `error`. */
export function countAnswers(answers: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const a of answers) {
    const name = /^hello from (\S+)/.exec(a)?.[1] ?? 'error';
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return counts;
}

// argv: host port target tries. Opens connections to host:port, sends one keep-alive GET on each and closes those
// answered by another server than `target`; the one answered by `target` is kept open ("held <target>") until a
// line arrives on stdin, then closed with a FIN ("closed"), or with a RST when the line is "reset". "failed ..." when
// `tries` connections did not reach it.
const HOLD_JS = `
const net = require('node:net');
const [host, port, target, tries] = process.argv.slice(1);
let attempt = 0;
let held;
function next() {
  if (attempt++ >= Number(tries)) { process.stdout.write('failed after ' + tries + ' connections\\n'); process.exit(1); }
  const s = net.connect(Number(port), host, () => s.write('GET / HTTP/1.1\\r\\nHost: lab\\r\\nConnection: keep-alive\\r\\n\\r\\n'));
  let buf = '';
  let done = false;
  s.setEncoding('utf8');
  s.on('data', (d) => {
    buf += d;
    const m = /hello from (\\S+)\\n/.exec(buf);
    if (!m || done) return;
    done = true;
    if (m[1] === target) { held = s; process.stdout.write('held ' + m[1] + '\\n'); }
    else { s.destroy(); next(); }
  });
  s.on('error', (e) => { if (!done) { done = true; s.destroy(); next(); } });
  s.on('close', () => { if (s === held && !closing) { process.stdout.write('lost\\n'); process.exit(1); } });
}
let closing = false;
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => {
  if (!held || closing) return;
  closing = true;
  held.on('close', () => { process.stdout.write('closed\\n'); process.exit(0); });
  if (String(d).trim() === 'reset') held.resetAndDestroy();
  else held.end();
});
process.stdin.on('end', () => process.exit(0));
next();
`;

/** A client connection held open through the director to one real server. */
export interface HeldConnection {
  /**
   * Closes the connection (FIN from the client; with `reset`, a RST: the kernel then keeps its entry for its CLOSE
   * timeout, 10 s, instead of TIME_WAIT's 2 minutes) and resolves once it is closed.
   */
  release(reset?: boolean): Promise<void>;
  /** Kills the client process (cleanup on failure). */
  kill(): void;
}

/**
 * Opens connections from the client namespace to `host:port` until one is answered by real server `target` (its
 * namespace name) and keeps that one open, idle, until {@link HeldConnection.release}. At most `tries` connections.
 */
export function holdConnection(
  lab: NatLab,
  host: string,
  port: number,
  target: string,
  tries = 60,
  timeoutMs = 120_000,
): Promise<HeldConnection> {
  const child = spawn(
    'ip',
    ['netns', 'exec', lab.clientNetns, process.execPath, '-e', HOLD_JS, host, String(port), target, String(tries)],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  child.stdin.on('error', () => undefined);
  const rl = createInterface({ input: child.stdout });
  const lines: string[] = [];
  const waiters: ((l: string | undefined) => void)[] = [];
  rl.on('line', (l) => {
    const w = waiters.shift();
    if (w) w(l);
    else lines.push(l);
  });
  rl.on('close', () => {
    for (const w of waiters.splice(0)) w(undefined);
  });
  const next = (ms: number): Promise<string | undefined> =>
    new Promise((resolve) => {
      const queued = lines.shift();
      if (queued !== undefined) return resolve(queued);
      const timer = setTimeout(() => resolve(`timeout after ${ms} ms`), ms);
      waiters.push((l) => {
        clearTimeout(timer);
        resolve(l);
      });
    });
  const kill = (): void => {
    child.kill('SIGKILL');
  };
  return next(timeoutMs).then((line) => {
    if (line !== `held ${target}`) {
      kill();
      throw new Error(`could not hold a connection to ${target} through ${host}:${port}: ${line ?? 'client exited'}`);
    }
    return {
      kill,
      release: async (reset = false) => {
        child.stdin.write(reset ? 'reset\n' : 'close\n');
        const closed = await next(30_000);
        if (closed !== 'closed') {
          kill();
          throw new Error(`held connection to ${target} did not close: ${closed ?? 'client exited'}`);
        }
      },
    };
  });
}
