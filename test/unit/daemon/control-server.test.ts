// Control server and client over a real unix socket in a temporary directory: every request, every failure mode.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { sendControlRequest } from '../../../src/cli/control-client';
import type { Diagnostic } from '../../../src/config/diagnostics';
import {
  startControlServer,
  type ControlHandlers,
  type ControlServer,
  type ControlServerOptions,
} from '../../../src/daemon/control-server';
import {
  encodeMessage,
  MAX_REQUEST_BYTES,
  toWireDiagnostic,
  type ControlRequest,
  type PreviewStep,
  type StatusReport,
} from '../../../src/daemon/protocol';
import { ErrorCodes, isLdirError, LdirError } from '../../../src/errors';
import { silentLogger } from '../../../src/log';
import { FakeClock, flushPromises } from '../../helpers/fake-clock';
import { sampleReport, sampleStateSync } from '../../helpers/status-report';
import { eventually } from '../../helpers/wait';

// Events are ordered by what the server has read (its `onRequest` hook), by handlers that wait until the test lets
// them go, and by a fake clock for the server's timers: never by sleeping. Waits have generous guards (a test that
// waits for an event that never comes fails instead of hanging) that never decide whether a test passes.
const GUARD = { timeout: 60_000 };
/** The guard of one wait for an event: it rejects (the test fails and closes its server) rather than hang. */
const WAIT_GUARD_MS = 20_000;

/** `promise`, or a rejection naming `what` once {@link WAIT_GUARD_MS} passed without it. */
function guarded<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${WAIT_GUARD_MS} ms (hang guard)`)), WAIT_GUARD_MS);
  });
  return Promise.race([promise, guard]).finally(() => clearTimeout(timer));
}

/** Handler calls that wait until the test lets them go, and a wait for the n-th call to begin. */
class Held {
  entered = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly watchers: Array<{ n: number; resolve: () => void }> = [];

  /** Called by a handler: resolves when the test lets this call go. */
  hold(): Promise<void> {
    this.entered++;
    for (const w of this.watchers.filter((x) => x.n <= this.entered)) w.resolve();
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Resolves once `n` calls have begun. */
  entries(n: number): Promise<void> {
    if (this.entered >= n) return Promise.resolve();
    return guarded(
      new Promise((resolve) => this.watchers.push({ n, resolve })),
      `${n} handler call(s) in progress (${this.entered} began)`,
    );
  }

  /** Lets the oldest waiting call go. */
  release(): void {
    this.waiting.shift()?.();
  }

  /** Lets every waiting call go. */
  releaseAll(): void {
    while (this.waiting.length > 0) this.release();
  }
}

/** The requests a server has read (its `onRequest` hook), and a wait for the n-th of a type. */
function readRequests(): {
  hook: (r: ControlRequest) => void;
  types: string[];
  seen: (type: string, n?: number) => Promise<void>;
} {
  const types: string[] = [];
  const watchers: Array<{ type: string; n: number; resolve: () => void }> = [];
  const count = (type: string): number => types.filter((t) => t === type).length;
  return {
    types,
    hook: (r) => {
      types.push(r.type);
      for (const w of watchers.filter((x) => count(x.type) >= x.n)) w.resolve();
    },
    seen: (type, n = 1) =>
      count(type) >= n
        ? Promise.resolve()
        : guarded(
            new Promise((resolve) => watchers.push({ type, n, resolve })),
            `${n} ${type} request(s) read (read: ${types.join(', ')})`,
          ),
  };
}

/** Waits (polling, bounded) until the server holds `n` connections. */
function connections(server: ControlServer, n: number): Promise<true> {
  return eventually(
    `${n} control connection(s)`,
    () => server.clientCount() === n || undefined,
    20_000,
    5,
    () => `holds ${server.clientCount()}`,
  );
}

function socketPath(): string {
  return join(mkdtempSync(join(tmpdir(), 'ldir-ctl-')), 'run', 'test.sock');
}

const BAD_LINE: Diagnostic = {
  severity: 'error',
  code: 'unknown-directive',
  message: 'unknown directive "bogus"',
  pos: { file: '/etc/ha.d/x.cf', line: 4 },
};
const WARNING: Diagnostic = {
  severity: 'warning',
  code: 'deprecated',
  message: 'checkcount is deprecated',
  pos: { file: '/etc/ha.d/x.cf', line: 1 },
};

const DRAIN_STEP: PreviewStep = {
  kind: 'drain-begin',
  virtual: 'tcp:192.0.2.1:80',
  real: '10.0.0.2:80',
  timeoutSeconds: 30,
  text: 'drain tcp:192.0.2.1:80 10.0.0.2:80 (timeout 30s)',
};

/** Handlers that answer at once and record what they were asked. */
function handlers(over: Partial<ControlHandlers> = {}): ControlHandlers & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    status: () => {
      calls.push('status');
      return sampleReport();
    },
    ping: () => ({
      pid: 4242,
      configFile: '/etc/ha.d/x.cf',
      startedAt: '2024-05-01T12:00:00.000Z',
      uptimeSeconds: 12,
      lastSyncOk: true,
    }),
    reload: async () => {
      calls.push('reload');
      return { applied: true, file: '/etc/ha.d/x.cf', diagnostics: [WARNING] };
    },
    reloadPreview: async () => {
      calls.push('reload-preview');
      return { file: '/etc/ha.d/x.cf', diagnostics: [toWireDiagnostic(WARNING)], steps: [DRAIN_STEP] };
    },
    drain: (v, r) => {
      calls.push(`drain ${v} ${r}`);
      return { virtual: v, real: r, changed: true };
    },
    undrain: (v, r) => {
      calls.push(`undrain ${v} ${r}`);
      return { virtual: v, real: r, changed: false };
    },
    weight: (v, r, w) => {
      calls.push(`weight ${v} ${r} ${w}`);
      return {
        virtual: v,
        real: r,
        configuredWeight: 5,
        weight: w === 'reset' ? null : w,
        previous: null,
        changed: true,
      };
    },
    stop: async () => {
      calls.push('stop');
    },
    role: async (role) => {
      calls.push(`role ${role}`);
      return { role, previous: 'backup', changed: role === 'master', stateSync: sampleStateSync(role) };
    },
    restart: async () => {
      calls.push('restart');
      return { pid: 4343, previousPid: 4242, durationMs: 5 };
    },
    ...over,
  };
}

async function withServer(
  h: ControlHandlers,
  fn: (server: ControlServer, path: string) => Promise<void>,
  options: Partial<ControlServerOptions> = {},
): Promise<void> {
  const path = options.path ?? socketPath();
  const server = await startControlServer({ path, handlers: h, logger: silentLogger(), ...options });
  try {
    await fn(server, path);
  } finally {
    await server.close();
  }
}

/** Writes `payload` on a raw connection and collects response lines until `lines` arrived or the daemon closed. */
function raw(
  path: string,
  payload: string | Buffer,
  opts: { lines?: number; end?: boolean } = {},
): Promise<{ lines: Array<Record<string, unknown>>; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection({ path, allowHalfOpen: true });
    let text = '';
    const lines = (): Array<Record<string, unknown>> =>
      text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer; got ${JSON.stringify(text)}`));
    }, 20_000); // hang guard
    const done = (closed: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ lines: lines(), closed });
    };
    socket.on('connect', () => {
      if (payload.length > 0) socket.write(payload);
      if (opts.end) socket.end();
    });
    socket.on('data', (chunk) => {
      text += chunk.toString('utf8');
      if (opts.lines !== undefined && lines().length >= opts.lines) done(false);
    });
    socket.on('end', () => done(true));
    socket.on('error', (err) =>
      (err as NodeJS.ErrnoException).code === 'EPIPE' || (err as NodeJS.ErrnoException).code === 'ECONNRESET'
        ? done(true)
        : reject(err),
    );
  });
}

