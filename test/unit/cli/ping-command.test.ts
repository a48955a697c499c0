// `ldir [CONFIG] ping`: LSB-status exit codes from the control socket and the pid file, without parsing the config.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { PingExit, runPing } from '../../../src/cli/ping-command';
import { contentDigest } from '../../../src/config/config-sources';
import { BACKEND_CHOICES as CLI_BACKEND_CHOICES, ipvsFromEnv, runCli } from '../../../src/cli/run';
import type { PingResult } from '../../../src/daemon/protocol';
import { BACKEND_CHOICES } from '../../../src/ipvs/select';
import { capture } from '../../helpers/cli-io';
import { holdPidFile } from '../../helpers/pid-lock';

function dirs(): { run: string; sock: string } {
  const base = mkdtempSync(join(tmpdir(), 'ldir-ping-'));
  const d = { run: join(base, 'run'), sock: join(base, 'sock') };
  for (const p of Object.values(d)) mkdirSync(p);
  return d;
}

/** A control socket that answers every request line with `answer(id)`, or never answers when it returns undefined. */
async function fakeDaemon(path: string, answer: (id: unknown) => object | undefined): Promise<net.Server> {
  const server = net.createServer((socket) => {
    socket.on('data', (d) => {
      const request = JSON.parse(d.toString().split('\n')[0] as string) as { id: unknown };
      const response = answer(request.id);
      if (response) socket.end(`${JSON.stringify(response)}\n`);
    });
  });
  await new Promise<void>((r) => server.listen(path, r));
  return server;
}

const PING: PingResult = {
  pid: 4242,
  configFile: '/etc/ha.d/site.cf',
  startedAt: '2026-01-01T00:00:00.000Z',
  uptimeSeconds: 7,
  lastSyncOk: true,
};

