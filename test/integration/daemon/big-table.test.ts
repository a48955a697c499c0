// A director of 10,000 real servers (issue 21, item 3, big tables): the real `ldir` binary, memory backend, connect
// checks of loopback addresses where nothing listens (refused at once). `ldir status` and `status --json` answer with
// every real (exit 0), also when one answer line may hold no more than 1 MB (the report streams in slices), and the
// control socket keeps answering pings while a /metrics scrape is rendered (the scrape gives the event loop turns).
// Bounded waits and counts, never tight timings: the figures are bench:big-table's job.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sendControlRequest } from '../../../src/cli/control-client';
import { runStatusCommand } from '../../../src/cli/control-commands';
import { controlSocketPath, encodeMessage, type StatusReport } from '../../../src/daemon/protocol';
import { capture } from '../../helpers/cli-io';
import { ldirBinary } from '../../helpers/ldir-binary';
import { freePort } from '../../helpers/system';
import { eventually } from '../../helpers/wait';

const REALS = 10_000;
const PER_VIRTUAL = 1_000;
const GUARD = { timeout: 300_000 };

let tmp = '';
let file = '';
let env: NodeJS.ProcessEnv = {};
let metricsPort = 0;
const ldir = ldirBinary(() => env, 120_000);

const realAddress = (i: number): string =>
  `127.${2 + Math.floor(i / 62_500)}.${Math.floor(i / 250) % 250}.${1 + (i % 250)}`;

function config(): string {
  const lines = [
    'checkinterval=60',
    'checktimeout=5',
    'quiescent=yes',
    'autoreload=no',
    `logfile="${path.join(tmp, 'ldir.log')}"`,
    `metrics=127.0.0.1:${metricsPort}`,
  ];
  for (let i = 0, v = 0; i < REALS; i += PER_VIRTUAL, v++) {
    lines.push(`virtual=127.1.0.${1 + v}:80`, '\tchecktype=connect');
    for (let j = i; j < i + PER_VIRTUAL; j++) lines.push(`\treal=${realAddress(j)}:80 masq 1`);
  }
  return `${lines.join('\n')}\n`;
}

const socketPath = (): string => controlSocketPath(path.basename(file), env['LDIR_SOCKET_DIR']);

/** Reals listed in a status report, and how many of them were checked (down: refused). */
function count(report: StatusReport): { reals: number; checked: number } {
  const reals = report.virtualServices.flatMap((v) => v.reals);
  return { reals: reals.length, checked: reals.filter((r) => r.health === 'down').length };
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-big-table-'));
  env = {
    ...process.env,
    LDIR_RUN_DIR: path.join(tmp, 'run'),
    LDIR_SOCKET_DIR: path.join(tmp, 'sock'),
    LDIR_STATE_DIR: path.join(tmp, 'state'),
  };
  metricsPort = await freePort('127.0.0.1');
  file = path.join(tmp, 'big.cf');
  fs.writeFileSync(file, config());
  const started = await ldir('--ipvs=memory', '--timeout=240', file, 'start');
  assert.equal(started.status, 0, started.stderr);
  // Every real checked once (refused: down) before the figures that depend on it.
  await eventually(
    'every real checked once',
    async () => {
      const r = await ldir('--json', file, 'status');
      return r.status === 0 && count(JSON.parse(r.stdout) as StatusReport).checked === REALS ? true : undefined;
    },
    180_000,
    1_000,
  );
});

after(async () => {
  if (file) {
    const r = await ldir(file, 'stop');
    if (r.status !== 0)
      process.stderr.write(
        `stop: ${r.status} ${r.stderr}\n${fs.existsSync(path.join(tmp, 'ldir.log')) ? fs.readFileSync(path.join(tmp, 'ldir.log'), 'utf8').slice(-3000) : ''}\n`,
      );
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe(`a director of ${REALS} reals`, () => {
  test('ldir status and status --json list every real, exit 0', GUARD, async () => {
    const json = await ldir('--json', file, 'status');
    assert.equal(json.status, 0, json.stderr);
    const report = JSON.parse(json.stdout) as StatusReport;
    assert.equal(report.virtualServices.length, REALS / PER_VIRTUAL);
    assert.equal(count(report).reals, REALS);
    const text = await ldir(file, 'status');
    assert.equal(text.status, 0, text.stderr);
    const rows = text.stdout.split('\n').filter((l) => /^ {2}127\.\d+\.\d+\.\d+:80 /.test(l));
    assert.equal(rows.length, REALS);
  });

  test('the status streams in bounded lines: it answers when a line may hold no more than 1 MB', GUARD, async () => {
    const maxLineBytes = 1_000_000;
    const single = await sendControlRequest(socketPath(), { type: 'status' }, { timeoutMs: 60_000 });
    assert.equal(single.ok, true);
    const singleBytes = encodeMessage(single).length;
    assert.ok(
      singleBytes > 2 * maxLineBytes,
      `the single answer (${singleBytes} bytes) would not fit in one line of ${maxLineBytes}`,
    );
    const io = capture();
    assert.equal(
      await runStatusCommand({ socketPath: socketPath(), json: true, maxLineBytes, timeoutMs: 60_000 }, io),
      0,
      io.err,
    );
    assert.equal(count(JSON.parse(io.out) as StatusReport).reals, REALS);
  });

  test('pings are answered while a /metrics scrape is rendered', GUARD, async () => {
    let scraping = true;
    let during = 0;
    let failed = 0;
    const pings = (async () => {
      for (let i = 0; scraping && i < 100_000; i++) {
        try {
          const r = await sendControlRequest(socketPath(), { type: 'ping' }, { timeoutMs: 30_000 });
          if (r.ok && scraping) during++;
        } catch {
          failed++;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const scrape = await new Promise<{ status: number; bytes: number; text: string }>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: metricsPort, path: '/metrics', timeout: 120_000 }, (res) => {
          const head: Buffer[] = [];
          let bytes = 0;
          res.on('data', (c: Buffer) => {
            bytes += c.length;
            if (bytes < 200_000) head.push(c);
          });
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, bytes, text: Buffer.concat(head).toString('utf8') }),
          );
          res.on('error', reject);
        })
        .on('error', reject);
    });
    scraping = false;
    await pings;
    assert.equal(scrape.status, 200);
    assert.ok(scrape.bytes > REALS * 100, `exposition of ${scrape.bytes} bytes`);
    assert.match(scrape.text, /^# HELP /);
    assert.equal(failed, 0, 'no ping failed');
    // Before issue 21 the scrape held the event loop from its first read of the sources to its last line: the pings
    // sent meanwhile were answered after it (0 to 2 of them during it). In slices they are answered as they come.
    assert.ok(during >= 10, `${during} pings answered while the scrape ran`);
  });
});
