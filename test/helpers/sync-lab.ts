// An LVS-DR director pair lab for kernel-tier tests inside the VM: two director namespaces, a real server and a client,
// all on one bridge (one L2 segment, as DR needs), with a floating VIP moved between the directors by hand (what
// IPaddr2 does under Pacemaker). The real server echoes lines; the client holds TCP connections through the VIP and
// is driven line by line, so a test can show that one connection keeps working across a move. Nothing leaves the VM.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { startLabServer, type LabServer } from './netns-lab';

/** Runs a command; its stdout, or throws with its stderr. */
export function sh(cmd: string, args: readonly string[], timeout = 30_000): string {
  return execFileSync(cmd, [...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout });
}

/** Runs `cmd` inside network namespace `ns`. */
export function nsExec(ns: string, cmd: string, args: readonly string[], timeout = 30_000): string {
  return sh('ip', ['netns', 'exec', ns, cmd, ...args], timeout);
}

/** A process with a line protocol on stdin/stdout. */
export class LineProcess {
  readonly process: ChildProcess;
  private readonly lines: string[] = [];
  private readonly waiters: Array<(line: string | undefined) => void> = [];
  private closed = false;

  constructor(command: string, args: readonly string[]) {
    this.process = spawn(command, [...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.process.stdin?.on('error', () => undefined);
    const rl = createInterface({ input: this.process.stdout as NodeJS.ReadableStream });
    rl.on('line', (l) => {
      const w = this.waiters.shift();
      if (w) w(l);
      else this.lines.push(l);
    });
    rl.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w(undefined);
    });
  }

  /** Writes one line to the process. */
  send(line: string): void {
    this.process.stdin?.write(`${line}\n`);
  }

  /** The next line the process prints, in order; rejects after `timeoutMs` or when the process has exited. */
  next(timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const queued = this.lines.shift();
      if (queued !== undefined) return resolve(queued);
      if (this.closed) return reject(new Error('the process has exited'));
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(w);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new Error(`no line within ${timeoutMs} ms`));
      }, timeoutMs);
      const w = (line: string | undefined): void => {
        clearTimeout(timer);
        if (line === undefined) reject(new Error('the process has exited'));
        else resolve(line);
      };
      this.waiters.push(w);
    });
  }

  /** Sends `line` and waits for the answer line. */
  async ask(line: string, timeoutMs: number): Promise<string> {
    this.send(line);
    return this.next(timeoutMs);
  }

  /** Ends the process (stdin closed, then SIGKILL). */
  kill(): void {
    this.process.stdin?.destroy();
    this.process.kill('SIGKILL');
  }
}

// The real server: echoes every line back, prefixed with its name; stays up until stdin closes.
const ECHO_JS = `
const net = require('node:net');
const [name, port] = process.argv.slice(1);
const server = net.createServer((c) => {
  c.setEncoding('utf8');
  let buf = '';
  c.on('data', (d) => { buf += d; let i; while ((i = buf.indexOf('\\n')) >= 0) { c.write(name + ' ' + buf.slice(0, i) + '\\n'); buf = buf.slice(i + 1); } });
  c.on('error', () => undefined);
});
server.listen(Number(port), '0.0.0.0', () => process.stdout.write('ready\\n'));
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
`;

// The client: holds connections by name. stdin: "open NAME HOST PORT" -> "open NAME LOCALPORT" | "error NAME CODE";
// "send NAME TEXT" -> "echo NAME LINE" | "error NAME CODE" | "timeout NAME" (after MS_PER_SEND);
// "close NAME" -> "closed NAME". A connection reset or closed by the peer answers the pending send with its error.
const CLIENT_JS = `
const net = require('node:net');
const MS = Number(process.argv[1]);
const conns = new Map();
const out = (l) => process.stdout.write(l + '\\n');
function handle(line) {
  const [cmd, name, ...rest] = line.split(' ');
  if (cmd === 'open') {
    const c = net.createConnection({ host: rest[0], port: Number(rest[1]) });
    const s = { c, buf: '', pending: undefined, error: undefined, opened: false };
    conns.set(name, s);
    c.setEncoding('utf8');
    c.setNoDelay(true);
    c.once('connect', () => { s.opened = true; out('open ' + name + ' ' + c.localPort); });
    c.on('data', (d) => { s.buf += d; let i; while ((i = s.buf.indexOf('\\n')) >= 0) { const l = s.buf.slice(0, i); s.buf = s.buf.slice(i + 1); if (s.pending) { clearTimeout(s.pending); s.pending = undefined; out('echo ' + name + ' ' + l); } } });
    const fail = (code) => {
      if (s.error) return;
      s.error = code;
      if (s.pending) { clearTimeout(s.pending); s.pending = undefined; out('error ' + name + ' ' + code); } else if (!s.opened) out('error ' + name + ' ' + code);
    };
    c.on('error', (e) => fail(e.code || e.message));
    c.on('close', () => fail('closed'));
  } else if (cmd === 'send') {
    const s = conns.get(name);
    if (!s) return out('error ' + name + ' unknown');
    if (s.error) return out('error ' + name + ' ' + s.error);
    s.pending = setTimeout(() => { s.pending = undefined; out('timeout ' + name); }, MS);
    s.c.write(rest.join(' ') + '\\n');
  } else if (cmd === 'close') {
    const s = conns.get(name);
    if (s) { s.error = 'closed by test'; s.c.destroy(); conns.delete(name); }
    out('closed ' + name);
  }
}
const rl = require('node:readline').createInterface({ input: process.stdin });
rl.on('line', handle);
rl.on('close', () => process.exit(0));
out('ready');
`;

