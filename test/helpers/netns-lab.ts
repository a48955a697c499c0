// A small LVS-NAT lab made of network namespaces, for kernel-tier tests inside the VM: a client namespace, the
// director (the VM's own namespace) and real-server namespaces, joined by veth pairs. Nothing leaves the VM.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
}

/** One real server: its namespace, address and the HTTP server process running in it. */
export interface LabRealServer {
  readonly netns: string;
  readonly address: string;
  readonly port: number;
  readonly process: ChildProcess;
}

/** The lab: VIP on the director's client-side address, real servers behind it. */
export interface NatLab {
  readonly clientNetns: string;
  /** Virtual IP (the director's address facing the client). */
  readonly vip: string;
  readonly reals: readonly LabRealServer[];
  /** Runs a command inside the client namespace. */
  clientExec(cmd: string, args: string[]): string;
  teardown(): void;
}

const SERVER_JS = `
const http = require('node:http');
const name = process.argv[1];
http.createServer((req, res) => { res.end('hello from ' + name + '\\n'); }).listen(Number(process.argv[2]), process.argv[3]);
`;

/**
 * Builds the lab: client namespace `<prefix>c` (10.201.0.2, default route via the director 10.201.0.1 = VIP) and
 * `count` real-server namespaces `<prefix>rN` (10.200.N.2, default route via 10.200.N.1) each serving HTTP on `port`.
 */
export function buildNatLab(prefix: string, count: number, port = 8080): NatLab {
  const client = `${prefix}c`;
  const made: string[] = [];
  const reals: LabRealServer[] = [];
  const teardown = (): void => {
    for (const r of reals) r.process.kill('SIGKILL');
    for (const ns of made) {
      try { sh('ip', ['netns', 'del', ns]); } catch { /* already gone */ }
    }
  };
  try {
    sh('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    sh('ip', ['netns', 'add', client]);
    made.push(client);
    sh('ip', ['link', 'add', `${prefix}d0`, 'type', 'veth', 'peer', 'name', `${prefix}c0`, 'netns', client]);
    sh('ip', ['addr', 'add', '10.201.0.1/24', 'dev', `${prefix}d0`]);
    sh('ip', ['link', 'set', `${prefix}d0`, 'up']);
    sh('ip', ['-n', client, 'link', 'set', 'lo', 'up']);
    sh('ip', ['-n', client, 'addr', 'add', '10.201.0.2/24', 'dev', `${prefix}c0`]);
    sh('ip', ['-n', client, 'link', 'set', `${prefix}c0`, 'up']);
    sh('ip', ['-n', client, 'route', 'add', 'default', 'via', '10.201.0.1']);
    for (let i = 1; i <= count; i++) {
      const ns = `${prefix}r${i}`;
      sh('ip', ['netns', 'add', ns]);
      made.push(ns);
      sh('ip', ['link', 'add', `${prefix}d${i}`, 'type', 'veth', 'peer', 'name', `${prefix}r${i}`, 'netns', ns]);
      sh('ip', ['addr', 'add', `10.200.${i}.1/24`, 'dev', `${prefix}d${i}`]);
      sh('ip', ['link', 'set', `${prefix}d${i}`, 'up']);
      sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      sh('ip', ['-n', ns, 'addr', 'add', `10.200.${i}.2/24`, 'dev', `${prefix}r${i}`]);
      sh('ip', ['-n', ns, 'link', 'set', `${prefix}r${i}`, 'up']);
      sh('ip', ['-n', ns, 'route', 'add', 'default', 'via', `10.200.${i}.1`]);
      const address = `10.200.${i}.2`;
      const proc = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', SERVER_JS, ns, String(port), address], { stdio: 'ignore' });
      reals.push({ netns: ns, address, port, process: proc });
    }
  } catch (err) {
    teardown();
    throw err;
  }
  return {
    clientNetns: client,
    vip: '10.201.0.1',
    reals,
    clientExec: (cmd, args) => sh('ip', ['netns', 'exec', client, cmd, ...args]),
    teardown,
  };
}

/** Waits until every real server answers HTTP directly (they start in the background), bounded by `timeoutMs`. */
export async function waitForReals(lab: NatLab, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const r of lab.reals) {
    for (;;) {
      try {
        sh('ip', ['netns', 'exec', r.netns, process.execPath, '-e',
          `require('node:http').get('http://${r.address}:${r.port}/', (res) => process.exit(res.statusCode === 200 ? 0 : 1)).on('error', () => process.exit(1))`]);
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
  return lab.clientExec(process.execPath, ['-e',
    `require('node:http').get('${url}', (res) => { let b = ''; res.on('data', (c) => b += c); res.on('end', () => { process.stdout.write(b); process.exit(0); }); }).on('error', (e) => { console.error(e.message); process.exit(1); })`]);
}
