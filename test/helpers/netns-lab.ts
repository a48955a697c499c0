// A small LVS-NAT lab made of network namespaces, for kernel-tier tests inside the VM: a client namespace, the
// director (the VM's own namespace) and real-server namespaces, joined by veth pairs. Nothing leaves the VM.
// Each real server is one Node process in its namespace serving HTTP (and optionally HTTPS); the test can stop,
// start or hang each listener through the process's stdin.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
}

/** A listener of a real server. */
export type LabService = 'http' | 'https';
/** What a listener does: answer, refuse connections (closed port), or accept and never answer. */
export type LabServiceMode = 'up' | 'down' | 'hang';

/** One real server: its namespace, address and the server process running in it. */
export interface LabRealServer {
  readonly netns: string;
  readonly address: string;
  /** HTTP port. */
  readonly port: number;
  /** HTTPS port, when the lab serves HTTPS. */
  readonly httpsPort?: number;
  readonly process: ChildProcess;
}

/** The lab: VIP on the director's client-side address, real servers behind it. */
export interface NatLab {
  readonly clientNetns: string;
  /** Virtual IP (the director's address facing the client). */
  readonly vip: string;
  readonly reals: readonly LabRealServer[];
  /** The director's interfaces towards the client and the real servers. */
  readonly directorInterfaces: readonly string[];
  /** Runs a command inside the client namespace. */
  clientExec(cmd: string, args: string[]): string;
  /**
   * Sets listener `service` of real `index` (0-based) to `mode` and resolves once the server process confirmed it.
   * `down` closes the listening socket and every connection it had; `hang` keeps listening (or starts to) and
   * leaves every request unanswered; `up` answers again (the listener is not restarted when it was listening).
   */
  serve(index: number, service: LabService, mode: LabServiceMode): Promise<void>;
  /** Resolves once every server process listens (bounded by `timeoutMs`). */
  ready(timeoutMs?: number): Promise<void>;
  teardown(): void;
}

/** Options of {@link buildNatLab}. */
export interface NatLabOptions {
  /**
   * Second octet of the real servers' networks: real N is 10.`net`.N.2 behind 10.`net`.N.1; the client network is
   * 10.`net+1`.0.0/24 with the VIP 10.`net+1`.0.1. Default 200.
   */
  readonly net?: number;
  /** Also serve HTTPS on `port` with this certificate and key (PEM files, see {@link makeLabCertificate}). */
  readonly https?: { readonly port: number; readonly cert: string; readonly key: string };
  /** Also answer UDP datagrams on this port with `hello from <name>` (a UDP service; not switchable by {@link NatLab.serve}). */
  readonly udp?: number;
}

// One process per real server. argv: name address httpPort httpsPort cert key udpPort. stdin: "<up|down|hang> <http|https>"
// lines, each answered on stdout by "ok ..." or "err ... message"; "ready" once the first listeners are up. The
// process exits when its stdin closes (the test process went away).
const SERVER_JS = `
const http = require('node:http');
const https = require('node:https');
const fs = require('node:fs');
const [name, address, httpPort, httpsPort, cert, key, udpPort] = process.argv.slice(1);
if (Number(udpPort)) {
  const udp = require('node:dgram').createSocket('udp4');
  udp.on('message', (m, from) => udp.send('hello from ' + name + '\\n', from.port, from.address));
  udp.bind(Number(udpPort), address);
}
const ports = { http: Number(httpPort), https: Number(httpsPort || 0) };
const tls = cert ? { cert: fs.readFileSync(cert), key: fs.readFileSync(key) } : undefined;
const running = {};
const hanging = { http: false, https: false };
function make(kind) {
  const answer = (req, res) => { if (!hanging[kind]) res.end('hello from ' + name + (kind === 'https' ? ' https' : '') + '\\n'); };
  const s = kind === 'https' ? https.createServer(tls, answer) : http.createServer(answer);
  s.keepAliveTimeout = 0; // a connection held open by a test stays open
  return s;
}
function start(kind) {
  if (running[kind]) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const s = make(kind);
    const conns = new Set();
    s.on('connection', (c) => { conns.add(c); c.on('close', () => conns.delete(c)); });
    s.once('error', reject);
    s.listen(ports[kind], address, () => { running[kind] = { s, conns }; resolve(); });
  });
}
function stop(kind) {
  const r = running[kind];
  delete running[kind];
  if (!r) return Promise.resolve();
  return new Promise((resolve) => { r.s.close(() => resolve()); for (const c of r.conns) c.destroy(); });
}
const queue = [];
let busy = false;
async function pump() {
  if (busy) return;
  busy = true;
  while (queue.length > 0) {
    const line = queue.shift();
    const [mode, kind] = line.trim().split(/\\s+/);
    try {
      if (!(kind in ports) || !ports[kind]) throw new Error('no such listener');
      hanging[kind] = mode === 'hang';
      if (mode === 'down') await stop(kind);
      else await start(kind);
      process.stdout.write('ok ' + mode + ' ' + kind + '\\n');
    } catch (e) {
      process.stdout.write('err ' + mode + ' ' + kind + ' ' + e.message + '\\n');
    }
  }
  busy = false;
}
process.stdin.setEncoding('utf8');
let buf = '';
process.stdin.on('data', (d) => {
  buf += d;
  let i;
  while ((i = buf.indexOf('\\n')) >= 0) { queue.push(buf.slice(0, i)); buf = buf.slice(i + 1); }
  void pump();
});
process.stdin.on('end', () => process.exit(0));
Promise.all([start('http'), ports.https ? start('https') : undefined])
  .then(() => process.stdout.write('ready\\n'), (e) => { process.stdout.write('err start ' + e.message + '\\n'); process.exit(1); });
`;

