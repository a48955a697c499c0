// The peers of `npm run bench:peers`: their configurations (as equivalent as each allows, see bench/peers.ts) and how
// each is started in the foreground and stopped, with its output in a log file of the run's directory.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sleep } from '../test/helpers/wait';
import { DAEMON_NODE_FLAGS } from '../src/system/self-command';
import { fileTail, type Proto } from './peers-lab';

/** The director control planes compared. */
export type PeerName = 'keepalived' | 'ldir' | 'ldirectord';

/** What every peer is configured with. */
export interface PeerSpec {
  readonly proto: Proto;
  readonly vip: string;
  readonly port: number;
  /** Real server addresses (same port as the virtual service). */
  readonly reals: readonly string[];
  /** Check interval (s). */
  readonly intervalS: number;
  /** Connect and negotiate timeout (s). */
  readonly timeoutS: number;
}

/**
 * keepalived.conf: one virtual_server (NAT, wrr) with an HTTP_GET (SSL_GET for https) checker per real: GET / every
 * delay_loop, status 200, connect_timeout (keepalived applies it to every step of the check: connect, write, read),
 * retry 0 (one failure = down), inhibit_on_failure (weight 0 instead of removal: quiescent). `alpha` starts every
 * real as failed until its first check passes, as ldir and ldirectord do; without it keepalived puts every real in
 * the table at its weight before any check, and its start-up time would measure only the table writes.
 */
export function keepalivedConfig(s: PeerSpec): string {
  const checker = s.proto === 'https' ? 'SSL_GET' : 'HTTP_GET';
  const real = (a: string): string[] => [
    `  real_server ${a} ${s.port} {`,
    '    weight 1',
    `    ${checker} {`,
    '      url {',
    '        path /',
    '        status_code 200',
    '      }',
    `      connect_timeout ${s.timeoutS}`,
    '      retry 0',
    '    }',
    '  }',
  ];
  return [
    '! npm run bench:peers: keepalived side (checker process only: keepalived -C)',
    'global_defs {',
    '  router_id peers_bench',
    '}',
    `virtual_server ${s.vip} ${s.port} {`,
    `  delay_loop ${s.intervalS}`,
    '  lvs_sched wrr',
    '  lvs_method NAT',
    '  protocol TCP',
    '  inhibit_on_failure',
    '  alpha',
    ...s.reals.flatMap(real),
    '}',
    '',
  ].join('\n');
}

/**
 * ldirectord.cf for ldir and Debian's ldirectord alike: negotiate http(s) GET / (any 2xx, no receive: nginx
 * answers 200), checkinterval, checktimeout = negotiatetimeout, failurecount 1, quiescent, wrr, masq, weight 1.
 * supervised=yes: both stay in the foreground and log to stdout (the run's log file), at their normal level: ldir's
 * `-d` (and ldirectord's) would log every check, which is not what a director in service spends its CPU on.
 */
export function ldirectordConfig(s: PeerSpec): string {
  return [
    '# npm run bench:peers: ldir and ldirectord side',
    `checkinterval=${s.intervalS}`,
    `checktimeout=${s.timeoutS}`,
    `negotiatetimeout=${s.timeoutS}`,
    'failurecount=1',
    'quiescent=yes',
    'supervised=yes',
    '',
    `virtual=${s.vip}:${s.port}`,
    ...s.reals.map((a) => `\treal=${a}:${s.port} masq 1`),
    '\tchecktype=negotiate',
    `\tservice=${s.proto}`,
    '\trequest="/"',
    '\thttpmethod=GET',
    '\tscheduler=wrr',
    '\tprotocol=tcp',
    '',
  ].join('\n');
}

/** A peer started by {@link startPeer}. */
export interface RunningPeer {
  readonly name: PeerName;
  /** Pid of the peer's top process (keepalived's parent, ldir's daemon, ldirectord): its tree is measured. */
  readonly pid: number;
  readonly configFile: string;
  readonly logFile: string;
  /** Why the process is gone (`exit 1`, `SIGSEGV`), or undefined while it runs. */
  exited(): string | undefined;
  /** Stops it (SIGTERM, which makes each remove its services; SIGKILL after `graceMs`). Never throws. */
  stop(graceMs?: number): Promise<void>;
}

