// `ldir status|reload [--dry-run]|drain|undrain|stop` against a control server on a real unix socket: output and exit codes.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  parseDrainArgs,
  runDrainAction,
  runDrainCommand,
  runReloadCommand,
  runReloadPreviewCommand,
  runStatusCommand,
  runStopCommand,
} from '../../../src/cli/control-commands';
import { renderStatus } from '../../../src/cli/status-view';
import { startControlServer, type ControlHandlers } from '../../../src/daemon/control-server';
import { controlSocketPath, type PreviewStep, type ReloadPreviewResult } from '../../../src/daemon/protocol';
import { ErrorCodes, LdirError } from '../../../src/errors';
import { silentLogger } from '../../../src/log';
import { capture } from '../../helpers/cli-io';
import { sampleReport, sampleStateSync } from '../../helpers/status-report';

const FILE = '/etc/ha.d/web.cf';
let reloadGood = true;
/** What the daemon's reload preview answers. */
let preview: 'steps' | 'nothing' | 'errors' | 'stopping' = 'steps';
const PREVIEW_STEPS: PreviewStep[] = [
  {
    kind: 'drain-begin',
    virtual: 'tcp:192.0.2.1:80',
    real: '10.0.0.2:80',
    timeoutSeconds: 30,
    text: 'drain tcp:192.0.2.1:80 10.0.0.2:80 (timeout 30s)',
  },
  {
    kind: 'ipvs',
    op: {
      op: 'edit-destination',
      service: { family: 'inet', protocol: 'tcp', address: '192.0.2.1', port: 80 },
      destination: {
        address: '10.0.0.2',
        family: 'inet',
        port: 80,
        forward: 'masq',
        weight: 0,
        upperThreshold: 0,
        lowerThreshold: 0,
      },
    },
    role: 'draining',
    real: null,
    reason: null,
    repair: false,
    text: 'ipvsadm -e -t 192.0.2.1:80 -r 10.0.0.2:80 -m -w 0 -x 0 -y 0  # draining',
  },
];

const HANDLERS: ControlHandlers = {
  status: () => sampleReport(),
  ping: () => ({
    pid: 4242,
    configFile: FILE,
    startedAt: '2024-05-01T12:00:00.000Z',
    uptimeSeconds: 1,
    lastSyncOk: true,
  }),
  reload: async () =>
    reloadGood
      ? {
          applied: true,
          file: FILE,
          diagnostics: [
            {
              severity: 'warning',
              code: 'deprecated',
              message: 'checkcount is deprecated',
              pos: { file: FILE, line: 2 },
            },
          ],
        }
      : {
          applied: false,
          file: FILE,
          message: `1 error in ${FILE}`,
          diagnostics: [
            {
              severity: 'error',
              code: 'invalid-value',
              message: 'checktimeout must be a positive number of seconds, not "0"',
              pos: { file: FILE, line: 1 },
            },
          ],
        },
  reloadPreview: async () => {
    if (preview === 'errors') {
      throw new LdirError(ErrorCodes.CONFIG_INVALID, `${FILE}: 1 configuration error(s)`, {
        details: {
          diagnostics: [
            {
              severity: 'error',
              code: 'invalid-value',
              message: 'checktimeout must be a positive number of seconds, not "0"',
              pos: { file: FILE, line: 1 },
            },
          ],
        },
      });
    }
    if (preview === 'stopping')
      throw new LdirError(ErrorCodes.DAEMON_STOPPING, 'ldir is stopping: reload preview refused');
    return {
      file: FILE,
      diagnostics: [
        { file: FILE, line: 2, severity: 'warning', code: 'deprecated', message: 'checkcount is deprecated' },
      ],
      steps: preview === 'steps' ? PREVIEW_STEPS : [],
    };
  },
  drain: (virtual, real) => {
    if (real === '10.9.9.9') throw new LdirError(ErrorCodes.UNKNOWN_TARGET, `no real server "${real}" in ${virtual}`);
    return { virtual: 'tcp:192.0.2.1:80', real: '10.0.0.1:80', changed: true };
  },
  undrain: (_virtual, real) => ({
    virtual: 'tcp:192.0.2.1:80',
    real: '10.0.0.1:80',
    changed: real === 'unsaved',
    ...(real === 'unsaved' ? { saveError: '/var/lib/ldir/web.cf.state: EROFS: read-only file system' } : {}),
  }),
  weight: (virtual, real) => ({ virtual, real, configuredWeight: 1, weight: null, previous: null, changed: false }),
  stop: async () => undefined,
  restart: async () => ({ pid: 4343, previousPid: 4242, durationMs: 5 }),
  role: async (role) => ({ role, previous: 'backup', changed: role === 'master', stateSync: sampleStateSync(role) }),
};

