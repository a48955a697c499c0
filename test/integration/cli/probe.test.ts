// `ldir probe` against real servers on loopback: every check once, results per real server, exit codes.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runProbe, type ProbeRow } from '../../../src/cli/probe-command';
import { runCli } from '../../../src/cli/run';
import { defaultCheckers } from '../../../src/checks/registry';
import { freePort } from '../../helpers/system';
import { capture } from '../../helpers/cli-io';

describe('ldir probe', () => {
  let server: Server;
  let port: number;
  let deadPort: number;
  let dir: string;
  let allUp: string;
  let someDown: string;

  before(async () => {
    port = await freePort('127.0.0.2');
    deadPort = await freePort('127.0.0.3');
    server = createServer((req, res) => {
      res.statusCode = req.url === '/health' ? 200 : 503;
      res.end(req.url === '/health' ? 'ok: ready\n' : 'down\n');
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.2', resolve));
    dir = mkdtempSync(join(tmpdir(), 'ldir-probe-'));
    allUp = join(dir, 'up.cf');
    writeFileSync(
      allUp,
      [
        'checktimeout=2',
        'negotiatetimeout=2',
        'virtual=127.0.0.10:80',
        `\treal=127.0.0.2:${port} masq`,
        '\tservice=http',
        '\trequest="/health"',
        '\treceive="ready"',
        '',
        'virtual=127.0.0.10:81',
        `\treal=127.0.0.2:${port} masq`,
        '\tchecktype=connect',
        '',
        'virtual=127.0.0.10:82',
        `\treal=127.0.0.3:${deadPort} masq`,
        '\tchecktype=off',
        '',
      ].join('\n'),
    );
    someDown = join(dir, 'down.cf');
    writeFileSync(
      someDown,
      [
        'checktimeout=2',
        'negotiatetimeout=2',
        'virtual=127.0.0.10:80',
        `\treal=127.0.0.2:${port} masq`,
        '\tservice=http',
        '\trequest="/health"',
        `\treal=127.0.0.3:${deadPort} masq`,
        '',
        'virtual=127.0.0.11:80',
        `\treal=127.0.0.2:${port} masq`,
        '\tservice=http',
        '\trequest="/other"',
        '',
      ].join('\n'),
    );
  });

  after(() => {
    server.close();
  });

  test('all up: exit 0, one row per real server with its check and reason; off is reported, not run', async () => {
    const io = capture();
    assert.equal(await runProbe({ config: allUp, json: true, checkers: defaultCheckers() }, io), 0, io.err);
    const rows = JSON.parse(io.out) as ProbeRow[];
    assert.deepEqual(
      rows.map((r) => [r.virtual, r.real, r.up]),
      [
        ['tcp:127.0.0.10:80', `127.0.0.2:${port}`, true],
        ['tcp:127.0.0.10:81', `127.0.0.2:${port}`, true],
        ['tcp:127.0.0.10:82', `127.0.0.3:${deadPort}`, null],
      ],
    );
    assert.equal(rows[0]?.check, 'negotiate/http');
    assert.equal(rows[1]?.check, 'connect');
  });

  test('any down: exit 1 with the reasons; --virtual narrows the run', async () => {
    const io = capture();
    assert.equal(await runProbe({ config: someDown, json: false, checkers: defaultCheckers() }, io), 1);
    assert.match(io.out, new RegExp(`127\\.0\\.0\\.3:${deadPort}\\s+DOWN negotiate/http .*refused`));
    assert.match(io.out, /tcp:127\.0\.0\.11:80\n.*DOWN .*status 503/);
    const one = capture();
    assert.equal(
      await runProbe({ config: someDown, json: true, virtual: '127.0.0.11:80', checkers: defaultCheckers() }, one),
      1,
    );
    assert.deepEqual(
      (JSON.parse(one.out) as ProbeRow[]).map((r) => r.virtual),
      ['tcp:127.0.0.11:80'],
    );
    assert.equal(
      await runProbe(
        { config: someDown, json: true, virtual: '127.0.0.99:80', checkers: defaultCheckers() },
        capture(),
      ),
      255,
    );
  });

  test('a configuration error exits 2; an unsupported service is refused at configuration time', async () => {
    const bad = join(dir, 'bad.cf');
    writeFileSync(bad, 'virtual=127.0.0.10:80\n\treal=127.0.0.2:80 direct\n');
    const io = capture();
    assert.equal(await runCli(['probe', bad], io), 2);
    assert.match(io.err, /forward method must be gate, masq, ipip, gue or gre/);
    const unsupported = capture();
    assert.equal(
      await runProbe(
        {
          config: allUp,
          json: false,
          checkers: defaultCheckers(),
          unsupported: (s) => (s === 'http' ? 'no driver' : undefined),
        },
        unsupported,
      ),
      2,
    );
    assert.match(unsupported.err, /service=http cannot be checked: no driver/);
  });
});
