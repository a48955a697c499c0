// The daemon (in this process, memory backend) on a configuration made of included files (`include=conf.d/*.cf`):
// autoreload sees a change in an included file, a file added to and removed from conf.d; a broken included file on
// reload (`ldir reload` and autoreload) keeps the old configuration running, with the error naming the included file
// and line; fixing that file reloads again; `ldir status` lists the included files.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { after, before, test } from 'node:test';
import { runReloadCommand, runStatusCommand } from '../../../src/cli/control-commands';
import { startDaemon } from '../../../src/app/compose-daemon';
import { controlSocketPath, type StatusReport } from '../../../src/daemon/protocol';
import { MemoryBackend } from '../../../src/ipvs/memory';
import { systemFactories } from '../../../src/ipvs/select';
import { capture } from '../../helpers/cli-io';
import { eventually, sleep } from '../../helpers/wait';

let tmp = '';
before(() => {
  tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-include-daemon-')));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A virtual service on 127.0.0.1:PORT with one always-up real at `weight`. */
const section = (port: number, weight: number, extra = ''): string =>
  `virtual=127.0.0.1:${port}\n\treal=127.0.0.2:${port} masq ${weight}\n\tchecktype=on\n${extra}\n`;

/** The table of the memory backend: `port:real=weight` per destination, sorted. */
async function table(backend: MemoryBackend): Promise<string> {
  const services = await backend.list();
  return services
    .flatMap((s) => s.destinations.map((d) => `${'port' in s.service ? s.service.port : '?'}:${d.address}=${d.weight}`))
    .sort()
    .join(' ');
}

test('autoreload follows included files; a broken one is refused with its path and line, the old configuration runs on', async () => {
  const confd = path.join(tmp, 'conf.d');
  fs.mkdirSync(confd);
  const file = path.join(tmp, 'site.cf');
  fs.writeFileSync(file, `autoreload=yes\ncheckinterval=1\ninclude=conf.d/*.cf\n`);
  const a = path.join(confd, 'a.cf');
  const b = path.join(confd, 'b.cf');
  fs.writeFileSync(a, section(80, 5));
  const backend = new MemoryBackend();
  const logged: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'info' },
    {
      write: (line: string) => {
        logged.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  );
  const socketDirectory = path.join(tmp, 'sock');
  const daemon = await startDaemon({
    configPath: file,
    configName: 'site.cf',
    logger,
    ipvs: 'memory',
    backendFactories: { ...systemFactories(), memory: () => backend },
    runDirectory: path.join(tmp, 'run'),
    socketDirectory,
    stateDirectory: path.join(tmp, 'state'),
    watchIntervalMs: 100,
    engine: { resyncIntervalMs: 500, coalesceMs: 10, drainPollMs: 50 },
  });
  const socketPath = controlSocketPath('site.cf', socketDirectory);
  const shows = (want: string) => (): Promise<true | undefined> =>
    table(backend).then((t) => (t === want ? true : undefined));
  const describeErrors = (): string =>
    `errors logged: ${JSON.stringify(logged.filter((r) => r['level'] === 50).map((r) => r['errors']))}`;
  try {
    await eventually('the included virtual in the table', shows('80:127.0.0.2=5'), 8000, 50, describeErrors);
    const io = capture();
    assert.equal(await runStatusCommand({ socketPath, json: true }, io), 0, io.err);
    assert.deepEqual((JSON.parse(io.out) as StatusReport).daemon.includedFiles, [a]);
    const text = capture();
    assert.equal(await runStatusCommand({ socketPath, json: false }, text), 0, text.err);
    assert.match(text.out, new RegExp(`^included: 1 file: ${a.replace(/[.]/g, '\\.')}$`, 'm'));

    // A change inside the included file (the main file untouched) is seen and applied.
    fs.writeFileSync(a, section(80, 7));
    await eventually('the new weight from the included file', shows('80:127.0.0.2=7'), 8000, 50);

    // A file added to conf.d is a change of the glob's matches: its virtual comes in.
    fs.writeFileSync(b, section(81, 3));
    await eventually('the virtual of the added file', shows('80:127.0.0.2=7 81:127.0.0.2=3'), 8000, 50);
    assert.deepEqual(daemon.currentConfig().includedFiles, [a, b]);

    // A broken included file: `ldir reload` refuses with its path and line; the old configuration stays in force.
    fs.writeFileSync(b, `${section(81, 4)}`.replace('\tchecktype=on\n', '\tchecktype=on\n\tnosuchdirective=1\n'));
    const bad = capture();
    assert.equal(await runReloadCommand({ socketPath }, bad), 2);
    assert.match(bad.err, new RegExp(`^${b.replace(/[.]/g, '\\.')}:4: unknown directive "nosuchdirective"$`, 'm'));
    // Autoreload saw it too and refused it, logging the same error.
    await eventually(
      'autoreload to refuse it',
      () =>
        logged.some(
          (r) =>
            r['msg'] === 'reload refused: the configuration has errors; the running configuration stays in force' &&
            JSON.stringify(r['errors']).includes(`${b}:4: unknown directive`),
        )
          ? true
          : undefined,
      8000,
      50,
    );
    await sleep(300);
    assert.equal(await table(backend), '80:127.0.0.2=7 81:127.0.0.2=3', 'the running configuration stays in force');
    assert.equal(daemon.currentConfig().virtualServices.find((v) => v.port === 81)?.reals[0]?.weight, 3);

    // Fixing the broken file is seen (the refused load's files are watched) and applied.
    fs.writeFileSync(b, section(81, 4));
    await eventually('the fixed included file applied', shows('80:127.0.0.2=7 81:127.0.0.2=4'), 8000, 50);

    // A file removed from conf.d: its virtual goes.
    fs.rmSync(b);
    await eventually('the virtual of the removed file gone', shows('80:127.0.0.2=7'), 8000, 50);
    assert.deepEqual(daemon.currentConfig().includedFiles, [a]);
  } finally {
    await daemon.stop();
  }
});