const line = (obj: Record<string, unknown>): string => `${JSON.stringify({ v: 1, ...obj })}\n`;

describe('control server: requests', () => {
  test('status, ping, drain, undrain over the socket', () =>
    withServer(handlers(), async (_server, path) => {
      const status = await sendControlRequest(path, { type: 'status' });
      assert.ok(status.ok);
      assert.deepEqual(status.result, sampleReport());
      const ping = await sendControlRequest(path, { type: 'ping' }, { id: 'p1' });
      assert.deepEqual(ping, {
        v: 1,
        id: 'p1',
        ok: true,
        type: 'ping',
        result: {
          pid: 4242,
          configFile: '/etc/ha.d/x.cf',
          startedAt: '2024-05-01T12:00:00.000Z',
          uptimeSeconds: 12,
          lastSyncOk: true,
        },
      });
      const drain = await sendControlRequest(path, { type: 'drain', virtual: 'tcp:192.0.2.1:80', real: '10.0.0.1:80' });
      assert.ok(drain.ok);
      assert.deepEqual(drain.result, { virtual: 'tcp:192.0.2.1:80', real: '10.0.0.1:80', changed: true });
      const undrain = await sendControlRequest(path, { type: 'undrain', virtual: 'fwm:1', real: '10.0.0.2' });
      assert.ok(undrain.ok && undrain.type === 'undrain' && undrain.result.changed === false);
    }));

  test(
    'weight: a number or reset reaches the handler; its answer comes back; it waits for a drain before it',
    GUARD,
    async () => {
      const events: string[] = [];
      const held = new Held();
      const read = readRequests();
      const h = handlers({
        drain: async (v, r) => {
          events.push('drain start');
          await held.hold();
          events.push('drain end');
          return { virtual: v, real: r, changed: true };
        },
        weight: (v, r, w) => {
          events.push(`weight ${w}`);
          return {
            virtual: v,
            real: r,
            configuredWeight: 5,
            weight: w === 'reset' ? null : w,
            previous: 2,
            changed: true,
            saveError: '/x.state: EROFS',
          };
        },
      });
      await withServer(
        h,
        async (_server, path) => {
          const drain = sendControlRequest(path, { type: 'drain', virtual: 'v', real: 'r' });
          await held.entries(1);
          const setting = sendControlRequest(path, {
            type: 'weight',
            virtual: 'tcp:192.0.2.1:80',
            real: '10.0.0.1',
            weight: 7,
          });
          await read.seen('weight');
          await flushPromises();
          assert.deepEqual(events, ['drain start'], 'the weight request was read and waits for the drain');
          held.release();
          const set = await setting;
          assert.ok(set.ok && set.type === 'weight');
          assert.deepEqual(set.result, {
            virtual: 'tcp:192.0.2.1:80',
            real: '10.0.0.1',
            configuredWeight: 5,
            weight: 7,
            previous: 2,
            changed: true,
            saveError: '/x.state: EROFS',
          });
          const reset = await sendControlRequest(path, { type: 'weight', virtual: 'v', real: 'r', weight: 'reset' });
          assert.ok(reset.ok && reset.result.weight === null);
          await drain;
          assert.deepEqual(
            events,
            ['drain start', 'drain end', 'weight 7', 'weight reset'],
            'serialized with the other mutating requests',
          );
        },
        { onRequest: read.hook },
      );
    },
  );

  test('reload applied returns its warnings; reload refused returns the diagnostics and CONFIG_INVALID', async () => {
    let good = true;
    const h = handlers({
      reload: async () =>
        good
          ? { applied: true, file: '/etc/ha.d/x.cf', diagnostics: [WARNING] }
          : {
              applied: false,
              file: '/etc/ha.d/x.cf',
              message: '1 error in /etc/ha.d/x.cf',
              diagnostics: [WARNING, BAD_LINE],
            },
    });
    await withServer(h, async (_server, path) => {
      const ok = await sendControlRequest(path, { type: 'reload' });
      assert.deepEqual(ok.ok && ok.result, {
        file: '/etc/ha.d/x.cf',
        diagnostics: [
          {
            file: '/etc/ha.d/x.cf',
            line: 1,
            severity: 'warning',
            code: 'deprecated',
            message: 'checkcount is deprecated',
          },
        ],
      });
      good = false;
      const bad = await sendControlRequest(path, { type: 'reload' });
      assert.equal(bad.ok, false);
      assert.ok(!bad.ok);
      assert.equal(bad.error.code, 'LDIR_ERR_CONFIG_INVALID');
      assert.equal(bad.error.message, '1 error in /etc/ha.d/x.cf');
      assert.deepEqual(
        bad.error.diagnostics?.map((d) => `${d.file}:${d.line}:${d.severity}`),
        ['/etc/ha.d/x.cf:1:warning', '/etc/ha.d/x.cf:4:error'],
      );
    });
  });

  test('reload-preview answers the steps; a configuration with errors answers CONFIG_INVALID with the diagnostics', async () => {
    let good = true;
    const h = handlers({
      reloadPreview: async () => {
        if (!good)
          throw new LdirError(ErrorCodes.CONFIG_INVALID, '/etc/ha.d/x.cf: 1 configuration error(s)', {
            details: { diagnostics: [WARNING, BAD_LINE] },
          });
        return { file: '/etc/ha.d/x.cf', diagnostics: [], steps: [DRAIN_STEP] };
      },
    });
    await withServer(h, async (_server, path) => {
      const ok = await sendControlRequest(path, { type: 'reload-preview' });
      assert.deepEqual(ok.ok && ok.result, { file: '/etc/ha.d/x.cf', diagnostics: [], steps: [DRAIN_STEP] });
      good = false;
      const bad = await sendControlRequest(path, { type: 'reload-preview' });
      assert.ok(!bad.ok);
      assert.equal(bad.error.code, 'LDIR_ERR_CONFIG_INVALID');
      assert.deepEqual(
        bad.error.diagnostics?.map((d) => `${d.file}:${d.line}:${d.severity}`),
        ['/etc/ha.d/x.cf:1:warning', '/etc/ha.d/x.cf:4:error'],
      );
      assert.deepEqual(h.calls, [], 'no reload was asked for');
    });
  });

  test('a reload preview waits for a reload under way (it never sees one half done)', GUARD, async () => {
    const events: string[] = [];
    const held = new Held();
    const read = readRequests();
    const h = handlers({
      reload: async () => {
        events.push('reload start');
        await held.hold();
        events.push('reload end');
        return { applied: true, file: '/x', diagnostics: [] };
      },
      reloadPreview: async () => {
        events.push('preview');
        return { file: '/x', diagnostics: [], steps: [] };
      },
    });
    await withServer(
      h,
      async (_server, path) => {
        const reload = sendControlRequest(path, { type: 'reload' });
        await held.entries(1);
        const previewing = sendControlRequest(path, { type: 'reload-preview' });
        await read.seen('reload-preview');
        await flushPromises();
        assert.deepEqual(events, ['reload start'], 'the preview was read and waits for the reload');
        held.release();
        assert.ok((await previewing).ok && (await reload).ok);
        assert.deepEqual(events, ['reload start', 'reload end', 'preview']);
      },
      { onRequest: read.hook },
    );
  });

  test('stop answers once the handler has finished, then afterStop runs', GUARD, async () => {
    const events: string[] = [];
    const held = new Held();
    let afterStopRan: () => void = () => undefined;
    const afterStopped = guarded(
      new Promise<void>((resolve) => {
        afterStopRan = resolve;
      }),
      'afterStop',
    );
    const h = handlers({
      stop: async () => {
        await held.hold();
        events.push('cleanup done');
      },
    });
    await withServer(
      h,
      async (_server, path) => {
        const answered = sendControlRequest(path, { type: 'stop' }).then((r) => {
          events.push('client answered');
          return r;
        });
        await held.entries(1);
        // A whole request and answer on another connection: an answer to the stop written early would be here first.
        assert.ok((await sendControlRequest(path, { type: 'ping' })).ok);
        assert.deepEqual(events, [], 'no answer while the cleanup runs');
        held.release();
        const response = await answered;
        assert.deepEqual(response.ok && response.result, { stopped: true });
        await afterStopped;
        assert.deepEqual([...events].sort(), ['afterStop', 'cleanup done', 'client answered']);
        assert.equal(events[0], 'cleanup done', 'no answer before the cleanup finished');
      },
      {
        afterStop: () => {
          events.push('afterStop');
          afterStopRan();
        },
      },
    );
  });

  test('handler errors become error responses and the server keeps serving', async () => {
    const h = handlers({
      drain: () => {
        throw new LdirError(ErrorCodes.UNKNOWN_TARGET, 'no real server "10.9.9.9" in tcp:192.0.2.1:80');
      },
      status: () => {
        throw new Error('boom');
      },
      reload: async () => {
        throw new LdirError(ErrorCodes.CONFIG_INVALID, 'bad config', { details: { diagnostics: [BAD_LINE] } });
      },
      ping: () => ({
        pid: 1,
        configFile: '/x',
        startedAt: '2024-05-01T12:00:00.000Z',
        uptimeSeconds: 1,
        lastSyncOk: BigInt(1) as unknown as boolean,
      }),
    });
    await withServer(h, async (_server, path) => {
      const drain = await sendControlRequest(path, { type: 'drain', virtual: 'tcp:192.0.2.1:80', real: '10.9.9.9' });
      assert.deepEqual(!drain.ok && drain.error, {
        code: 'LDIR_ERR_UNKNOWN_TARGET',
        message: 'no real server "10.9.9.9" in tcp:192.0.2.1:80',
      });
      const status = await sendControlRequest(path, { type: 'status' });
      assert.deepEqual(!status.ok && status.error, { code: 'LDIR_ERR_INTERNAL', message: 'internal error: boom' });
      const reload = await sendControlRequest(path, { type: 'reload' });
      assert.ok(!reload.ok);
      assert.equal(reload.error.code, 'LDIR_ERR_CONFIG_INVALID');
      assert.equal(reload.error.diagnostics?.[0]?.message, 'unknown directive "bogus"');
      const ping = await sendControlRequest(path, { type: 'ping' });
      assert.ok(!ping.ok && ping.error.code === 'LDIR_ERR_INTERNAL', 'an unserializable result');
      assert.ok((await sendControlRequest(path, { type: 'undrain', virtual: 'v', real: 'r' })).ok);
    });
  });

  test('mutating requests run one at a time; status runs alongside', GUARD, async () => {
    const events: string[] = [];
    let statusDuringDrain = false;
    let draining = 0;
    const held = new Held();
    const read = readRequests();
    const h = handlers({
      drain: async (v, r) => {
        draining++;
        events.push(`start ${r}`);
        await held.hold();
        events.push(`end ${r}`);
        draining--;
        return { virtual: v, real: r, changed: true };
      },
      status: () => {
        if (draining > 0) statusDuringDrain = true;
        return sampleReport();
      },
    });
    await withServer(
      h,
      async (_server, path) => {
        const drains = ['a', 'b', 'c'].map((r) => sendControlRequest(path, { type: 'drain', virtual: 'v', real: r }));
        await read.seen('drain', 3);
        await flushPromises();
        assert.equal(held.entered, 1, `all three read, one running: ${events.join(', ')}`);
        assert.ok((await sendControlRequest(path, { type: 'status' })).ok);
        assert.ok(statusDuringDrain, 'status was answered while a drain ran');
        for (let n = 2; n <= 3; n++) {
          held.release();
          await held.entries(n);
          await flushPromises();
          assert.equal(draining, 1, `one drain at a time: ${events.join(', ')}`);
        }
        held.release();
        await Promise.all(drains);
        for (let i = 0; i < events.length; i += 2)
          assert.equal(events[i]?.replace('start', 'end'), events[i + 1], events.join(', '));
        assert.equal(events.length, 6);
      },
      { onRequest: read.hook },
    );
  });
});