async function withDaemon(fn: (socketPath: string, directory: string) => Promise<void>): Promise<void> {
  const directory = join(mkdtempSync(join(tmpdir(), 'ldir-cmd-')), 'run');
  const socketPath = controlSocketPath('web.cf', directory);
  const server = await startControlServer({ path: socketPath, handlers: HANDLERS, logger: silentLogger() });
  try {
    await fn(socketPath, directory);
  } finally {
    await server.close();
  }
}

const nowhere = (): string => join(mkdtempSync(join(tmpdir(), 'ldir-cmd-')), 'none.sock');

describe('ldir status through the socket', () => {
  test('table on stdout, exit 0', () =>
    withDaemon(async (socketPath) => {
      const io = capture();
      assert.equal(await runStatusCommand({ socketPath, json: false }, io), 0);
      assert.equal(io.out, renderStatus(sampleReport()));
      assert.equal(io.err, '');
    }));

  test('--json: the report as is', () =>
    withDaemon(async (socketPath) => {
      const io = capture();
      assert.equal(await runStatusCommand({ socketPath, json: true }, io), 0);
      assert.deepEqual(JSON.parse(io.out), sampleReport());
    }));

  test('no daemon: exit 3 and a clear message', async () => {
    const io = capture();
    assert.equal(await runStatusCommand({ socketPath: nowhere(), json: false }, io), 3);
    assert.match(io.err, /^ldir: the ldir daemon is not running \(no answer on .*none\.sock: ENOENT\)\n$/);
    assert.equal(io.out, '');
  });
});

describe('ldir reload through the socket', () => {
  test('applied: exit 0, warnings on stderr', () =>
    withDaemon(async (socketPath) => {
      reloadGood = true;
      const io = capture();
      assert.equal(await runReloadCommand({ socketPath }, io), 0);
      assert.equal(io.err, `${FILE}:2: warning: checkcount is deprecated\n`);
    }));

  test('refused: exit 2 with PATH:LINE: message', () =>
    withDaemon(async (socketPath) => {
      reloadGood = false;
      const io = capture();
      assert.equal(await runReloadCommand({ socketPath }, io), 2);
      assert.deepEqual(io.err.trimEnd().split('\n'), [
        `${FILE}:1: checktimeout must be a positive number of seconds, not "0"`,
        'ldir: reload refused, the daemon keeps running the previous configuration',
      ]);
      reloadGood = true;
    }));

  test('no daemon: exit 1 as ldirectord', async () => {
    const io = capture();
    assert.equal(await runReloadCommand({ socketPath: nowhere() }, io), 1);
    assert.match(io.err, /not running/);
  });
});

