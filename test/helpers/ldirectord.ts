// Runs Debian's real ldirectord (Perl) and ldir side by side on a config file, with name resolution isolated.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePackages } from './system';

/** Path of Debian's ldirectord. */
export const LDIRECTORD = '/usr/sbin/ldirectord';

/** The compiled ldir entry point. */
export const LDIR_MAIN = join(__dirname, '..', '..', 'src', 'main.js');

/** Output of one process run. */
export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Why side-by-side runs are impossible here, or undefined when they are possible. A missing ldirectord is installed
 * first where that can be done (root, apt-get: Debian's package, as test/provision.sh installs it).
 */
export function differentialUnavailable(
  install: (packages: readonly string[]) => string | undefined = ensurePackages,
): string | undefined {
  if (!existsSync(LDIRECTORD)) {
    const why = install(['ldirectord']);
    if (why !== undefined || !existsSync(LDIRECTORD))
      return `${LDIRECTORD} is not installed (Debian package ldirectord): ${why ?? 'not there after installing it'}`;
  }
  try {
    execFileSync('unshare', ['--net', 'true'], { stdio: 'ignore' });
  } catch {
    return 'unshare --net is not permitted (needs root)';
  }
  return undefined;
}

/** Runs a command inside a fresh network namespace, so no name lookup can leave the machine. */
export function runIsolated(
  command: string,
  args: readonly string[],
  cwd = '/tmp',
  timeoutMs = 30_000,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('unshare', ['--net', command, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** ldirectord's verdict on a config: exit code, error line and warning lines. */
export interface LdirectordVerdict {
  readonly code: number;
  readonly errorLine: number | undefined;
  readonly message: string | undefined;
  readonly warningLines: readonly number[];
}

/** Runs `ldirectord ABSPATH status` (parses the config; exits 2 on errors, 3 when valid and not running). */
export async function ldirectordVerdict(file: string): Promise<LdirectordVerdict> {
  const r = await runIsolated(LDIRECTORD, [file, 'status']);
  const err = /Error \[\d+\] reading file .* at line (\d+): (.*)/.exec(r.stderr);
  const warningLines = [...r.stderr.matchAll(/Warning \[\d+\] reading file .* at line (\d+):/g)].map((m) =>
    Number(m[1]),
  );
  return { code: r.code, errorLine: err ? Number(err[1]) : undefined, message: err?.[2], warningLines };
}

/** ldir's verdict on a config through `ldir check`: exit code, error lines and warning lines. */
export interface LdirVerdict {
  readonly code: number;
  readonly errorLines: readonly number[];
  readonly warningLines: readonly number[];
  readonly stderr: string;
}

/** Runs `ldir check ABSPATH` in its own network namespace. */
export async function ldirVerdict(file: string): Promise<LdirVerdict> {
  const r = await runIsolated(process.execPath, [LDIR_MAIN, 'check', file]);
  const lines = r.stderr.split('\n').filter((l) => l.startsWith(`${file}:`));
  const lineOf = (l: string): number => Number(l.slice(file.length + 1).split(':')[0]);
  return {
    code: r.code,
    errorLines: lines.filter((l) => !/^[^:]+:\d+(:\d+)?: warning: /.test(l)).map(lineOf),
    warningLines: lines.filter((l) => /^[^:]+:\d+(:\d+)?: warning: /.test(l)).map(lineOf),
    stderr: r.stderr,
  };
}
