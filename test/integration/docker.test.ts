// The Dockerfile: builds the image, and the image validates a mounted configuration with `check` (exit 0 / 2), runs
// main.js with the addon, has ipvsadm and no compiler.
//
// Skips: when there is no Docker engine to build with (no `docker` command, or `docker info` cannot reach a daemon),
// the test is skipped with that reason, in CI too: CI machines may have no Docker. When an engine answers, nothing
// is skipped, under CI=true or not: a build that fails (base image not pullable included) fails the test, because a
// broken Dockerfile must not pass unnoticed where it can be built.
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';

const ROOT = path.resolve(__dirname, '../../..');
const IMAGE = `ldir-test:${process.pid}`;
let built = false;

function docker(args: string[], timeoutMs = 120_000): SpawnSyncReturns<string> {
  return spawnSync('docker', args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
}

/** Why the image cannot be built here (no Docker engine), or undefined when an engine answers. */
function noEngine(): string | undefined {
  const version = spawnSync('docker', ['--version'], { encoding: 'utf8', timeout: 10_000 });
  if (version.error || version.status !== 0) return 'docker is not installed';
  const info = docker(['info', '--format', '{{.ServerVersion}}'], 20_000);
  if (info.status !== 0) {
    const why = (info.stderr || info.stdout || String(info.error ?? '')).trim().split('\n').pop() ?? '';
    return `no Docker engine reachable (docker info: ${why})`;
  }
  return undefined;
}

const skip = noEngine();

after(() => {
  if (built) docker(['image', 'rm', '-f', IMAGE], 60_000);
});

test('docker build: multi-stage image; check on a mounted configuration; addon, ipvsadm, no compiler', { skip, timeout: 1_800_000 }, () => {
  const build = docker(['build', '-t', IMAGE, ROOT], 1_500_000);
  assert.equal(build.status, 0, `docker build failed:\n${(build.stderr || build.stdout).slice(-4000)}`);
  built = true;

  const conf = path.join(ROOT, 'conf');
  const check = docker(['run', '--rm', '-v', `${conf}:/etc/ldir:ro`, IMAGE, 'check', '/etc/ldir/ldirectord.cf.example']);
  assert.equal(check.status, 0, check.stderr);
  const quick = docker(['run', '--rm', '-v', `${conf}:/etc/ldir:ro`, IMAGE, 'check', '/etc/ldir/quickstart.cf']);
  assert.equal(quick.status, 0, quick.stderr);

  // A broken file: exit 2 with PATH:LINE, as on the host.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-docker-'));
  try {
    fs.writeFileSync(path.join(dir, 'ldirectord.cf'), 'virtual=192.0.2.1:80\n\treal=198.51.100.1:80 gate\n\tnonsense=1\n');
    const bad = docker(['run', '--rm', '-v', `${dir}:/etc/ldir:ro`, IMAGE, 'check', '/etc/ldir/ldirectord.cf']);
    assert.equal(bad.status, 2, bad.stderr);
    assert.match(bad.stderr, /\/etc\/ldir\/ldirectord\.cf:3: .*nonsense/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }

  const version = docker(['run', '--rm', IMAGE, '--version']);
  assert.equal(version.status, 0, version.stderr);
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.equal(version.stdout.trim(), `ldir ${pkg.version}`);

  // The default command is the foreground daemon on /etc/ldir/ldirectord.cf.
  const inspect = docker(['image', 'inspect', '--format', '{{json .Config.Entrypoint}} {{json .Config.Cmd}}', IMAGE]);
  assert.equal(inspect.stdout.trim(), '["node","/opt/ldir/dist/src/main.js"] ["--foreground","/etc/ldir/ldirectord.cf","start"]');

  // Runtime stage: the addon loads, ipvsadm is there, the compiler is not; ldir and ldirectord are on PATH.
  const addon = docker(['run', '--rm', '--entrypoint', 'node', IMAGE, '-e',
    "require('/opt/ldir/dist/src/native/addon.js').loadNativeAddon(); console.log('addon ok')"]);
  assert.equal(addon.stdout.trim(), 'addon ok', addon.stderr);
  const tools = docker(['run', '--rm', '--entrypoint', 'sh', IMAGE, '-c',
    'command -v ipvsadm; command -v ldir; command -v ldirectord; command -v g++ || echo no-compiler; command -v make || echo no-make']);
  assert.equal(tools.status, 0, tools.stderr);
  assert.deepEqual(tools.stdout.trim().split('\n'), ['/usr/sbin/ipvsadm', '/usr/local/bin/ldir', '/usr/local/sbin/ldirectord', 'no-compiler', 'no-make']);
});
