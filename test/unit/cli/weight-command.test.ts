// `ldir weight VIRTUAL REAL N|reset`: argument parsing, the request it sends, its output and exit codes against a
// control server on a real unix socket, and its place in the CLI's dispatch (usage errors before any socket).
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runCli } from '../../../src/cli/run';
import {
  describeWeightResult,
  parseWeightArgs,
  parseWeightValue,
  runWeightAction,
  runWeightCommand,
} from '../../../src/cli/weight-command';
import { startControlServer, type ControlHandlers } from '../../../src/daemon/control-server';
import { controlSocketPath, type WeightResult } from '../../../src/daemon/protocol';
import { ErrorCodes, LdirError } from '../../../src/errors';
import { silentLogger } from '../../../src/log';
import { capture } from '../../helpers/cli-io';
import { sampleReport } from '../../helpers/status-report';

const VIP = 'tcp:192.0.2.1:80';

/** A daemon whose weight handler keeps one runtime weight per real (configured weight 5) and records each request. */
async function withDaemon(
  fn: (where: { socketPath: string; socketDirectory: string }, asked: string[]) => Promise<void>,
): Promise<void> {
  const socketDirectory = join(mkdtempSync(join(tmpdir(), 'ldir-weight-')), 'sock');
  const asked: string[] = [];
  const weights = new Map<string, number>();
  const handlers: ControlHandlers = {
    status: () => sampleReport(),
    ping: () => ({
      pid: 1,
      configFile: '/etc/ha.d/web.cf',
      startedAt: '2024-05-01T12:00:00.000Z',
      uptimeSeconds: 1,
      lastSyncOk: true,
    }),
    reload: async () => ({ applied: true, file: '/etc/ha.d/web.cf', diagnostics: [] }),
    reloadPreview: async () => ({ file: '/etc/ha.d/web.cf', diagnostics: [], steps: [] }),
    drain: (virtual, real) => ({ virtual, real, changed: false }),
    undrain: (virtual, real) => ({ virtual, real, changed: false }),
    weight: (virtual, real, weight) => {
      asked.push(`${virtual} ${real} ${weight}`);
      if (real === '10.9.9.9')
        throw new LdirError(ErrorCodes.UNKNOWN_TARGET, `10.9.9.9 is not a real server of it: virtual service ${VIP}`);
      const key = real.includes(':') ? real : `${real}:80`;
      const previous = weights.get(key) ?? null;
      const now = weight === 'reset' ? null : weight;
      if (now === null) weights.delete(key);
      else weights.set(key, now);
      return {
        virtual: VIP,
        real: key,
        configuredWeight: 5,
        weight: now,
        previous,
        changed: previous !== now,
        ...(key === '10.0.0.3:80' ? { saveError: '/var/lib/ldir/web.cf.state: ENOSPC: no space left on device' } : {}),
      };
    },
    stop: async () => undefined,
    restart: async () => ({ pid: 2, previousPid: 1, durationMs: 5 }),
    role: async () => {
      throw new Error('not asked');
    },
  };
  const socketPath = controlSocketPath('web.cf', socketDirectory);
  const server = await startControlServer({ path: socketPath, handlers, logger: silentLogger() });
  try {
    await fn({ socketPath, socketDirectory }, asked);
  } finally {
    await server.close();
  }
}

