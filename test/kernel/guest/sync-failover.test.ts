// Kernel tier (inside the VM): director state sync. Two directors, each a network namespace with its own IPVS table
// and its own `ldir` daemon (the real binary, run with `ip netns exec`), share one bridge with a client and an LVS-DR
// real server. With sync configured (syncinterface=eth0) both start as sync backups; the OCF agent promotes A, the
// VIP is on A, and a long-lived TCP connection from the client exchanges data through it. The connection entry
// appears in B's table (synced). Then the active role moves as Pacemaker moves it (agent demote on A, VIP to B,
// agent promote on B): the same connection keeps working both ways, and B's `ipvsadm -Lnc` lists it. Control: with
// the sync daemons off (a reload without the sync directives), the same move breaks a connection opened meanwhile
// (the new director has no entry for it: its packets are not scheduled, and the director's own stack resets it).
// Figures (role switch, time until the entry is on the backup) are printed as `figure: ...` diagnostics.
//
// Why LVS-DR: the directors only see the client-to-server half of a connection (the real answers the client directly
// from the VIP on its lo), so nothing but the IPVS connection entry decides whether the new director forwards a
// packet of an established connection; with LVS-NAT the return path would also have to move (a floating gateway).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { sendControlRequest } from '../../../src/cli/control-client';
import { controlSocketPath, type StatusReport } from '../../../src/daemon/protocol';
import { OCF_AGENT, run, type Ran } from '../../helpers/ha';
import { eventually, LDIR_MAIN, LdirDirector, sleep } from '../../helpers/ldir-director';
import { buildSyncLab, nsExec, procConnKey, type SyncLab } from '../../helpers/sync-lab';

const skip =
  process.env['LDIR_IN_VM'] === '1' && existsSync('/proc/net/ip_vs')
    ? false
    : 'runs inside the kernel-tier VM only (test/kernel/host-runs-guest-tests)';

const CONF = 'pair.cf';
const SYNC_ID = 42;
const TEST_TIMEOUT = 300_000;
const OCF_RUNNING_MASTER = 8;