describe('control server: the wire', () => {
  test('malformed lines get an error response and the connection stays usable', () =>
    withServer(handlers(), async (_server, path) => {
      const { lines, closed } = await raw(
        path,
        `not json\n${line({ id: 'u', type: 'reboot' })}${line({ id: 2, type: 'ping' })}`,
        { lines: 3 },
      );
      assert.equal(closed, false);
      assert.deepEqual(
        lines.map((l) => [l['id'], l['ok'], (l['error'] as { code?: string } | undefined)?.code]),
        [
          [null, false, 'LDIR_ERR_CONTROL_BAD_REQUEST'],
          ['u', false, 'LDIR_ERR_CONTROL_BAD_REQUEST'],
          [2, true, undefined],
        ],
      );
    }));

  test('pipelined requests are answered in order; CRLF and blank lines are accepted', () =>
    withServer(handlers(), async (_server, path) => {
      const payload = `${line({ id: 'a', type: 'drain', virtual: 'v', real: '1' }).replace('\n', '\r\n')}\n\n${line({ id: 'b', type: 'ping' })}`;
      const { lines } = await raw(path, payload, { lines: 2 });
      assert.deepEqual(
        lines.map((l) => [l['id'], l['type']]),
        [
          ['a', 'drain'],
          ['b', 'ping'],
        ],
      );
    }));

  test('a client that half-closes after its request still gets the answer; a last line without newline counts', () =>
    withServer(handlers(), async (_server, path) => {
      const { lines, closed } = await raw(path, line({ id: 'h', type: 'ping' }).trimEnd(), { end: true });
      assert.equal(closed, true);
      assert.deepEqual(
        lines.map((l) => [l['id'], l['ok']]),
        [['h', true]],
      );
    }));

  test('a line over 64 KiB: CONTROL_TOO_LARGE, connection closed, server fine', () =>
    withServer(handlers(), async (_server, path) => {
      const { lines, closed } = await raw(path, Buffer.alloc(MAX_REQUEST_BYTES + 10_000, 'x'));
      assert.equal(closed, true);
      assert.deepEqual(
        lines.map((l) => [l['id'], (l['error'] as { code: string }).code]),
        [[null, 'LDIR_ERR_CONTROL_TOO_LARGE']],
      );
      assert.ok((await sendControlRequest(path, { type: 'ping' })).ok);
    }));

  test('too many pipelined requests: refused after 32, connection closed', () =>
    withServer(handlers(), async (_server, path) => {
      const { lines, closed } = await raw(path, line({ id: 1, type: 'ping' }).repeat(40));
      assert.equal(closed, true);
      assert.deepEqual((lines.at(-1)!['error'] as { code: string }).code, 'LDIR_ERR_CONTROL_BAD_REQUEST');
      assert.ok(lines.slice(0, -1).every((l) => l['ok'] === true));
    }));

  test('a connection that sends nothing is timed out', GUARD, async () => {
    const clock = new FakeClock();
    await withServer(
      handlers(),
      async (server, path) => {
        let answered = false;
        const silent = raw(path, '').finally(() => {
          answered = true;
        });
        await connections(server, 1);
        await clock.advance(99);
        assert.ok((await sendControlRequest(path, { type: 'ping' })).ok); // a round trip: a timeout at 99 ms would be seen
        assert.equal(answered, false, 'still waiting 99 ms after it connected');
        await clock.advance(1);
        const { lines, closed } = await silent;
        assert.equal(closed, true);
        assert.deepEqual(
          lines.map((l) => (l['error'] as { code: string }).code),
          ['LDIR_ERR_CONTROL_TIMEOUT'],
        );
        await connections(server, 0);
      },
      { idleTimeoutMs: 100, clock },
    );
  });

  test('concurrent clients are served at once', GUARD, async () => {
    const held = new Held();
    const h = handlers({
      status: async () => {
        await held.hold();
        return sampleReport();
      },
    });
    await withServer(h, async (_server, path) => {
      const answers = Promise.all(Array.from({ length: 12 }, () => sendControlRequest(path, { type: 'status' })));
      await held.entries(12); // all twelve in progress at once: none waits for another
      held.releaseAll();
      assert.ok((await answers).every((a) => a.ok));
    });
  });

  test(
    'beyond maxClients: the longest-connected idle client makes room (told CONTROL_BUSY); all busy: the newcomer is',
    GUARD,
    async () => {
      const held = new Held();
      const h = handlers({
        status: async () => {
          await held.hold();
          return sampleReport();
        },
      });
      await withServer(
        h,
        async (server, path) => {
          // Two clients that connected and said nothing (or half a line): a ping still gets in, the oldest goes.
          const silent = raw(path, '');
          await connections(server, 1);
          const half = raw(path, '{"v":1,');
          await connections(server, 2);
          const ping = await sendControlRequest(path, { type: 'ping' });
          assert.ok(ping.ok, JSON.stringify(ping));
          const evicted = await silent;
          assert.equal(evicted.closed, true);
          assert.deepEqual(
            evicted.lines.map((l) => (l['error'] as { code: string }).code),
            ['LDIR_ERR_CONTROL_BUSY'],
          );
          // Two clients with a request in progress: nothing to close, the newcomer is told busy.
          const slow = [sendControlRequest(path, { type: 'status' }), sendControlRequest(path, { type: 'status' })];
          await half; // closed to make room for the first of them
          await held.entries(2); // both in progress: nothing left to close
          const busy = await sendControlRequest(path, { type: 'ping' });
          assert.deepEqual(!busy.ok && [busy.id, busy.error.code], [null, 'LDIR_ERR_CONTROL_BUSY']);
          held.releaseAll();
          assert.ok((await Promise.all(slow)).every((a) => a.ok));
          await connections(server, 0);
          assert.ok((await sendControlRequest(path, { type: 'ping' })).ok);
        },
        { maxClients: 2 },
      );
    },
  );

  test(
    'a client that pipelines requests and never reads the answers is not read further: answers never pile up in the daemon',
    GUARD,
    async () => {
      // A large answer (about 1 MB): unread, one or two of them fill the socket buffers.
      const big = {
        ...sampleReport(),
        virtualServices: Array.from({ length: 2_000 }, (_, i) => ({
          ...sampleReport().virtualServices[0],
          id: `tcp:192.0.2.1:${i}`,
          padding: 'x'.repeat(400),
        })),
      } as unknown as StatusReport;
      const h = handlers({
        status: () => {
          h.calls.push('status');
          return big;
        },
      });
      await withServer(h, async (_server, path) => {
        const socket = net.createConnection({ path });
        socket.on('error', () => undefined);
        socket.pause(); // never reads
        await new Promise<void>((r) => socket.once('connect', () => r()));
        // A few requests at a time (never more than the pipelining limit queued), each batch followed by a ping's whole
        // round trip on another connection: the server's loop has run past the batch (and read it, if it reads on).
        for (let i = 0; i < 100; i++) {
          socket.write(line({ id: `s${i}`, type: 'status' }).repeat(5));
          assert.ok((await sendControlRequest(path, { type: 'ping' })).ok);
        }
        const answered = h.calls.filter((c) => c === 'status').length;
        socket.destroy();
        assert.ok(
          answered < 10,
          `${answered} of 500 unread answers made (each about ${Math.round(JSON.stringify(big).length / 1e6)} MB)`,
        );
        assert.ok((await sendControlRequest(path, { type: 'ping' })).ok);
      });
    },
  );
});

