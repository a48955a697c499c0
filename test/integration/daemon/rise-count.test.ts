// The whole daemon (memory backend, checks on the native engine when built) with risecount=3 against a real HTTP
// server on 127.0.0.6: a real that failed gets its kernel weight back only at its third successful check in a row,
// and `ldir status` shows it rising meanwhile.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import type { CheckRecord } from '../../../src/checks/scheduler';
import type { HealthTransition } from '../../../src/model/health';
import { runStatusCommand } from '../../../src/cli/control-commands';
import { startDaemon } from '../../../src/app/compose-daemon';
import { controlSocketPath, type RealStatus } from '../../../src/daemon/protocol';
import { MemoryBackend } from '../../../src/ipvs/memory';
import { systemFactories } from '../../../src/ipvs/select';
import { silentLogger } from '../../../src/log';
import { capture } from '../../helpers/cli-io';
import { freePort } from '../../helpers/system';
import { kernelWeightOf, SwitchableReal } from '../../helpers/switchable-real';
import { eventually } from '../../helpers/wait';

const REAL = '127.0.0.6';
let port = 0;
let tmp = '';
const realServer = new SwitchableReal(REAL, (_req, res) => res.end('alive\n'));

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-rise-'));
  port = await freePort(REAL);
  await realServer.start(port);
});
after(async () => {
  await realServer.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('daemon with risecount=3: the kernel weight comes back at the third success in a row, not before', async () => {
  const file = path.join(tmp, 'rise.cf');
  fs.writeFileSync(
    file,
    `checkinterval=1
checktimeout=1
negotiatetimeout=1
quiescent=yes
risecount=3
logfile="${path.join(tmp, 'ldir.log')}"
virtual=127.0.0.1:80
\treal=${REAL}:${port} masq 5
\tchecktype=negotiate
\tservice=http
\trequest="/"
\treceive="alive"
`,
  );
  const backend = new MemoryBackend();
  // Checks and transitions in the order the scheduler decided them (a deciding round's transition comes before its record).
  const seen: string[] = [];
  const socketDirectory = path.join(tmp, 'sock');
  const daemon = await startDaemon({
    configPath: file,
    configName: 'rise.cf',
    logger: silentLogger(),
    ipvs: 'memory',
    backendFactories: { ...systemFactories(), memory: () => backend },
    runDirectory: path.join(tmp, 'run'),
    socketDirectory,
    watchIntervalMs: 60_000,
    engine: { resyncIntervalMs: 500, coalesceMs: 10 },
    onCheck: (r: CheckRecord) => seen.push(r.result.up ? 'ok' : 'fail'),
    onTransition: (t: HealthTransition) => seen.push(`${t.from}>${t.to}`),
  });
  const real = (): RealStatus | undefined => daemon.status().virtualServices[0]?.reals[0];
  try {
    await eventually(
      'up from unknown at the first success',
      async () => ((await kernelWeightOf(backend, REAL)) === 5 ? true : undefined),
      5_000,
      50,
    );
    assert.deepEqual(seen.slice(0, 2), ['unknown>up', 'ok'], 'from unknown one success is enough');

    await realServer.stop();
    await eventually(
      'quiesced',
      async () => ((await kernelWeightOf(backend, REAL)) === 0 ? true : undefined),
      5_000,
      50,
    );
    assert.equal(real()?.rising, null);
    await realServer.start(port);

    const first = await eventually(
      'rising 1/3',
      () => (real()?.rising?.successes === 1 ? real() : undefined),
      5_000,
      20,
    );
    assert.deepEqual(first.rising, { successes: 1, needed: 3 });
    assert.equal(first.health, 'down');
    assert.equal(await kernelWeightOf(backend, REAL), 0, 'one success: still out');
    const io = capture();
    assert.equal(
      await runStatusCommand(
        { socketPath: controlSocketPath('rise.cf', socketDirectory), json: false, width: 200 },
        io,
      ),
      0,
      io.err,
    );
    assert.match(io.out, new RegExp(`${REAL.replace(/\./g, '\\.')}:${port} +masq +down +5/0 .*RISING [12]/3`));

    await eventually('rising 2/3', () => (real()?.rising?.successes === 2 ? true : undefined), 5_000, 20);
    assert.equal(await kernelWeightOf(backend, REAL), 0, 'two successes: still out');

    await eventually(
      'weight back',
      async () => ((await kernelWeightOf(backend, REAL)) === 5 ? true : undefined),
      5_000,
      20,
    );
    assert.equal(real()?.health, 'up');
    assert.equal(real()?.rising, null);
    // Between the fall and the rise: failures, then exactly two soft successes before the deciding third.
    const fall = seen.lastIndexOf('up>down');
    const rise = seen.lastIndexOf('down>up');
    assert.ok(fall > 0 && rise > fall, seen.join(' '));
    const between = seen.slice(fall + 1, rise);
    assert.deepEqual(between.slice(between.indexOf('ok')), ['ok', 'ok'], seen.join(' '));
    assert.ok(
      between.slice(0, between.indexOf('ok')).every((x) => x === 'fail'),
      seen.join(' '),
    );
    assert.equal(seen[rise + 1], 'ok', 'the third success decided');
  } finally {
    await daemon.stop();
  }
});
