// Streamed status over a real unix socket: the daemon sends the report in lines of a few hundred reals, the client
// assembles the same report whatever its size (no single-answer limit), checks the counts, and falls back to the
// single answer of a daemon that does not stream.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { requestStatus } from '../../../src/cli/status-client';
import { startControlServer, type ControlHandlers } from '../../../src/daemon/control-server';
import {
  encodeMessage,
  encodeStatusPart,
  errorResponse,
  okResponse,
  STATUS_STREAM_REALS,
  type RealStatus,
  type StatusReport,
  type StatusStreamPart,
} from '../../../src/daemon/protocol';
import { reportParts } from '../../../src/daemon/status-report';
import { ErrorCodes, isLdirError, LdirError } from '../../../src/errors';
import { silentLogger } from '../../../src/log';
import { sampleReport } from '../../helpers/status-report';

const GUARD = { timeout: 60_000 };

function socketPath(): string {
  return join(mkdtempSync(join(tmpdir(), 'ldir-status-')), 'test.sock');
}

/** The sample report with `n` more reals in its first virtual service (127.x addresses, distinct). */
function bigReport(n: number): StatusReport {
  const report = sampleReport();
  const [first, ...rest] = report.virtualServices;
  const template = first?.reals[0] as RealStatus;
  const more = Array.from({ length: n }, (_, i) => ({
    ...template,
    address: `127.${1 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`,
    port: 80,
  }));
  return {
    ...report,
    virtualServices: [{ ...first!, reals: [...first!.reals, ...more], realsTotal: first!.reals.length + n }, ...rest],
  };
}

function handlers(over: Partial<ControlHandlers>): ControlHandlers {
  const refuse = (): never => {
    throw new LdirError(ErrorCodes.INTERNAL, 'not in this test');
  };
  return {
    status: refuse,
    reload: refuse,
    reloadPreview: refuse,
    drain: refuse,
    undrain: refuse,
    weight: refuse,
    stop: refuse,
    role: refuse,
    restart: refuse,
    ping: () => ({
      pid: 1,
      configFile: '/x',
      startedAt: '2024-05-01T12:00:00.000Z',
      uptimeSeconds: 1,
      lastSyncOk: true,
    }),
    ...over,
  };
}

async function withServer(
  h: ControlHandlers,
  fn: (path: string) => Promise<void>,
  redact?: (line: string) => string,
): Promise<void> {
  const path = socketPath();
  const server = await startControlServer({ path, handlers: h, logger: silentLogger(), ...(redact ? { redact } : {}) });
  try {
    await fn(path);
  } finally {
    await server.close();
  }
}