describe('control server: the socket file', () => {
  test('mode 0600 in a directory created 0700; close() removes the socket', async () => {
    const path = socketPath();
    const umask = process.umask(0o022);
    process.umask(umask);
    const server = await startControlServer({ path, handlers: handlers(), logger: silentLogger() });
    assert.equal(process.umask(umask), umask, 'the umask is restored');
    assert.ok(lstatSync(path).isSocket());
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(join(path, '..')).mode & 0o777, 0o700);
    await server.close();
    await server.close();
    assert.equal(existsSync(path), false);
    await assert.rejects(
      sendControlRequest(path, { type: 'ping' }),
      (err: unknown) => isLdirError(err, ErrorCodes.DAEMON_NOT_RUNNING) && /ENOENT/.test(err.message),
    );
  });

  test('an existing directory keeps its mode', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ldir-ctl-'));
    mkdirSync(join(dir, 'run'), { mode: 0o755 });
    await withServer(
      handlers(),
      async () => {
        assert.equal(statSync(join(dir, 'run')).mode & 0o777, 0o755);
      },
      { path: join(dir, 'run', 'x.sock') },
    );
  });

  test('the socket of a dead daemon is removed; until then clients see "not running"', async () => {
    const path = socketPath();
    mkdirSync(join(path, '..'), { recursive: true });
    const child = spawnSync(process.execPath, [
      '-e',
      `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`,
    ]);
    assert.equal(child.signal, 'SIGKILL');
    assert.ok(lstatSync(path).isSocket(), 'the killed daemon left its socket');
    await assert.rejects(
      sendControlRequest(path, { type: 'ping' }),
      (err: unknown) => isLdirError(err, ErrorCodes.DAEMON_NOT_RUNNING) && /ECONNREFUSED/.test(err.message),
    );
    await withServer(
      handlers(),
      async () => {
        assert.ok((await sendControlRequest(path, { type: 'ping' })).ok);
        assert.equal(statSync(path).mode & 0o777, 0o600);
      },
      { path },
    );
  });

  test('a live daemon on the path: the second one refuses and the first keeps its socket', () =>
    withServer(handlers(), async (_server, path) => {
      await assert.rejects(startControlServer({ path, handlers: handlers(), logger: silentLogger() }), (err: unknown) =>
        isLdirError(err, ErrorCodes.CONTROL_IN_USE),
      );
      assert.ok((await sendControlRequest(path, { type: 'ping' })).ok);
    }));

  test('a successor takes the path over without a moment it is missing; the old server closing never removes it; republish takes it back', async () => {
    const path = socketPath();
    const oldOne = await startControlServer({
      path,
      handlers: handlers({
        ping: () => ({
          pid: 1,
          configFile: 'old',
          startedAt: '2024-05-01T12:00:00.000Z',
          uptimeSeconds: 1,
          lastSyncOk: true,
        }),
      }),
      logger: silentLogger(),
    });
    const pidOf = async (): Promise<number> => {
      const r = await sendControlRequest(path, { type: 'ping' });
      return r.ok ? r.result.pid : -1;
    };
    assert.equal(await pidOf(), 1);
    // Clients keep asking while the successor binds, until the successor answers: every one finds a socket (the old
    // or the new daemon). Bounded in count.
    const answers: number[] = [];
    const poll = (async () => {
      for (let i = 0; i < 100_000 && !answers.includes(2); i++) answers.push(await pidOf().catch(() => -1));
    })();
    const next = await startControlServer({
      path,
      replace: true,
      logger: silentLogger(),
      handlers: handlers({
        ping: () => ({
          pid: 2,
          configFile: 'new',
          startedAt: '2024-05-01T12:00:00.000Z',
          uptimeSeconds: 1,
          lastSyncOk: true,
        }),
      }),
    });
    await poll;
    assert.ok(answers.includes(2), 'the successor answered');
    assert.ok(
      answers.every((p) => p === 1 || p === 2),
      `never missing: ${answers.join(',')}`,
    );
    assert.equal(await pidOf(), 2, 'new clients reach the successor');
    await oldOne.republish(); // what the old daemon does when its successor failed after taking the path
    assert.equal(await pidOf(), 1, 'republish takes the path back');
    await next.close();
    assert.equal(await pidOf(), 1, 'the successor closing does not remove the path it no longer holds');
    await next.republish(); // closed: no-op
    await oldOne.close();
    assert.equal(existsSync(path), false, 'the owner removes its socket on close');
  });

  test('a path that is not a socket is never removed', async () => {
    const path = socketPath();
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, 'precious');
    await assert.rejects(startControlServer({ path, handlers: handlers(), logger: silentLogger() }), (err: unknown) =>
      isLdirError(err, ErrorCodes.CONTROL_FAILED),
    );
    assert.equal(readFileSync(path, 'utf8'), 'precious');
  });

  test('a socket path too long for sun_path is refused clearly', async () => {
    const path = join(tmpdir(), 'x'.repeat(120), 'a.sock');
    await assert.rejects(
      startControlServer({ path, handlers: handlers(), logger: silentLogger() }),
      (err: unknown) => isLdirError(err, ErrorCodes.CONTROL_FAILED) && /107 bytes/.test(err.message),
    );
  });
});

