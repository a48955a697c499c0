// Alert commands with real scripts in a temporary directory: arguments and environment received, no shell, the
// process group killed at the timeout, failures counted.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createAlerter } from '../../../src/alerts/alerter';
import { spawnHookRunner } from '../../../src/alerts/commands';
import type { Alerter } from '../../../src/alerts/types';
import { systemClock } from '../../../src/clock';
import { captureLogger, FakeMail, transition, withAlerting } from '../../helpers/alerts';
import { loadValid } from '../../helpers/config';
import { waitFor } from '../../helpers/smtp-sink';

const V = 'tcp:192.0.2.1:80';
let dir = '';

/** Writes an executable script into the temporary directory. */
function script(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

/** True when `pid` no longer runs (gone, or a zombie nobody reaped yet). */
function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

async function alerter(
  command: string,
  timeoutMs = 5000,
): Promise<{ a: Alerter; log: ReturnType<typeof captureLogger> }> {
  const log = captureLogger();
  const a = createAlerter({
    clock: systemClock(),
    logger: log.logger,
    hostname: 'lb1',
    transport: new FakeMail(() => Date.now()).factory,
    runCommand: spawnHookRunner(),
    commands: { timeoutMs },
  });
  a.applyConfig(
    withAlerting(
      await loadValid('virtual=192.0.2.1:80\n\treal=10.0.0.2:80 gate 5\n\tservicename=Web site\n'),
      {},
      { command },
    ),
  );
  a.setDaemonState('running');
  a.onTransition(transition(V, '10.0.0.2:80', 'unknown', 'up', Date.now()));
  return { a, log };
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'ldir-alertcmd-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('alertcommand with a real script', () => {
  it('receives event, virtual, real, weight and reason as arguments, without a shell, and LDIR_* variables', async () => {
    const out = join(dir, 'args.txt');
    const path = script(
      'notify',
      `for a in "$@"; do printf '%s\\n' "$a"; done > "${out}.tmp"\nprintf '%s|%s|%s\\n' "$LDIR_EVENT" "$LDIR_SERVICENAME" "$LDIR_VIRTUAL_ADDRESS" >> "${out}.tmp"\nmv "${out}.tmp" "${out}"`,
    );
    const { a } = await alerter(`${path} --from-ldir`);
    a.onTransition(transition(V, '10.0.0.2:80', 'up', 'down', Date.now(), 'status 503; $(touch /tmp/x) `id`'));
    assert.ok(await waitFor(() => existsSync(out), 5000));
    assert.deepEqual(readFileSync(out, 'utf8').split('\n'), [
      '--from-ldir',
      'down',
      V,
      '10.0.0.2:80',
      '0',
      'status 503; $(touch /tmp/x) `id`',
      'down|Web site|192.0.2.1:80',
      '',
    ]);
    rmSync(out);
    a.onTransition(transition(V, '10.0.0.2:80', 'down', 'up', Date.now(), 'ok'));
    assert.ok(await waitFor(() => existsSync(out), 5000));
    assert.deepEqual(readFileSync(out, 'utf8').split('\n').slice(0, 5), ['--from-ldir', 'up', V, '10.0.0.2:80', '5']);
    await a.close(2000);
    assert.equal(a.counters().commands.failed, 0);
  });

  it('is killed with its whole process group at the timeout, and counted', async () => {
    const pidFile = join(dir, 'child.pid');
    const path = script('hang', `sleep 30 &\necho $! > "${pidFile}"\nwait`);
    const { a, log } = await alerter(path, 300);
    const t0 = Date.now();
    a.onTransition(transition(V, '10.0.0.2:80', 'up', 'down', Date.now()));
    assert.ok(await waitFor(() => a.counters().commands.timedOut === 1, 5000));
    assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
    const child = Number(readFileSync(pidFile, 'utf8'));
    assert.ok(await waitFor(() => gone(child), 3000), `background child ${child} survived`);
    assert.ok(log.records.some((r) => r.msg === 'alert command killed at its timeout'));
    await a.close(2000);
  });

  it('a command that exits non-zero or cannot start is logged and counted; mails and later commands go on', async () => {
    const path = script('fail', 'echo "pager unreachable" >&2\nexit 4');
    const { a, log } = await alerter(path);
    a.onTransition(transition(V, '10.0.0.2:80', 'up', 'down', Date.now()));
    assert.ok(await waitFor(() => a.counters().commands.failed === 1, 5000));
    assert.ok(
      log.records.some((r) => r.msg === 'alert command failed: exit status 4' && r.stderr === 'pager unreachable\n'),
    );
    a.applyConfig(
      withAlerting(
        await loadValid('virtual=192.0.2.1:80\n\treal=10.0.0.2:80 gate\n'),
        {},
        { command: join(dir, 'missing') },
      ),
    );
    a.onTransition(transition(V, '10.0.0.2:80', 'down', 'up', Date.now()));
    assert.ok(await waitFor(() => a.counters().commands.failed === 2, 5000));
    assert.ok(
      log.records.some((r) => r.msg === 'alert command could not run' && r.code === 'LDIR_ERR_ALERT_COMMAND_FAILED'),
    );
    await a.close(2000);
  });
});
