// Reloads asked for while a reload runs (issue 20): the daemon in this process (memory backend, real control socket,
// SIGHUP and autoreload as in production). The first reload is held inside its load (a host name whose resolution the
// test releases), the file is changed and more reloads are asked for meanwhile; each answer must come from a run that
// read the file after the request, and the configuration in force when it arrives must be the new one.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { sendControlRequest } from '../../../src/cli/control-client';
import type { ReloadOutcome } from '../../../src/daemon/control-server';
import type { Daemon } from '../../../src/daemon/daemon';
import { runForeground } from '../../../src/app/foreground';
import { controlSocketPath } from '../../../src/daemon/protocol';
import { systemResolver, type Resolver } from '../../../src/config/resolver';
import { MemoryBackend } from '../../../src/ipvs/memory';
import { systemFactories } from '../../../src/ipvs/select';
import { silentLogger } from '../../../src/log';
import type { Config } from '../../../src/model';
import { eventually } from '../../helpers/wait';

/** The host name whose resolution the test holds: a load of a file that names it waits for {@link HeldResolver.release}. */
const HELD_HOST = 'held.example';
const HELD_ADDRESS = '127.0.0.4';

/** The system resolver, except that {@link HELD_HOST} resolves only once the test releases it. */
class HeldResolver implements Resolver {
  private readonly system = systemResolver();
  private readonly gate: Promise<void>;
  release!: () => void;
  /** Resolves when a load asks for {@link HELD_HOST} (the reload reading the file is then inside its load). */
  readonly entered: Promise<void>;
  private onEntered!: () => void;
  asked = 0;

  constructor() {
    this.gate = new Promise((r) => {
      this.release = r;
    });
    this.entered = new Promise((r) => {
      this.onEntered = r;
    });
  }

  resolveHost(host: string, family: 'inet' | 'inet6'): Promise<string | undefined> {
    if (host !== HELD_HOST) return this.system.resolveHost(host, family);
    this.asked++;
    this.onEntered();
    return this.gate.then(() => (family === 'inet' ? HELD_ADDRESS : undefined));
  }

  resolvePort(nameOrNumber: string, protocol: 'tcp' | 'udp' | 'sctp' | ''): number | undefined {
    return this.system.resolvePort(nameOrNumber, protocol);
  }
}

/** A configuration with one real; `warn` adds `checkcount` on line 2 (a deprecation warning: its reload answer says so). */
function configText(real: string, weight: number, options: { autoreload?: boolean; warn?: boolean } = {}): string {
  return (
    `checkinterval=1\n${options.warn ? 'checkcount=3\n' : ''}autoreload=${options.autoreload ? 'yes' : 'no'}\n` +
    `virtual=127.0.0.1:80\n\treal=${real}:80 masq ${weight}\n\tchecktype=on\n`
  );
}

/** Replaces `file` in one step (as editors save), so that autoreload never reads it half written. */
function save(file: string, text: string): void {
  fs.writeFileSync(`${file}.new`, text);
  fs.renameSync(`${file}.new`, file);
}

/** The reals of the configuration's one virtual service, as `address weight`. */
function realsOf(config: Config): string[] {
  return config.virtualServices.flatMap((v) => v.reals.map((r) => `${r.address} ${r.weight}`));
}

/** Every call of `daemon.reload()` (from SIGHUP, autoreload or the control socket) with the promise it returned. */
function spyOnReload(daemon: Daemon): { calls: Promise<ReloadOutcome>[]; called: (n: number) => Promise<void> } {
  const calls: Promise<ReloadOutcome>[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const original = daemon.reload.bind(daemon);
  daemon.reload = () => {
    const outcome = original();
    calls.push(outcome);
    for (const w of waiters.filter((x) => calls.length >= x.n)) w.resolve();
    return outcome;
  };
  return {
    calls,
    called: (n) => (calls.length >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }))),
  };
}

let tmp = '';
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-concurrent-reload-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Running {
  readonly daemon: Daemon;
  readonly backend: MemoryBackend;
  readonly signals: EventEmitter;
  readonly resolver: HeldResolver;
  readonly configs: Config[];
  readonly reloads: boolean[];
  readonly socketPath: string;
  readonly file: string;
  readonly done: Promise<number>;
}

/** Starts the daemon in the foreground code path (signals from an emitter) on `text`. */
async function start(name: string, text: string): Promise<Running> {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, text);
  const backend = new MemoryBackend();
  const signals = new EventEmitter();
  const resolver = new HeldResolver();
  const configs: Config[] = [];
  const reloads: boolean[] = [];
  let started!: (d: Daemon) => void;
  const daemonReady = new Promise<Daemon>((r) => {
    started = r;
  });
  const socketDirectory = path.join(tmp, `sock-${name}`);
  const done = runForeground({
    configPath: file,
    configName: name,
    logger: silentLogger(),
    ipvs: 'memory',
    backendFactories: { ...systemFactories(), memory: () => backend },
    load: { resolver },
    runDirectory: path.join(tmp, 'run'),
    socketDirectory,
    watchIntervalMs: 50,
    signals: signals as unknown as Pick<NodeJS.Process, 'on' | 'off'>,
    engine: { resyncIntervalMs: 60_000, coalesceMs: 10 },
    onConfig: (c) => configs.push(c),
    onReload: (ok) => reloads.push(ok),
    onStarted: started,
  });
  const daemon = await Promise.race([
    daemonReady,
    done.then((code) => {
      throw new Error(`the daemon exited with ${code} before it ran`);
    }),
  ]);
  return {
    daemon,
    backend,
    signals,
    resolver,
    configs,
    reloads,
    socketPath: controlSocketPath(name, socketDirectory),
    file,
    done,
  };
}