describe('control server: close and timeouts', () => {
  test('close() lets a request in progress finish', GUARD, async () => {
    const path = socketPath();
    const held = new Held();
    const h = handlers({
      status: async () => {
        await held.hold();
        return sampleReport();
      },
    });
    // The grace period runs on a clock that never moves: only the request's end can let close() finish.
    const server = await startControlServer({ path, handlers: h, logger: silentLogger(), clock: new FakeClock() });
    const pending = sendControlRequest(path, { type: 'status' });
    await held.entries(1);
    let closed = false;
    const closing = server.close().then(() => {
      closed = true;
    });
    await flushPromises();
    assert.equal(closed, false, 'close() waits for the request in progress');
    held.release();
    await closing;
    assert.ok((await pending).ok);
    assert.equal(existsSync(path), false);
  });

  test('close() cuts a request that outlives the grace period', GUARD, async () => {
    const path = socketPath();
    const held = new Held(); // never let go
    const clock = new FakeClock();
    const h = handlers({
      status: async () => {
        await held.hold();
        return sampleReport();
      },
    });
    const server = await startControlServer({ path, handlers: h, logger: silentLogger(), closeGraceMs: 50, clock });
    const pending = sendControlRequest(path, { type: 'status' });
    // Handled from the start: the request fails while close() is still being awaited, and an unhandled rejection in
    // that moment would fail the test run.
    const failed = assert.rejects(pending, (err: unknown) => isLdirError(err, ErrorCodes.CONTROL_FAILED));
    await held.entries(1);
    let closed = false;
    const closing = server.close().then(() => {
      closed = true;
    });
    await clock.advance(49);
    assert.equal(closed, false, 'within the grace period the request may still finish');
    await clock.advance(1);
    await closing; // the grace period is over: its connection is cut
    await failed;
  });

  test('the client gives up after its timeout', async () => {
    const h = handlers({ status: () => new Promise<StatusReport>(() => undefined) });
    await withServer(
      h,
      async (_server, path) => {
        await assert.rejects(sendControlRequest(path, { type: 'status' }, { timeoutMs: 80 }), (err: unknown) =>
          isLdirError(err, ErrorCodes.CONTROL_TIMEOUT),
        );
      },
      { closeGraceMs: 20 },
    );
  });
});

