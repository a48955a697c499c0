// Freezes one thread of another process for real, the rest of the process running on: what a wedged native thread
// looks like from outside. A python3 tracer seizes the thread (ptrace PTRACE_SEIZE, then PTRACE_INTERRUPT: only that
// thread stops, no signal reaches the process) and holds it until released; when the tracer exits the kernel detaches
// it and the thread runs on.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';

/** The tracer: argv[1] the thread id; prints `frozen` once the thread stopped, exits (releasing it) when stdin closes. */
const TRACER = `
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.restype = ctypes.c_long
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
PTRACE_SEIZE, PTRACE_INTERRUPT, WALL = 0x4206, 0x4207, 0x40000000
tid = int(sys.argv[1])
if libc.ptrace(PTRACE_SEIZE, tid, None, None) != 0:
    print('error: PTRACE_SEIZE: ' + os.strerror(ctypes.get_errno()), flush=True); sys.exit(2)
if libc.ptrace(PTRACE_INTERRUPT, tid, None, None) != 0:
    print('error: PTRACE_INTERRUPT: ' + os.strerror(ctypes.get_errno()), flush=True); sys.exit(2)
os.waitpid(tid, WALL)
print('frozen', flush=True)
sys.stdin.read()
`;

/** Why threads cannot be frozen here (no python3), or undefined. */
export function threadFreezeUnavailable(): string | undefined {
  const r = spawnSync('python3', ['-c', 'import ctypes'], { stdio: 'ignore' });
  return r.status === 0 ? undefined : 'python3 with ctypes is needed to freeze a thread (ptrace)';
}

/** Thread ids of process `pid` whose name (`/proc/PID/task/TID/comm`) is `name`. */
export function threadsNamed(pid: number, name: string): number[] {
  const tasks = `/proc/${pid}/task`;
  return fs
    .readdirSync(tasks)
    .map(Number)
    .filter((tid) => {
      try {
        return fs.readFileSync(`${tasks}/${tid}/comm`, 'utf8').trim() === name;
      } catch {
        return false; // the thread ended meanwhile
      }
    });
}

/** A thread held stopped; {@link release} lets it run on (idempotent, resolves once the tracer has exited). */
export interface FrozenThread {
  readonly tid: number;
  release(): Promise<void>;
}

/** Stops thread `tid` (rejects with the tracer's reason when ptrace is refused, or after `timeoutMs`). */
export function freezeThread(tid: number, timeoutMs = 10_000): Promise<FrozenThread> {
  const tracer: ChildProcess = spawn('python3', ['-c', TRACER, String(tid)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => tracer.once('exit', () => resolve()));
  const release = async (): Promise<void> => {
    tracer.stdin?.end();
    const timer = setTimeout(() => tracer.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      void release();
      reject(new Error(`thread ${tid} not frozen within ${timeoutMs} ms: ${out}${err}`));
    }, timeoutMs);
    tracer.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    tracer.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('frozen\n')) {
        clearTimeout(timer);
        resolve({ tid, release });
      }
    });
    tracer.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`cannot freeze thread ${tid} (tracer exit ${code}): ${(out + err).trim()}`));
    });
  });
}
