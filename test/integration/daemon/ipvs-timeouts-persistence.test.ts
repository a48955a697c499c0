// The daemon in this process on a memory kernel that outlives it, driven over its control socket as the CLI does:
// ipvstimeouts applied at start, shown by `ldir status`, previewed and changed by a reload, given back at stop when
// ipvstimeoutsrestore=yes and left otherwise; a persistenceengine=sip service written with its engine and kept
// through a reload that edits the service; a bad reload keeps both.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runReloadCommand, runReloadPreviewCommand, runStatusCommand } from '../../../src/cli/control-commands';
import type { Daemon } from '../../../src/daemon/daemon';
import { startDaemon } from '../../../src/app/compose-daemon';
import { controlSocketPath, type StatusReport } from '../../../src/daemon/protocol';
import { MemoryBackend } from '../../../src/ipvs/memory';
import { systemFactories } from '../../../src/ipvs/select';
import type { IpvsBackend } from '../../../src/ipvs/types';
import { silentLogger } from '../../../src/log';
import { capture } from '../../helpers/cli-io';

let tmp = '';

/** The kernel of several daemon lifetimes: the daemon's close() does not close it. */
function outliving(kernel: MemoryBackend): IpvsBackend {
  return new Proxy(kernel, {
    get: (target, key) => {
      if (key === 'close') return async () => undefined;
      const v = Reflect.get(target, key) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

function configText(globals: readonly string[], virtual: readonly string[] = ['persistent=60']): string {
  return [
    'checkinterval=1',
    'autoreload=no',
    `logfile="${path.join(tmp, 'ldir.log')}"`,
    'metrics=no',
    ...globals,
    'virtual=127.0.0.1:5060',
    '\tprotocol=udp',
    '\treal=127.0.0.2:5060 masq',
    '\treal=127.0.0.3:5060 masq',
    '\tchecktype=on',
    ...virtual.map((l) => `\t${l}`),
    '',
  ].join('\n');
}

async function startOn(kernel: MemoryBackend, file: string): Promise<{ daemon: Daemon; socketPath: string }> {
  const name = path.basename(file);
  const daemon = await startDaemon({
    configPath: file,
    configName: name,
    logger: silentLogger(),
    ipvs: 'memory',
    backendFactories: { ...systemFactories(), memory: () => outliving(kernel) },
    runDirectory: path.join(tmp, 'run'),
    socketDirectory: path.join(tmp, 'sock'),
    stateDirectory: path.join(tmp, 'state'),
    watchIntervalMs: 60_000,
    engine: { resyncIntervalMs: 60_000, coalesceMs: 10 },
  });
  return { daemon, socketPath: controlSocketPath(name, path.join(tmp, 'sock')) };
}

async function statusOf(socketPath: string): Promise<{ report: StatusReport; text: string }> {
  const json = capture();
  assert.equal(await runStatusCommand({ socketPath, json: true }, json), 0, json.err);
  const human = capture();
  assert.equal(await runStatusCommand({ socketPath, json: false, width: 200 }, human), 0, human.err);
  return { report: JSON.parse(json.out) as StatusReport, text: human.out };
}

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-timeouts-'));
});
after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('ipvstimeouts and persistenceengine in the daemon', { concurrency: false }, () => {
  test('start sets, status shows, a previewed reload changes, stop gives back (ipvstimeoutsrestore=yes)', async () => {
    const kernel = new MemoryBackend();
    const file = path.join(tmp, 'restore.cf');
    fs.writeFileSync(
      file,
      configText(['ipvstimeouts="7200 0 600"', 'ipvstimeoutsrestore=yes'], ['persistent=60', 'persistenceengine=sip']),
    );
    const { daemon, socketPath } = await startOn(kernel, file);
    try {
      assert.deepEqual(await kernel.getTimeouts(), { tcp: 7200, tcpFin: 120, udp: 600 });
      const [svc] = await kernel.list({ stats: false });
      assert.deepEqual([svc?.service.persistent, svc?.service.persistenceEngine], [60, 'sip']);

      const { report, text } = await statusOf(socketPath);
      assert.deepEqual(report.daemon.ipvsTimeouts, [
        { timeout: 'tcp', value: 7200, found: 900, restore: true },
        { timeout: 'udp', value: 600, found: 300, restore: true },
      ]);
      assert.deepEqual(
        [report.virtualServices[0]?.persistent, report.virtualServices[0]?.persistenceEngine],
        [60, 'sip'],
      );
      assert.match(text, /^ipvs timeouts: tcp 7200s \(found 900s\), udp 600s \(found 300s\); restored at stop$/m);
      assert.match(text, /^udp:127\.0\.0\.1:5060 {2}sched wrr {2}persistent 60s pe sip {2}/m);

      // The edit: tcp changed, udp no longer set (given back at the reload: the configuration that set it said so),
      // tcpfin newly set; the persistence timeout changed (the engine stays).
      fs.writeFileSync(
        file,
        configText(
          ['ipvstimeouts="3600 60 0"', 'ipvstimeoutsrestore=yes'],
          ['persistent=120', 'persistenceengine=sip'],
        ),
      );
      const preview = capture();
      assert.equal(await runReloadPreviewCommand({ socketPath, json: false }, preview), 0, preview.err);
      assert.deepEqual(preview.out.trimEnd().split('\n'), [
        `ipvs timeout tcp 7200 -> 3600  # ipvstimeouts at ${file}:5`,
        `ipvs timeout tcpfin 120 -> 60  # ipvstimeouts at ${file}:5`,
        'ipvs timeout udp 600 -> 300 (would be restored: found before ldir set 600, ipvstimeoutsrestore=yes)',
        'ipvsadm -E -u 127.0.0.1:5060 -s wrr -p 120 --pe sip',
      ]);
      assert.deepEqual(await kernel.getTimeouts(), { tcp: 7200, tcpFin: 120, udp: 600 }, 'a preview writes nothing');

      const reload = capture();
      assert.equal(await runReloadCommand({ socketPath }, reload), 0, reload.err);
      assert.deepEqual(await kernel.getTimeouts(), { tcp: 3600, tcpFin: 60, udp: 300 });
      const [edited] = await kernel.list({ stats: false });
      assert.deepEqual([edited?.service.persistent, edited?.service.persistenceEngine], [120, 'sip']);
      assert.deepEqual((await statusOf(socketPath)).report.daemon.ipvsTimeouts, [
        { timeout: 'tcp', value: 3600, found: 900, restore: true },
        { timeout: 'tcpfin', value: 60, found: 120, restore: true },
      ]);

      // A bad reload changes nothing: neither the timeouts nor the service.
      fs.writeFileSync(file, configText(['ipvstimeouts="1 2"'], ['persistenceengine=sip']));
      assert.equal(await runReloadCommand({ socketPath }, capture()), 2);
      assert.deepEqual(await kernel.getTimeouts(), { tcp: 3600, tcpFin: 60, udp: 300 });
      assert.equal((await kernel.list({ stats: false }))[0]?.service.persistenceEngine, 'sip');

      // A reload without the engine edits the service in place: persistence by address again.
      fs.writeFileSync(file, configText(['ipvstimeouts="3600 60 0"', 'ipvstimeoutsrestore=yes'], ['persistent=120']));
      assert.equal(await runReloadCommand({ socketPath }, capture()), 0);
      const [plain] = await kernel.list({ stats: false });
      assert.deepEqual([plain?.service.persistent, plain?.service.persistenceEngine], [120, undefined]);
      assert.deepEqual(
        kernel.history().filter((op) => op.op === 'delete-service'),
        [],
        'edited, never deleted',
      );
    } finally {
      await daemon.stop();
    }
    assert.deepEqual(await kernel.getTimeouts(), { tcp: 900, tcpFin: 120, udp: 300 }, 'stop gave back what ldir found');
  });

  test('without ipvstimeoutsrestore, stop leaves the values; a configuration without ipvstimeouts never touches them', async () => {
    const kernel = new MemoryBackend();
    await kernel.setTimeouts({ tcp: 1000, tcpFin: 0, udp: 0 });
    const file = path.join(tmp, 'leave.cf');
    fs.writeFileSync(file, configText(['ipvstimeouts=0 30 45']));
    const first = await startOn(kernel, file);
    assert.deepEqual(await kernel.getTimeouts(), { tcp: 1000, tcpFin: 30, udp: 45 }, 'tcp (0) is not touched');
    await first.daemon.stop();
    assert.deepEqual(await kernel.getTimeouts(), { tcp: 1000, tcpFin: 30, udp: 45 }, 'left as found at stop');

    await kernel.setTimeouts({ tcp: 1111, tcpFin: 22, udp: 33 });
    fs.writeFileSync(file, configText([]));
    const calls: string[] = [];
    const spied = new Proxy(kernel, {
      get: (target, key) => {
        if (key === 'getTimeouts' || key === 'setTimeouts') calls.push(String(key));
        const v = Reflect.get(target, key) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const second = await startOn(spied as MemoryBackend, file);
    assert.deepEqual((await statusOf(second.socketPath)).report.daemon.ipvsTimeouts, []);
    await second.daemon.stop();
    assert.deepEqual(calls, [], 'a daemon that sets no timeout never reads or writes them');
    assert.deepEqual(await kernel.getTimeouts(), { tcp: 1111, tcpFin: 22, udp: 33 });
  });
});