async function stop(r: Running): Promise<void> {
  r.resolver.release();
  r.signals.emit('SIGTERM');
  assert.equal(await r.done, 0);
}

/** The weight the memory table gives `address` under 127.0.0.1:80, once it is there (bounded wait). */
function kernelWeight(backend: MemoryBackend, address: string, weight: number): Promise<true> {
  return eventually(
    `${address} with weight ${weight} in the table`,
    async () => {
      const service = (await backend.list()).find((s) => 'address' in s.service && s.service.address === '127.0.0.1');
      return service?.destinations.some((d) => d.address === address && d.weight === weight) ? true : undefined;
    },
    10_000,
    50,
    () => JSON.stringify(backend.history().slice(-6)),
  );
}

test('a reload asked for on the control socket during a SIGHUP reload runs after it, with the file as it is then', {
  timeout: 60_000,
}, async () => {
  const r = await start('hup.cf', configText('127.0.0.2', 3));
  try {
    await kernelWeight(r.backend, '127.0.0.2', 3);
    // SIGHUP: the reload reads the file that names the held host and waits inside its load.
    save(r.file, configText(HELD_HOST, 4));
    r.signals.emit('SIGHUP');
    await r.resolver.entered;
    const spy = spyOnReload(r.daemon);
    // The operator saves an edit and asks for a reload while the first still runs.
    save(r.file, configText('127.0.0.3', 6, { warn: true }));
    const answer = sendControlRequest(r.socketPath, { type: 'reload' }, { timeoutMs: 30_000 });
    await spy.called(1); // the daemon has the request: only now may the first reload finish
    r.resolver.release();
    const response = await answer;
    assert.ok(response.ok, `reload answered ${JSON.stringify(response)}`);
    // The answer is the second file's (its warning, its line), and that file is in force when the answer arrives.
    assert.deepEqual(
      response.result.diagnostics.map((d) => `${d.line}: ${d.severity}`),
      ['2: warning'],
      "the answer carries the edited file's warning",
    );
    assert.deepEqual(
      realsOf(r.daemon.currentConfig()),
      ['127.0.0.3 6'],
      'the edited file is in force when the answer arrives',
    );
    assert.deepEqual(
      r.configs.map(realsOf),
      [['127.0.0.2 3'], [`${HELD_ADDRESS} 4`], ['127.0.0.3 6']],
      'both reloads applied, in order',
    );
    assert.deepEqual(r.reloads, [true, true]);
    assert.equal(r.resolver.asked, 1, 'the held file was loaded once');
    await kernelWeight(r.backend, '127.0.0.3', 6);
  } finally {
    await stop(r);
  }
});

test('requests during a running reload (SIGHUP, autoreload, control socket) share one run after it', {
  timeout: 60_000,
}, async () => {
  const r = await start('auto.cf', configText('127.0.0.2', 3, { autoreload: true }));
  try {
    await kernelWeight(r.backend, '127.0.0.2', 3);
    // autoreload sees the file that names the held host: its reload waits inside the load.
    save(r.file, configText(HELD_HOST, 4, { autoreload: true }));
    await r.resolver.entered;
    const spy = spyOnReload(r.daemon);
    save(r.file, configText('127.0.0.3', 6, { autoreload: true, warn: true }));
    r.signals.emit('SIGHUP');
    const answer = sendControlRequest(r.socketPath, { type: 'reload' }, { timeoutMs: 30_000 });
    // SIGHUP, the control request and autoreload (which sees the edit at its next look) have all asked.
    await spy.called(3);
    r.resolver.release();
    const response = await answer;
    assert.ok(response.ok, `reload answered ${JSON.stringify(response)}`);
    assert.deepEqual(
      response.result.diagnostics.map((d) => `${d.line}: ${d.severity}`),
      ['2: warning'],
      "the answer carries the edited file's warning",
    );
    const outcomes = await Promise.all(spy.calls);
    assert.equal(
      new Set(outcomes).size,
      1,
      'every request made during the first reload is answered by one and the same run',
    );
    assert.equal(outcomes[0]?.applied, true);
    assert.deepEqual(r.reloads, [true, true], 'the held reload, then one run for every request made during it');
    assert.deepEqual(realsOf(r.daemon.currentConfig()), ['127.0.0.3 6']);
    await kernelWeight(r.backend, '127.0.0.3', 6);
  } finally {
    await stop(r);
  }
});
