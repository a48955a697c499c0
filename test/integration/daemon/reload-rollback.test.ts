// A reload the kernel refuses (issue 21 item 1): the daemon in this process (memory backend, real control socket).
// The memory table refuses, as the kernel would, an operation the reload brings; the daemon puts the previous
// configuration back (table, checks), answers LDIR_ERR_RELOAD_REFUSED_BY_KERNEL with the kernel's reason, and
// `ldir reload` exits 2. A refusal the running configuration already had does not make every reload fail.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { runReloadCommand } from '../../../src/cli/control-commands';
import { sendControlRequest } from '../../../src/cli/control-client';
import type { Daemon } from '../../../src/daemon/daemon';
import { runForeground } from '../../../src/app/foreground';
import { controlSocketPath } from '../../../src/daemon/protocol';
import { MemoryBackend } from '../../../src/ipvs/memory';
import { systemFactories } from '../../../src/ipvs/select';
import type { IpvsOp } from '../../../src/ipvs/types';
import { silentLogger } from '../../../src/log';
import type { Config } from '../../../src/model';
import { capture } from '../../helpers/cli-io';
import { eventually } from '../../helpers/wait';

let tmp = '';
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-reload-rollback-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** One virtual on :80 with a real of `weight`; `second` adds a virtual on :81. */
function configText(weight: number, second = false): string {
  return (
    `checkinterval=1\nautoreload=no\nvirtual=127.0.0.1:80\n\treal=127.0.0.2:80 masq ${weight}\n\tchecktype=on\n` +
    (second ? 'virtual=127.0.0.1:81\n\treal=127.0.0.3:81 masq 1\n\tchecktype=on\n' : '')
  );
}

const onPort =
  (port: number) =>
  (op: IpvsOp): boolean =>
    op.op === 'add-service' && 'port' in op.service && op.service.port === port;

/** The table as `port:address=weight` lines, sorted. */
async function table(backend: MemoryBackend): Promise<string> {
  const services = await backend.list();
  return services
    .flatMap((s) => s.destinations.map((d) => `${'port' in s.service ? s.service.port : '-'}:${d.address}=${d.weight}`))
    .sort()
    .join(' ');
}

test('a reload whose new service the kernel refuses: previous table and configuration back, exit 2 with the reason', {
  timeout: 60_000,
}, async () => {
  const file = path.join(tmp, 'site.cf');
  fs.writeFileSync(file, configText(3));
  const backend = new MemoryBackend();
  const signals = new EventEmitter();
  const configs: Config[] = [];
  let started!: (d: Daemon) => void;
  const ready = new Promise<Daemon>((r) => {
    started = r;
  });
  const socketDirectory = path.join(tmp, 'sock');
  const done = runForeground({
    configPath: file,
    configName: 'site.cf',
    logger: silentLogger(),
    ipvs: 'memory',
    backendFactories: { ...systemFactories(), memory: () => backend },
    runDirectory: path.join(tmp, 'run'),
    socketDirectory,
    signals: signals as unknown as Pick<NodeJS.Process, 'on' | 'off'>,
    engine: { resyncIntervalMs: 60_000, coalesceMs: 10 },
    onConfig: (c) => configs.push(c),
    onStarted: started,
  });
  await Promise.race([
    ready,
    done.then((code) => {
      throw new Error(`the daemon exited with ${code}`);
    }),
  ]);
  const socketPath = controlSocketPath('site.cf', socketDirectory);
  const history = (): string => JSON.stringify(backend.history().slice(-8));
  try {
    await eventually(
      'the real at weight 3',
      async () => ((await table(backend)) === '80:127.0.0.2=3' ? true : undefined),
      10_000,
      50,
      history,
    );

    // The reload changes the weight and adds a service the kernel refuses.
    // Refused twice: this reload and the one through the CLI below.
    backend.failNext(onPort(81), 'EINVAL', 2);
    fs.writeFileSync(file, configText(5, true));
    const response = await sendControlRequest(socketPath, { type: 'reload' });
    assert.equal(response.ok, false, JSON.stringify(response));
    if (response.ok) return;
    assert.equal(response.error.code, 'LDIR_ERR_RELOAD_REFUSED_BY_KERNEL');
    assert.match(
      response.error.message,
      /^the kernel refused what the reload brought \(.*127\.0\.0\.1:81.*EINVAL.*\); the previous configuration is in force again$/,
    );
    assert.equal(await table(backend), '80:127.0.0.2=3', `previous table back: ${history()}`);
    assert.equal(configs.at(-1)?.virtualServices.length, 1, 'the previous configuration is in force');
    assert.ok(
      backend.history().some((op) => op.op === 'edit-destination' && op.destination.weight === 5),
      'the reload had been applied, then undone',
    );

    // The CLI: exit 2 and the reason.
    const io = capture();
    assert.equal(await runReloadCommand({ socketPath }, io), 2);
    assert.match(io.err, /^ldir: reload refused: the kernel refused what the reload brought .*EINVAL/m);
    assert.equal(await table(backend), '80:127.0.0.2=3');

    // Once the kernel takes it, the same file reloads.
    const ok = await sendControlRequest(socketPath, { type: 'reload' });
    assert.equal(ok.ok, true, JSON.stringify(ok));
    await eventually(
      'both services in',
      async () => ((await table(backend)) === '80:127.0.0.2=5 81:127.0.0.3=1' ? true : undefined),
      10_000,
      50,
      history,
    );
  } finally {
    signals.emit('SIGTERM');
    assert.equal(await done, 0);
  }
});
