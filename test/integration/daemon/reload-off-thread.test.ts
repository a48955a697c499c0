// A slow parse never freezes the running daemon (issue 21, item 7): a whole daemon in this process (memory backend,
// the real control socket) is pinged every 10 ms while it reloads a big file (100,000 reals, and a YAML file of
// 40,000 top-level keys; both refused, so that the figure is the load's alone, not the applying of a table). The
// reload loads in a worker thread; the longest wait for a ping answer, and the longest gap between two answers,
// stay far under a second (on this thread the 100,000 reals alone blocked the event loop for seconds).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, test } from 'node:test';
import { sendControlRequest } from '../../../src/cli/control-client';
import type { Daemon } from '../../../src/daemon/daemon';
import { startDaemon } from '../../../src/app/compose-daemon';
import { controlSocketPath } from '../../../src/daemon/protocol';
import { MemoryBackend } from '../../../src/ipvs/memory';
import { systemFactories } from '../../../src/ipvs/select';
import { captureLogger } from '../../helpers/alerts';

/** The longest a ping may wait, or two answers be apart, during the reload: generous for a loaded 2-core host. */
const BOUND_MS = 1_000;

let tmp = '';
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-reload-off-thread-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const SMALL = 'checkinterval=1\nautoreload=no\nvirtual=127.0.0.1:80\n\treal=127.0.0.2:80 masq 1\n\tchecktype=on\n';

/** 10,000 virtuals of 10 reals each, then a line with an error: loaded in full, then refused. */
function hundredThousandReals(): string {
  const lines = ['checkinterval=5', 'autoreload=no'];
  for (let v = 0; v < 10_000; v++) {
    lines.push(`virtual=198.18.${Math.floor(v / 250)}.${(v % 250) + 1}:80`, '\tchecktype=connect', '\tscheduler=wlc');
    for (let r = 0; r < 10; r++)
      lines.push(`\treal=10.${Math.floor(v / 250)}.${v % 250}.${r + 1}:80 gate ${1 + (r % 5)}`);
  }
  lines.push('bogusdirective=1', '');
  return lines.join('\n');
}

/** A YAML document of 40,000 top-level keys (each an unknown directive). */
const fortyThousandKeys = (): string => `${Array.from({ length: 40_000 }, (_, i) => `key${i}: ${i}`).join('\n')}\n`;

interface Waits {
  readonly pings: number;
  readonly longestWaitMs: number;
  readonly longestGapMs: number;
  readonly reloadMs: number;
}

/** Pings every 10 ms while `reload` runs (and once after); the longest wait and the longest gap between answers. */
async function pingThrough(socketPath: string, reload: () => Promise<unknown>): Promise<Waits> {
  let done = false;
  let pings = 0;
  let longestWaitMs = 0;
  let longestGapMs = 0;
  let lastAnswer = performance.now();
  const pinger = (async () => {
    // Until the reload is done, then once more: a loop blocked by the reload shows as the gap before that answer.
    for (let i = 0, last = false; i < 100_000 && !last; i++) {
      last = done;
      const t0 = performance.now();
      const r = await sendControlRequest(socketPath, { type: 'ping' }, { timeoutMs: 30_000 });
      const t1 = performance.now();
      assert.equal(r.ok, true, JSON.stringify(r));
      pings++;
      longestWaitMs = Math.max(longestWaitMs, t1 - t0);
      longestGapMs = Math.max(longestGapMs, t1 - lastAnswer);
      lastAnswer = t1;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  const t0 = performance.now();
  await new Promise((resolve) => setTimeout(resolve, 30)); // pings under way before the reload starts
  lastAnswer = performance.now();
  await reload();
  const reloadMs = performance.now() - t0;
  done = true;
  await pinger;
  return { pings, longestWaitMs, longestGapMs, reloadMs };
}

test('pings every 10 ms are answered within the bound while a reload loads a big file', {
  timeout: 240_000,
}, async (t) => {
  const file = path.join(tmp, 'site.cf');
  fs.writeFileSync(file, SMALL);
  const backend = new MemoryBackend();
  const socketDirectory = path.join(tmp, 'sock');
  const captured = captureLogger();
  const daemon = await startDaemon({
    configPath: file,
    configName: 'site.cf',
    logger: captured.logger,
    ipvs: 'memory',
    backendFactories: { ...systemFactories(), memory: () => backend },
    runDirectory: path.join(tmp, 'run'),
    socketDirectory,
    watchIntervalMs: 60_000,
    engine: { resyncIntervalMs: 60_000, coalesceMs: 10 },
  });
  const socketPath = controlSocketPath('site.cf', socketDirectory);
  try {
    for (const [label, text, expected] of [
      ['100,000 reals', hundredThousandReals(), /unknown directive "bogusdirective"/],
      ['40,000 YAML keys', fortyThousandKeys(), /unknown directive "key39999"/],
    ] as const) {
      fs.writeFileSync(file, text);
      let outcome: Awaited<ReturnType<Daemon['reload']>> | undefined;
      const waits = await pingThrough(socketPath, async () => {
        outcome = await daemon.reload();
      });
      t.diagnostic(
        `figure: ${label}: reload ${waits.reloadMs.toFixed(0)} ms; ${waits.pings} pings, longest wait ${waits.longestWaitMs.toFixed(1)} ms, longest gap ${waits.longestGapMs.toFixed(1)} ms`,
      );
      assert.equal(outcome?.applied, false, `${label}: refused`);
      assert.ok(
        outcome?.diagnostics.some((d) => d.severity === 'error' && expected.test(d.message)),
        `${label}: the diagnostics a load on this thread gives: ${JSON.stringify(outcome?.diagnostics.slice(-2))}`,
      );
      assert.ok(
        waits.longestWaitMs < BOUND_MS,
        `${label}: a ping waited ${waits.longestWaitMs.toFixed(0)} ms (bound ${BOUND_MS})`,
      );
      assert.ok(
        waits.longestGapMs < BOUND_MS,
        `${label}: ${waits.longestGapMs.toFixed(0)} ms between two ping answers (bound ${BOUND_MS})`,
      );
      const refusal = captured.records
        .filter(
          (r) => typeof r['msg'] === 'string' && r['msg'].startsWith('reload refused: the configuration has errors'),
        )
        .at(-1);
      const errors = refusal?.['errors'] as string[] | undefined;
      assert.ok(
        errors !== undefined && errors.length <= 101,
        `${label}: the log record lists the first errors only (${errors?.length})`,
      );
    }
    // The small file again: applied, through the same worker.
    fs.writeFileSync(file, SMALL.replace('masq 1', 'masq 4'));
    assert.equal((await daemon.reload()).applied, true);
    assert.equal((await backend.list())[0]?.destinations[0]?.weight, 4);
  } finally {
    await daemon.stop();
  }
});