describe('control client against a misbehaving peer', () => {
  async function fakeDaemon(
    answer: (request: Record<string, unknown>, socket: net.Socket) => void,
    fn: (path: string) => Promise<void>,
  ): Promise<void> {
    const path = socketPath();
    mkdirSync(join(path, '..'), { recursive: true });
    const server = net.createServer((socket) => {
      socket.once('data', (chunk) => answer(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>, socket));
    });
    await new Promise<void>((resolve) => server.listen(path, resolve));
    try {
      await fn(path);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  }
  const failed =
    (pattern: RegExp) =>
    (err: unknown): boolean =>
      isLdirError(err, ErrorCodes.CONTROL_FAILED) && pattern.test(err.message);

  test('garbage answer', () =>
    fakeDaemon(
      (_r, s) => s.end('HTTP/1.1 400 Bad Request\n'),
      async (path) => {
        await assert.rejects(sendControlRequest(path, { type: 'ping' }), failed(/invalid answer/));
      },
    ));

  test('answer for another request id', () =>
    fakeDaemon(
      (r, s) =>
        s.end(encodeMessage({ v: 1, id: `${String(r['id'])}x`, ok: true, type: 'stop', result: { stopped: true } })),
      async (path) => {
        await assert.rejects(sendControlRequest(path, { type: 'stop' }), failed(/expected/));
      },
    ));

  test('connection closed without an answer', () =>
    fakeDaemon(
      (_r, s) => s.end(),
      async (path) => {
        await assert.rejects(sendControlRequest(path, { type: 'ping' }), failed(/without answering/));
      },
    ));

  test('a well-formed answer split across writes', () =>
    fakeDaemon(
      (r, s) => {
        const text = encodeMessage({ v: 1, id: r['id'] as string, ok: true, type: 'stop', result: { stopped: true } });
        // The rest two loop turns later: the client's read of the first part (in the poll phase between the two
        // immediates) comes before it, so the client gets two chunks.
        s.write(text.slice(0, 10));
        setImmediate(() => setImmediate(() => s.end(text.slice(10))));
      },
      async (path) => {
        assert.deepEqual(await sendControlRequest(path, { type: 'stop' }, { id: 'k' }), {
          v: 1,
          id: 'k',
          ok: true,
          type: 'stop',
          result: { stopped: true },
        });
      },
    ));
});
