// `ldir CONFIG reload --dry-run` (the real binary) against a daemon running in this process with the memory backend
// and HTTP servers on 127.0.0.x: the preview changes nothing, and the reload that follows does exactly what it listed
// (same kernel operations in the same order, then what the first checks of new reals were said to bring).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { runReloadPreviewCommand } from '../../../src/cli/control-commands';
import type { Daemon, DaemonOptions } from '../../../src/daemon/daemon';
import { startDaemon as startComposedDaemon } from '../../../src/app/compose-daemon';
import {
  controlSocketPath,
  type PreviewStep,
  type ReloadPreviewResult,
  type StatusReport,
} from '../../../src/daemon/protocol';
import { MemoryBackend } from '../../../src/ipvs/memory';
import { serviceKeyString } from '../../../src/ipvs/normalize';
import { systemFactories } from '../../../src/ipvs/select';
import type { DesiredService, IpvsOp } from '../../../src/ipvs/types';
import { procSysStore } from '../../../src/system/sysctl-store';
import { capture } from '../../helpers/cli-io';
import { ObservableBackend } from '../../helpers/engine';
import { specOf } from '../../helpers/ipvs-tables';
import { DIRECTOR_SYSCTLS, sysctlTree, treeValue } from '../../helpers/sysctl-tree';
import { freePort } from '../../helpers/system';
import { eventually } from '../../helpers/wait';

const MAIN = path.resolve(__dirname, '../../../src/main.js');
const REALS = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];
const VIP = 'tcp:127.0.0.1:80';
let port = 0;
let tmp = '';
const servers: http.Server[] = [];