describe('ldir ping', () => {
  test('stopped: 3 (no pid file, nothing listening); the config file need not exist nor parse', async () => {
    const d = dirs();
    const io = capture();
    assert.equal(
      await runPing({ config: '/nonexistent/site.cf', json: false, runDirectory: d.run, socketDirectory: d.sock }, io),
      PingExit.NOT_RUNNING,
    );
    assert.match(io.out, /ldir is stopped for site\.cf/);
  });

  test('dead: 1 when the pid file remains and nothing holds its lock', async () => {
    const d = dirs();
    writeFileSync(join(d.run, 'ldirectord.site.cf.pid'), '4242\n');
    const io = capture();
    assert.equal(
      await runPing({ config: 'site.cf', json: true, runDirectory: d.run, socketDirectory: d.sock }, io),
      PingExit.DEAD,
    );
    assert.deepEqual(JSON.parse(io.out), {
      state: 'dead',
      reason: `stale pid file ${join(d.run, 'ldirectord.site.cf.pid')}: pid 4242 is gone`,
      pid: 4242,
    });
  });

  test('busy: tried again while the daemon answers BUSY; healthy (0) once it answers, waits 25 ms doubling', async () => {
    const d = dirs();
    let tries = 0;
    const busyTwice = await fakeDaemon(join(d.sock, 'site.cf.sock'), (id) => {
      tries++;
      return tries <= 2
        ? {
            v: 1,
            id: null,
            ok: false,
            error: {
              code: 'LDIR_ERR_CONTROL_BUSY',
              message: 'every control connection is answering a request (limit 64)',
            },
          }
        : { v: 1, id, ok: true, type: 'ping', result: PING };
    });
    try {
      const waits: number[] = [];
      const io = capture();
      const sleep = async (ms: number): Promise<void> => void waits.push(ms);
      assert.equal(
        await runPing({ config: 'site.cf', json: false, runDirectory: d.run, socketDirectory: d.sock, sleep }, io),
        PingExit.HEALTHY,
        io.err,
      );
      assert.equal(tries, 3);
      assert.deepEqual(waits, [25, 50]);
      assert.match(io.out, /is running with pid: 4242/);
    } finally {
      busyTwice.close();
    }
  });

  test('busy: 4 with state busy when every try within the timeout was turned away; the text says the daemon is alive', async () => {
    const d = dirs();
    let tries = 0;
    const alwaysBusy = await fakeDaemon(join(d.sock, 'site.cf.sock'), () => {
      tries++;
      return { v: 1, id: null, ok: false, error: { code: 'LDIR_ERR_CONTROL_BUSY', message: 'busy' } };
    });
    try {
      const io = capture();
      assert.equal(
        await runPing(
          { config: 'site.cf', json: true, timeoutMs: 400, runDirectory: d.run, socketDirectory: d.sock },
          io,
        ),
        PingExit.UNHEALTHY,
      );
      const report = JSON.parse(io.out) as { state: string; reason: string };
      assert.equal(report.state, 'busy');
      assert.ok(tries >= 2, `tried ${tries} times`);
      assert.equal(
        report.reason,
        `its control socket turned ping away ${tries} times in 400 ms (LDIR_ERR_CONTROL_BUSY: busy)`,
      );
      const text = capture();
      assert.equal(
        await runPing(
          { config: 'site.cf', json: false, timeoutMs: 100, runDirectory: d.run, socketDirectory: d.sock },
          text,
        ),
        PingExit.UNHEALTHY,
      );
      assert.match(
        text.err,
        /^ldir for site\.cf is busy: its control socket turned ping away \d+ times in 100 ms .*; the daemon is alive$/m,
      );
    } finally {
      alwaysBusy.close();
    }
  });

  test('unhealthy: 4 when a live daemon (its pid file locked) does not answer in time', async () => {
    const d = dirs();
    const held = holdPidFile(join(d.run, 'ldirectord.site.cf.pid'), 4242);
    const silent = await fakeDaemon(join(d.sock, 'site.cf.sock'), () => undefined);
    try {
      const io = capture();
      assert.equal(
        await runPing(
          { config: 'site.cf', json: false, timeoutMs: 200, runDirectory: d.run, socketDirectory: d.sock },
          io,
        ),
        PingExit.UNHEALTHY,
      );
      assert.match(io.err, /does not answer/);
    } finally {
      silent.close();
      held.release();
    }
  });

  test('unhealthy: 4 when the last kernel sync failed; healthy: 0 when it succeeded or has not run yet', async () => {
    const d = dirs();
    let lastSyncOk: boolean | null = false;
    const server = await fakeDaemon(join(d.sock, 'site.cf.sock'), (id) => ({
      v: 1,
      id,
      ok: true,
      type: 'ping',
      result: { ...PING, lastSyncOk },
    }));
    try {
      const where = { config: 'site.cf', runDirectory: d.run, socketDirectory: d.sock };
      let io = capture();
      assert.equal(await runPing({ ...where, json: false }, io), PingExit.UNHEALTHY);
      assert.match(io.err, /last kernel sync failed/);
      lastSyncOk = true;
      io = capture();
      assert.equal(await runPing({ ...where, json: false }, io), PingExit.HEALTHY);
      assert.match(
        io.out,
        /^ldir for \/etc\/ha\.d\/site\.cf is running with pid: 4242, up 7 s, last kernel sync ok\n$/,
      );
      lastSyncOk = null;
      io = capture();
      assert.equal(await runPing({ ...where, json: true }, io), PingExit.HEALTHY);
      assert.deepEqual(JSON.parse(io.out), { state: 'running', pid: 4242, ping: { ...PING, lastSyncOk: null } });
    } finally {
      server.close();
    }
  });

  test('the health verdict decides when the daemon sends one: 0 ok or degraded (the line says why), 4 failing with its summary', async () => {
    const d = dirs();
    const message =
      'kernel-refused: the kernel refused 1 operation of the last sync at 2026-01-01T00:00:00.000Z, retried every sync: tcp:10.0.0.1:81 (add-service EINVAL)';
    let health: NonNullable<PingResult['health']> = {
      level: 'degraded',
      reasons: [{ code: 'kernel-refused', level: 'degraded', message, virtuals: ['tcp:10.0.0.1:81'] }],
      summary: `degraded: ${message}`,
    };
    const server = await fakeDaemon(join(d.sock, 'site.cf.sock'), (id) => ({
      v: 1,
      id,
      ok: true,
      type: 'ping',
      result: { ...PING, lastSyncOk: false, health },
    }));
    try {
      const where = { config: 'site.cf', runDirectory: d.run, socketDirectory: d.sock };
      let io = capture();
      assert.equal(
        await runPing({ ...where, json: false }, io),
        PingExit.HEALTHY,
        'a degraded director is not recovered',
      );
      assert.equal(io.out, `ldir for /etc/ha.d/site.cf is running with pid: 4242, up 7 s, degraded: ${message}\n`);
      io = capture();
      assert.equal(await runPing({ ...where, json: true }, io), PingExit.HEALTHY);
      assert.deepEqual(JSON.parse(io.out), {
        state: 'running',
        reason: `degraded: ${message}`,
        pid: 4242,
        ping: { ...PING, lastSyncOk: false, health },
      });
      health = { ...health, level: 'failing', summary: `failing: ${message}` };
      io = capture();
      assert.equal(await runPing({ ...where, json: false }, io), PingExit.UNHEALTHY);
      assert.equal(io.err.split('\n')[0], `ldir for /etc/ha.d/site.cf (pid 4242): failing: ${message}`);
      health = { level: 'ok', reasons: [], summary: 'ok' };
      io = capture();
      assert.equal(await runPing({ ...where, json: false }, io), PingExit.HEALTHY);
      assert.match(io.out, /up 7 s, last kernel sync ok\n$/);
    } finally {
      server.close();
    }
  });

  test("unhealthy: 4 when the watchdog fails, the reason printed (after a failed sync's); 0 when it is ok", async () => {
    const d = dirs();
    const overdue = {
      code: 'checks-overdue',
      reals: 2,
      worst: { virtual: 'tcp:192.0.2.1:80', real: '10.0.0.2:80' },
      ageSeconds: 12.5,
      limitSeconds: 4,
      message:
        'checks-overdue: 2 reals without a check result for more than 2 x (interval + timeout); worst tcp:192.0.2.1:80 10.0.0.2:80: 12.5 s (limit 4 s)',
    };
    const stalled = {
      code: 'engine-stalled',
      ageSeconds: 45,
      limitSeconds: 30,
      message: 'engine-stalled: no kernel sync pass has finished for 45 s\u001b[2J (limit 30 s)',
    };
    // The file on disk is the one the daemon loaded (same digest): it is not read again, broken or not.
    const ha = mkdtempSync(join(tmpdir(), 'ldir-ping-ha-'));
    writeFileSync(join(ha, 'site.cf'), 'not read\n');
    const loaded = {
      ...PING,
      configFiles: [{ path: join(ha, 'site.cf'), digest: contentDigest(Buffer.from('not read\n')) }],
    };
    let result: PingResult = { ...loaded, watchdog: { ok: false, reasons: [overdue] } };
    const server = await fakeDaemon(join(d.sock, 'site.cf.sock'), (id) => ({
      v: 1,
      id,
      ok: true,
      type: 'ping',
      result,
    }));
    try {
      const where = { config: 'site.cf', runDirectory: d.run, socketDirectory: d.sock, locate: { haDirectory: ha } };
      let io = capture();
      assert.equal(await runPing({ ...where, json: false }, io), PingExit.UNHEALTHY);
      assert.equal(io.err, `ldir for /etc/ha.d/site.cf (pid 4242): watchdog: ${overdue.message}\n`);
      assert.equal(io.out, '');
      io = capture();
      assert.equal(await runPing({ ...where, json: true }, io), PingExit.UNHEALTHY);
      const report = JSON.parse(io.out) as { state: string; reason: string; ping: PingResult };
      assert.equal(report.state, 'unhealthy');
      assert.equal(report.reason, `watchdog: ${overdue.message}`);
      assert.deepEqual(report.ping.watchdog, result.watchdog, 'the structured verdict travels');

      result = { ...loaded, lastSyncOk: false, watchdog: { ok: false, reasons: [overdue, stalled] } };
      io = capture();
      assert.equal(await runPing({ ...where, json: false }, io), PingExit.UNHEALTHY);
      assert.match(
        io.err,
        /^ldir for \S+ \(pid 4242\): the last kernel sync failed \(.*\); watchdog: checks-overdue: .*; engine-stalled: .*45 s\?\[2J \(limit 30 s\)\n$/,
      );
      assert.equal(io.err.split('\n').length, 2, 'one line (the OCF agent takes the first as its exit reason)');

      result = { ...loaded, watchdog: { ok: true, reasons: [] } };
      io = capture();
      assert.equal(await runPing({ ...where, json: false }, io), PingExit.HEALTHY);
      assert.match(io.out, /is running with pid: 4242, up 7 s, last kernel sync ok\n$/);
    } finally {
      server.close();
    }
  });

  test('a file that is not the one the daemon loaded and is broken: a warning after the answer, the exit code unchanged', async () => {
    const d = dirs();
    const ha = mkdtempSync(join(tmpdir(), 'ldir-ping-ha-'));
    const good = 'virtual=127.0.0.1:80\n\treal=127.0.0.2:80 gate\n';
    writeFileSync(join(ha, 'site.cf'), `${good}bogus line here\n`);
    let files = [{ path: join(ha, 'site.cf'), digest: contentDigest(Buffer.from(good)) }];
    const server = await fakeDaemon(join(d.sock, 'site.cf.sock'), (id) => ({
      v: 1,
      id,
      ok: true,
      type: 'ping',
      result: { ...PING, configFiles: files },
    }));
    try {
      const where = { config: 'site.cf', runDirectory: d.run, socketDirectory: d.sock, locate: { haDirectory: ha } };
      const io = capture();
      assert.equal(await runPing({ ...where, json: false }, io), PingExit.HEALTHY);
      assert.match(io.out, /is running with pid: 4242/);
      assert.match(
        io.err,
        /^ldir: warning: \S+site\.cf has errors: .*\nldir: warning: \S+site\.cf:3: unknown directive "bogus line here"\n$/,
      );
      // Fixed on disk as the daemon loaded it: the same digest, nothing read, nothing said.
      writeFileSync(join(ha, 'site.cf'), good);
      const quiet = capture();
      assert.equal(await runPing({ ...where, json: true }, quiet), PingExit.HEALTHY);
      assert.equal(quiet.err, '');
      // An included file broken while the main file is unchanged: the daemon listed both with their digests.
      writeFileSync(join(ha, 'site.cf'), `${good}include=more.cf\n`);
      writeFileSync(join(ha, 'more.cf'), 'checktimeout=3\n');
      files = [
        { path: join(ha, 'site.cf'), digest: contentDigest(Buffer.from(`${good}include=more.cf\n`)) },
        { path: join(ha, 'more.cf'), digest: contentDigest(Buffer.from('checktimeout=3\n')) },
      ];
      const same = capture();
      assert.equal(await runPing({ ...where, json: false }, same), PingExit.HEALTHY);
      assert.equal(same.err, '', 'as loaded: nothing read');
      writeFileSync(join(ha, 'more.cf'), 'checktimeout=3\nbogus included\n');
      const included = capture();
      assert.equal(await runPing({ ...where, json: false }, included), PingExit.HEALTHY);
      assert.match(included.err, /more\.cf:2: unknown directive "bogus included"/);
      // Stopped, the file broken: said too (a start would refuse it).
      writeFileSync(join(ha, 'more.cf'), 'checktimeout=3\n');
      server.close();
      writeFileSync(join(ha, 'site.cf'), `${good}bogus line here\n`);
      const stopped = capture();
      assert.equal(await runPing({ ...where, json: false }, stopped), PingExit.NOT_RUNNING);
      assert.match(stopped.err, /site\.cf:3: unknown directive/);
    } finally {
      server.close();
    }
  });

  test('unhealthy: 4 on an error answer', async () => {
    const d = dirs();
    const server = await fakeDaemon(join(d.sock, 'site.cf.sock'), (id) => ({
      v: 1,
      id,
      ok: false,
      error: { code: 'LDIR_ERR_X', message: 'broken' },
    }));
    try {
      const io = capture();
      assert.equal(
        await runPing({ config: 'site.cf', json: false, runDirectory: d.run, socketDirectory: d.sock }, io),
        PingExit.UNHEALTHY,
      );
      assert.match(io.err, /broken \(LDIR_ERR_X\)/);
    } finally {
      server.close();
    }
  });

  test('argv: [--json] [--timeout=S] [CONFIG] ping; --timeout is checked for every daemon action', async () => {
    const d = dirs();
    const saved = { run: process.env['LDIR_RUN_DIR'], sock: process.env['LDIR_SOCKET_DIR'] };
    process.env['LDIR_RUN_DIR'] = d.run;
    process.env['LDIR_SOCKET_DIR'] = d.sock;
    try {
      assert.equal(await runCli(['--timeout=3', '/nonexistent/x.cf', 'ping'], capture()), 3);
      assert.equal(await runCli(['--json', 'ping'], capture()), 3, 'default configuration name');
      assert.equal(await runCli(['--timeout=0', 'x.cf', 'ping'], capture()), 255);
      assert.equal(await runCli(['--timeout=soon', 'x.cf', 'status'], capture()), 255);
      const missing = capture();
      assert.equal(
        await runCli(['--timeout=3', '/nonexistent/x.cf', 'status'], missing),
        3,
        'accepted; a missing file is a warning: stopped',
      );
      assert.match(missing.err, /warning: configuration file \/nonexistent\/x\.cf not found/);
    } finally {
      for (const [k, v] of [
        ['LDIR_RUN_DIR', saved.run],
        ['LDIR_SOCKET_DIR', saved.sock],
      ] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});

describe('LDIR_IPVS', () => {
  test('names the default backend; anything else is a usage error', () => {
    assert.equal(ipvsFromEnv({}), 'auto');
    assert.equal(ipvsFromEnv({ LDIR_IPVS: '' }), 'auto');
    assert.equal(ipvsFromEnv({ LDIR_IPVS: 'memory' }), 'memory');
    assert.match(ipvsFromEnv({ LDIR_IPVS: 'kernel' }), /LDIR_IPVS must be one of/);
  });

  test('the CLI knows the same backends as ipvs/select (kept apart so that ping loads little)', () => {
    assert.deepEqual(CLI_BACKEND_CHOICES, BACKEND_CHOICES);
  });
});