/**
 * Makes namespace `ns` an LVS-DR real server (or a director that must not answer for the VIP): `vip` on its `lo`,
 * never answered or announced in ARP on any interface (arp_ignore=1, arp_announce=2, also on `ifname`).
 */
export function holdVipOnLo(ns: string, vip: string, ifname: string): void {
  sh('ip', ['-n', ns, 'addr', 'add', `${vip}/32`, 'dev', 'lo']);
  for (const [k, v] of [
    ['all.arp_ignore', '1'],
    ['all.arp_announce', '2'],
    [`${ifname}.arp_ignore`, '1'],
    [`${ifname}.arp_announce`, '2'],
  ]) {
    nsExec(ns, 'sysctl', ['-qw', `net.ipv4.conf.${k}=${v}`]);
  }
}

/** Addresses and names of the lab. */
export interface SyncLabLayout {
  readonly bridge: string;
  /** Director namespaces (A first). */
  readonly directors: readonly [string, string];
  readonly client: string;
  readonly real: string;
  /** The directors' addresses, in the order of `directors`. */
  readonly directorIps: readonly [string, string];
  readonly clientIp: string;
  readonly realIp: string;
  readonly vip: string;
  readonly port: number;
  /** The interface name inside every namespace (so that one configuration serves both directors). */
  readonly ifname: string;
}

/** An LVS-DR web server of the lab: VIP on its lo, `hello from <netns>` over HTTP on port 80. */
export interface DrHttpReal {
  readonly netns: string;
  readonly address: string;
  readonly server: LabServer;
}

/** Options of {@link buildSyncLab}. */
export interface SyncLabOptions {
  /** Web servers (namespaces `<p>h1`.., 10.`net`.0.31..) beside the echo server, for traffic tests. Default 0. */
  readonly httpReals?: number;
}

/** The built lab. */
export interface SyncLab extends SyncLabLayout {
  readonly echo: LineProcess;
  readonly httpReals: readonly DrHttpReal[];
  readonly clientProcess: LineProcess;
  /** MAC address of `eth0` in namespace `ns`. */
  mac(ns: string): string;
  /** Puts the VIP on director `ns` (and announces it to the client: its neighbour entry for the VIP is replaced). */
  vipTo(ns: string): void;
  /** Takes the VIP off director `ns`. */
  vipFrom(ns: string): void;
  /** `/proc/net/ip_vs_conn` of namespace `ns` (what `ipvsadm -Lnc` lists, addresses in hex). */
  connTable(ns: string): string;
  /** `ipvsadm -Lnc` in namespace `ns`. */
  ipvsadmConns(ns: string): string;
  /** `ipvsadm -L --daemon` in namespace `ns`. */
  syncDaemons(ns: string): string;
  teardown(): void;
}

/** Hex form of `ip:port` as /proc/net/ip_vs_conn prints it (`0A4D0064 D431`). */
export function procConnKey(ip: string, port: number): string {
  const hex = ip
    .split('.')
    .map((o) => Number(o).toString(16).padStart(2, '0'))
    .join('')
    .toUpperCase();
  return `${hex} ${port.toString(16).padStart(4, '0').toUpperCase()}`;
}

/**
 * Builds the lab under prefix `p` (namespaces `<p>a`, `<p>b`, `<p>c`, `<p>r`, bridge `<p>br`) on 10.`net`.0.0/24:
 * directors .11 and .12, real .21 (the VIP .10 on its `lo`, arp_ignore=1/arp_announce=2: LVS-DR), client .100.
 * The bridge has multicast snooping off (no querier here: the sync daemon's multicast must be flooded).
 */
