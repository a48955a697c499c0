// The OCF agent's promotable clone (director state sync) on the host, memory backend (LDIR_IPVS=memory): promote and
// demote through `ldir promote|demote`, monitor 8 when promoted and 0 as backup, idempotence, a stopped resource,
// start leaving an instance unpromoted, a plain primitive never reporting 8, and the promotion scores set through
// crm_attribute (a recording stand-in on PATH, without resource-agents' shell functions).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { StatusReport } from '../../../src/daemon/protocol';
import { HaSandbox, LDIR_MAIN, OCF, run, simpleConfig } from '../../helpers/ha';

const RUNNING_MASTER = 8;
const PROMOTABLE = { OCF_RESKEY_CRM_meta_promotable: 'true' };

describe('OCF agent conf/ocf/ldir as a promotable clone (memory backend)', () => {
  let box: HaSandbox;
  let cfg = '';
  let scoreLog = '';
  const params = (): Record<string, string> => ({ configfile: cfg, binary: LDIR_MAIN });
  /** The agent without resource-agents' functions, a recording crm_attribute first on PATH. */
  const noShellfuncs = (): NodeJS.ProcessEnv => ({
    OCF_ROOT: path.join(box.dir, 'no-ocf-root'),
    OCF_FUNCTIONS_DIR: path.join(box.dir, 'none'),
    PATH: `${path.join(box.dir, 'bin')}:${process.env['PATH'] ?? '/usr/bin:/bin'}`,
  });
  const agent = (action: string, extra: NodeJS.ProcessEnv = {}): ReturnType<HaSandbox['agent']> =>
    box.agent(action, params(), { ...noShellfuncs(), ...extra });
  const status = async (): Promise<StatusReport> => {
    const r = await run(LDIR_MAIN, ['--json', cfg, 'status'], box.env);
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as StatusReport;
  };
  const scores = (): string[] =>
    fs.existsSync(scoreLog) ? fs.readFileSync(scoreLog, 'utf8').trim().split('\n').filter(Boolean) : [];

  before(() => {
    box = new HaSandbox('ldir-ocf-promote-', { LDIR_IPVS: 'memory' });
    cfg = box.write('pair.cf', simpleConfig(box).replace('metrics=no\n', 'metrics=no\nsyncinterface=eth1\nsyncid=7\n'));
    scoreLog = path.join(box.dir, 'scores.log');
    fs.mkdirSync(path.join(box.dir, 'bin'));
    box.write('bin/crm_attribute', `#!/bin/sh\necho "$*" >> '${scoreLog}'\n`);
    fs.chmodSync(path.join(box.dir, 'bin', 'crm_attribute'), 0o755);
  });
  after(() => box.cleanup());

  test('start unpromoted, promote (8), demote (0), both idempotent; scores follow; stop removes the score', async (t) => {
    const started = await agent('start', PROMOTABLE);
    assert.equal(started.status, OCF.SUCCESS, started.stderr);
    assert.equal(
      (await agent('monitor', PROMOTABLE)).status,
      OCF.SUCCESS,
      'a backup instance is running, not promoted',
    );
    let s = (await status()).daemon.stateSync;
    assert.deepEqual([s?.role, s?.ok, s?.daemons.find((d) => d.running)?.state], ['backup', true, 'backup']);

    const promote = await agent('promote', PROMOTABLE);
    assert.equal(promote.status, OCF.SUCCESS, promote.stderr);
    assert.equal((await agent('monitor', PROMOTABLE)).status, RUNNING_MASTER);
    assert.equal(
      (await agent('monitor', { ...PROMOTABLE, OCF_RESKEY_CRM_meta_interval: '0' })).status,
      RUNNING_MASTER,
      'probe',
    );
    assert.equal((await agent('promote', PROMOTABLE)).status, OCF.SUCCESS, 'promoting a promoted resource');
    s = (await status()).daemon.stateSync;
    assert.deepEqual(
      [s?.role, s?.roleSource, s?.ok, s?.daemons.find((d) => d.running)?.state],
      ['master', 'command', true, 'master'],
    );

    const demote = await agent('demote', PROMOTABLE);
    assert.equal(demote.status, OCF.SUCCESS, demote.stderr);
    assert.equal((await agent('demote', PROMOTABLE)).status, OCF.SUCCESS, 'demoting a demoted resource');
    assert.equal((await agent('monitor', PROMOTABLE)).status, OCF.SUCCESS);
    assert.equal((await status()).daemon.stateSync?.role, 'backup');

    const stop = await agent('stop', PROMOTABLE);
    assert.equal(stop.status, OCF.SUCCESS, stop.stderr);
    t.diagnostic(`promote ${promote.ms} ms, demote ${demote.ms} ms (agent + ldir CLI)`);
    assert.deepEqual(scores(), [
      '--promotion -l reboot -Q -v 100', // start
      '--promotion -l reboot -Q -v 1000', // promote
      '--promotion -l reboot -Q -v 1000', // probe of the promoted instance
      '--promotion -l reboot -Q -v 1000', // promote again
      '--promotion -l reboot -Q -v 100', // demote
      '--promotion -l reboot -Q -v 100', // demote again
      '--promotion -l reboot -Q -D', // stop
    ]);
  });

  test('promote/demote of a stopped resource: 7', async () => {
    assert.equal((await agent('promote', PROMOTABLE)).status, OCF.NOT_RUNNING);
    assert.equal((await agent('demote', PROMOTABLE)).status, OCF.NOT_RUNNING);
  });

  test('start of a promotable instance whose daemon comes up master (syncrole=master) demotes it', async () => {
    fs.writeFileSync(cfg, fs.readFileSync(cfg, 'utf8').replace('syncid=7\n', 'syncid=7\nsyncrole=master\n'));
    try {
      const started = await agent('start', PROMOTABLE);
      assert.equal(started.status, OCF.SUCCESS, started.stderr);
      assert.match(started.stderr, /came up as sync master/);
      assert.equal((await agent('monitor', PROMOTABLE)).status, OCF.SUCCESS);
      assert.equal((await status()).daemon.stateSync?.role, 'backup');
    } finally {
      assert.equal((await agent('stop', PROMOTABLE)).status, OCF.SUCCESS);
      fs.writeFileSync(cfg, fs.readFileSync(cfg, 'utf8').replace('syncrole=master\n', ''));
    }
  });

  test('a plain primitive under Pacemaker never reports 8; run by hand (no action timeout) it does', async () => {
    const before = scores().length;
    assert.equal((await agent('start')).status, OCF.SUCCESS);
    try {
      assert.equal((await agent('promote')).status, OCF.SUCCESS);
      assert.equal(
        (await agent('monitor')).status,
        OCF.SUCCESS,
        'Pacemaker would take 8 from a primitive for a failure',
      );
      assert.equal((await agent('monitor', { OCF_RESKEY_CRM_meta_timeout: '' })).status, RUNNING_MASTER);
      assert.equal(scores().length, before, 'no score outside a promotable clone');
    } finally {
      assert.equal((await agent('stop')).status, OCF.SUCCESS);
    }
  });

  test('without sync configured promote keeps the role only (what ocf-tester exercises on a plain configuration)', async () => {
    const plain = box.write('plain.cf', simpleConfig(box));
    const p = { configfile: plain, binary: LDIR_MAIN };
    assert.equal((await box.agent('start', p, PROMOTABLE)).status, OCF.SUCCESS);
    try {
      const promote = await box.agent('promote', p, PROMOTABLE);
      assert.equal(promote.status, OCF.SUCCESS, promote.stderr);
      assert.equal((await box.agent('monitor', p, PROMOTABLE)).status, RUNNING_MASTER);
      const r = await run(LDIR_MAIN, ['--json', plain, 'status'], box.env);
      const s = (JSON.parse(r.stdout) as StatusReport).daemon.stateSync;
      assert.deepEqual([s?.configured, s?.role], [false, 'master']);
    } finally {
      assert.equal((await box.agent('stop', p, PROMOTABLE)).status, OCF.SUCCESS);
    }
  });
});
