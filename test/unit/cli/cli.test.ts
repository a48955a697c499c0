// The ldir CLI: check, exit codes, config lookup, --json, ldirectord-style actions and the `ldirectord` name.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runCheck } from '../../../src/cli/check-command';
import { runLdirectordAction } from '../../../src/cli/ldirectord-actions';
import { runCli } from '../../../src/cli/run';
import { locateConfig } from '../../../src/config/locate';
import { fakeResolver, TEST_PROBES } from '../../helpers/config';
import { capture } from '../../helpers/cli-io';
import { holdPidFile } from '../../helpers/pid-lock';

const MAIN = join(__dirname, '..', '..', '..', 'src', 'main.js');
const VALID = 'checktimeout=3\nvirtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate\n\tlogin="u"\n\tpasswd="hunter2"\n';
const INVALID = 'checktimeout=0\nvirtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate\n\tbogus=1\n';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'ldir-cli-'));
}

describe('ldir check', () => {
  const dir = tempDir();
  const valid = join(dir, 'valid.cf');
  const invalid = join(dir, 'invalid.cf');
  writeFileSync(valid, VALID);
  writeFileSync(invalid, INVALID);

  test('valid: exit 0, nothing on stdout', async () => {
    const io = capture();
    assert.equal(await runCli(['check', valid], io), 0);
    assert.equal(io.out, '');
  });

  test('invalid: exit 2 and every error as PATH:LINE: message', async () => {
    const io = capture();
    assert.equal(await runCli(['check', invalid], io), 2);
    assert.deepEqual(io.err.trim().split('\n'), [
      `${invalid}:1: checktimeout must be a positive number of seconds, not "0"`,
      `${invalid}:4: unknown directive "bogus"`,
    ]);
  });

  test('warnings go to stderr with a warning: prefix and keep exit 0', async () => {
    const file = join(dir, 'warn.cf');
    writeFileSync(file, 'checkcount=2\nvirtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate\n');
    const io = capture();
    assert.equal(await runCli(['check', file], io), 0);
    assert.match(io.err, new RegExp(`^${file}:1: warning: checkcount is deprecated`));
  });

  test('--json prints the normalized model with secrets redacted', async () => {
    const io = capture();
    assert.equal(await runCli(['check', valid, '--json'], io), 0);
    const model = JSON.parse(io.out) as {
      virtualServices: Array<{ id: string; check: { passwd: string; login: string } }>;
    };
    assert.equal(model.virtualServices[0]?.id, 'tcp:192.0.2.1:80');
    assert.equal(model.virtualServices[0]?.check.login, 'u');
    assert.equal(model.virtualServices[0]?.check.passwd, '[redacted]');
    assert.doesNotMatch(io.out, /hunter2/);
  });

  test('a missing file exits 1 and names what was tried', async () => {
    const io = capture();
    assert.equal(await runCli(['check', join(dir, 'nope.cf')], io), 1);
    assert.match(io.err, /not found \(tried \/etc\/ha\.d\//);
  });

  test('--ipvs= (or LDIR_IPVS) picks the backend that reads the IPVS timeouts; an unknown one is a usage error', async () => {
    const file = join(dir, 'timeouts.cf');
    writeFileSync(file, 'ipvstimeouts=900 60 300\nvirtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate\n');
    const io = capture();
    assert.equal(await runCli(['check', '--ipvs=memory', file], io), 0);
    assert.equal(io.out, 'ipvs timeout: tcpfin 120 -> 60\n');
    assert.equal(await runCli(['check', '--ipvs=bogus', file], capture()), 255);
  });

  test('usage errors exit 255', async () => {
    for (const args of [
      ['check', '--frobnicate'],
      ['check', 'a', 'b'],
      ['convert'],
      ['convert', 'x', '--to', 'xml'],
      ['bogus-action'],
      [],
    ]) {
      assert.equal(await runCli(args, capture()), 255, args.join(' '));
    }
  });

  test('a YAML file is checked the same way, with line and column', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      'checktimeout: 3\nvirtuals:\n  - virtual: 192.0.2.1:80\n    real: [10.0.0.1:80 gate]\n    bogus: 1\n',
    );
    const io = capture();
    assert.equal(await runCli(['check', file], io), 2);
    assert.equal(io.err.trim(), `${file}:5:5: unknown directive "bogus"`);
  });

  test('config lookup: /etc/ha.d/NAME, then /etc/ha.d/conf/NAME, then the path; default ldirectord.cf', async () => {
    const ha = tempDir();
    mkdirSync(join(ha, 'conf'));
    writeFileSync(join(ha, 'conf', 'ldirectord.cf'), VALID);
    assert.equal(locateConfig(undefined, { haDirectory: ha }).path, join(ha, 'conf', 'ldirectord.cf'));
    assert.equal(locateConfig(undefined, { haDirectory: ha }).name, 'ldirectord');
    writeFileSync(join(ha, 'ldirectord.cf'), VALID);
    assert.equal(locateConfig(undefined, { haDirectory: ha }).path, join(ha, 'ldirectord.cf'));
    assert.equal(locateConfig(valid, { haDirectory: ha }).path, valid);
    assert.equal(locateConfig(valid).name, 'valid.cf');
    const io = capture();
    assert.equal(
      await runCheck(
        { json: false, locate: { haDirectory: ha }, load: { resolver: fakeResolver(), probes: TEST_PROBES } },
        io,
      ),
      0,
    );
  });
});

