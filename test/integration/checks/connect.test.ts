// connect checker against loopback listeners (127.0.0.1 and ::1) and refused ports.
import { after, before, test } from 'node:test';
import type * as net from 'node:net';
import { connectCheck } from '../../../src/checks/connect';
import { assertResult, closeServer, listen, makeJob, NEVER, refusedPort, silentServer } from '../../helpers/check-job';

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
  await Promise.all(servers.map(closeServer));
});

for (const host of ['127.0.0.1', '::1']) {
  test(`connect to a listener on ${host} is up`, async () => {
    const r = await connectCheck(makeJob({ type: 'connect', address: host, port: ports[host] as number }), NEVER);
    assertResult(r, true, /connected/, 1200);
  });

  test(`connect to a closed port on ${host} is down: refused`, async () => {
    const r = await connectCheck(makeJob({ type: 'connect', address: host, port: await refusedPort(host) }), NEVER);
    assertResult(r, false, /^refused$/, 1200);
  });
}

test('connect honours an outer abort', async () => {
  const ctl = new AbortController();
  ctl.abort();
  const r = await connectCheck(makeJob({ type: 'connect', port: ports['127.0.0.1'] as number }), ctl.signal);
  assertResult(r, false, /timeout/, 500);
});