/** A server process with a line protocol on stdin/stdout. */
interface ServerProcess {
  readonly process: ChildProcess;
  /** Resolves with the next line the process prints (lines are consumed in order). */
  nextLine(timeoutMs: number): Promise<string>;
}

function serverProcess(ns: string, args: string[]): ServerProcess {
  const proc = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', SERVER_JS, ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  const waiters: ((line: string | undefined) => void)[] = [];
  let closed = false;
  const rl = createInterface({ input: proc.stdout as NodeJS.ReadableStream });
  rl.on('line', (l) => {
    const w = waiters.shift();
    if (w) w(l);
    else lines.push(l);
  });
  rl.on('close', () => {
    closed = true;
    for (const w of waiters.splice(0)) w(undefined);
  });
  proc.stdin?.on('error', () => undefined);
  return {
    process: proc,
    nextLine: (timeoutMs) =>
      new Promise((resolve, reject) => {
        const queued = lines.shift();
        if (queued !== undefined) return resolve(queued);
        if (closed) return reject(new Error(`server process in ${ns} has exited`));
        const timer = setTimeout(() => {
          const i = waiters.indexOf(w);
          if (i >= 0) waiters.splice(i, 1);
          reject(new Error(`server process in ${ns} did not answer within ${timeoutMs} ms`));
        }, timeoutMs);
        const w = (line: string | undefined): void => {
          clearTimeout(timer);
          if (line === undefined) reject(new Error(`server process in ${ns} has exited`));
          else resolve(line);
        };
        waiters.push(w);
      }),
  };
}

/** A real server process of a lab (HTTP, optionally HTTPS and UDP), switchable listener by listener. */
export interface LabServer {
  readonly process: ChildProcess;
  /** Resolves once its listeners are up. */
  ready(timeoutMs?: number): Promise<void>;
  /** Sets listener `service` to `mode` (see {@link NatLab.serve}); resolves once the process confirmed it. */
  serve(service: LabService, mode: LabServiceMode): Promise<void>;
  stop(): void;
}

/**
 * Starts a real server in namespace `ns`, answering `hello from NAME` over HTTP on `address:port` (and HTTPS, UDP when
 * asked): what the NAT lab runs in each real namespace, for other labs (LVS-DR) too.
 */
export function startLabServer(
  ns: string,
  name: string,
  address: string,
  port: number,
  options: Pick<NatLabOptions, 'https' | 'udp'> = {},
): LabServer {
  const tls = options.https;
  const server = serverProcess(ns, [
    name,
    address,
    String(port),
    String(tls?.port ?? 0),
    tls?.cert ?? '',
    tls?.key ?? '',
    String(options.udp ?? 0),
  ]);
  let readyOnce: Promise<void> | undefined;
  let chain = Promise.resolve();
  return {
    process: server.process,
    ready: (timeoutMs = 60_000) => {
      readyOnce ??= server.nextLine(timeoutMs).then((line) => {
        if (line !== 'ready') throw new Error(`real server ${name}: ${line}`);
      });
      return readyOnce;
    },
    serve: (service, mode) => {
      const run = chain.then(async () => {
        server.process.stdin?.write(`${mode} ${service}\n`);
        const line = await server.nextLine(30_000);
        if (line !== `ok ${mode} ${service}`) throw new Error(`real server ${name}: ${line}`);
      });
      chain = run.catch(() => undefined);
      return run;
    },
    stop: () => {
      server.process.stdin?.destroy();
      server.process.kill('SIGKILL');
    },
  };
}

/**
 * Builds the lab: client namespace `<prefix>c` (10.`net+1`.0.2, default route via the director 10.`net+1`.0.1 = VIP)
 * and `count` real-server namespaces `<prefix>rN` (10.`net`.N.2, default route via 10.`net`.N.1) each serving HTTP on
 * `port` (and HTTPS when `options.https` is given). The answer names the namespace: `hello from <prefix>rN`
 * (`... https` over HTTPS).
 */
