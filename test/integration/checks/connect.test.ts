// connect checker against loopback listeners (127.0.0.1 and ::1) and refused ports: over Node sockets, and through
// the native TCP prober.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type * as net from 'node:net';
import { connectCheck, createConnectChecker } from '../../../src/checks/connect';
import { openTcpProber } from '../../../src/checks/tcp-prober';
import type { Checker } from '../../../src/checks/types';
import {
  assertResult,
  closeServer,
  listen,
  makeJob,
  NEVER,
  refusedPort,
  silentServer,
  assertNotAtTimeout,
  UNREACHED_MS,
} from '../../helpers/check-job';
import { IN_CI } from '../../helpers/system';

const prober = openTcpProber();
const modes: [string, Checker][] = [['node', connectCheck]];
if (prober) modes.push(['native', createConnectChecker(prober)]);
else assert.ok(!IN_CI, 'native addon not built: the native connect check must be tested in CI');

const servers: net.Server[] = [];
const ports: Record<string, number> = {};

before(async () => {
  for (const host of ['127.0.0.1', '::1']) {
    const s = silentServer();
    servers.push(s);
    ports[host] = await listen(s, host);
  }
});
after(async () => {
  prober?.close();
  await Promise.all(servers.map(closeServer));
});

for (const [mode, check] of modes) {
  for (const host of ['127.0.0.1', '::1']) {
    test(`${mode} connect to a listener on ${host} is up`, async () => {
      const r = await check(makeJob({ type: 'connect', address: host, port: ports[host] as number }), NEVER);
      assertResult(r, true, /connected/);
    });

    test(`${mode} connect to a closed port on ${host} is down: refused`, async () => {
      const r = await check(makeJob({ type: 'connect', address: host, port: await refusedPort(host) }), NEVER);
      assertResult(r, false, /^refused$/);
    });
  }

  test(`${mode} connect honours an outer abort`, async () => {
    const ctl = new AbortController();
    ctl.abort();
    const job = makeJob({
      type: 'connect',
      port: ports['127.0.0.1'] as number,
      checkTimeoutMs: UNREACHED_MS,
      negotiateTimeoutMs: UNREACHED_MS,
    });
    const r = await check(job, ctl.signal);
    assertResult(r, false, /timeout/);
    assertNotAtTimeout(r, 'an aborted connect');
  });
}
