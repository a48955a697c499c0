// Secrets stay out of every output of the real binary: `ldir check` (text and --json), `convert`, `probe`, `reload` and
// `reload --dry-run` answers, `status`, and the daemon's log, with a configuration that holds a RADIUS secret and
// password, database and POP passwords and an SMTP password (memory backend, real servers on loopback; issue 19,
// item 1). The POP server is hostile: it repeats the password in its refusal, which becomes the check's reason.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ldirBinary, type LdirBinaryRun } from '../../helpers/ldir-binary';
import { freePort } from '../../helpers/system';
import { eventually } from '../../helpers/wait';

const SECRETS = ['RADSHARED444', 'PLAINPW555', 'DBSECRET222', 'SMTPPW333', 'POPSECRET666'] as const;

let tmp = '';
let env: NodeJS.ProcessEnv = {};
let server: http.Server | undefined;
let pop: net.Server | undefined;
let port = 0;
let popPort = 0;
let metricsPort = 0;
const ldir = ldirBinary(() => env);

/** Asserts that no secret appears in what a run printed; returns the run. */
function clean(r: LdirBinaryRun, what: string): LdirBinaryRun {
  for (const s of SECRETS) {
    assert.ok(!r.stdout.includes(s), `${what}: ${s} on stdout:\n${r.stdout}`);
    assert.ok(!r.stderr.includes(s), `${what}: ${s} on stderr:\n${r.stderr}`);
  }
  return r;
}

/** A valid configuration with every kind of secret; `broken` writes two of them unquoted and one unterminated. */
function config(broken: boolean): string {
  return [
    'checkinterval=1',
    'checktimeout=1',
    `metrics=127.0.0.1:${metricsPort}`,
    `logfile="${path.join(tmp, 'ldir.log')}"`,
    'smtp=127.0.0.1:25',
    'smtplogin=alerts',
    'smtppasswd=SMTPPW333',
    'virtual=127.0.0.1:8080',
    `\treal=127.0.0.5:${port} masq 3`,
    '\tchecktype=connect',
    'virtual=127.0.0.1:1812',
    '\treal=127.0.0.6:1812 gate',
    '\tservice=radius',
    '\tprotocol=udp',
    '\tlogin="probe"',
    broken ? '\tsecret=RADSHARED444' : '\tsecret="RADSHARED444"',
    broken ? '\tpasswd=PLAINPW555' : '\tpasswd="PLAINPW555"',
    'virtual=127.0.0.1:3306',
    '\treal=127.0.0.7:3306 gate',
    '\tservice=mysql',
    '\tlogin="probe"',
    broken ? '\tpasswd="DBSECRET222' : '\tpasswd="DBSECRET222"',
    'virtual=127.0.0.1:110',
    `\treal=127.0.0.8:${popPort} masq`,
    '\tservice=pop',
    '\tlogin="probe"',
    '\tpasswd="POPSECRET666"',
    `\tmonitorfile="${path.join(tmp, 'monitor.log')}"`,
    '',
  ].join('\n');
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-secrets-'));
  env = {
    ...process.env,
    LDIR_RUN_DIR: path.join(tmp, 'run'),
    LDIR_SOCKET_DIR: path.join(tmp, 'sock'),
    LDIR_STATE_DIR: path.join(tmp, 'state'),
  };
  port = await freePort('127.0.0.5');
  metricsPort = await freePort('127.0.0.1');
  server = http.createServer((_q, r) => r.end('ok'));
  await new Promise<void>((r) => server?.listen(port, '127.0.0.5', r));
  // A POP server that refuses every login, quoting the password it was sent.
  popPort = await freePort('127.0.0.8');
  pop = net.createServer((socket) => {
    socket.on('error', () => undefined);
    socket.write('+OK ready\r\n');
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      for (let nl = buffered.indexOf('\n'); nl !== -1; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (line.startsWith('PASS ')) socket.end(`-ERR password ${line.slice(5)} is wrong\r\n`);
        else socket.write('+OK\r\n');
      }
    });
  });
  await new Promise<void>((r) => pop?.listen(popPort, '127.0.0.8', r));
});

