// The real daemon for the fuzz tier: `ldir start` detached on the memory backend in a directory of the test's own,
// with its pid (for its RSS), its control socket and its metrics port; stopped by `ldir stop` (or killed).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pingDaemon, sendControlRequest } from '../../src/cli/control-client';
import { controlSocketPath, type StatusReport } from '../../src/daemon/protocol';
import { ldirBinary } from './ldir-binary';
import { freePort } from './system';

/** A daemon started for a fuzz test. */
export interface FuzzDaemon {
  readonly dir: string;
  readonly configFile: string;
  readonly pid: number;
  readonly socketPath: string;
  readonly metricsPort: number;
  /** Resident set size of the daemon process now, in kB (from /proc). */
  rssKb(): number;
  /** Milliseconds a `ping` took, or throws when the daemon does not answer ok within `timeoutMs`. */
  ping(timeoutMs?: number): Promise<number>;
  status(): Promise<StatusReport>;
  /** The last `bytes` of the daemon's log. */
  logTail(bytes?: number): string;
  /** `ldir stop`; kills the process when it does not stop in time. Removes the directory. */
  stop(): Promise<void>;
}

/** Resident set size of `pid` in kB. */
export function rssKbOf(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

/**
 * Starts the daemon with the configuration `body(metricsPort)` returns (globals and virtuals; a `logfile` and the
 * metrics address are added in front). Loopback only: the configuration must name 127.0.0.0/8 addresses.
 */
export async function startFuzzDaemon(name: string, body: (metricsPort: number) => string): Promise<FuzzDaemon> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ldir-fuzz-${name}-`));
  const env = {
    ...process.env,
    LDIR_IPVS: 'memory',
    LDIR_RUN_DIR: path.join(dir, 'run'),
    LDIR_SOCKET_DIR: path.join(dir, 'sock'),
    LDIR_STATE_DIR: path.join(dir, 'state'),
  };
  const ldir = ldirBinary(() => env, 120_000);
  const metricsPort = await freePort('127.0.0.1');
  const configFile = path.join(dir, `${name}.cf`);
  const log = path.join(dir, 'ldir.log');
  fs.writeFileSync(configFile, `logfile="${log}"\nmetrics=127.0.0.1:${metricsPort}\n${body(metricsPort)}`);
  const started = await ldir(configFile, 'start');
  if (started.status !== 0)
    throw new Error(
      `ldir start failed (${started.status}): ${started.stderr}\n${fs.existsSync(log) ? fs.readFileSync(log, 'utf8').slice(-3000) : ''}`,
    );
  const socketPath = controlSocketPath(`${name}.cf`, env.LDIR_SOCKET_DIR);
  const ping = await pingDaemon(socketPath, { timeoutMs: 10_000 });
  if (!ping.ok) throw new Error(`the daemon does not answer ping: ${JSON.stringify(ping)}`);
  const pid = ping.result.pid;
  return {
    dir,
    configFile,
    pid,
    socketPath,
    metricsPort,
    rssKb: () => rssKbOf(pid),
    ping: async (timeoutMs = 10_000) => {
      const t0 = Date.now();
      const r = await pingDaemon(socketPath, { timeoutMs });
      if (!r.ok) throw new Error(`ping answered ${JSON.stringify(r)}`);
      return Date.now() - t0;
    },
    status: async () => {
      const r = await sendControlRequest(socketPath, { type: 'status' }, { timeoutMs: 10_000 });
      if (!r.ok) throw new Error(`status answered ${JSON.stringify(r)}`);
      return r.result;
    },
    logTail: (bytes = 3_000) => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').slice(-bytes) : ''),
    stop: async () => {
      const r = await ldir(configFile, 'stop');
      if (r.status !== 0) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