/** A fake daemon that answers each connection's first line with `answer(request)` (lines, written as they are). */
async function withFake(
  answer: (request: Record<string, unknown>) => string[],
  fn: (path: string, seen: Array<Record<string, unknown>>) => Promise<void>,
): Promise<void> {
  const path = socketPath();
  const seen: Array<Record<string, unknown>> = [];
  const server = net.createServer((socket) => {
    let buffer = '';
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      const nl = buffer.indexOf('\n');
      if (nl < 0) return;
      const request = JSON.parse(buffer.slice(0, nl)) as Record<string, unknown>;
      seen.push(request);
      for (const line of answer(request)) socket.write(line);
      socket.end();
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  try {
    await fn(path, seen);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('streamed status', () => {
  test(
    'a report bigger than one line may be is assembled from lines of at most STATUS_STREAM_REALS reals',
    GUARD,
    async () => {
      const report = bigReport(5_000);
      const single = encodeMessage(okResponse('x', 'status', report)).length;
      const maxLineBytes = 300_000;
      assert.ok(single > 4 * maxLineBytes, `the single answer (${single} bytes) does not fit the line bound`);
      let lines = 0;
      await withServer(
        handlers({ status: () => report }),
        async (path) => {
          const response = await requestStatus(path, { maxLineBytes });
          assert.equal(response.ok, true, JSON.stringify(response));
          assert.deepEqual(response.ok && response.result, report);
        },
        (line) => {
          lines++;
          return line;
        },
      );
      assert.ok(lines >= 2 + Math.ceil(5_003 / STATUS_STREAM_REALS), `${lines} lines written`);
    },
  );

  test("the daemon's own parts are used when it has them, and redaction applies to every line", GUARD, async () => {
    const report = bigReport(1_200);
    const secret = report.virtualServices[0]?.reals[5]?.address as string;
    await withServer(
      handlers({
        status: () => {
          throw new Error('statusParts, not status');
        },
        statusParts: () => reportParts(report),
      }),
      async (path) => {
        const response = await requestStatus(path);
        assert.equal(response.ok, true, JSON.stringify(response));
        const reals = response.ok ? (response.result.virtualServices[0]?.reals ?? []) : [];
        assert.equal(reals.length, 1_203);
        assert.equal(reals[5]?.address, '***', 'the line that held it was redacted');
      },
      (line) => line.split(`"${secret}"`).join('"***"'),
    );
  });

  test('a failure in the middle ends the answer with its error', GUARD, async () => {
    async function* failing(): AsyncGenerator<StatusStreamPart> {
      let n = 0;
      for await (const part of reportParts(bigReport(2_000))) {
        if (++n === 3) throw new LdirError(ErrorCodes.CONTROL_FAILED, 'snapshot gone');
        yield part;
      }
    }
    await withServer(handlers({ status: () => sampleReport(), statusParts: failing }), async (path) => {
      const response = await requestStatus(path);
      assert.equal(response.ok, false);
      assert.equal(!response.ok && response.error.code, ErrorCodes.CONTROL_FAILED);
      assert.match(!response.ok ? response.error.message : '', /snapshot gone/);
    });
  });

  test('wait lines (the daemon still making the next line) are progress only', GUARD, async () => {
    const report = sampleReport();
    const virtual = report.virtualServices[0]!;
    await withFake(
      (request) => {
        const id = request['id'] as string;
        return [
          encodeStatusPart(id, { part: 'head', result: { ...report, virtualServices: [] } }),
          encodeStatusPart(id, { part: 'wait' }),
          encodeStatusPart(id, { part: 'wait' }),
          encodeStatusPart(id, { part: 'virtual', virtual }),
          encodeStatusPart(id, { part: 'end', virtuals: 1, reals: virtual.reals.length }),
        ];
      },
      async (path) => {
        const response = await requestStatus(path);
        assert.equal(response.ok, true, JSON.stringify(response));
        assert.deepEqual(response.ok && response.result.virtualServices, [virtual]);
      },
    );
  });

  test('an answer whose counts do not match what arrived is refused', GUARD, async () => {
    const report = sampleReport();
    await withFake(
      (request) => {
        const id = request['id'] as string;
        const parts: StatusStreamPart[] = [];
        return [
          ...[{ part: 'head', result: { ...report, virtualServices: [] } } as StatusStreamPart, ...parts].map((p) =>
            encodeStatusPart(id, p),
          ),
          encodeStatusPart(id, { part: 'virtual', virtual: report.virtualServices[0]! }),
          encodeStatusPart(id, { part: 'end', virtuals: 1, reals: 99 }),
        ];
      },
      async (path) => {
        await assert.rejects(
          requestStatus(path),
          (err: unknown) =>
            isLdirError(err) && err.code === ErrorCodes.CONTROL_FAILED && /incomplete/.test(err.message),
        );
      },
    );
  });

  test('a daemon that does not stream is asked again for its single answer', GUARD, async () => {
    const report = sampleReport();
    await withFake(
      (request) => {
        if (request['stream'] !== undefined)
          return [
            encodeMessage(
              errorResponse(
                request['id'] as string,
                ErrorCodes.CONTROL_BAD_REQUEST,
                'bad request: $.stream: unknown member',
              ),
            ),
          ];
        return [encodeMessage(okResponse(request['id'] as string, 'status', report))];
      },
      async (path, seen) => {
        const response = await requestStatus(path);
        assert.deepEqual(response.ok && response.result, report);
        assert.deepEqual(
          seen.map((r) => r['stream'] ?? null),
          [true, null],
        );
      },
    );
  });

  test('the timeout is on progress: a daemon that stops sending in the middle times out', GUARD, async () => {
    const report = sampleReport();
    const path = socketPath();
    const server = net.createServer((socket) => {
      socket.once('data', (chunk) => {
        const id = (JSON.parse(chunk.toString('utf8')) as { id: string }).id;
        socket.write(encodeStatusPart(id, { part: 'head', result: { ...report, virtualServices: [] } }));
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(path, resolve));
    try {
      await assert.rejects(
        requestStatus(path, { timeoutMs: 300 }),
        (err: unknown) =>
          isLdirError(err) && err.code === ErrorCodes.CONTROL_TIMEOUT && /no further status line/.test(err.message),
      );
    } finally {
      server.close();
    }
  });
});
