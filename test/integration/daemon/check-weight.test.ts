// The `ldir` binary (memory backend) with a real HTTP server on 127.0.0.x that reports its weight in a header, and an
// external check script that prints `weight=N`: the kernel weight follows what they report, within minweight..
// maxweight, and goes back to the configured weight when they stop reporting; `ldir status` and /metrics show it.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { sendControlRequest } from '../../../src/cli/control-client';
import { controlSocketPath, type RealStatus } from '../../../src/daemon/protocol';
import { ldirBinary } from '../../helpers/ldir-binary';
import { freePort } from '../../helpers/system';
import { sleep } from '../../helpers/wait';

let env: NodeJS.ProcessEnv = {};
let tmp = '';
let port = 0;
let metricsPort = 0;
let file = '';
let server: http.Server | undefined;
/** What the HTTP server puts in its X-LB-Weight header (undefined: no header). */
let reported: string | undefined = '5';

const ldir = ldirBinary(() => env);

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-checkweight-'));
  env = { ...process.env, LDIR_RUN_DIR: path.join(tmp, 'run'), LDIR_SOCKET_DIR: path.join(tmp, 'sock') };
  port = await freePort('127.0.0.2');
  metricsPort = await freePort('127.0.0.1');
  server = http.createServer((_req, res) => {
    if (reported !== undefined) res.setHeader('X-LB-Weight', reported);
    res.end('alive\n');
  });
  await new Promise<void>((r) => server?.listen(port, '127.0.0.2', r));
  file = path.join(tmp, 'site.cf');
});
after(async () => {
  await ldir(file, 'stop');
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('kernel weights follow the weights the checks report, within bounds; back to the configured weight without', async () => {
  const weightFile = path.join(tmp, 'external-weight');
  fs.writeFileSync(weightFile, 'weight=3\n');
  const script = path.join(tmp, 'check.sh');
  fs.writeFileSync(script, `#!/bin/sh\ncat '${weightFile}'\nexit 0\n`, { mode: 0o755 });
  fs.writeFileSync(
    file,
    `checkinterval=1
checktimeout=2
negotiatetimeout=2
metrics=127.0.0.1:${metricsPort}
logfile="${path.join(tmp, 'ldir.log')}"

virtual=127.0.0.1:80
\treal=127.0.0.2:${port} masq 10
\tchecktype=negotiate
\tservice=http
\trequest="/"
\treceive="alive"
\tweightheader=X-LB-Weight
\tmaxweight=20

virtual=127.0.0.1:81
\treal=127.0.0.3:81 masq 10
\tchecktype=external
\tcheckcommand=${script}
`,
  );
  const started = await ldir('--ipvs=memory', file, 'start');
  assert.equal(started.status, 0, started.stderr);
  const socketPath = controlSocketPath('site.cf', env['LDIR_SOCKET_DIR']);
  const real = async (vport: number): Promise<RealStatus | undefined> => {
    const r = await sendControlRequest(socketPath, { type: 'status' });
    assert.ok(r.ok);
    return r.result.virtualServices.find((v) => v.port === vport)?.reals[0];
  };
  /** Waits until the real of `vport` has kernel weight `want` (and, when given, reported weight `reportedWant`). */
  const waitWeight = async (
    vport: number,
    want: number,
    what: string,
    reportedWant?: number | null,
  ): Promise<RealStatus> => {
    let last: RealStatus | undefined;
    for (let i = 0; i < 300; i++) {
      last = await real(vport);
      if (last?.kernelWeight === want && (reportedWant === undefined || last.checkWeight === reportedWant)) return last;
      await sleep(50);
    }
    throw new Error(`${what}: kernel weight ${last?.kernelWeight} (reported ${last?.checkWeight}), wanted ${want}`);
  };

  const http5 = await waitWeight(80, 5, 'header 5');
  assert.equal(http5.checkWeight, 5);
  const ext = await waitWeight(81, 3, 'external weight=3');
  assert.equal(ext.checkWeight, 3);
  const text = await ldir(file, 'status');
  assert.match(text.stdout, /127\.0\.0\.2:\d+ .*REPORTED 5/);
  const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  assert.match(metrics, /ldir_real_server_reported_weight\{virtual="tcp:127\.0\.0\.1:80",real="127\.0\.0\.2:\d+"\} 5/);

  reported = '500';
  assert.equal((await waitWeight(80, 20, 'header 500, maxweight 20')).checkWeight, 20);
  reported = '0';
  const zero = await waitWeight(80, 0, 'header 0');
  assert.equal(zero.health, 'up', 'weight 0 is not a failure');
  reported = 'junk';
  await waitWeight(80, 10, 'a header that is not a number: the configured weight', null);
  reported = '7';
  await waitWeight(80, 7, 'header 7');
  reported = undefined;
  await waitWeight(80, 10, 'no header: the configured weight', null);

  fs.writeFileSync(weightFile, 'weight=12\n');
  await waitWeight(81, 10, 'external weight=12, bounded by the configured 10', 10);
  fs.writeFileSync(weightFile, 'nothing to say\n');
  await waitWeight(81, 10, 'external: no weight line', null);
  const stopped = await ldir(file, 'stop');
  assert.equal(stopped.status, 0, stopped.stderr);
});