/** Where a peer runs: its files' directory and the ldir entry point. */
export interface PeerPlace {
  readonly dir: string;
  readonly ldirMain: string;
  /** Run ldir under `node --cpu-prof`, writing its profile here when it exits. */
  readonly cpuProfileDir?: string;
}

function commandOf(
  name: PeerName,
  conf: string,
  place: PeerPlace,
): { cmd: string; args: string[]; env?: NodeJS.ProcessEnv } {
  switch (name) {
    case 'keepalived':
      // -n foreground, -C the checker child only (no VRRP, no BFD), -l -D log to the console in detail, -G no
      // syslog (there is none in the VM); pid files of its own so that it never meets a system instance.
      return {
        cmd: 'keepalived',
        args: [
          '-n',
          '-C',
          '-l',
          '-D',
          '-G',
          '-f',
          conf,
          '-p',
          path.join(place.dir, 'keepalived.pid'),
          '-c',
          path.join(place.dir, 'keepalived-checkers.pid'),
        ],
      };
    case 'ldir': {
      const run = path.join(place.dir, 'ldir-run');
      const sock = path.join(place.dir, 'ldir-sock');
      fs.mkdirSync(run, { recursive: true });
      fs.mkdirSync(sock, { recursive: true, mode: 0o700 });
      return {
        // As the ldir executable runs (its #! line): node with the daemon's flags.
        cmd: process.execPath,
        args: [
          ...DAEMON_NODE_FLAGS,
          ...(place.cpuProfileDir !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${place.cpuProfileDir}`] : []),
          place.ldirMain,
          '--foreground',
          '--ipvs=netlink',
          conf,
          'start',
        ],
        env: { ...process.env, LDIR_RUN_DIR: run, LDIR_SOCKET_DIR: sock },
      };
    }
    case 'ldirectord':
      return { cmd: '/usr/sbin/ldirectord', args: [conf, 'start'] };
  }
}

/** Writes the peer's configuration and starts it in the foreground (the returned pid is the peer itself). */
export function startPeer(name: PeerName, spec: PeerSpec, place: PeerPlace): RunningPeer {
  const configFile = path.join(place.dir, name === 'keepalived' ? 'keepalived.conf' : `${name}.cf`);
  fs.writeFileSync(configFile, name === 'keepalived' ? keepalivedConfig(spec) : ldirectordConfig(spec));
  const logFile = path.join(place.dir, `${name}.log`);
  const out = fs.openSync(logFile, 'a');
  const { cmd, args, env } = commandOf(name, configFile, place);
  let child: ChildProcess;
  try {
    child = spawn(cmd, args, { stdio: ['ignore', out, out], ...(env ? { env } : {}) });
  } finally {
    fs.closeSync(out);
  }
  if (child.pid === undefined) throw new Error(`cannot start ${name} (${cmd})`);
  let gone: string | undefined;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      gone = signal ?? `exit ${code}`;
      resolve();
    });
    child.once('error', (err) => {
      gone = err.message;
      resolve();
    });
  });
  return {
    name,
    pid: child.pid,
    configFile,
    logFile,
    exited: () => gone,
    stop: async (graceMs = 60_000) => {
      if (gone === undefined) child.kill('SIGTERM');
      await Promise.race([exit, sleep(graceMs)]);
      if (gone === undefined) {
        child.kill('SIGKILL');
        await Promise.race([exit, sleep(10_000)]);
      }
    },
  };
}

/** The peer's log tail and exit state, for error messages. */
export function peerReport(peer: RunningPeer, lines = 20): string {
  const state = peer.exited();
  return `--- ${peer.name} (pid ${peer.pid}${state ? `, ${state}` : ', running'}) log tail: ${peer.logFile}\n${fileTail(peer.logFile, lines)}`;
}
