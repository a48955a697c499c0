// BIRD 2 daemons for tests: one `bird` per network namespace the test made, with its configuration, control socket,
// pid file and log in a directory of the test; `birdc` through that socket; stopped by pid. Used by the BIRD
// integration test (routers and speakers on the host) and the kernel tier's scale-out lab (inside the VM).
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** A running BIRD. */
export interface BirdDaemon {
  readonly netns: string;
  /** Its control socket (what `announcesocket=` names for a director's BIRD). */
  readonly ctl: string;
  readonly configFile: string;
  readonly logFile: string;
  /** Its pid (from its pid file), once it runs. */
  pid(): number | undefined;
  /** `birdc -s CTL ARGS...`: the output (also on a non-zero exit: birdc prints BIRD's error), '' when it cannot run. */
  birdc(args: readonly string[]): string;
  /** The last `n` lines of its log. */
  logTail(n?: number): string;
  /** SIGTERM to the daemon (never throws). */
  stop(): void;
}

/**
 * Starts `bird` in namespace `ns` with `config` (its `log` line is added here: the log goes to `DIR/NAME.log`), its
 * files `DIR/NAME.conf`, `.ctl`, `.pid`. Throws with BIRD's message when the configuration is refused. BIRD forks
 * into the background once the configuration is read.
 */
export function startBird(ns: string, dir: string, name: string, config: string): BirdDaemon {
  const base = path.join(dir, name);
  const configFile = `${base}.conf`;
  const logFile = `${base}.log`;
  const ctl = `${base}.ctl`;
  const pidFile = `${base}.pid`;
  fs.writeFileSync(configFile, `log "${logFile}" all;\n${config}`);
  execFileSync('ip', ['netns', 'exec', ns, 'bird', '-c', configFile, '-s', ctl, '-P', pidFile], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 30_000,
  });
  const pid = (): number | undefined => {
    try {
      const n = Number(fs.readFileSync(pidFile, 'utf8').trim());
      return Number.isInteger(n) && n > 0 ? n : undefined;
    } catch {
      return undefined;
    }
  };
  return {
    netns: ns,
    ctl,
    configFile,
    logFile,
    pid,
    birdc: (args) => {
      const r = spawnSync('birdc', ['-s', ctl, ...args], { encoding: 'utf8', timeout: 10_000 });
      return `${r.stdout ?? ''}${r.stderr ?? ''}`;
    },
    logTail: (n = 25) => {
      try {
        return fs.readFileSync(logFile, 'utf8').split('\n').slice(-n).join('\n');
      } catch {
        return '(no log)';
      }
    },
    stop: () => {
      const p = pid();
      if (p === undefined) return;
      try {
        process.kill(p, 'SIGTERM');
      } catch {
        // not running
      }
    },
  };
}

/** The IPv4 prefixes a BIRD has in its tables (`show route`). */
export function birdRoutes(bird: BirdDaemon): Set<string> {
  return new Set(
    [...bird.birdc(['show', 'route']).matchAll(/^(\d+\.\d+\.\d+\.\d+\/\d+)\s/gm)].map((m) => m[1] as string),
  );
}

/** The include file ldir's BIRD driver owns, with both prefix sets empty: what the operator creates before BIRD starts. */
export const EMPTY_ANNOUNCE_FILE = 'define LDIR_ANNOUNCED_V4 = [];\ndefine LDIR_ANNOUNCED_V6 = [];\n';
