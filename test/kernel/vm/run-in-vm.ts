// Boots the kernel-tier qemu VM (Debian kernel with IPVS, host root over 9p) and runs one shell command line in it.
//
// How it works: provision-vm.sh caches a Debian kernel and a busybox initramfs (see its header). Each run makes a
// host temp dir shared read-write with the guest as 9p tag "results": the host writes job.sh (env, cd, the command)
// and vm.conf there; guest-init.sh mounts the host's / read-only under a tmpfs overlay, switch_roots into it, runs
// job.sh as root with its output in results/output (tailed here while it runs) and its exit code in results/rc,
// prints "LDIR-VM-EXIT=<n>" on the serial console and powers off. The VM has no network device at all.
//
// CLI for humans: node dist/test/kernel/vm/run-in-vm.js -- <command...>
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';

/** Options of {@link runInVm}. */
export interface RunInVmOptions {
  /** Overall limit for provisioning, boot and the command; qemu is killed when it passes. Default 20 min. */
  timeoutMs?: number;
  /** Receives the command's output (and any kernel console line printed while it runs) as it arrives. */
  onOutput?: (chunk: string) => void;
}

/**
 * An {@link RunInVmOptions.onOutput} that hands `onLine` each whole line of the output as it arrives; `flush` hands
 * it what is left after the last newline (call it once the run is over).
 */
export function outputLines(onLine: (line: string) => void): { onOutput: (chunk: string) => void; flush: () => void } {
  let pending = '';
  return {
    onOutput: (chunk) => {
      pending += chunk;
      const parts = pending.split('\n');
      pending = parts.pop() ?? '';
      for (const line of parts) onLine(line);
    },
    flush: () => {
      if (pending !== '') onLine(pending);
      pending = '';
    },
  };
}

/** What one VM run produced. */
export interface RunInVmResult {
  /** Exit status of the command inside the guest. */
  code: number;
  /** The command's stdout and stderr, interleaved as written. */
  output: string;
  /** Milliseconds from starting qemu until the guest started the command. */
  bootMs: number;
}

/** Default overall timeout of {@link runInVm}. */
export const DEFAULT_VM_TIMEOUT_MS = 20 * 60 * 1000;

const BEGIN_MARKER = 'LDIR-VM-BEGIN';
const EXIT_MARKER = /^LDIR-VM-EXIT=(\d+)\s*$/;
const ERROR_MARKER = /^LDIR-VM-ERROR: (.*)$/;
const QEMU = 'qemu-system-x86_64';

interface VmEnv {
  kver: string;
  kernel: string;
  initrd: string;
  moddir: string;
}

/** Directory holding the provisioned kernel and initramfs ($LDIR_VM_CACHE, default /var/cache/ldir-test-vm). */
export function vmCacheDir(): string {
  return process.env.LDIR_VM_CACHE || '/var/cache/ldir-test-vm';
}

