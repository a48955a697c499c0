// The configuration loaded in a worker thread (issue 21, item 7) gives what a load on this thread gives: the same
// model (frozen), diagnostics, sources, secrets and errors, also when it comes back in many slices.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConfigLoadWorker } from '../../../src/config/load-off-thread';
import { loadConfigFile } from '../../../src/config/load';
import { REALS_PER_SLICE, virtualSlices } from '../../../src/config/load-worker-protocol';
import type { VirtualService } from '../../../src/model';
import { TEST_PROBES } from '../../helpers/config';

const ROOT = path.resolve(__dirname, '../../../..');
let tmp = '';
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-load-off-thread-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A file of `virtuals` virtuals of 10 reals each (IP literals), `unknown` unknown directives and a password. */
function bigFile(virtuals: number, unknown: number): string {
  const lines = ['checkinterval=5', 'autoreload=no', ...Array.from({ length: unknown }, (_, i) => `nosuch${i}=1`)];
  for (let v = 0; v < virtuals; v++) {
    lines.push(
      `virtual=198.18.${Math.floor(v / 250)}.${(v % 250) + 1}:3306`,
      '\tservice=mysql',
      '\tlogin="ldir"',
      '\tpasswd="s3cret-value"',
    );
    for (let r = 0; r < 10; r++) lines.push(`\treal=10.${Math.floor(v / 250)}.${v % 250}.${r + 1}:3306 gate ${1 + r}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Both loads of `file`, the worker's first. */
async function both(
  loader: ConfigLoadWorker,
  file: string,
): Promise<{
  worker: Awaited<ReturnType<ConfigLoadWorker['load']>>;
  here: Awaited<ReturnType<typeof loadConfigFile>>;
}> {
  const worker = await loader.load(file, { debug: true });
  const here = await loadConfigFile(file, { debug: true });
  return { worker, here };
}

function assertSame(file: string, r: Awaited<ReturnType<typeof both>>): void {
  assert.deepStrictEqual(r.worker.config, r.here.config, file);
  assert.deepStrictEqual(r.worker.diagnostics, r.here.diagnostics, file);
  assert.deepStrictEqual(r.worker.sources, r.here.sources, file);
  assert.deepStrictEqual(r.worker.secrets, r.here.secrets, file);
}

describe('ConfigLoadWorker', () => {
  test('the example files and every fixture: the same result as on this thread, loaded in the worker, the model frozen', {
    timeout: 120_000,
  }, async () => {
    const loader = new ConfigLoadWorker();
    try {
      const fixtures = fs
        .readdirSync(path.join(ROOT, 'test/fixtures/ldirectord'))
        .map((n) => path.join(ROOT, 'test/fixtures/ldirectord', n));
      const files = [
        path.join(ROOT, 'conf/ldirectord.cf.example'),
        path.join(ROOT, 'conf/ldir.yaml.example'),
        ...fixtures,
      ];
      let models = 0;
      for (const file of files) {
        const r = await both(loader, file);
        assert.deepEqual(loader.lastPlace, { thread: 'worker' }, file);
        assertSame(file, r);
        const config = r.worker.config;
        if (!config) continue;
        models++;
        assert.ok(
          Object.isFrozen(config) &&
            Object.isFrozen(config.globals) &&
            config.virtualServices.every((v) => Object.isFrozen(v) && Object.isFrozen(v.reals)),
          file,
        );
      }
      assert.ok(models > 50, `${models} models`);
    } finally {
      await loader.close();
    }
  });

  test('a result in many slices (3,000 reals, 1,200 diagnostics) is put together in order', async () => {
    const loader = new ConfigLoadWorker();
    try {
      const valid = path.join(tmp, 'valid.cf');
      fs.writeFileSync(valid, bigFile(300, 0));
      const ok = await both(loader, valid);
      assert.equal(ok.worker.config?.virtualServices.length, 300);
      assertSame(valid, ok);
      assert.ok(ok.worker.secrets.includes('s3cret-value'));
      const broken = path.join(tmp, 'broken.cf');
      fs.writeFileSync(broken, bigFile(20, 1_200));
      const refused = await both(loader, broken);
      assert.equal(refused.worker.config, undefined);
      assert.equal(refused.worker.diagnostics.length, refused.here.diagnostics.length);
      assert.ok(refused.worker.diagnostics.length >= 1_200);
      assertSame(broken, refused);
    } finally {
      await loader.close();
    }
  });

  test('a file that cannot be read: the same LdirError, and the worker goes on', async () => {
    const loader = new ConfigLoadWorker();
    try {
      const missing = path.join(tmp, 'missing.cf');
      await assert.rejects(
        loader.load(missing),
        (err: NodeJS.ErrnoException & { details?: Record<string, unknown> }) => {
          assert.equal(err.code, 'LDIR_ERR_CONFIG_NOT_FOUND');
          assert.match(err.message, /cannot read configuration file .*missing\.cf/);
          assert.deepEqual(err.details, { file: missing });
          return true;
        },
      );
      const file = path.join(tmp, 'after.cf');
      fs.writeFileSync(file, 'virtual=127.0.0.1:80\n\treal=127.0.0.2:80 gate\n');
      assert.equal((await loader.load(file, { debug: true })).config?.virtualServices.length, 1);
    } finally {
      await loader.close();
    }
  });

  test('injected probes, a missing worker script or a closed loader: loaded on this thread, saying why', async () => {
    const file = path.join(tmp, 'small.cf');
    fs.writeFileSync(file, 'virtual=127.0.0.1:80\n\treal=127.0.0.2:80 gate\n');
    const loader = new ConfigLoadWorker();
    assert.equal((await loader.load(file, { probes: TEST_PROBES })).config?.virtualServices.length, 1);
    assert.deepEqual(loader.lastPlace, { thread: 'caller', why: 'injected probes' });
    await loader.close();
    await loader.load(file, { debug: true });
    assert.deepEqual(loader.lastPlace, { thread: 'caller', why: 'closed' });
    const scriptless = new ConfigLoadWorker({ script: path.join(tmp, 'no-such-worker.js') });
    await scriptless.load(file, { debug: true });
    assert.equal(scriptless.lastPlace?.thread, 'caller');
    await scriptless.close();
  });
});

describe('virtualSlices', () => {
  const v = (reals: number): VirtualService => ({ reals: Array.from({ length: reals }) }) as unknown as VirtualService;
  test('at most REALS_PER_SLICE reals a slice, a bigger virtual alone, order kept', () => {
    const virtuals = [v(400), v(400), v(400), v(5_000), v(1), v(0)];
    const slices = virtualSlices(virtuals);
    assert.deepEqual(
      slices.map((s) => s.map((x) => x.reals.length)),
      [[400, 400], [400], [5_000], [1, 0]],
    );
    assert.deepEqual(slices.flat(), virtuals);
    assert.ok(slices.every((s) => s.length === 1 || s.reduce((n, x) => n + x.reals.length + 1, 0) <= REALS_PER_SLICE));
    assert.deepEqual(virtualSlices([]), []);
  });
});
