// Signals that arrive while the daemon is still starting (a service manager that gives up on a slow start) are not
// lost: SIGTERM stops it with its cleanup once the start finished; SIGHUP reloads it then.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { runForeground } from '../../../src/app/foreground';
import { MemoryBackend } from '../../../src/ipvs/memory';
import { systemFactories } from '../../../src/ipvs/select';
import type { ObservedService } from '../../../src/ipvs/types';
import { silentLogger } from '../../../src/log';
import { pidFilePath } from '../../../src/system/pid-file';

/** A memory backend whose first table listing takes `delayMs`, so that the daemon's start takes that long. */
class SlowFirstListBackend extends MemoryBackend {
  private first = true;
  constructor(
    private readonly delayMs: number,
    readonly listed: () => void,
  ) {
    super();
  }
  override async list(): Promise<readonly ObservedService[]> {
    if (this.first) {
      this.first = false;
      this.listed();
      await new Promise((r) => setTimeout(r, this.delayMs));
    }
    return super.list();
  }
}

let tmp = '';
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-fg-signals-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function start(
  signal: 'SIGTERM' | 'SIGHUP',
  name: string,
): { done: Promise<number>; backend: SlowFirstListBackend; signals: EventEmitter; file: string } {
  const file = path.join(tmp, name);
  fs.writeFileSync(
    file,
    'checkinterval=1\ncleanstop=yes\nvirtual=127.0.0.1:80\n\treal=127.0.0.2:80 masq 3\n\tchecktype=on\n',
  );
  const signals = new EventEmitter();
  const backend = new SlowFirstListBackend(400, () => setImmediate(() => signals.emit(signal)));
  const done = runForeground({
    configPath: file,
    configName: name,
    logger: silentLogger(),
    ipvs: 'memory',
    backendFactories: { ...systemFactories(), memory: () => backend },
    runDirectory: path.join(tmp, 'run'),
    socketDirectory: path.join(tmp, 'sock'),
    signals: signals as unknown as Pick<NodeJS.Process, 'on' | 'off'>,
    engine: { resyncIntervalMs: 60_000, coalesceMs: 10 },
  });
  return { done, backend, signals, file };
}

test('SIGTERM during start-up: the daemon finishes starting, then stops with its cleanup and exit 0', {
  timeout: 20_000,
}, async () => {
  const { done, backend } = start('SIGTERM', 'term.cf');
  const code = await done;
  assert.equal(code, 0);
  const kinds = backend.history().map((o) => o.op);
  assert.ok(kinds.includes('add-service'), `the start completed (${kinds.join(', ')})`);
  assert.equal(
    kinds[kinds.length - 1],
    'delete-service',
    `then cleanstop=yes removed what ldir owned (${kinds.join(', ')})`,
  );
  assert.equal(fs.existsSync(pidFilePath('term.cf', path.join(tmp, 'run'))), false, 'pid file released');
});

test('SIGHUP during start-up: the daemon reloads once started (a file changed while it started is taken)', {
  timeout: 20_000,
}, async () => {
  const { done, backend, signals, file } = start('SIGHUP', 'hup.cf');
  // Change the file while the start is in progress (the first listing is held for 400 ms).
  fs.writeFileSync(
    file,
    'checkinterval=1\ncleanstop=yes\nvirtual=127.0.0.1:80\n\treal=127.0.0.2:80 masq 7\n\tchecktype=on\n',
  );
  const deadline = Date.now() + 10_000;
  let weight: number | undefined;
  while (Date.now() < deadline) {
    weight = (await backend.list())[0]?.destinations.find((d) => d.address === '127.0.0.2')?.weight;
    if (weight === 7) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(weight, 7, 'the reload after start-up applied the new weight');
  signals.emit('SIGTERM');
  assert.equal(await done, 0);
});
