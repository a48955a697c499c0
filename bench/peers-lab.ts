// The real servers of `npm run bench:peers`, inside the kernel-tier VM: one network namespace joined to the VM's own
// (the director's) by a veth pair, N real addresses 10.201.x.y on its side, and nginx answering on each. One nginx
// serves every real but the victim; a second one serves only the victim, so that killing it (SIGKILL) makes
// connections to the victim refused, as a real server whose service died. Both count the requests they answer
// (stub_status on 127.0.0.1 inside the namespace): the checks the peers actually did.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { eventually, sleep } from '../test/helpers/wait';

/** Namespace of the real servers. */
export const REALS_NETNS = 'peers-reals';
/** The director's end of the veth pair (VM's namespace) and its address. */
export const DIRECTOR_IF = 'peers-d';
export const DIRECTOR_ADDRESS = '10.201.255.254';
/** The namespace's end of the veth pair, which carries every real address. */
const REALS_IF = 'peers-r';
/** The virtual service's address (only programmed in the table: the benchmark sends no traffic through it). */
export const VIP = '10.202.0.1';
/** stub_status ports of the two nginx instances, on 127.0.0.1 inside the namespace. */
const STATUS_PORTS = { main: 8080, victim: 8081 } as const;

/** The protocol the reals serve and the peers check. */
export type Proto = 'http' | 'https';

/** The service port of `proto`. */
export const portOf = (proto: Proto): number => (proto === 'http' ? 80 : 443);

/** Address of real `i` (0-based): 10.201.1.1 … 10.201.1.250, 10.201.2.1 …; at most 250 × 254 reals. */
export function realAddress(i: number): string {
  return `10.201.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`;
}