describe('ldir weight: arguments', () => {
  test('parseWeightValue: 0..2147483647 or reset; anything else says why', () => {
    assert.equal(parseWeightValue('0'), 0);
    assert.equal(parseWeightValue('007'), 7);
    assert.equal(parseWeightValue('2147483647'), 2147483647);
    assert.equal(parseWeightValue('reset'), 'reset');
    for (const bad of ['2147483648', '99999999999', '1.5', '1e3', '', 'RESET', ' 5', 'five', '0x10']) {
      assert.match(
        parseWeightValue(bad) as string,
        /^a weight is an integer from 0 to 2147483647, or reset, not /,
        bad,
      );
    }
  });

  test('parseWeightArgs: where the verb is, options, CONFIG, and usage errors', () => {
    assert.equal(parseWeightArgs(['status']), undefined);
    assert.equal(parseWeightArgs(['web.cf', 'drain', 'v', 'r']), undefined);
    assert.equal(
      parseWeightArgs(['a', 'b', 'weight', 'v', 'r', '1']),
      undefined,
      'weight must be the first or second word',
    );
    assert.deepEqual(parseWeightArgs(['weight', 'tcp:1.2.3.4:80', '10.0.0.1', '3']), {
      virtual: 'tcp:1.2.3.4:80',
      real: '10.0.0.1',
      weight: 3,
      json: false,
      debug: false,
    });
    assert.deepEqual(parseWeightArgs(['-d', '--json', 'web.cf', 'weight', 'v', 'r', 'reset']), {
      config: 'web.cf',
      virtual: 'v',
      real: 'r',
      weight: 'reset',
      json: true,
      debug: true,
    });
    assert.deepEqual(parseWeightArgs(['weight', '--json', 'v', 'r', '0']), {
      virtual: 'v',
      real: 'r',
      weight: 0,
      json: true,
      debug: false,
    });
    assert.match(parseWeightArgs(['weight', 'v', 'r']) as string, /^weight needs VIRTUAL, REAL and N or reset/);
    assert.match(
      parseWeightArgs(['weight', 'v', 'r', '1', 'x']) as string,
      /^weight needs VIRTUAL, REAL and N or reset/,
    );
    assert.match(
      parseWeightArgs(['weight', 'v', 'r', '-1']) as string,
      /^a weight is an integer from 0 to 2147483647, or reset, not -1$/,
    );
    assert.match(parseWeightArgs(['weight', 'v', 'r', 'heavy']) as string, /not "heavy"$/);
    assert.match(
      parseWeightArgs(['--force', 'weight', 'v', 'r', '1']) as string,
      /^unknown option for weight: --force$/,
    );
  });

  test('the CLI: a usage error exits 255 with the usage text, before looking for a daemon', async () => {
    const io = capture();
    assert.equal(await runCli(['weight', 'tcp:192.0.2.1:80', '10.0.0.1', '2147483648'], io), 255);
    assert.match(io.err, /^ldir: a weight is an integer from 0 to 2147483647, or reset, not 2147483648\nUsage:/);
    assert.match(io.err, /ldir \[--json\] \[CONFIG\] weight VIRTUAL REAL N\|reset/);
    assert.match(io.err, /LDIR_STATE_DIR \(state files, default \/var\/lib\/ldir\)/);
  });
});