after(async () => {
  const file = path.join(tmp, 'site.cf');
  if (fs.existsSync(file)) {
    fs.writeFileSync(file, config(false));
    await ldir(file, 'stop');
  }
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await new Promise((r) => pop?.close(r));
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('secrets in the output of the ldir binary', () => {
  test("ldir check: a valid file's --json model and a broken file's errors (text and --json) hold no secret", async () => {
    const good = path.join(tmp, 'good.cf');
    const bad = path.join(tmp, 'bad.cf');
    fs.writeFileSync(good, config(false));
    fs.writeFileSync(bad, config(true));
    const json = clean(await ldir('check', '--json', good), 'check --json of a valid file');
    assert.equal(json.status, 0, json.stderr);
    assert.match(json.stdout, /\[redacted\]/);
    for (const args of [
      ['check', bad],
      ['check', '--json', bad],
    ]) {
      const r = clean(await ldir(...args), args.join(' '));
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /bad\.cf:16: secret value must be in double quotes/);
      assert.match(r.stderr, /bad\.cf:17: passwd value must be in double quotes/);
      assert.match(r.stderr, /bad\.cf:22: passwd value .*closing double quote is missing/);
    }
    const converted = clean(await ldir('convert', bad, '--to', 'yaml'), 'convert of a broken file');
    assert.equal(converted.status, 2);
    // ldir probe: the hostile POP server's refusal is the reason, the password hidden in it.
    const probe = clean(await ldir('probe', good, '--virtual', '127.0.0.1:110'), 'probe');
    assert.equal(probe.status, 1, probe.stderr);
    assert.match(probe.stdout, /login rejected: -ERR password \[redacted\] is wrong/);
  });

  test('a running daemon: reload and reload --dry-run answers, status and the log hold no secret', async () => {
    const file = path.join(tmp, 'site.cf');
    const log = path.join(tmp, 'ldir.log');
    fs.writeFileSync(file, config(false));
    const started = clean(await ldir('--ipvs=memory', file, 'start'), 'start');
    assert.equal(started.status, 0, started.stderr);
    // The radius and mysql checks fail (nothing listens), the POP check with the server's refusal: all logged.
    await eventually(
      'failed checks of the radius and POP reals in the log',
      () => {
        const text = fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '';
        return /127\.0\.0\.6/.test(text) && /127\.0\.0\.8.*login rejected/.test(text) ? true : undefined;
      },
      20_000,
      100,
    );
    const status = clean(await ldir('--json', file, 'status'), 'status --json');
    assert.match(
      status.stdout,
      /login rejected: -ERR password \[redacted\] is wrong/,
      'the reason is shown, the password hidden',
    );

    fs.writeFileSync(file, config(true));
    const reload = clean(await ldir(file, 'reload'), 'reload');
    assert.equal(reload.status, 2, reload.stderr);
    assert.match(reload.stderr, /site\.cf:16: secret value must be in double quotes/);
    const preview = clean(await ldir('--json', file, 'reload', '--dry-run'), 'reload --dry-run --json');
    assert.equal(preview.status, 2, preview.stderr);
    // The CLI refuses those before it asks the daemon; the daemon's own reload (SIGHUP, as autoreload) refuses and logs.
    const pid = Number(fs.readFileSync(path.join(tmp, 'run', 'ldirectord.site.cf.pid'), 'utf8').trim());
    process.kill(pid, 'SIGHUP');
    await eventually(
      'the refused reload in the log',
      () =>
        fs
          .readFileSync(log, 'utf8')
          .split('\n')
          .filter((l) => l.includes('reload refused')).length >= 1
          ? true
          : undefined,
      20_000,
      100,
    );
    clean(await ldir('--json', file, 'status'), 'status --json');

    const text = fs.readFileSync(log, 'utf8');
    for (const s of SECRETS)
      assert.ok(
        !text.includes(s),
        `${s} in the daemon log:\n${text
          .split('\n')
          .filter((l) => l.includes(s))
          .join('\n')}`,
      );
    const monitor = fs.readFileSync(path.join(tmp, 'monitor.log'), 'utf8');
    assert.match(
      monitor,
      /\[down\] login rejected: -ERR password \[redacted\] is wrong/,
      'the monitorfile has the reason, not the password',
    );
    assert.match(
      text,
      /site\.cf:16: secret value must be in double quotes/,
      'the log still says what is wrong and where',
    );
    fs.writeFileSync(file, config(false));
    assert.equal((await ldir(file, 'stop')).status, 0);
  });
});
