// Fuzz tier: the running daemon's control socket fed garbage, partial lines, oversized lines, pipelined requests that
// are never read, and thousands of connections. Every connection gets an error line or is closed, never a crash; the
// daemon keeps answering `ping` throughout (also while a thousand idle connections are held open), and its resident
// memory stays bounded (printed before and after).
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { startFuzzDaemon, type FuzzDaemon } from '../helpers/fuzz-daemon';
import { freePort } from '../helpers/system';

const SEED = 1919;
let daemon: FuzzDaemon;
let real: http.Server;
let rssStart = 0;

/** What the server did with one connection: the lines it answered, and whether it closed it. */
interface Exchange {
  readonly lines: string[];
  readonly closed: boolean;
}

/**
 * Opens a connection, writes `payload` (then half-closes when `end`), and collects answer lines until the daemon
 * closes, `wantLines` lines came, or `ms` passed.
 */
function exchange(
  payload: Buffer | string,
  options: { end?: boolean; wantLines?: number; ms?: number } = {},
): Promise<Exchange> {
  return new Promise((resolve) => {
    const socket = net.createConnection({ path: daemon.socketPath, allowHalfOpen: true });
    let text = '';
    let done = false;
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ lines: text.split('\n').filter((l) => l !== ''), closed });
    };
    const timer = setTimeout(() => finish(false), options.ms ?? 5_000);
    socket.on('connect', () => {
      socket.write(payload);
      if (options.end ?? true) socket.end();
    });
    socket.on('data', (d: Buffer) => {
      text += d.toString('utf8');
      if (options.wantLines !== undefined && text.split('\n').length - 1 >= options.wantLines) finish(false);
    });
    socket.on('end', () => finish(true));
    socket.on('error', () => finish(true));
    socket.on('close', () => finish(true));
  });
}

/** Each answer line is JSON with `ok` and, when not ok, an error code. */
function assertAnswers(lines: readonly string[], what: string): void {
  for (const line of lines) {
    const parsed = JSON.parse(line) as { ok: boolean; error?: { code: string } };
    assert.equal(typeof parsed.ok, 'boolean', `${what}: ${line}`);
    if (!parsed.ok) assert.match(parsed.error?.code ?? '', /^LDIR_ERR_/, `${what}: ${line}`);
  }
}

before(async () => {
  const port = await freePort('127.0.0.2');
  real = http.createServer((_q, r) => r.end('ok'));
  await new Promise<void>((r) => real.listen(port, '127.0.0.2', r));
  // 300 reals (one healthy, the others refuse): a status answer of about 100 kB, so unread answers would show.
  const refused = Array.from({ length: 299 }, (_, i) => `\treal=127.0.0.3:${20_000 + i} masq 1`).join('\n');
  daemon = await startFuzzDaemon(
    'control',
    () => `checkinterval=5
checktimeout=1
virtual=127.0.0.1:80
\treal=127.0.0.2:${port} masq 1
${refused}
\tchecktype=connect
`,
  );
  rssStart = daemon.rssKb();
  console.log(`control socket fuzz: daemon pid ${daemon.pid}, RSS at start ${rssStart} kB`);
});

after(async () => {
  const end = daemon ? daemon.rssKb() : 0;
  console.log(`control socket fuzz: daemon RSS ${rssStart} kB before, ${end} kB after`);
  await daemon?.stop();
  real?.closeAllConnections();
  await new Promise((r) => real?.close(r));
});

/** Request lines that must never change the director: only ping and status are valid among them. */
const requestLine = fc
  .oneof(
    fc.string({ maxLength: 300 }),
    fc.json({ maxDepth: 3 }),
    fc
      .record(
        {
          v: fc.oneof(fc.constant(1), fc.integer(), fc.string(), fc.constant(null)),
          id: fc.oneof(fc.string({ maxLength: 40 }), fc.integer(), fc.constant(null), fc.object({ maxDepth: 1 })),
          type: fc.oneof(
            fc.constantFrom('ping', 'status', 'Status', 'PING', '', 'drain ', 'stop\u0000', 'reload-previewx'),
            fc.string({ maxLength: 12 }),
          ),
          virtual: fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
          real: fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
          weight: fc.option(fc.oneof(fc.integer(), fc.double(), fc.string()), { nil: undefined }),
        },
        { requiredKeys: [] },
      )
      .map((o) => JSON.stringify(o)),
  )
  .filter((line) => !/"type":"(stop|restart|reload|drain|undrain|weight|role)"/.test(line));