/** Runs a command to completion (bounded); throws with its stderr when it fails. */
export function run(cmd: string, args: readonly string[], input?: string, timeoutMs = 60_000): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'], timeout: timeoutMs });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ').slice(0, 200)} failed: ${(e.stderr ?? '').trim() || e.message}`);
  }
}

/** Last `lines` lines of a file ('' when unreadable), for error messages. */
export function fileTail(file: string, lines = 20): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Settings of one nginx instance. */
interface NginxSite {
  readonly name: 'main' | 'victim';
  readonly addresses: readonly string[];
  readonly proto: Proto;
  readonly tls?: { readonly cert: string; readonly key: string };
}

/** An instance's settings with the paths of its config file and of its stdout/stderr log. */
interface NginxSiteFiles {
  readonly site: NginxSite;
  readonly conf: string;
  readonly log: string;
}

/**
 * nginx.conf of one instance: one process (no master, no daemon) so that its pid is the server and SIGKILL is a
 * dead real; every real address listed explicitly (no wildcard socket that would keep answering for the victim);
 * a fixed 200 `ok` answer; the connection closed after each answer (keepalive_timeout 0) whatever the client asks,
 * so every peer sees the same server behaviour; no access log (1,000 lines a second would cost both sides).
 */
export function nginxConfig(site: NginxSite, dir: string): string {
  const port = portOf(site.proto);
  const ssl = site.proto === 'https' ? ' ssl' : '';
  const tls = site.tls
    ? [
        `    ssl_certificate ${site.tls.cert};`,
        `    ssl_certificate_key ${site.tls.key};`,
        '    ssl_session_cache off;',
        '    ssl_session_tickets off;',
      ]
    : [];
  const temp = (what: string): string => `  ${what}_temp_path ${path.join(dir, `${site.name}-${what}`)};`;
  return [
    'daemon off;',
    'master_process off;',
    'worker_processes 1;',
    `pid ${path.join(dir, `${site.name}.pid`)};`,
    `error_log ${path.join(dir, `${site.name}-error.log`)} warn;`,
    // Each listening socket takes a connection slot in nginx.
    `events { worker_connections ${site.addresses.length + 4096}; }`,
    'http {',
    '  access_log off;',
    '  keepalive_timeout 0;',
    '  default_type text/plain;',
    temp('client_body'),
    temp('proxy'),
    temp('fastcgi'),
    temp('uwsgi'),
    temp('scgi'),
    '  server {',
    ...site.addresses.map((a) => `    listen ${a}:${port}${ssl};`),
    ...tls,
    '    location / { return 200 "ok\\n"; }',
    '  }',
    '  server {',
    `    listen 127.0.0.1:${STATUS_PORTS[site.name]};`,
    '    location / { stub_status; }',
    '  }',
    '}',
    '',
  ].join('\n');
}

/** Sum of the `requests` counters of stub_status pages (each `Active connections: …` page holds one). */
export function stubRequests(text: string): { requests: number; pages: number } {
  let requests = 0;
  let pages = 0;
  for (const m of text.matchAll(/server accepts handled requests\s*\n\s*\d+\s+\d+\s+(\d+)/g)) {
    requests += Number(m[1]);
    pages++;
  }
  return { requests, pages };
}

/** Resolves true when a TCP connection to `address:port` is accepted within `ms`, false when refused or late. */
function canConnect(address: string, port: number, ms = 2_000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: address, port, timeout: ms });
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    s.once('timeout', () => done(false));
  });
}

/** The lab: its reals, the victim, and the nginx processes serving them. */
export class RealsLab {
  /** The N real addresses; the victim is the last. */
  readonly reals: readonly string[];
  readonly port: number;
  private readonly procs = new Map<'main' | 'victim', ChildProcess>();

  private constructor(
    readonly n: number,
    readonly proto: Proto,
    private readonly dir: string,
    private readonly tls?: { cert: string; key: string },
  ) {
    this.reals = Array.from({ length: n }, (_, i) => realAddress(i));
    this.port = portOf(proto);
  }

  /** The real whose server the benchmark kills. */
  get victim(): string {
    return this.reals[this.reals.length - 1] as string;
  }

  /**
   * Builds the namespace and starts both nginx instances; resolves once every one answers. `dir` holds configs,
   * pid files, temp paths and logs. On failure whatever was made is removed again.
   */
  static async build(n: number, proto: Proto, dir: string, tls?: { cert: string; key: string }): Promise<RealsLab> {
    const lab = new RealsLab(n, proto, dir, tls);
    try {
      lab.makeNamespace();
      await lab.startServer('main');
      await lab.startServer('victim');
    } catch (err) {
      lab.teardown();
      throw err;
    }
    return lab;
  }

  private makeNamespace(): void {
    this.removeNamespace(); // a leftover of an interrupted run
    run('ip', ['netns', 'add', REALS_NETNS]);
    run('ip', ['link', 'add', DIRECTOR_IF, 'type', 'veth', 'peer', 'name', REALS_IF, 'netns', REALS_NETNS]);
    run('ip', ['addr', 'add', `${DIRECTOR_ADDRESS}/16`, 'dev', DIRECTOR_IF]);
    run('ip', ['link', 'set', DIRECTOR_IF, 'up']);
    // One `ip` process for all the addresses (-batch): one process per address would take minutes under emulation.
    const batch = [
      'link set lo up', // a fresh namespace's lo is down (stub_status listens on it)
      `link set ${REALS_IF} up`,
      ...this.reals.map((a) => `addr add ${a}/16 dev ${REALS_IF}`),
      `route add default via ${DIRECTOR_ADDRESS}`, // LVS-NAT: answers go back through the director
    ];
    run('ip', ['-n', REALS_NETNS, '-batch', '-'], `${batch.join('\n')}\n`);
  }

  private site(name: 'main' | 'victim'): NginxSiteFiles {
    const addresses = name === 'main' ? this.reals.slice(0, -1) : [this.victim];
    const conf = path.join(this.dir, `${name}-nginx.conf`);
    return {
      site: { name, addresses, proto: this.proto, ...(this.tls ? { tls: this.tls } : {}) },
      conf,
      log: path.join(this.dir, `${name}-stderr.log`),
    };
  }

  /** Starts instance `name` in the namespace and waits until it accepts connections on its reals. */
  private async startServer(name: 'main' | 'victim'): Promise<void> {
    const { site, conf, log } = this.site(name);
    fs.writeFileSync(conf, nginxConfig(site, this.dir));
    const out = fs.openSync(log, 'a');
    // `ip netns exec` execs nginx in place (no fork outside batch mode): the child's pid is nginx's.
    const child = spawn(
      'ip',
      [
        'netns',
        'exec',
        REALS_NETNS,
        'nginx',
        '-p',
        this.dir,
        '-e',
        path.join(this.dir, `${name}-error.log`),
        '-c',
        conf,
      ],
      { stdio: ['ignore', out, out] },
    );
    fs.closeSync(out);
    this.procs.set(name, child);
    const probe = [site.addresses[0] as string, site.addresses[site.addresses.length - 1] as string];
    await eventually(
      `nginx ${name} to accept connections on ${probe.join(' and ')}:${this.port}`,
      async () => {
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(
            `nginx ${name} exited (${child.exitCode ?? child.signalCode}):\n${fileTail(log)}\n${fileTail(path.join(this.dir, `${name}-error.log`))}`,
          );
        }
        for (const a of probe) if (!(await canConnect(a, this.port))) return undefined;
        return true;
      },
      60_000,
      200,
    );
  }

  /** Kills the victim's server (SIGKILL) and resolves once it is gone; from then on its connections are refused. */
  async killVictim(): Promise<void> {
    const child = this.procs.get('victim');
    if (!child?.pid) throw new Error('the victim nginx is not running');
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await Promise.race([gone, sleep(10_000)]);
    this.procs.delete('victim');
  }

  /** Starts the victim's server again (after {@link killVictim}) and waits until it accepts connections. */
  restartVictim(): Promise<void> {
    return this.startServer('victim');
  }

  /**
   * Requests answered so far by both instances together (stub_status, read with curl inside the namespace: two
   * processes per reading, taken only at the edges of a measuring window). Each reading counts itself once per
   * instance; {@link STATUS_READ_REQUESTS} says how many that is.
   */
  requestsServed(): number {
    const text = run(
      'ip',
      [
        'netns',
        'exec',
        REALS_NETNS,
        'curl',
        '-sS',
        '--max-time',
        '20',
        `http://127.0.0.1:${STATUS_PORTS.main}/`,
        `http://127.0.0.1:${STATUS_PORTS.victim}/`,
      ],
      undefined,
      30_000,
    );
    const { requests, pages } = stubRequests(text);
    if (pages !== 2) throw new Error(`expected two stub_status pages, got ${pages}:\n${text}`);
    return requests;
  }

  /** Stops both nginx instances and removes the namespace (and with it the veth pair). Never throws. */
  teardown(): void {
    for (const child of this.procs.values()) child.kill('SIGKILL');
    this.procs.clear();
    this.removeNamespace();
  }

  private removeNamespace(): void {
    for (const args of [
      ['link', 'del', DIRECTOR_IF],
      ['netns', 'del', REALS_NETNS],
    ]) {
      try {
        execFileSync('ip', args, { stdio: 'ignore', timeout: 30_000 });
      } catch {
        // absent
      }
    }
  }
}

/** Requests each reading of {@link RealsLab.requestsServed} adds to the counters (one per nginx instance). */
export const STATUS_READ_REQUESTS = 2;