describe('director state sync: a connection survives moving the active role (LVS-DR pair, two ldir daemons)', {
  skip,
  concurrency: false,
}, () => {
  let lab: SyncLab;
  let a: LdirDirector;
  let b: LdirDirector;
  let c1Port = 0;

  const nsOf = (d: LdirDirector): string => (d === a ? lab.directors[0] : lab.directors[1]);
  const name = (d: LdirDirector): string => (d === a ? 'A' : 'B');

  function config(d: LdirDirector, sync: boolean): string {
    return [
      'checkinterval=2',
      'checktimeout=2',
      'metrics=no',
      `logfile="${d.logPath(CONF)}"`,
      ...(sync ? [`syncinterface=${lab.ifname}`, `syncid=${SYNC_ID}`] : []),
      `virtual=${lab.vip}:${lab.port}`,
      `\treal=${lab.realIp}:${lab.port} gate`,
      '\tchecktype=connect',
      '\tscheduler=rr',
      '',
    ].join('\n');
  }

  /** Runs the OCF agent's `action` in the director's namespace, as Pacemaker runs it for a promotable clone. */
  function agent(d: LdirDirector, action: string): Promise<Ran> {
    mkdirSync(path.join(d.dir, 'rsctmp'), { recursive: true });
    const env: NodeJS.ProcessEnv = {
      ...d.env,
      OCF_ROOT: '/usr/lib/ocf',
      OCF_RESOURCE_INSTANCE: 'lb',
      OCF_RESKEY_configfile: d.configPath(CONF),
      OCF_RESKEY_binary: LDIR_MAIN,
      OCF_RESKEY_CRM_meta_promotable: 'true',
      OCF_RESKEY_CRM_meta_timeout: '90000',
      OCF_RESKEY_CRM_meta_interval: action === 'monitor' ? '10000' : '0',
      HA_RSCTMP: path.join(d.dir, 'rsctmp'),
    };
    return run('ip', ['netns', 'exec', nsOf(d), OCF_AGENT, action], env, 120_000);
  }

  /** Sets the role straight over the control socket (no CLI start-up): the daemon-side switch time. */
  async function role(d: LdirDirector, wanted: 'master' | 'backup'): Promise<number> {
    const t0 = Date.now();
    const r = await sendControlRequest(controlSocketPath(CONF, d.env['LDIR_SOCKET_DIR']), {
      type: 'role',
      role: wanted,
    });
    assert.ok(r.ok, r.ok ? '' : r.error.message);
    return Date.now() - t0;
  }

  const status = (d: LdirDirector): Promise<StatusReport> => d.quickStatus(CONF);
  const figure = (t: TestContext, text: string): void => t.diagnostic(`figure: ${text}`);

  /** The real server is in director `d`'s kernel table with weight 1 (its first check passed). */
  function realUp(d: LdirDirector): true | undefined {
    const hex = procConnKey(lab.realIp, lab.port).replace(' ', ':');
    return new RegExp(`-> ${hex}\\s+Route\\s+1\\s`).test(nsExec(nsOf(d), 'cat', ['/proc/net/ip_vs']))
      ? true
      : undefined;
  }

  /** Sends `n` lines on connection `conn`; every one must come back from the real server. */
  async function exchange(conn: string, n: number, tag: string): Promise<void> {
    for (let i = 1; i <= n; i++) {
      assert.equal(await lab.clientProcess.ask(`send ${conn} ${tag}-${i}`, 30_000), `echo ${conn} real ${tag}-${i}`);
    }
  }

  async function open(conn: string): Promise<number> {
    const line = await lab.clientProcess.ask(`open ${conn} ${lab.vip} ${lab.port}`, 30_000);
    const m = /^open \S+ (\d+)$/.exec(line);
    assert.ok(m, line);
    return Number(m[1]);
  }

  /**
   * `ldir CONFIG start` in the director's namespace (which waits for the ready report, given up to 180 s: see
   * {@link LdirDirector.start}); resolves with the milliseconds until the daemon has done its first kernel sync.
   */
  async function startDirector(d: LdirDirector): Promise<number> {
    const t0 = Date.now();
    await d.start(CONF);
    assert.notEqual(
      (await status(d)).daemon.lastSync,
      null,
      `director ${name(d)} reported ready with its first kernel sync done`,
    );
    return Date.now() - t0;
  }

  const hasEntry = (d: LdirDirector, clientPort: number): boolean =>
    lab.connTable(nsOf(d)).includes(procConnKey(lab.clientIp, clientPort));

  before(async () => {
    lab = await buildSyncLab('sy');
    a = new LdirDirector('ldir-sync-a-', { netns: lab.directors[0] });
    b = new LdirDirector('ldir-sync-b-', { netns: lab.directors[1] });
    for (const d of [a, b]) d.writeConfig(CONF, config(d, true));
  });

  after(() => {
    a?.cleanup();
    b?.cleanup();
    lab?.teardown();
  });

  test('both directors start as sync backups; the OCF agent promotes A to master (monitor 8), B stays backup (monitor 0)', {
    timeout: 2 * TEST_TIMEOUT,
  }, async (t) => {
    // One after the other: two start-ups at once compete for the emulated CPUs.
    const started = [await startDirector(a), await startDirector(b)];
    figure(t, `ldir start in director namespaces A and B, until the first kernel sync: ${started.join(' ms, ')} ms`);
    for (const d of [a, b]) {
      assert.match(
        lab.syncDaemons(nsOf(d)),
        new RegExp(`^backup sync daemon \\(mcast=eth0, syncid=${SYNC_ID}`, 'm'),
        `${name(d)} runs a backup sync daemon`,
      );
      assert.doesNotMatch(lab.syncDaemons(nsOf(d)), /master/);
    }
    const promote = await agent(a, 'promote');
    assert.equal(promote.status, 0, `${promote.stdout}${promote.stderr}`);
    figure(t, `OCF agent promote on A (agent + ldir CLI under TCG): ${promote.ms} ms`);
    assert.match(lab.syncDaemons(nsOf(a)), new RegExp(`^master sync daemon \\(mcast=eth0, syncid=${SYNC_ID}`, 'm'));
    assert.doesNotMatch(lab.syncDaemons(nsOf(a)), /backup/, 'the backup daemon stopped before the master started');
    const [ma, mb] = await Promise.all([agent(a, 'monitor'), agent(b, 'monitor')]);
    assert.equal(ma.status, OCF_RUNNING_MASTER, ma.stderr);
    assert.equal(mb.status, 0, mb.stderr);
    await eventually('the real up on both directors', () => (realUp(a) && realUp(b) ? true : undefined), 120_000, 200);
    lab.vipTo(lab.directors[0]);
  });

  test("a long-lived connection through A exchanges data; its entry appears in backup B's table", {
    timeout: TEST_TIMEOUT,
  }, async (t) => {
    c1Port = await open('c1');
    await exchange('c1', 1, 'before');
    const t0 = Date.now(); // SYN, ACK, first data: the third packet, net.ipv4.vs.sync_threshold "3 50"
    await eventually(
      'the connection entry on B',
      () => (hasEntry(b, c1Port) ? true : undefined),
      30_000,
      50,
      () => `A:\n${lab.ipvsadmConns(lab.directors[0])}\nB:\n${lab.ipvsadmConns(lab.directors[1])}`,
    );
    figure(
      t,
      `connection entry on backup B ${Date.now() - t0} ms after the third packet (the kernel's master thread sends its buffer at least every 2 s)`,
    );
    await exchange('c1', 4, 'before+');
    const listed = lab.ipvsadmConns(lab.directors[1]);
    t.diagnostic(`B ipvsadm -Lnc before the move:\n${listed.trimEnd()}`);
    assert.match(
      listed,
      new RegExp(
        `TCP\\s.*${lab.clientIp.replaceAll('.', '\\.')}:${c1Port}\\s+${lab.vip.replaceAll('.', '\\.')}:${lab.port}\\s+${lab.realIp.replaceAll('.', '\\.')}:${lab.port}`,
      ),
    );
  });

  test('move: demote A, VIP to B, promote B (OCF agent): the same connection keeps working both ways; B lists it', {
    timeout: TEST_TIMEOUT,
  }, async (t) => {
    const t0 = Date.now();
    const demote = await agent(a, 'demote');
    assert.equal(demote.status, 0, `${demote.stdout}${demote.stderr}`);
    lab.vipFrom(lab.directors[0]);
    const promote = await agent(b, 'promote');
    assert.equal(promote.status, 0, `${promote.stdout}${promote.stderr}`);
    lab.vipTo(lab.directors[1]);
    figure(
      t,
      `role switch A -> B through the OCF agent: demote A ${demote.ms} ms, promote B ${promote.ms} ms, ${Date.now() - t0} ms with the VIP move (TCG; mostly node start-up of the agent's ldir commands)`,
    );

    await exchange('c1', 5, 'after');
    t.diagnostic('c1: 5 lines sent and echoed after the move');
    const listed = lab.ipvsadmConns(lab.directors[1]);
    t.diagnostic(`B ipvsadm -Lnc after the move:\n${listed.trimEnd()}`);
    assert.match(
      listed,
      new RegExp(`TCP\\s+\\S+\\s+ESTABLISHED\\s+${lab.clientIp.replaceAll('.', '\\.')}:${c1Port}\\s`),
    );
    assert.match(lab.syncDaemons(lab.directors[1]), /^master sync daemon/m);
    assert.match(lab.syncDaemons(lab.directors[0]), /^backup sync daemon/m);
    const [sa, sb] = await Promise.all([status(a), status(b)]);
    assert.deepEqual([sa.daemon.stateSync?.role, sa.daemon.stateSync?.ok], ['backup', true]);
    assert.deepEqual(
      [sb.daemon.stateSync?.role, sb.daemon.stateSync?.roleSource, sb.daemon.stateSync?.ok],
      ['master', 'command', true],
    );
    const [ma, mb] = await Promise.all([agent(a, 'monitor'), agent(b, 'monitor')]);
    assert.deepEqual([ma.status, mb.status], [0, OCF_RUNNING_MASTER]);
  });

  test('control: with the sync daemons off the same move breaks a connection (no entry on the new director)', {
    timeout: TEST_TIMEOUT,
  }, async (t) => {
    for (const d of [a, b]) d.writeConfig(CONF, config(d, false));
    const reloads = await Promise.all([a.reload(CONF), b.reload(CONF)]);
    for (const r of reloads) assert.equal(r.status, 0, r.stderr);
    for (const ns of lab.directors)
      assert.equal(lab.syncDaemons(ns).trim(), '', `${ns}: the reload stopped the sync daemon ldir had started`);

    const c2Port = await open('c2'); // through B, which has the VIP
    await exchange('c2', 5, 'unsynced');
    await sleep(4_000); // twice the master's flush interval: a synced entry would be on A by now
    assert.equal(hasEntry(a, c2Port), false, `A must not know c2:\n${lab.ipvsadmConns(lab.directors[0])}`);

    const demoteMs = await role(b, 'backup');
    lab.vipFrom(lab.directors[1]);
    const promoteMs = await role(a, 'master');
    lab.vipTo(lab.directors[0]);
    figure(
      t,
      `role switch over the control socket (daemon side, no CLI start-up): demote B ${demoteMs} ms, promote A ${promoteMs} ms`,
    );

    const broken = await lab.clientProcess.ask('send c2 after-move', 30_000);
    t.diagnostic(`c2 (never synced) after the move back to A: ${broken}`);
    assert.match(broken, /^(error c2 \S+|timeout c2)$/, 'the unsynced connection does not survive');
    assert.equal(hasEntry(a, c2Port), false);
    // c1 was synced (and A had it as master before): the same move keeps it working.
    await exchange('c1', 2, 'control');
    t.diagnostic('c1 (synced earlier) after the same move: 2 lines echoed');
  });

  test('a reload with sync again starts the daemon of the role in force; ldir stop (cleanstop=yes) stops it', {
    timeout: TEST_TIMEOUT,
  }, async () => {
    for (const d of [a, b]) d.writeConfig(CONF, config(d, true));
    const reloads = await Promise.all([a.reload(CONF), b.reload(CONF)]);
    for (const r of reloads) assert.equal(r.status, 0, r.stderr);
    assert.match(lab.syncDaemons(lab.directors[0]), /^master sync daemon/m, 'A keeps the role set by promote');
    assert.match(lab.syncDaemons(lab.directors[1]), /^backup sync daemon/m);
    const stops = await Promise.all([a.stop(CONF), b.stop(CONF)]);
    for (const r of stops) assert.equal(r.status, 0, r.stderr);
    for (const ns of lab.directors) assert.equal(lab.syncDaemons(ns).trim(), '', `${ns}: no sync daemon after stop`);
  });
});