describe('ldir weight through the socket', () => {
  test('set, set again, reset, reset again: one line each, exit 0', () =>
    withDaemon(async ({ socketPath }, asked) => {
      const run = async (weight: number | 'reset'): Promise<string> => {
        const io = capture();
        assert.equal(
          await runWeightCommand({ socketPath, virtual: '192.0.2.1:80', real: '10.0.0.1', weight, json: false }, io),
          0,
        );
        assert.equal(io.err, '');
        return io.out;
      };
      assert.equal(await run(2), `weight of 10.0.0.1:80 in ${VIP} set to 2 (configured 5)\n`);
      assert.equal(await run(0), `weight of 10.0.0.1:80 in ${VIP} set to 0 (configured 5, was 2)\n`);
      assert.equal(await run(0), `10.0.0.1:80 in ${VIP} already has weight 0 (configured 5)\n`);
      assert.equal(await run('reset'), `weight of 10.0.0.1:80 in ${VIP} reset: configured weight 5 (was 0)\n`);
      assert.equal(await run('reset'), `10.0.0.1:80 in ${VIP} already has its configured weight 5\n`);
      assert.deepEqual(asked, [
        '192.0.2.1:80 10.0.0.1 2',
        '192.0.2.1:80 10.0.0.1 0',
        '192.0.2.1:80 10.0.0.1 0',
        '192.0.2.1:80 10.0.0.1 reset',
        '192.0.2.1:80 10.0.0.1 reset',
      ]);
    }));

  test('--json prints the answer; a state file that cannot be written is a warning, exit 0', () =>
    withDaemon(async ({ socketPath }) => {
      let io = capture();
      assert.equal(
        await runWeightCommand({ socketPath, virtual: VIP, real: '10.0.0.2:80', weight: 9, json: true }, io),
        0,
      );
      assert.deepEqual(JSON.parse(io.out), {
        virtual: VIP,
        real: '10.0.0.2:80',
        configuredWeight: 5,
        weight: 9,
        previous: null,
        changed: true,
      });
      io = capture();
      assert.equal(
        await runWeightCommand({ socketPath, virtual: VIP, real: '10.0.0.3', weight: 1, json: false }, io),
        0,
      );
      assert.equal(io.out, `weight of 10.0.0.3:80 in ${VIP} set to 1 (configured 5)\n`);
      assert.equal(
        io.err,
        'ldir: warning: in force, but not saved in the state file (/var/lib/ldir/web.cf.state: ENOSPC: no space left on device): ' +
          'lost at the next stop and start\n',
      );
    }));

  test('unknown target: exit 1 with the message and code; no daemon: exit 1', () =>
    withDaemon(async ({ socketPath }) => {
      let io = capture();
      assert.equal(
        await runWeightCommand({ socketPath, virtual: VIP, real: '10.9.9.9', weight: 1, json: false }, io),
        1,
      );
      assert.equal(
        io.err,
        `ldir: 10.9.9.9 is not a real server of it: virtual service ${VIP} (LDIR_ERR_UNKNOWN_TARGET)\n`,
      );
      io = capture();
      const nowhere = join(mkdtempSync(join(tmpdir(), 'ldir-weight-')), 'none.sock');
      assert.equal(
        await runWeightCommand({ socketPath: nowhere, virtual: VIP, real: '10.0.0.1', weight: 1, json: false }, io),
        1,
      );
      assert.match(io.err, /^ldir: the ldir daemon is not running/);
    }));

  test('runWeightAction finds the socket by configuration name, without parsing the configuration', () =>
    withDaemon(async ({ socketDirectory }) => {
      const args = parseWeightArgs(['/nonexistent/web.cf', 'weight', VIP, '10.0.0.4:80', '3']);
      assert.ok(args !== undefined && typeof args !== 'string');
      const io = capture();
      assert.equal(await runWeightAction(args, io, { socketDirectory }), 0);
      assert.equal(io.out, `weight of 10.0.0.4:80 in ${VIP} set to 3 (configured 5)\n`);
    }));

  test('describeWeightResult reads every case', () => {
    const base: WeightResult = {
      virtual: VIP,
      real: '10.0.0.1:80',
      configuredWeight: 4,
      weight: 6,
      previous: null,
      changed: true,
    };
    assert.equal(describeWeightResult(base), `weight of 10.0.0.1:80 in ${VIP} set to 6 (configured 4)`);
    assert.equal(
      describeWeightResult({ ...base, previous: 2 }),
      `weight of 10.0.0.1:80 in ${VIP} set to 6 (configured 4, was 2)`,
    );
    assert.equal(
      describeWeightResult({ ...base, changed: false, previous: 6 }),
      `10.0.0.1:80 in ${VIP} already has weight 6 (configured 4)`,
    );
    assert.equal(
      describeWeightResult({ ...base, weight: null, previous: 6 }),
      `weight of 10.0.0.1:80 in ${VIP} reset: configured weight 4 (was 6)`,
    );
    assert.equal(
      describeWeightResult({ ...base, weight: null, changed: false }),
      `10.0.0.1:80 in ${VIP} already has its configured weight 4`,
    );
  });
});