/** Root of this checkout: the nearest ancestor of this file holding test/kernel/vm/provision-vm.sh. */
export function repoRoot(): string {
  let dir = __dirname;
  for (;;) {
    if (
      fs.existsSync(path.join(dir, 'test/kernel/vm/provision-vm.sh')) &&
      fs.existsSync(path.join(dir, 'package.json'))
    ) {
      return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find the repository root above ${__dirname}`);
    dir = parent;
  }
}

function findInPath(name: string): string | undefined {
  const dirs = (process.env.PATH ?? '')
    .split(':')
    .concat(['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin']);
  for (const d of dirs) {
    if (!d) continue;
    const p = path.join(d, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

function readVmEnv(): VmEnv | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(vmCacheDir(), 'vm.env'), 'utf8');
  } catch {
    return undefined;
  }
  const vars = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) vars.set(m[1] as string, m[2] as string);
  }
  const env: VmEnv = {
    kver: vars.get('LDIR_VM_KVER') ?? '',
    kernel: vars.get('LDIR_VM_KERNEL') ?? '',
    initrd: vars.get('LDIR_VM_INITRD') ?? '',
    moddir: vars.get('LDIR_VM_MODDIR') ?? '',
  };
  if (!env.kver || !fs.existsSync(env.kernel) || !fs.existsSync(env.initrd) || !fs.existsSync(env.moddir))
    return undefined;
  return env;
}

/** Why the VM cannot be used on this machine, or undefined when it can (possibly after provisioning). */
export function vmUnavailable(): string | undefined {
  if (process.platform !== 'linux') return `the kernel-tier VM needs Linux (this is ${process.platform})`;
  if (process.arch !== 'x64') return `the kernel-tier VM needs an x86_64 host (this is ${process.arch})`;
  if (process.env.LDIR_IN_VM === '1') return 'already inside the kernel-tier VM (no nesting)';
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    return 'the kernel-tier VM needs root (apt-get provisioning, qemu exporting / over 9p)';
  }
  if (readVmEnv() && findInPath(QEMU)) return undefined;
  if (!findInPath('apt-get')) {
    return `the VM cache ${vmCacheDir()} is not provisioned (or ${QEMU} is missing) and there is no apt-get to do it`;
  }
  return undefined;
}

/** Runs provision-vm.sh (idempotent; quick when the cache is ready). Rejects with its output when it fails. */
export function provisionVm(timeoutMs = 10 * 60 * 1000): Promise<void> {
  const script = path.join(repoRoot(), 'test/kernel/vm/provision-vm.sh');
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script, '--quiet'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${script}: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`VM provisioning failed (${signal ?? `exit ${code}`}): ${out.trim()}`));
    });
  });
}

function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function writeJob(dir: string, command: string, env: VmEnv, cwd: string): void {
  const nodeDir = path.dirname(process.execPath);
  const vars: Array<[string, string]> = [
    ['PATH', `${nodeDir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`],
    ['HOME', '/root'],
    ['LANG', 'C.UTF-8'],
    ['TERM', 'dumb'],
    ['LDIR_IN_VM', '1'],
    ['LDIR_VM_KVER', env.kver],
  ];
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && (k === 'CI' || (k.startsWith('LDIR_') && !k.startsWith('LDIR_VM_') && k !== 'LDIR_IN_VM'))) {
      vars.push([k, v]);
    }
  }
  const job = [
    '# Written by run-in-vm.ts; run by guest-init.sh as root inside the VM.',
    ...vars.map(([k, v]) => `export ${k}=${shQuote(v)}`),
    `cd ${shQuote(cwd)} || exit 125`,
    command,
    '',
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'job.sh'), job);
  fs.writeFileSync(
    path.join(dir, 'vm.conf'),
    `LDIR_VM_MODDIR=${shQuote(env.moddir)}\nLDIR_VM_MODULES=${shQuote(process.env.LDIR_VM_MODULES ?? '')}\n`,
  );
}

function qemuArgs(env: VmEnv, resultsDir: string): string[] {
  const mem = process.env.LDIR_VM_MEMORY_MB || '2048';
  const smp = process.env.LDIR_VM_SMP || '2';
  return [
    '-nodefaults',
    '-no-user-config',
    '-machine',
    'pc',
    '-accel',
    'tcg',
    '-cpu',
    'max', // no KVM here (nested KVM hangs); -cpu host needs KVM
    '-smp',
    smp,
    '-m',
    mem,
    '-display',
    'none',
    '-no-reboot',
    '-nic',
    'none', // no network device to the outside: tests use loopback and their own namespaces only
    '-chardev',
    'stdio,id=con,signal=off',
    '-serial',
    'chardev:con',
    '-kernel',
    env.kernel,
    '-initrd',
    env.initrd,
    '-append',
    'console=ttyS0 quiet panic=-1',
    '-fsdev',
    'local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap',
    '-device',
    'virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot',
    '-fsdev',
    `local,id=results,path=${resultsDir.replace(/,/g, ',,')},security_model=none,multidevs=remap`,
    '-device',
    'virtio-9p-pci,fsdev=results,mount_tag=results',
  ];
}

function tail(text: string, lines = 40): string {
  return text.split('\n').slice(-lines).join('\n');
}

/**
 * Boots the VM, runs `command` (a shell command line, run by bash as root with cwd = this checkout's root and the
 * host's node first in PATH) and resolves with its exit status and output. Rejects when the VM cannot be provisioned
 * or booted, when the guest reports a setup error, or when the timeout passes (qemu is killed).
 */
export async function runInVm(command: string, options: RunInVmOptions = {}): Promise<RunInVmResult> {
  const reason = vmUnavailable();
  if (reason) throw new Error(reason);
  const timeoutMs = options.timeoutMs ?? DEFAULT_VM_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  await provisionVm(timeoutMs);
  const env = readVmEnv();
  if (!env) throw new Error(`VM cache ${vmCacheDir()} is incomplete after provisioning`);
  const qemu = findInPath(QEMU);
  if (!qemu) throw new Error(`${QEMU} not found after provisioning`);

  const resultsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-vm-'));
  try {
    writeJob(resultsDir, command, env, repoRoot());
    const remainingMs = Math.max(1000, deadline - Date.now());
    // The guest also powers itself off a little after the deadline, in case this process dies without killing qemu.
    fs.appendFileSync(path.join(resultsDir, 'vm.conf'), `LDIR_VM_WATCHDOG_S=${Math.ceil(remainingMs / 1000) + 30}\n`);
    return await boot(qemu, env, resultsDir, remainingMs, options.onOutput);
  } finally {
    fs.rmSync(resultsDir, { recursive: true, force: true });
  }
}

function boot(
  qemu: string,
  env: VmEnv,
  resultsDir: string,
  timeoutMs: number,
  onOutput: ((chunk: string) => void) | undefined,
): Promise<RunInVmResult> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let bootMs = -1;
    let consoleLog = ''; // everything the serial console printed, for error messages
    let consoleRest = '';
    let markerCode: number | undefined;
    let guestError: string | undefined;
    let output = '';
    let timedOut = false;
    let settled = false;

    const emit = (chunk: string): void => {
      if (!chunk) return;
      output += chunk;
      onOutput?.(chunk);
    };

    // Tail results/output while the command runs (a regular file: leftover daemons cannot hold it open).
    const outPath = path.join(resultsDir, 'output');
    const decoder = new StringDecoder('utf8');
    let fd: number | undefined;
    let pos = 0;
    const buf = Buffer.alloc(64 * 1024);
    const pump = (): void => {
      if (fd === undefined) {
        try {
          fd = fs.openSync(outPath, 'r');
        } catch {
          return;
        }
      }
      for (;;) {
        const n = fs.readSync(fd, buf, 0, buf.length, pos);
        if (n <= 0) break;
        pos += n;
        emit(decoder.write(buf.subarray(0, n)));
      }
    };
    const poller = setInterval(() => {
      try {
        pump();
      } catch {
        // transient read error: retried on the next tick and once more when qemu has exited
      }
    }, 250);

    const child: ChildProcess = spawn(qemu, qemuArgs(env, resultsDir), { stdio: ['pipe', 'pipe', 'pipe'] });
    // Never leave qemu behind: on exit, and on SIGINT/SIGTERM (then die of the same signal as before).
    const killOnExit = (): void => {
      child.kill('SIGKILL');
    };
    const onSignal = (sig: NodeJS.Signals): void => {
      child.kill('SIGKILL');
      removeHooks();
      fs.rmSync(resultsDir, { recursive: true, force: true });
      process.kill(process.pid, sig);
    };
    const removeHooks = (): void => {
      process.removeListener('exit', killOnExit);
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    };
    process.once('exit', killOnExit);
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);

    const onConsoleLine = (raw: string): void => {
      const line = raw.replace(/\r/g, '');
      consoleLog += `${line}\n`;
      if (line.trim() === BEGIN_MARKER) {
        if (bootMs < 0) bootMs = Date.now() - started;
        return;
      }
      const exit = EXIT_MARKER.exec(line);
      if (exit) {
        markerCode = Number(exit[1]);
        return;
      }
      const err = ERROR_MARKER.exec(line);
      if (err) {
        guestError = err[1];
        return;
      }
      // Kernel messages while the command runs (warnings, oopses) belong with its output.
      if (bootMs >= 0 && markerCode === undefined && line.trim() !== '') {
        pump();
        emit(`[vm console] ${line}\n`);
      }
    };
    child.stdout?.on('data', (d: Buffer) => {
      consoleRest += d.toString('utf8');
      const lines = consoleRest.split('\n');
      consoleRest = lines.pop() ?? '';
      for (const l of lines) onConsoleLine(l);
    });
    let qemuStderr = '';
    child.stderr?.on('data', (d: Buffer) => (qemuStderr += d.toString('utf8')));

    const finish = (err: Error | undefined, result?: RunInVmResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearInterval(poller);
      removeHooks();
      if (fd !== undefined) fs.closeSync(fd);
      if (err) reject(err);
      else resolve(result as RunInVmResult);
    };

    child.on('error', (err) => finish(new Error(`cannot start ${qemu}: ${err.message}`)));
    child.on('close', (code, signal) => {
      if (consoleRest) onConsoleLine(consoleRest);
      try {
        pump();
      } catch {
        // output file unreadable: the rc check below reports the failure
      }
      emit(decoder.end());
      const details =
        `\n--- qemu stderr ---\n${tail(qemuStderr.trim(), 20)}\n--- serial console (tail) ---\n${tail(consoleLog.trim())}` +
        `\n--- command output (tail) ---\n${tail(output.trim())}`;
      if (timedOut) {
        finish(new Error(`VM run timed out after ${Math.round(timeoutMs / 1000)} s; qemu killed${details}`));
        return;
      }
      if (guestError !== undefined) {
        finish(new Error(`VM setup failed in the guest: ${guestError}${details}`));
        return;
      }
      let rc: number | undefined;
      try {
        const text = fs.readFileSync(path.join(resultsDir, 'rc'), 'utf8').trim();
        if (/^\d+$/.test(text)) rc = Number(text);
      } catch {
        rc = undefined;
      }
      rc ??= markerCode;
      if (rc === undefined) {
        finish(new Error(`VM ended without an exit code (qemu ${signal ?? `exit ${code}`})${details}`));
        return;
      }
      finish(undefined, { code: rc, output, bootMs });
    });
  });
}

async function main(argv: string[]): Promise<number> {
  const dash = argv.indexOf('--');
  const words = dash >= 0 ? argv.slice(dash + 1) : argv;
  if (words.length === 0) {
    process.stderr.write(
      'usage: node dist/test/kernel/vm/run-in-vm.js -- <command...>\n' +
        '  runs the command line as root in the kernel-tier VM, cwd = repository root; exits with its status\n' +
        '  env: LDIR_VM_CACHE, LDIR_VM_TIMEOUT_MS, LDIR_VM_MEMORY_MB, LDIR_VM_SMP, LDIR_VM_MODULES\n',
    );
    return 2;
  }
  const reason = vmUnavailable();
  if (reason) {
    process.stderr.write(`run-in-vm: ${reason}\n`);
    return 125;
  }
  const timeoutMs = Number(process.env.LDIR_VM_TIMEOUT_MS) || DEFAULT_VM_TIMEOUT_MS;
  const t0 = Date.now();
  try {
    const r = await runInVm(words.join(' '), { timeoutMs, onOutput: (c) => process.stdout.write(c) });
    process.stderr.write(
      `run-in-vm: exit ${r.code}, boot ${(r.bootMs / 1000).toFixed(1)} s, total ${((Date.now() - t0) / 1000).toFixed(1)} s\n`,
    );
    return r.code;
  } catch (err) {
    process.stderr.write(`run-in-vm: ${(err as Error).message}\n`);
    return 125;
  }
}

// `node --test dist/test/` also executes this file (it sits under test/): only act as a CLI when run directly.
if (require.main === module && process.env.NODE_TEST_CONTEXT === undefined) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