/** Runs the `ldir` binary (never blocking this process's event loop: the daemon answers from it). */
function ldir(
  env: NodeJS.ProcessEnv,
  args: readonly string[],
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString('utf8');
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** A configuration of the virtual `127.0.0.1:80` with the given real lines (address, forward, weight) and more. */
function configText(reals: readonly string[], extra: { globals?: string[]; virtual?: string[] } = {}): string {
  return [
    'checkinterval=1',
    'checktimeout=1',
    'negotiatetimeout=1',
    'autoreload=no',
    `logfile="${path.join(tmp, 'ldir.log')}"`,
    ...(extra.globals ?? []),
    'virtual=127.0.0.1:80',
    ...reals.map((r) => `\treal=${r}`),
    '\tchecktype=negotiate',
    '\tservice=http',
    '\trequest="/"',
    '\treceive="alive"',
    ...(extra.virtual ?? []).map((l) => `\t${l}`),
    '',
  ].join('\n');
}

/** Log lines of the daemon (pino JSON), by message. */
function recordingLogger(): { logger: DaemonOptions['logger']; messages: string[] } {
  const messages: string[] = [];
  const logger = pino(
    { level: 'debug' },
    {
      write: (line: string) => {
        messages.push((JSON.parse(line) as { msg: string }).msg);
      },
    },
  );
  return { logger, messages };
}

/** A daemon on `file` in this process, over `backend`; its CLI environment. */
async function startDaemon(
  file: string,
  backend: ObservableBackend,
  over: Partial<DaemonOptions> = {},
): Promise<{ daemon: Daemon; env: NodeJS.ProcessEnv; socketPath: string; messages: string[] }> {
  const runDirectory = path.join(tmp, `run-${path.basename(file)}`);
  const socketDirectory = path.join(tmp, `sock-${path.basename(file)}`);
  const { logger, messages } = recordingLogger();
  const daemon = await startComposedDaemon({
    configPath: file,
    configName: path.basename(file),
    logger,
    ipvs: backend.kind,
    backendFactories: { ...systemFactories(), memory: () => backend, netlink: async () => backend },
    runDirectory,
    socketDirectory,
    engine: { resyncIntervalMs: 500, coalesceMs: 10 },
    ...over,
  });
  const env = { ...process.env, LDIR_RUN_DIR: runDirectory, LDIR_SOCKET_DIR: socketDirectory };
  return { daemon, env, socketPath: controlSocketPath(path.basename(file), socketDirectory), messages };
}

/** The kernel table in a comparable form. */
async function table(backend: MemoryBackend): Promise<DesiredService[]> {
  return specOf(await backend.list());
}

/** What the table becomes from `start` after `ops` (in a memory kernel of its own). */
async function tableAfter(start: readonly DesiredService[], ops: readonly IpvsOp[]): Promise<DesiredService[]> {
  const model = new MemoryBackend(start);
  const results = await model.apply(ops);
  assert.ok(
    results.every((r) => r.status === 'done'),
    `every operation applies to the table as it was: ${JSON.stringify(results)}`,
  );
  return table(model);
}

const opsOf = (steps: readonly PreviewStep[]): IpvsOp[] => steps.flatMap((s) => (s.kind === 'ipvs' ? [s.op] : []));

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-preview-'));
  port = await freePort('127.0.0.2');
  for (const address of REALS) {
    const server = http.createServer((_req, res) => res.end('alive\n'));
    await new Promise<void>((resolve) => server.listen(port, address, resolve));
    servers.push(server);
  }
});
after(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('reload --dry-run lists what the reload then does, exactly, and changes nothing; a broken file exits 2', async () => {
  const file = path.join(tmp, 'preview.cf');
  fs.writeFileSync(file, configText([`127.0.0.2:${port} masq 5`, `127.0.0.3:${port} masq 5`]));
  const kernel = new MemoryBackend();
  const backend = new ObservableBackend(kernel);
  const { daemon, env, socketPath, messages } = await startDaemon(file, backend);
  try {
    await eventually(
      'both reals up at weight 5',
      async () => {
        const t = await table(kernel);
        return t[0]?.destinations.map((d) => d.weight).join(',') === '5,5' ? true : undefined;
      },
      10_000,
    );
    // The real that the edit removes carries connections: it drains rather than going at once.
    backend.conns.set(`${VIP} 127.0.0.3:${port}`, 2);
    const t0 = await table(kernel);
    const h0 = kernel.history().length;
    const config0 = daemon.currentConfig();

    // The edit: a weight changed, a real removed, a real added, the scheduler changed. autoreload=no: nothing loads it.
    const edited = configText([`127.0.0.2:${port} masq 3`, `127.0.0.4:${port} masq 4`], { virtual: ['scheduler=rr'] });
    fs.writeFileSync(file, edited);
    const logged = messages.length;
    const preview = await ldir(env, [file, 'reload', '--dry-run']);
    assert.equal(preview.status, 0, preview.stderr);
    assert.deepEqual(preview.stdout.split('\n'), [
      `drain ${VIP} 127.0.0.3:${port} (timeout 30s)`,
      'ipvsadm -E -t 127.0.0.1:80 -s rr',
      `ipvsadm -e -t 127.0.0.1:80 -r 127.0.0.2:${port} -m -w 3 -x 0 -y 0  # real 127.0.0.2:${port} (up)`,
      `ipvsadm -e -t 127.0.0.1:80 -r 127.0.0.3:${port} -m -w 0 -x 0 -y 0  # draining`,
      `first check ${VIP} 127.0.0.4:${port}: not in the table until it answers, weight 4 once up`,
      '',
    ]);

    // Nothing changed: kernel, configuration in force, status, and no log line of a reload or a drain.
    assert.deepEqual(await table(kernel), t0);
    assert.equal(kernel.history().length, h0);
    assert.equal(daemon.currentConfig(), config0);
    const status = await ldir(env, ['--json', file, 'status']);
    assert.equal(status.status, 0, status.stderr);
    const report = JSON.parse(status.stdout) as StatusReport;
    assert.equal(report.daemon.lastReload, null, 'a preview is not a reload');
    assert.deepEqual(
      report.virtualServices[0]?.reals.map((r) => [r.address, r.weight, r.kernelWeight, r.draining]),
      [
        ['127.0.0.2', 5, 5, false],
        ['127.0.0.3', 5, 5, false],
      ],
    );
    // The daemon's own passes go on meanwhile (a resync every 500 ms here, which writes nothing: the kernel history
    // above is unchanged); what must not appear is anything of a reload.
    const during = messages.slice(logged);
    assert.deepEqual(
      during.filter((m) => /reloaded|configuration applied|draining|sysctl/.test(m)),
      [],
      during.join('\n'),
    );
    assert.ok(during.includes('reload preview: nothing was changed'), during.join('\n'));

    // --json: the same steps as data, the same lines.
    const json = await ldir(env, ['--json', file, 'reload', '--dry-run']);
    assert.equal(json.status, 0, json.stderr);
    const doc = JSON.parse(json.stdout) as ReloadPreviewResult;
    assert.equal(doc.file, file);
    assert.deepEqual(
      doc.steps.map((s) => s.text),
      preview.stdout.trimEnd().split('\n'),
    );
    const ops = opsOf(doc.steps);
    assert.deepEqual(
      ops.map((op) => op.op),
      ['edit-service', 'edit-destination', 'edit-destination'],
    );
    assert.equal(kernel.history().length, h0);

    // A broken file: exit 2 with FILE:LINE from the binary (which checks the file first) and from the daemon itself.
    fs.writeFileSync(file, `${edited}\tbogus=1\n`);
    const line = edited.split('\n').length;
    const broken = await ldir(env, [file, 'reload', '--dry-run']);
    assert.equal(broken.status, 2);
    assert.match(broken.stderr, new RegExp(`^${file.replace(/[.]/g, '\\.')}:${line}: .*bogus`, 'm'));
    const io = capture();
    assert.equal(await runReloadPreviewCommand({ socketPath, json: false }, io), 2);
    assert.match(io.err, new RegExp(`^${file.replace(/[.]/g, '\\.')}:${line}: .*bogus`, 'm'));
    assert.match(io.err, /the daemon keeps running the previous configuration/);
    assert.equal(io.out, '');
    assert.equal(daemon.currentConfig(), config0, 'the daemon keeps its configuration');
    assert.equal(kernel.history().length, h0);
    fs.writeFileSync(file, edited);

    // The reload: its own pass does exactly the previewed operations, in order; then the new real's first check
    // brings it in at the weight the preview said; the table is the one the preview described.
    const reload = await ldir(env, [file, 'reload']);
    assert.equal(reload.status, 0, reload.stderr);
    assert.notEqual(daemon.currentConfig(), config0);
    assert.deepEqual(
      kernel.history().slice(h0, h0 + ops.length),
      ops,
      'the reload applied the previewed operations, in order',
    );
    // The new real's first check may already have brought it in (first rounds start within a second): what was
    // written after the reload's own operations is replayed too, and checked below to be that one addition only.
    const now = await table(kernel);
    const since = kernel.history().slice(h0 + ops.length);
    assert.deepEqual(
      now,
      await tableAfter(t0, [...ops, ...since]),
      'right after the reload, the table is the previewed one',
    );
    const [virtual] = daemon.currentConfig().virtualServices;
    const added: IpvsOp = {
      op: 'add-destination',
      service: { family: 'inet', protocol: 'tcp', address: '127.0.0.1', port: 80 },
      destination: {
        address: '127.0.0.4',
        family: 'inet',
        port,
        forward: 'masq',
        weight: 4,
        upperThreshold: 0,
        lowerThreshold: 0,
      },
    };
    assert.equal(virtual?.id, VIP);
    const expected = await tableAfter(t0, [...ops, added]);
    await eventually(
      '127.0.0.4 in at weight 4 after its first check',
      async () => (JSON.stringify(await table(kernel)) === JSON.stringify(expected) ? true : undefined),
      10_000,
      100,
      () => JSON.stringify(expected),
    );
    assert.deepEqual(
      kernel
        .history()
        .slice(h0 + ops.length)
        .map((op) => `${op.op} ${serviceKeyString(op.service)}`),
      [`add-destination ${VIP}`],
      'nothing else was written',
    );

    // Now nothing to change.
    const again = await ldir(env, [file, 'reload', '--dry-run']);
    assert.equal(again.status, 0, again.stderr);
    assert.equal(again.stdout, 'nothing to change\n');
  } finally {
    await daemon.stop();
  }
  // No daemon: as reload, exit 1.
  const none = await ldir(
    { ...process.env, LDIR_RUN_DIR: path.join(tmp, 'nowhere'), LDIR_SOCKET_DIR: path.join(tmp, 'nowhere') },
    [file, 'reload', '--dry-run'],
  );
  assert.equal(none.status, 1);
  assert.match(none.stderr, /ldir is stopped for/);
});

test('reload --dry-run lists the sysctls a reload would write (read only), and the reload writes exactly those', async () => {
  const file = path.join(tmp, 'sysctl.cf');
  const root = sysctlTree();
  fs.writeFileSync(file, configText([`127.0.0.2:${port} gate 1`], { virtual: ['checktype=connect'] }));
  const kernel = new MemoryBackend();
  // A kernel backend that is not `memory`: the daemon sets sysctls only then (here in a tree shaped like /proc/sys).
  const backend = new ObservableBackend(kernel, 'netlink');
  const { daemon, env } = await startDaemon(file, backend, { sysctlStore: procSysStore(root) });
  try {
    await eventually(
      'the real up',
      async () => ((await table(kernel))[0]?.destinations[0]?.weight === 1 ? true : undefined),
      10_000,
    );
    assert.equal(treeValue(root, 'net.ipv4.ip_forward'), '0\n', 'gate needs no forwarding');
    const edited = configText([`127.0.0.2:${port} masq 1`], {
      globals: ['ipvssysctl=expire_quiescent_template=1'],
      virtual: ['checktype=connect'],
    });
    fs.writeFileSync(file, edited);
    const preview = await ldir(env, [file, 'reload', '--dry-run']);
    assert.equal(preview.status, 0, preview.stderr);
    const why = `IPv4 masq forwarding (${VIP})`;
    assert.deepEqual(preview.stdout.trimEnd().split('\n'), [
      `sysctl net.ipv4.conf.all.send_redirects 1 -> 0  # ${why}`,
      `sysctl net.ipv4.conf.default.send_redirects 1 -> 0  # ${why}`,
      `sysctl net.ipv4.conf.eth0.send_redirects 1 -> 0  # ${why}`,
      `sysctl net.ipv4.conf.eth0/100.send_redirects 1 -> 0  # ${why}`,
      `sysctl net.ipv4.ip_forward 0 -> 1  # ${why}`,
      `sysctl net.ipv4.vs.expire_quiescent_template 0 -> 1  # ipvssysctl at ${file}:6`,
      // gate sends to the virtual's port: as masq the real is another destination, which comes in (its check is up)
      // while the gate one drains (no connection on it: it ends at once).
      `drain ${VIP} 127.0.0.2:80 (timeout 30s)`,
      `end the drain of ${VIP} 127.0.0.2:80 (idle)`,
      `ipvsadm -a -t 127.0.0.1:80 -r 127.0.0.2:${port} -m -w 1 -x 0 -y 0  # real 127.0.0.2:${port} (up)`,
      'ipvsadm -d -t 127.0.0.1:80 -r 127.0.0.2:80  # draining',
    ]);
    for (const [key, value] of Object.entries(DIRECTOR_SYSCTLS))
      assert.equal(treeValue(root, key), `${value}\n`, `${key} untouched by the preview`);

    const reload = await ldir(env, [file, 'reload']);
    assert.equal(reload.status, 0, reload.stderr);
    const written = Object.keys(DIRECTOR_SYSCTLS).filter(
      (key) => treeValue(root, key) !== `${DIRECTOR_SYSCTLS[key] ?? ''}\n`,
    );
    assert.deepEqual(
      written.sort(),
      [
        'net.ipv4.conf.all.send_redirects',
        'net.ipv4.conf.default.send_redirects',
        'net.ipv4.conf.eth0.send_redirects',
        'net.ipv4.conf.eth0/100.send_redirects',
        'net.ipv4.ip_forward',
        'net.ipv4.vs.expire_quiescent_template',
      ],
      'the reload wrote exactly the previewed sysctls',
    );
    assert.equal(treeValue(root, 'net.ipv4.ip_forward'), '1\n');
    assert.deepEqual(
      (await table(kernel))[0]?.destinations.map((d) => `${d.address}:${d.port}/${d.forward}=${d.weight}`),
      [`127.0.0.2:${port}/masq=1`],
    );
    const again = await ldir(env, [file, 'reload', '--dry-run']);
    assert.equal(again.stdout, 'nothing to change\n', again.stderr);
  } finally {
    await daemon.stop();
  }
});
