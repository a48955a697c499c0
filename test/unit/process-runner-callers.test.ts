// Every caller of the process runner kills by its rule: fallback/quorum/callback commands, alert and execute=
// commands, and ipvsadm lose their whole process group at the timeout, a grandchild ignoring SIGTERM included.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { spawnHookRunner } from '../../src/alerts/commands';
import { spawnRunner } from '../../src/engine/fallback-command';
import { spawnExec } from '../../src/ipvs/ipvsadm/exec';
import { readPid, stubbornFamilyScript, waitGone } from '../helpers/process-family';

let dir = '';
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-runner-callers-'));
});
after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Runs `start` on a stubborn family and asserts that its grandchild is gone after the timeout and the grace. */
async function assertFamilyKilled(name: string, start: (script: string) => Promise<unknown>): Promise<void> {
  const pidFile = path.join(dir, `${name}.pid`);
  // The grandchild sleeps 600 s: a runner that waits for it to close its pipes never returns (the test's hang guard).
  await start(stubbornFamilyScript(dir, pidFile));
  const grandchild = await readPid(pidFile);
  assert.ok(await waitGone(grandchild), `${name}: grandchild ${grandchild} survived the timeout of its command`);
}

/** Hang guard of each test: far beyond the 1.5 s timeout and the 1 s grace, far below the grandchild's 600 s. */
const GUARD = { timeout: 60_000 };

describe('callers of the process runner', () => {
  test('fallbackcommand, quorum commands, callback=', GUARD, async () => {
    await assertFamilyKilled('fallback', (script) => spawnRunner(1500)([script]));
  });

  test('alertcommand and execute=', GUARD, async () => {
    await assertFamilyKilled('alert', async (script) => {
      const r = await spawnHookRunner()([script], { env: {}, timeoutMs: 1500 });
      assert.equal(r.timedOut, true);
    });
  });

  test('ipvsadm', GUARD, async () => {
    await assertFamilyKilled('ipvsadm', (script) => spawnExec(1500)(script, []));
  });
});