export async function buildSyncLab(p: string, net = 77, port = 7000, options: SyncLabOptions = {}): Promise<SyncLab> {
  const layout: SyncLabLayout = {
    bridge: `${p}br`,
    directors: [`${p}a`, `${p}b`],
    client: `${p}c`,
    real: `${p}r`,
    directorIps: [`10.${net}.0.11`, `10.${net}.0.12`],
    clientIp: `10.${net}.0.100`,
    realIp: `10.${net}.0.21`,
    vip: `10.${net}.0.10`,
    port,
    ifname: 'eth0',
  };
  const made: string[] = [];
  const processes: LineProcess[] = [];
  const httpReals: DrHttpReal[] = [];
  const teardown = (): void => {
    for (const proc of processes) proc.kill();
    for (const r of httpReals) r.server.stop();
    for (const ns of made) {
      try {
        sh('ip', ['netns', 'del', ns]);
      } catch {
        /* gone */
      }
    }
    try {
      sh('ip', ['link', 'del', layout.bridge]);
    } catch {
      /* gone */
    }
  };
  const node = (ns: string, ip: string, i: number): void => {
    sh('ip', ['netns', 'add', ns]);
    made.push(ns);
    sh('ip', ['link', 'add', `${p}v${i}`, 'type', 'veth', 'peer', 'name', layout.ifname, 'netns', ns]);
    sh('ip', ['link', 'set', `${p}v${i}`, 'master', layout.bridge, 'up']);
    sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    sh('ip', ['-n', ns, 'addr', 'add', `${ip}/24`, 'dev', layout.ifname]);
    sh('ip', ['-n', ns, 'link', 'set', layout.ifname, 'up']);
  };
  try {
    sh('ip', ['link', 'add', layout.bridge, 'type', 'bridge', 'mcast_snooping', '0']);
    sh('ip', ['link', 'set', layout.bridge, 'up']);
    node(layout.directors[0], layout.directorIps[0], 1);
    node(layout.directors[1], layout.directorIps[1], 2);
    node(layout.client, layout.clientIp, 3);
    node(layout.real, layout.realIp, 4);
    // LVS-DR real servers: the VIP on lo, never answered or announced in ARP.
    const drReal = (ns: string): void => holdVipOnLo(ns, layout.vip, layout.ifname);
    drReal(layout.real);
    for (let i = 1; i <= (options.httpReals ?? 0); i++) {
      const ns = `${p}h${i}`;
      const address = `10.${net}.0.${30 + i}`;
      node(ns, address, 4 + i);
      drReal(ns);
      // Listening on every address of its namespace: the checks come to its own address, the clients to the VIP.
      httpReals.push({ netns: ns, address, server: startLabServer(ns, ns, '0.0.0.0', 80) });
    }
  } catch (err) {
    teardown();
    throw err;
  }
  const echo = new LineProcess('ip', [
    'netns',
    'exec',
    layout.real,
    process.execPath,
    '-e',
    ECHO_JS,
    'real',
    String(port),
  ]);
  processes.push(echo);
  const clientProcess = new LineProcess('ip', [
    'netns',
    'exec',
    layout.client,
    process.execPath,
    '-e',
    CLIENT_JS,
    '8000',
  ]);
  processes.push(clientProcess);
  try {
    for (const [what, proc] of [
      ['echo server', echo],
      ['client', clientProcess],
    ] as const) {
      const line = await proc.next(60_000);
      if (line !== 'ready') throw new Error(`${what}: ${line}`);
    }
    for (const r of httpReals) await r.server.ready();
  } catch (err) {
    teardown();
    throw err;
  }
  const mac = (ns: string): string =>
    sh('ip', ['-n', ns, '-br', 'link', 'show', 'dev', layout.ifname]).trim().split(/\s+/)[2] ?? '';
  return {
    ...layout,
    echo,
    clientProcess,
    httpReals,
    mac,
    vipTo: (ns) => {
      sh('ip', ['-n', ns, 'addr', 'add', `${layout.vip}/24`, 'dev', layout.ifname]);
      // What a gratuitous ARP from IPaddr2 does for the client (the VM has no arping).
      sh('ip', [
        '-n',
        layout.client,
        'neigh',
        'replace',
        layout.vip,
        'lladdr',
        mac(ns),
        'dev',
        layout.ifname,
        'nud',
        'reachable',
      ]);
    },
    vipFrom: (ns) => {
      sh('ip', ['-n', ns, 'addr', 'del', `${layout.vip}/24`, 'dev', layout.ifname]);
    },
    connTable: (ns) => nsExec(ns, 'cat', ['/proc/net/ip_vs_conn']),
    ipvsadmConns: (ns) => nsExec(ns, 'ipvsadm', ['-Lnc']),
    syncDaemons: (ns) => nsExec(ns, 'ipvsadm', ['-L', '--daemon']),
    teardown,
  };
}