describe('ldir reload --dry-run through the socket', () => {
  test('one line per step on stdout, warnings on stderr, exit 0', () =>
    withDaemon(async (socketPath) => {
      preview = 'steps';
      const io = capture();
      assert.equal(await runReloadPreviewCommand({ socketPath, json: false }, io), 0);
      assert.equal(io.out, `${PREVIEW_STEPS.map((s) => s.text).join('\n')}\n`);
      assert.equal(io.err, `${FILE}:2: warning: checkcount is deprecated\n`);
    }));

  test('nothing to change: says so, exit 0', () =>
    withDaemon(async (socketPath) => {
      preview = 'nothing';
      const io = capture();
      assert.equal(await runReloadPreviewCommand({ socketPath, json: false }, io), 0);
      assert.equal(io.out, 'nothing to change\n');
      preview = 'steps';
    }));

  test("--json: the daemon's answer as one JSON document (ops as data), exit 0", () =>
    withDaemon(async (socketPath) => {
      preview = 'steps';
      const io = capture();
      assert.equal(await runReloadPreviewCommand({ socketPath, json: true }, io), 0);
      const doc = JSON.parse(io.out) as ReloadPreviewResult;
      assert.deepEqual(doc.steps, PREVIEW_STEPS);
      assert.equal(doc.file, FILE);
      preview = 'nothing';
      const empty = capture();
      assert.equal(await runReloadPreviewCommand({ socketPath, json: true }, empty), 0);
      assert.deepEqual((JSON.parse(empty.out) as ReloadPreviewResult).steps, []);
      preview = 'steps';
    }));

  test('configuration errors: exit 2 with PATH:LINE: message, nothing on stdout', () =>
    withDaemon(async (socketPath) => {
      preview = 'errors';
      const io = capture();
      assert.equal(await runReloadPreviewCommand({ socketPath, json: false }, io), 2);
      assert.equal(io.out, '');
      assert.deepEqual(io.err.trimEnd().split('\n'), [
        `${FILE}:1: checktimeout must be a positive number of seconds, not "0"`,
        'ldir: the configuration has errors: a reload would be refused (the daemon keeps running the previous configuration)',
      ]);
      preview = 'steps';
    }));

  test('other refusals exit 1 with the code; no daemon exits 1 as reload does', () =>
    withDaemon(async (socketPath) => {
      preview = 'stopping';
      const io = capture();
      assert.equal(await runReloadPreviewCommand({ socketPath, json: false }, io), 1);
      assert.equal(io.err, 'ldir: ldir is stopping: reload preview refused (LDIR_ERR_DAEMON_STOPPING)\n');
      preview = 'steps';
      const none = capture();
      assert.equal(await runReloadPreviewCommand({ socketPath: nowhere(), json: false }, none), 1);
      assert.match(none.err, /not running/);
    }));
});