describe('ldirectord-style actions', () => {
  const dir = tempDir();
  const valid = join(dir, 'site.cf');
  const invalid = join(dir, 'broken.cf');
  writeFileSync(valid, VALID);
  writeFileSync(invalid, INVALID);

  test('a config error: exit 2 for the actions that load it; stop and status find the daemon by name and only warn; no pid file touched', async () => {
    const run = tempDir();
    writeFileSync(join(run, 'ldirectord.broken.cf.pid'), `${process.pid}\n`);
    for (const action of ['start', 'restart', 'try-restart', 'reload', 'force-reload'] as const) {
      const io = capture();
      assert.equal(
        await runLdirectordAction({ config: invalid, action, debug: false, runDirectory: run }, io),
        2,
        action,
      );
      assert.doesNotMatch(io.err, /warning/, action);
    }
    // The pid file names this process but nothing holds its lock: a stale pid file, whatever the file says.
    for (const [action, code] of [
      ['stop', 0],
      ['status', 1],
    ] as const) {
      const io = capture();
      assert.equal(
        await runLdirectordAction({ config: invalid, action, debug: false, runDirectory: run }, io),
        code,
        action,
      );
      assert.match(
        io.err,
        /ldir: warning: \S+broken\.cf has errors: a start, reload or restart would refuse it/,
        action,
      );
      assert.match(io.err, /ldir: warning: \S+broken\.cf:\d+: /, `${action}: each error, as ldir check prints it`);
    }
    assert.equal(execFileSync('cat', [join(run, 'ldirectord.broken.cf.pid')]).toString(), `${process.pid}\n`);
  });

  test('status: 3 stopped, 1 stale pid file, 1 when a daemon holds the pid file but does not answer on the control socket', async () => {
    const run = tempDir();
    const io = capture();
    assert.equal(
      await runLdirectordAction({ config: valid, action: 'status', debug: false, runDirectory: run }, io),
      3,
    );
    assert.match(io.out, /is stopped for/);
    writeFileSync(join(run, 'ldirectord.site.cf.pid'), '4242\n');
    const stale = capture();
    assert.equal(
      await runLdirectordAction({ config: valid, action: 'status', debug: false, runDirectory: run }, stale),
      1,
    );
    assert.match(stale.err, /stale pid file/);
    const held = holdPidFile(join(run, 'ldirectord.site.cf.pid'), 4242);
    try {
      const running = capture();
      const socketDirectory = tempDir();
      assert.equal(
        await runLdirectordAction(
          { config: valid, action: 'status', debug: false, runDirectory: run, socketDirectory },
          running,
        ),
        1,
      );
      assert.match(running.err, /running with pid: 4242/);
      assert.match(running.err, /not running|no daemon|does not answer|DAEMON_NOT_RUNNING/i);
    } finally {
      held.release();
    }
  });

  test('-d skips the log file test, as ldirectord', async () => {
    const file = join(dir, 'log.cf');
    writeFileSync(file, `logfile="/nonexistent-dir/ldir.log"\n${VALID}`);
    assert.equal(
      await runLdirectordAction({ config: file, action: 'reload', debug: false, runDirectory: tempDir() }, capture()),
      2,
    );
    assert.equal(
      await runLdirectordAction({ config: file, action: 'reload', debug: true, runDirectory: tempDir() }, capture()),
      1,
      'valid, not running',
    );
    const warned = capture();
    assert.equal(
      await runLdirectordAction({ config: file, action: 'status', debug: false, runDirectory: tempDir() }, warned),
      3,
    );
    assert.match(warned.err, /warning: .*log\.cf:1: /);
    const quiet = capture();
    assert.equal(
      await runLdirectordAction({ config: file, action: 'status', debug: true, runDirectory: tempDir() }, quiet),
      3,
    );
    assert.doesNotMatch(quiet.err, /warning/);
  });

  test('stop and try-restart when not running exit 0; reload when not running exits 1', async () => {
    const run = tempDir();
    assert.equal(
      await runLdirectordAction({ config: valid, action: 'stop', debug: false, runDirectory: run }, capture()),
      0,
    );
    assert.equal(
      await runLdirectordAction({ config: valid, action: 'try-restart', debug: false, runDirectory: run }, capture()),
      0,
    );
    assert.equal(
      await runLdirectordAction({ config: valid, action: 'reload', debug: false, runDirectory: run }, capture()),
      1,
    );
  });

  test('reload --dry-run: exit 1 when not running, as reload; exit 2 on a config error; --dry-run with another action is a usage error', async () => {
    const run = tempDir();
    const io = capture();
    assert.equal(
      await runLdirectordAction(
        { config: valid, action: 'reload', dryRun: true, json: true, debug: false, runDirectory: run },
        io,
      ),
      1,
    );
    assert.match(io.err, /ldir is stopped for/);
    assert.equal(io.out, '');
    const bad = capture();
    assert.equal(
      await runLdirectordAction(
        { config: invalid, action: 'reload', dryRun: true, debug: false, runDirectory: run },
        bad,
      ),
      2,
    );
    assert.match(bad.err, new RegExp(`${invalid.replace(/[.]/g, '\\.')}:\\d+: `));
    for (const args of [
      [valid, 'status', '--dry-run'],
      ['--dry-run', valid, 'start'],
      [valid, 'stop', '--dry-run'],
    ]) {
      const usage = capture();
      assert.equal(await runCli(args, usage), 255, args.join(' '));
      assert.match(usage.err, /--dry-run goes with reload only/);
    }
  });

  test('invoked through a symlink named ldirectord, the binary behaves the same as ldir', () => {
    const bin = tempDir();
    symlinkSync(MAIN, join(bin, 'ldirectord'));
    symlinkSync(MAIN, join(bin, 'ldir'));
    for (const args of [['check', invalid], [invalid, 'status'], ['--version']]) {
      const a = spawnSync(process.execPath, [join(bin, 'ldirectord'), ...args], { encoding: 'utf8' });
      const b = spawnSync(process.execPath, [join(bin, 'ldir'), ...args], { encoding: 'utf8' });
      assert.equal(a.status, b.status, args.join(' '));
      assert.equal(a.stdout, b.stdout);
      assert.equal(a.stderr, b.stderr);
    }
    const direct = spawnSync(join(bin, 'ldirectord'), [invalid, 'status'], { encoding: 'utf8' });
    assert.equal(direct.status, 3, `stopped, whatever the file says: ${direct.stderr}`);
    assert.match(direct.stderr, /warning: .*broken\.cf has errors/);
    assert.equal(
      spawnSync(join(bin, 'ldirectord'), [invalid, 'start'], { encoding: 'utf8' }).status,
      2,
      'start needs the file',
    );
  });
});