describe('control socket under fuzzing', () => {
  test('random and malformed request lines: one answer each, an error unless it was a valid ping/status; ping still answers', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(requestLine, { minLength: 1, maxLength: 4 }), async (lines) => {
        n++;
        const payload = `${lines.map((l) => l.replace(/\n/g, ' ')).join('\n')}\n`;
        const r = await exchange(payload, {
          wantLines: lines.filter((l) => l.replace(/\n/g, ' ').trim() !== '').length,
        });
        assertAnswers(r.lines, JSON.stringify(payload).slice(0, 200));
      }),
      { seed: SEED, numRuns: 250 },
    );
    // Raw bytes, invalid UTF-8 and NUL included.
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 2_000 }), async (bytes) => {
        n++;
        const r = await exchange(Buffer.concat([Buffer.from(bytes), Buffer.from('\n')]), { ms: 3_000 });
        assertAnswers(r.lines, `bytes ${Buffer.from(bytes).toString('hex').slice(0, 80)}`);
      }),
      { seed: SEED, numRuns: 150 },
    );
    const ms = await daemon.ping();
    console.log(`control socket fuzz: ${n} random exchanges, then ping answered in ${ms} ms`);
  });

  test('partial lines: a last request without its newline is answered; the daemon never waits on a half line forever', async () => {
    const answered = await exchange('{"v":1,"id":"p","type":"ping"}', { end: true });
    assert.equal(answered.lines.length, 1);
    assert.equal((JSON.parse(answered.lines[0] as string) as { ok: boolean }).ok, true);
    const half = await Promise.all(
      Array.from({ length: 100 }, (_, i) => exchange(`{"v":1,"id":"h${i}","ty`, { end: true })),
    );
    for (const h of half) assertAnswers(h.lines, 'half line');
    assert.ok(
      half.every((h) => h.closed),
      'every half-line connection was closed by the daemon',
    );
    await daemon.ping();
  });

  test('oversized lines: refused with CONTROL_TOO_LARGE and closed; a 20 MB stream without a newline costs no memory', async () => {
    const rss0 = daemon.rssKb();
    const big = await exchange(Buffer.alloc(70 * 1024, 0x41), { end: false });
    assert.equal(big.lines.length, 1);
    assert.match(big.lines[0] as string, /LDIR_ERR_CONTROL_TOO_LARGE/);
    assert.equal(big.closed, true);
    // A stream: 20 MB offered in 1 MB writes; the daemon must cut it, not buffer it.
    const streamed = await new Promise<{ written: number; answer: string }>((resolve) => {
      const socket = net.createConnection({ path: daemon.socketPath });
      const chunk = Buffer.alloc(1024 * 1024, 0x42);
      let written = 0;
      let answer = '';
      const pump = (): void => {
        while (written < 20 && !socket.destroyed) {
          written++;
          if (!socket.write(chunk)) {
            socket.once('drain', pump);
            return;
          }
        }
      };
      socket.on('connect', pump);
      socket.on('data', (d: Buffer) => {
        answer += d.toString('utf8');
      });
      socket.on('error', () => undefined);
      socket.on('close', () => resolve({ written, answer }));
      setTimeout(() => socket.destroy(), 10_000).unref();
    });
    assert.match(streamed.answer, /LDIR_ERR_CONTROL_TOO_LARGE/);
    const rss1 = daemon.rssKb();
    console.log(
      `control socket fuzz: oversized lines: ${streamed.written} MB offered before the cut; RSS ${rss0} -> ${rss1} kB`,
    );
    assert.ok(rss1 - rss0 < 64 * 1024, `RSS grew by ${rss1 - rss0} kB`);
    await daemon.ping();
  });

  test('a client that pipelines status requests and never reads the answers: the daemon stops reading it, memory stays bounded', async () => {
    const rss0 = daemon.rssKb();
    const socket = net.createConnection({ path: daemon.socketPath });
    socket.on('error', () => undefined);
    socket.pause(); // never reads
    await new Promise<void>((r) => socket.once('connect', () => r()));
    // A few requests at a time (the pipelining limit is 32), for three seconds.
    let offered = 0;
    const deadline = Date.now() + 3_000;
    while (Date.now() < deadline) {
      socket.write('{"v":1,"id":"s","type":"status"}\n'.repeat(8));
      offered += 8;
      await new Promise((r) => setTimeout(r, 5));
    }
    const rss1 = daemon.rssKb();
    const ms = await daemon.ping();
    socket.destroy();
    console.log(
      `control socket fuzz: ${offered} status requests (about 100 kB each answered) offered without reading; RSS ${rss0} -> ${rss1} kB; ping ${ms} ms`,
    );
    assert.ok(rss1 - rss0 < 12 * 1024, `RSS grew by ${rss1 - rss0} kB`);
  });

  test('thousands of connections: 3,000 short ones in waves, then 1,000 held idle; ping answers during and after; repeated, memory level', async () => {
    // A leak grows RSS on every pass; a garbage-collected heap grows until the collector's pace catches up (later on a
    // loaded machine: one CI run saw +49 MB, then +25 MB). So up to four passes, and one after the first must grow
    // less than the bound.
    const bound = 24 * 1024;
    const rss: number[] = [daemon.rssKb()];
    const grew = (): number => (rss.at(-1) ?? 0) - (rss.at(-2) ?? 0);
    for (let pass = 1; pass <= 4 && !(pass > 2 && grew() < bound); pass++) {
      let ok = 0;
      let busy = 0;
      const silent: string[] = [];
      for (let wave = 0; wave < 10; wave++) {
        const results = await Promise.all(
          Array.from({ length: 300 }, (_, i) =>
            exchange(`{"v":1,"id":"w${wave}-${i}","type":"${i % 10 ? 'ping' : 'status'}"}\n`, {
              wantLines: 1,
              ms: 3_000,
            }),
          ),
        );
        for (const r of results) {
          assertAnswers(r.lines, 'wave');
          const line = r.lines[0] ?? '';
          if (line.includes('"ok":true')) ok++;
          else if (line.includes('LDIR_ERR_CONTROL_BUSY')) busy++;
          else silent.push(r.closed ? 'closed' : 'open');
        }
      }
      assert.ok(ok >= 300, `${ok} answered`);
      await daemon.ping();
      // A thousand connections that connect and say nothing (or half a line), held open.
      const held: net.Socket[] = [];
      for (let i = 0; i < 1_000; i++) {
        const s = net.createConnection({ path: daemon.socketPath });
        s.on('error', () => undefined);
        s.on('data', () => undefined);
        if (i % 2) s.on('connect', () => s.write('{"v":1,'));
        held.push(s);
      }
      await new Promise((r) => setTimeout(r, 1_000));
      const pings: number[] = [];
      try {
        for (let i = 0; i < 5; i++) {
          pings.push(await daemon.ping(10_000));
          await new Promise((r) => setTimeout(r, 200));
        }
      } finally {
        for (const s of held) s.destroy();
      }
      await new Promise((r) => setTimeout(r, 1_500));
      rss.push(daemon.rssKb());
      console.log(
        `control socket fuzz: pass ${pass}: 3,000 short connections, 300 at a time: ${ok} answered, ${busy} told busy, ` +
          `${silent.length} without an answer within 3 s (${[...new Set(silent)].join(', ') || '-'}); ` +
          `1,000 idle connections held: ping answered in ${pings.join(', ')} ms; RSS ${rss.at(-2)} -> ${rss.at(-1)} kB`,
      );
    }
    assert.ok(
      rss.length >= 3 && grew() < bound,
      `every pass after the first grew RSS by ${bound} kB or more: ${rss.join(' -> ')} kB`,
    );
  });
});
