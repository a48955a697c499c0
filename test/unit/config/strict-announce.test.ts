// ldir check's warning for an announced virtual (ECMP across directors) whose scheduler is not consistent across
// directors: a warning at the scheduler's line (else the virtual's), naming mh, mh-port and sloppy_tcp.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runCli } from '../../../src/cli/run';
import { capture } from '../../helpers/cli-io';
import { load, vs, warnings } from '../../helpers/config';

const of = async (text: string): Promise<Array<[number, string | undefined]>> => {
  const r = await load(text);
  assert.ok(r.config, r.diagnostics.map((d) => d.message).join('; '));
  return warnings(r)
    .filter((w) => w.code === 'inconsistent-scheduler')
    .map((w) => [w.pos.line, w.directive]);
};

describe('strict: the scheduler of an announced virtual', () => {
  for (const driver of ['bird', 'frr']) {
    test(`announce=${driver} with scheduler=wlc: warned at the scheduler line, with why and what to use`, async () => {
      const r = await load(`announce=${driver}\n${vs('real=10.0.0.1:80 gate', 'scheduler=wlc')}`);
      assert.ok(r.config, 'a warning, not an error: the configuration loads');
      const w = warnings(r).filter((d) => d.code === 'inconsistent-scheduler');
      assert.equal(w.length, 1);
      assert.deepEqual([w[0]?.pos.line, w[0]?.directive, w[0]?.severity], [4, 'scheduler', 'warning']);
      assert.match(
        w[0]?.message ?? '',
        new RegExp(
          `scheduler=wlc is not consistent across directors, and this virtual service is announced \\(announce=${driver}\\)`,
        ),
      );
      assert.match(w[0]?.message ?? '', /scheduler=mh with schedflags=mh-port/);
      assert.match(w[0]?.message ?? '', /ipvssysctl=sloppy_tcp=1/);
    });
  }

  test('the default scheduler (not written) is warned at the virtual line', async () => {
    assert.deepEqual(await of(`announce=bird\n${vs('real=10.0.0.1:80 gate')}`), [[2, 'scheduler']]);
  });

  test("sh is not consistent either (its table follows each director's reals); rr and the others neither", async () => {
    for (const s of ['sh', 'rr', 'lc', 'sed'])
      assert.equal((await of(`announce=frr\n${vs('real=10.0.0.1:80 gate', `scheduler=${s}`)}`)).length, 1, s);
  });

  test('mh, with or without mh-port: no warning', async () => {
    assert.deepEqual(await of(`announce=frr\n${vs('real=10.0.0.1:80 gate', 'scheduler=mh')}`), []);
    assert.deepEqual(
      await of(`announce=bird\n${vs('real=10.0.0.1:80 gate', 'scheduler=mh', 'schedflags=mh-port')}`),
      [],
    );
  });

  test('a virtual not announced (none written, or announce=none in it) is not warned about', async () => {
    assert.deepEqual(await of(vs('real=10.0.0.1:80 gate', 'scheduler=wlc')), []);
    assert.deepEqual(await of(`announce=bird\n${vs('real=10.0.0.1:80 gate', 'scheduler=wlc', 'announce=none')}`), []);
  });

  test('ldir check prints it as PATH:LINE: warning: and exits 0, with the announce plan of announce=frr', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ldir-ecmp-'));
    try {
      const file = join(dir, 'ecmp.cf');
      writeFileSync(file, 'announce=frr\nvirtual=192.0.2.10:80\n\treal=10.0.0.1:80 gate\n\tscheduler=wlc\n');
      const io = capture();
      assert.equal(await runCli(['check', file], io), 0);
      assert.match(io.err, new RegExp(`^${file}:4: warning: scheduler=wlc is not consistent across directors`, 'm'));
      assert.match(io.out, /^announce: frr socket=\/run\/frr$/m);
      assert.match(io.out, /^announce: 192\.0\.2\.10\/32 while tcp:192\.0\.2\.10:80 can serve/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
