// `ldir promote|demote` against a control server on a real unix socket (output, exit codes, argv), the `role`
// request on the wire, the ping text the OCF monitor reads, and the sync line of `ldir status`.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runPing } from '../../../src/cli/ping-command';
import { describeStateSync, runRoleCommand } from '../../../src/cli/role-command';
import { runCli, USAGE } from '../../../src/cli/run';
import { renderStatus, syncLine } from '../../../src/cli/status-view';
import { startControlServer, type ControlHandlers } from '../../../src/daemon/control-server';
import { controlSocketPath, parseRequest, parseResponse, type RoleResult } from '../../../src/daemon/protocol';
import { silentLogger } from '../../../src/log';
import type { SyncRole } from '../../../src/model';
import { capture } from '../../helpers/cli-io';
import { ago, sampleReport, sampleStateSync } from '../../helpers/status-report';

/** A daemon whose role handler answers with `answer` (and records the roles asked for). */
async function withDaemon(
  answer: (role: SyncRole) => RoleResult,
  fn: (where: { socketDirectory: string }, asked: string[]) => Promise<void>,
): Promise<void> {
  const socketDirectory = join(mkdtempSync(join(tmpdir(), 'ldir-role-')), 'sock');
  const asked: string[] = [];
  const handlers: ControlHandlers = {
    status: () => sampleReport(),
    ping: () => ({ pid: 1, configFile: '/etc/ha.d/site.cf', startedAt: ago(1), uptimeSeconds: 1, lastSyncOk: true }),
    reload: async () => ({ applied: true, file: '/etc/ha.d/site.cf', diagnostics: [] }),
    reloadPreview: async () => ({ file: '/etc/ha.d/site.cf', diagnostics: [], steps: [] }),
    drain: (virtual, real) => ({ virtual, real, changed: false }),
    undrain: (virtual, real) => ({ virtual, real, changed: false }),
    weight: (virtual, real) => ({ virtual, real, configuredWeight: 1, weight: null, previous: null, changed: false }),
    stop: async () => undefined,
    restart: async () => ({ pid: 2, previousPid: 1, durationMs: 5 }),
    role: async (role) => {
      asked.push(role);
      return answer(role);
    },
  };
  const server = await startControlServer({
    path: controlSocketPath('site.cf', socketDirectory),
    handlers,
    logger: silentLogger(),
  });
  try {
    await fn({ socketDirectory }, asked);
  } finally {
    await server.close();
  }
}

const switched = (role: SyncRole): RoleResult => ({
  role,
  previous: role === 'master' ? 'backup' : 'master',
  changed: true,
  stateSync: sampleStateSync(role),
});

