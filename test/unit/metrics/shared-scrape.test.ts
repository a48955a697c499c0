// sharedScrape: requests during a rendering share it; a rendering is reused for four times its duration (at most a
// second) after it; a failed or timed-out rendering is not reused; the gzipped body is made once.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { REUSE_FACTOR, REUSE_MAX_MS, sharedScrape } from '../../../src/metrics/shared-scrape';
import type { ScrapedExposition } from '../../../src/metrics/types';

/** A metrics source whose renderings the test finishes by hand, and a hand-moved clock. */
function setup(): {
  scrape: ReturnType<typeof sharedScrape>;
  renders: () => number;
  finish: (body?: string) => void;
  fail: () => void;
  advance: (ms: number) => void;
} {
  let time = 0;
  const pending: Array<{ resolve: (v: ScrapedExposition) => void; reject: (e: Error) => void }> = [];
  let renders = 0;
  const scrape = sharedScrape(
    {
      scrape: () => {
        renders++;
        return new Promise((resolve, reject) => pending.push({ resolve, reject }));
      },
    },
    60_000,
    () => time,
  );
  return {
    scrape,
    renders: () => renders,
    advance: (ms) => {
      time += ms;
    },
    finish: (body = `render ${renders}`) => {
      const chunks = [Buffer.from(body.slice(0, 3)), Buffer.from(body.slice(3))];
      pending.shift()?.resolve({ contentType: 'text/plain', chunks, length: Buffer.byteLength(body), body });
    },
    fail: () => pending.shift()?.reject(new Error('boom')),
  };
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('sharedScrape', () => {
  it('requests during a rendering share it: one rendering, one body', async () => {
    const s = setup();
    const all = [s.scrape(), s.scrape(), s.scrape()];
    assert.equal(s.renders(), 1);
    s.finish();
    const got = await Promise.all(all);
    assert.ok(
      got.every((g) => g.body === got[0]?.body),
      'the same Buffer for every response',
    );
    assert.equal(got[0]?.body.toString(), 'render 1');
    const [z1, z2] = await Promise.all([got[0]?.gzipped(), got[1]?.gzipped()]);
    assert.equal(z1, z2, 'gzipped once');
    assert.equal(gunzipSync(z1 as Buffer).toString(), 'render 1');
  });

  it('a rendering is reused for four times its duration, at most a second; then a fresh one', async () => {
    const s = setup();
    const first = s.scrape();
    s.advance(50); // the rendering takes 50 ms
    s.finish();
    await first;
    await settle();
    s.advance(REUSE_FACTOR * 50 - 1);
    assert.equal((await s.scrape()).body.toString(), 'render 1', 'within 200 ms: reused');
    s.advance(1);
    const fresh = s.scrape();
    assert.equal(s.renders(), 2);
    s.advance(400); // a slow one: reused for a second, not 1.6 s
    s.finish();
    await fresh;
    await settle();
    s.advance(REUSE_MAX_MS - 1);
    assert.equal((await s.scrape()).body.toString(), 'render 2');
    s.advance(1);
    s.scrape().catch(() => undefined); // never finished: its bound fails it after the test
    assert.equal(s.renders(), 3);
  });

  it('a rendering past the bound fails its request, goes on, and is shared by the requests meanwhile (never two at once)', async () => {
    let renders = 0;
    let finish: ((v: ScrapedExposition) => void) | undefined;
    const scrape = sharedScrape(
      {
        scrape: () => {
          renders++;
          return new Promise((resolve) => {
            finish = resolve;
          });
        },
      },
      20,
      () => 0,
    );
    await assert.rejects(scrape(), /not rendered within 20 ms/);
    const again = scrape();
    assert.equal(renders, 1, 'the slow rendering is still the one in flight');
    finish?.({ contentType: 'text/plain', chunks: [Buffer.from('slow')], length: 4, body: 'slow' });
    assert.equal((await again).body.toString(), 'slow');
    assert.equal(renders, 1);
  });

  it('a failed rendering is answered to those who waited for it and is not reused', async () => {
    const s = setup();
    const a = s.scrape();
    s.fail();
    await assert.rejects(a, /boom/);
    await settle();
    const b = s.scrape();
    assert.equal(s.renders(), 2);
    s.finish();
    assert.equal((await b).body.toString(), 'render 2');
  });
});