describe('ldir drain|undrain through the socket', () => {
  test('drain, undrain of an undrained real, json', () =>
    withDaemon(async (socketPath) => {
      let io = capture();
      assert.equal(
        await runDrainCommand(
          { socketPath, action: 'drain', virtual: '192.0.2.1:80', real: '10.0.0.1', json: false },
          io,
        ),
        0,
      );
      assert.equal(io.out, 'drained 10.0.0.1:80 in tcp:192.0.2.1:80\n');
      io = capture();
      assert.equal(
        await runDrainCommand(
          { socketPath, action: 'undrain', virtual: '192.0.2.1:80', real: '10.0.0.1', json: false },
          io,
        ),
        0,
      );
      assert.equal(io.out, '10.0.0.1:80 in tcp:192.0.2.1:80 was already undrained\n');
      io = capture();
      assert.equal(await runDrainCommand({ socketPath, action: 'drain', virtual: 'v', real: 'r', json: true }, io), 0);
      assert.deepEqual(JSON.parse(io.out), { virtual: 'tcp:192.0.2.1:80', real: '10.0.0.1:80', changed: true });
    }));

  test('in force but not saved in the state file: exit 0, the line, and a warning on stderr', () =>
    withDaemon(async (socketPath) => {
      const io = capture();
      assert.equal(
        await runDrainCommand({ socketPath, action: 'undrain', virtual: 'v', real: 'unsaved', json: false }, io),
        0,
      );
      assert.equal(io.out, 'undrained 10.0.0.1:80 in tcp:192.0.2.1:80\n');
      assert.equal(
        io.err,
        'ldir: warning: in force, but not saved in the state file (/var/lib/ldir/web.cf.state: EROFS: read-only file system): ' +
          'lost at the next stop and start\n',
      );
    }));

  test('unknown target: exit 1 with the daemon message and code', () =>
    withDaemon(async (socketPath) => {
      const io = capture();
      assert.equal(
        await runDrainCommand(
          { socketPath, action: 'drain', virtual: 'tcp:192.0.2.1:80', real: '10.9.9.9', json: false },
          io,
        ),
        1,
      );
      assert.equal(io.err, 'ldir: no real server "10.9.9.9" in tcp:192.0.2.1:80 (LDIR_ERR_UNKNOWN_TARGET)\n');
    }));

  test('runDrainAction finds the socket by configuration name, without parsing the configuration', () =>
    withDaemon(async (_socketPath, directory) => {
      const io = capture();
      const args = parseDrainArgs(['/nonexistent/web.cf', 'drain', 'tcp:192.0.2.1:80', '10.0.0.1:80']);
      assert.ok(args !== undefined && typeof args !== 'string');
      assert.equal(await runDrainAction(args, io, { socketDirectory: directory }), 0);
      assert.equal(io.out, 'drained 10.0.0.1:80 in tcp:192.0.2.1:80\n');
    }));

  test('parseDrainArgs', () => {
    assert.equal(parseDrainArgs(['status']), undefined);
    assert.equal(parseDrainArgs(['web.cf', 'reload']), undefined);
    assert.equal(parseDrainArgs(['a', 'b', 'drain', 'v', 'r']), undefined);
    assert.deepEqual(parseDrainArgs(['drain', 'tcp:1.2.3.4:80', '10.0.0.1']), {
      action: 'drain',
      virtual: 'tcp:1.2.3.4:80',
      real: '10.0.0.1',
      json: false,
      debug: false,
    });
    assert.deepEqual(parseDrainArgs(['-d', '--json', 'web.cf', 'undrain', 'v', 'r']), {
      action: 'undrain',
      config: 'web.cf',
      virtual: 'v',
      real: 'r',
      json: true,
      debug: true,
    });
    assert.deepEqual(parseDrainArgs(['--', 'drain', 'v', '-r']), {
      action: 'drain',
      virtual: 'v',
      real: '-r',
      json: false,
      debug: false,
    });
    assert.match(parseDrainArgs(['drain', 'v']) as string, /drain needs VIRTUAL and REAL/);
    assert.match(parseDrainArgs(['drain', 'v', 'r', 'x']) as string, /needs VIRTUAL and REAL/);
    assert.match(parseDrainArgs(['--force', 'drain', 'v', 'r']) as string, /unknown option for drain: --force/);
  });
});

describe('ldir stop through the socket', () => {
  test('stopped: exit 0; not running: exit 0 as ldirectord', () =>
    withDaemon(async (socketPath) => {
      const io = capture();
      assert.equal(await runStopCommand({ socketPath }, io), 0);
      assert.equal(await runStopCommand({ socketPath: nowhere() }, io), 0);
      assert.equal(io.err, '');
    }));

  test('a daemon that does not answer in time: exit 1', async () => {
    const directory = join(mkdtempSync(join(tmpdir(), 'ldir-cmd-')), 'run');
    const socketPath = controlSocketPath('slow.cf', directory);
    const server = await startControlServer({
      path: socketPath,
      handlers: { ...HANDLERS, stop: () => new Promise<void>(() => undefined) },
      logger: silentLogger(),
      closeGraceMs: 20,
    });
    try {
      const io = capture();
      assert.equal(await runStopCommand({ socketPath, timeoutMs: 50 }, io), 1);
      assert.match(io.err, /no answer to "stop" from the ldir daemon within 50 ms/);
    } finally {
      await server.close();
    }
  });
});