describe('ldir promote|demote', () => {
  test('promote: master asked for, exit 0, one line saying what runs', () =>
    withDaemon(switched, async (where, asked) => {
      const io = capture();
      assert.equal(await runRoleCommand({ action: 'promote', config: 'site.cf', json: false, ...where }, io), 0);
      assert.deepEqual(asked, ['master']);
      assert.equal(io.out, 'promoted to master (was backup); master sync daemon on eth1 (sync id 7) running\n');
      assert.equal(io.err, '');
    }));

  test('demote, already in the role, and --json', () =>
    withDaemon(
      (role) => ({ ...switched(role), changed: false, previous: role }),
      async (where, asked) => {
        let io = capture();
        assert.equal(await runRoleCommand({ action: 'demote', config: 'site.cf', json: false, ...where }, io), 0);
        assert.equal(io.out, 'already backup; backup sync daemon on eth1 (sync id 7) running\n');
        io = capture();
        assert.equal(await runRoleCommand({ action: 'demote', config: 'site.cf', json: true, ...where }, io), 0);
        assert.deepEqual(JSON.parse(io.out), {
          role: 'backup',
          previous: 'backup',
          changed: false,
          stateSync: sampleStateSync('backup'),
        });
        assert.deepEqual(asked, ['backup', 'backup']);
      },
    ));

  test('sync not configured: the role alone, exit 0', () =>
    withDaemon(
      (role) => ({ ...switched(role), stateSync: { ...sampleStateSync(role), configured: false, daemons: [] } }),
      async (where) => {
        const io = capture();
        assert.equal(await runRoleCommand({ action: 'promote', config: 'site.cf', json: false, ...where }, io), 0);
        assert.match(io.out, /promoted to master \(was backup\); no sync daemon: syncinterface is not configured/);
      },
    ));

  test('the kernel refused the sync daemon: exit 1, the reason on stderr', () =>
    withDaemon(
      (role) => {
        const s = sampleStateSync(role);
        return {
          ...switched(role),
          stateSync: {
            ...s,
            ok: false,
            lastError: {
              at: ago(0),
              message: 'start of the master sync daemon on eth1 refused: ENODEV',
              errno: 'ENODEV',
            },
            daemons: s.daemons.map((d) => ({
              ...d,
              running: false,
              matches: !d.wanted,
              interface: null,
              syncId: null,
              group: null,
              port: null,
              ttl: null,
              maxLength: null,
            })),
          },
        };
      },
      async (where) => {
        const io = capture();
        assert.equal(await runRoleCommand({ action: 'promote', config: 'site.cf', json: false, ...where }, io), 1);
        assert.equal(io.out, '');
        assert.match(
          io.err,
          /^ldir: promoted to master \(was backup\); master sync daemon NOT running as configured: .*ENODEV\n$/,
        );
      },
    ));

  test('no daemon: exit 3', async () => {
    const io = capture();
    const socketDirectory = join(mkdtempSync(join(tmpdir(), 'ldir-role-')), 'none');
    assert.equal(await runRoleCommand({ action: 'demote', config: 'site.cf', json: false, socketDirectory }, io), 3);
    assert.match(io.err, /not running/);
  });

  test('argv: [--json] [--timeout=S] [CONFIG] promote|demote, documented in USAGE; the config is not read', async () => {
    assert.match(USAGE, /ldir \[--json\] \[--timeout=SECONDS\] \[CONFIG\] promote\|demote/);
    const saved = process.env['LDIR_SOCKET_DIR'];
    await withDaemon(switched, async (where, asked) => {
      process.env['LDIR_SOCKET_DIR'] = where.socketDirectory;
      try {
        assert.equal(await runCli(['--timeout=5', '/nonexistent/site.cf', 'promote'], capture()), 0);
        assert.equal(await runCli(['--json', '/nonexistent/site.cf', 'demote'], capture()), 0);
        assert.deepEqual(asked, ['master', 'backup']);
        assert.equal(await runCli(['--timeout=0', 'site.cf', 'promote'], capture()), 255);
        assert.equal(
          await runCli(['/nonexistent/other.cf', 'promote'], capture()),
          3,
          'the socket is named after the configuration',
        );
      } finally {
        if (saved === undefined) delete process.env['LDIR_SOCKET_DIR'];
        else process.env['LDIR_SOCKET_DIR'] = saved;
      }
    });
  });
});

describe('the role request on the wire', () => {
  test('role master|backup is accepted; anything else, or extra members, is a bad request', () => {
    const good = parseRequest('{"v":1,"id":"r1","type":"role","role":"master"}');
    assert.ok(good.ok && good.request.type === 'role' && good.request.role === 'master');
    for (const line of [
      '{"v":1,"id":"r1","type":"role","role":"primary"}',
      '{"v":1,"id":"r1","type":"role"}',
      '{"v":1,"id":"r1","type":"role","role":"backup","force":true}',
    ]) {
      const r = parseRequest(line);
      assert.ok(!r.ok && r.response.error.code === 'LDIR_ERR_CONTROL_BAD_REQUEST', line);
    }
  });

  test("a role answer is validated (and a newer daemon's extra members are dropped)", () => {
    const result = { ...switched('master'), extra: 1 };
    const r = parseResponse(JSON.stringify({ v: 1, id: 'r1', ok: true, type: 'role', result }), 'role');
    assert.ok(r.ok);
    assert.deepEqual(r.result, switched('master'));
    assert.throws(() =>
      parseResponse(
        JSON.stringify({ v: 1, id: 'r1', ok: true, type: 'role', result: { ...result, role: 'none' } }),
        'role',
      ),
    );
  });
});