export function buildNatLab(prefix: string, count: number, port = 8080, options: NatLabOptions = {}): NatLab {
  const net = options.net ?? 200;
  const clientNet = `10.${net + 1}.0`;
  const client = `${prefix}c`;
  const made: string[] = [];
  const reals: LabRealServer[] = [];
  const servers: LabServer[] = [];
  const interfaces: string[] = [];
  const teardown = (): void => {
    for (const server of servers) server.stop();
    for (const ns of made) {
      try {
        sh('ip', ['netns', 'del', ns]);
      } catch {
        /* already gone */
      }
    }
  };
  try {
    sh('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    sh('ip', ['netns', 'add', client]);
    made.push(client);
    sh('ip', ['link', 'add', `${prefix}d0`, 'type', 'veth', 'peer', 'name', `${prefix}c0`, 'netns', client]);
    interfaces.push(`${prefix}d0`);
    sh('ip', ['addr', 'add', `${clientNet}.1/24`, 'dev', `${prefix}d0`]);
    sh('ip', ['link', 'set', `${prefix}d0`, 'up']);
    sh('ip', ['-n', client, 'link', 'set', 'lo', 'up']);
    sh('ip', ['-n', client, 'addr', 'add', `${clientNet}.2/24`, 'dev', `${prefix}c0`]);
    sh('ip', ['-n', client, 'link', 'set', `${prefix}c0`, 'up']);
    sh('ip', ['-n', client, 'route', 'add', 'default', 'via', `${clientNet}.1`]);
    for (let i = 1; i <= count; i++) {
      const ns = `${prefix}r${i}`;
      sh('ip', ['netns', 'add', ns]);
      made.push(ns);
      sh('ip', ['link', 'add', `${prefix}d${i}`, 'type', 'veth', 'peer', 'name', `${prefix}r${i}`, 'netns', ns]);
      interfaces.push(`${prefix}d${i}`);
      sh('ip', ['addr', 'add', `10.${net}.${i}.1/24`, 'dev', `${prefix}d${i}`]);
      sh('ip', ['link', 'set', `${prefix}d${i}`, 'up']);
      sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      sh('ip', ['-n', ns, 'addr', 'add', `10.${net}.${i}.2/24`, 'dev', `${prefix}r${i}`]);
      sh('ip', ['-n', ns, 'link', 'set', `${prefix}r${i}`, 'up']);
      sh('ip', ['-n', ns, 'route', 'add', 'default', 'via', `10.${net}.${i}.1`]);
      const address = `10.${net}.${i}.2`;
      const server = startLabServer(ns, ns, address, port, options);
      servers.push(server);
      reals.push({
        netns: ns,
        address,
        port,
        ...(options.https ? { httpsPort: options.https.port } : {}),
        process: server.process,
      });
    }
  } catch (err) {
    teardown();
    throw err;
  }
  let readyOnce: Promise<void> | undefined;
  return {
    clientNetns: client,
    vip: `${clientNet}.1`,
    reals,
    directorInterfaces: interfaces,
    clientExec: (cmd, args) => sh('ip', ['netns', 'exec', client, cmd, ...args]),
    ready: (timeoutMs = 60_000) => {
      readyOnce ??= Promise.all(servers.map((s) => s.ready(timeoutMs))).then(() => undefined);
      return readyOnce;
    },
    serve: async (index, service, mode) => {
      const s = servers[index];
      if (!s) throw new Error(`no real server ${index}`);
      return s.serve(service, mode);
    },
    teardown,
  };
}

/** Waits until every real server answers HTTP directly (they start in the background), bounded by `timeoutMs`. */
export async function waitForReals(lab: NatLab, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const r of lab.reals) {
    for (;;) {
      try {
        sh('ip', [
          'netns',
          'exec',
          r.netns,
          process.execPath,
          '-e',
          `require('node:http').get('http://${r.address}:${r.port}/', (res) => process.exit(res.statusCode === 200 ? 0 : 1)).on('error', () => process.exit(1))`,
        ]);
        break;
      } catch {
        if (Date.now() > deadline) throw new Error(`real server ${r.address}:${r.port} in ${r.netns} did not come up`);
        await new Promise((res) => setTimeout(res, 200));
      }
    }
  }
}

/** One HTTP GET from the client namespace to `url`; the body, or throws. */
export function clientGet(lab: NatLab, url: string): string {
  return lab.clientExec(process.execPath, [
    '-e',
    `require('node:http').get('${url}', (res) => { let b = ''; res.on('data', (c) => b += c); res.on('end', () => { process.stdout.write(b); process.exit(0); }); }).on('error', (e) => { console.error(e.message); process.exit(1); })`,
  ]);
}

/**
 * A self-signed certificate and key for the lab's HTTPS servers (EC P-256: cheap handshakes under emulation), made
 * with the openssl CLI once per `dir` (default a directory under /tmp, so once per VM run) and reused after.
 */
export function makeLabCertificate(dir = '/tmp/ldir-lab-tls'): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  if (existsSync(cert) && existsSync(key)) return { cert, key };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  sh('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=ldir-lab',
    '-keyout',
    key,
    '-out',
    cert,
  ]);
  return { cert, key };
}