describe('what people and the OCF monitor read', () => {
  test('ping says ", role master" (and nothing for no role): the OCF monitor reports 8 from it', async () => {
    const base = mkdtempSync(join(tmpdir(), 'ldir-ping-role-'));
    for (const d of ['run', 'sock']) mkdirSync(join(base, d));
    let role: string | undefined = 'master';
    const server = net.createServer((socket) => {
      socket.on('data', (d) => {
        const { id } = JSON.parse(d.toString().split('\n')[0] as string) as { id: unknown };
        const result = {
          pid: 7,
          configFile: '/etc/ha.d/site.cf',
          startedAt: ago(9),
          uptimeSeconds: 9,
          lastSyncOk: true,
          ...(role ? { role } : {}),
        };
        socket.end(`${JSON.stringify({ v: 1, id, ok: true, type: 'ping', result })}\n`);
      });
    });
    await new Promise<void>((r) => server.listen(join(base, 'sock', 'site.cf.sock'), r));
    try {
      const where = {
        config: 'site.cf',
        json: false,
        runDirectory: join(base, 'run'),
        socketDirectory: join(base, 'sock'),
      };
      let io = capture();
      assert.equal(await runPing(where, io), 0);
      assert.match(io.out, /, last kernel sync ok, role master\n$/);
      role = 'none';
      io = capture();
      await runPing(where, io);
      assert.match(io.out, /, last kernel sync ok\n$/);
      role = undefined;
      io = capture();
      await runPing(where, io);
      assert.match(io.out, /, last kernel sync ok\n$/, 'an older daemon without a role');
    } finally {
      server.close();
    }
  });

  test('status: one sync line under the daemon lines; none for a director without sync nor role', () => {
    const report = sampleReport();
    const now = report.generatedAt;
    assert.equal(
      syncLine(sampleStateSync('master'), now),
      'sync: role master for 5m00s (promote/demote); kernel sync daemon: master on eth1 id 7, 224.0.0.81:8848',
    );
    assert.equal(
      syncLine({ ...sampleStateSync('backup'), configured: false, daemons: [], roleSource: 'config' }, now),
      'sync: role backup for 5m00s (syncrole); no sync daemon (syncinterface not configured)',
    );
    assert.equal(
      syncLine({ ...sampleStateSync('backup'), configured: false, role: 'none', daemons: [] }, now),
      undefined,
    );
    assert.equal(syncLine(undefined, now), undefined);
    const failing = sampleStateSync('master', {
      ok: false,
      lastError: { at: ago(1), message: 'start of the master sync daemon on eth1 refused: ENODEV', errno: 'ENODEV' },
    });
    const down = { ...failing, daemons: failing.daemons.map((d) => ({ ...d, running: false, matches: !d.wanted })) };
    assert.match(
      syncLine(down, now) ?? '',
      /kernel sync daemon: master NOT running \(start of the master sync daemon on eth1 refused: ENODEV\)$/,
    );
    const lines = renderStatus(
      { ...report, daemon: { ...report.daemon, stateSync: sampleStateSync('master') } },
      { width: Infinity },
    ).split('\n');
    assert.match(lines[3] ?? '', /^sync: role master/);
    assert.equal(
      renderStatus(report),
      renderStatus({
        ...report,
        daemon: {
          ...report.daemon,
          stateSync: { ...sampleStateSync('backup'), configured: false, role: 'none', daemons: [] },
        },
      }),
    );
  });

  test('describeStateSync for each case', () => {
    assert.equal(describeStateSync(sampleStateSync('backup')), 'backup sync daemon on eth1 (sync id 7) running');
    assert.equal(describeStateSync({ ...sampleStateSync('backup'), role: 'none' }), 'no sync daemon (role none)');
  });
});
