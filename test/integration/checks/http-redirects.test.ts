// `httpredirect` (no | samehost | any) against loopback servers: a real server on 127.0.0.1 that redirects to itself
// (relative, its own address, the virtualhost name) and to another host on 127.0.40.151 that counts what reaches it.
// Every test runs through undici alone and with the native fast path (which hands redirects to undici).
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type * as net from 'node:net';
import { after, before, test } from 'node:test';
import { createHttpChecker } from '../../../src/checks/http';
import { openTcpProber } from '../../../src/checks/tcp-prober';
import type { Checker, CheckJob, CheckResult } from '../../../src/checks/types';
import { closeServer, listen, makeJob, NEVER } from '../../helpers/check-job';
import { IN_CI } from '../../helpers/system';

const OTHER_HOST = '127.0.40.151';
const VHOST = 'www.example.test';
const native = openTcpProber();
const modes: [string, Checker][] = [['undici', createHttpChecker()]];
if (native) modes.push(['native', createHttpChecker({ prober: native })]);
else assert.ok(!IN_CI, 'native addon not built: the fast path must be tested in CI');

const servers: net.Server[] = [];
let realPort = 0;
let otherPort = 0;
/** Requests that reached the other host. */
let otherHits = 0;

before(async () => {
  const other = http.createServer((req, res) => {
    otherHits++;
    res.end(`internal admin ${req.url ?? ''}`);
  });
  servers.push(other);
  otherPort = await listen(other, OTHER_HOST);
  const real = http.createServer((req, res) => {
    const url = req.url ?? '/';
    const redirect = (location: string): void => void res.writeHead(302, { location }).end('moved\n');
    if (url === '/ok') res.end(`all ok host=${req.headers.host ?? ''}`);
    else if (url === '/relative') redirect('/ok');
    else if (url === '/own-address') redirect(`http://127.0.0.1:${realPort}/ok`);
    else if (url === '/virtualhost') redirect(`http://${VHOST}:${realPort}/ok`);
    else if (url === '/other-host') redirect(`http://${OTHER_HOST}:${otherPort}/internal-admin?token=s3cret`);
    else if (url === '/ftp') redirect('ftp://127.0.0.1/x');
    else res.writeHead(404).end('not found');
  });
  servers.push(real);
  realPort = await listen(real, '127.0.0.1');
});
after(async () => {
  native?.close();
  await Promise.all(servers.map(closeServer));
});

function job(request: string, extra: Partial<CheckJob> = {}): CheckJob {
  return makeJob({ service: 'http', port: realPort, request, receive: 'all ok', ...extra });
}

function assertVerdict(r: CheckResult, up: boolean, reason: RegExp): void {
  assert.equal(r.up, up, `expected ${up ? 'up' : 'down'}, got ${JSON.stringify(r)}`);
  assert.match(r.reason, reason);
}

for (const [mode, check] of modes) {
  test(`${mode}: by default (samehost) a redirect to another host is not followed, and the reason hides its query`, async () => {
    const before = otherHits;
    const r = await check(job('/other-host'), NEVER);
    assertVerdict(
      r,
      false,
      new RegExp(
        `^status 302: redirect to another host not followed \\(http://${OTHER_HOST.replaceAll('.', '\\.')}:${otherPort}/internal-admin; httpredirect=samehost\\)$`,
      ),
    );
    assert.doesNotMatch(r.reason, /s3cret/);
    assert.equal(otherHits, before, 'nothing was sent to the other host');
    // The same with the policy written out.
    assertVerdict(
      await check(job('/other-host', { httpRedirect: 'samehost' }), NEVER),
      false,
      /redirect to another host not followed/,
    );
    assert.equal(otherHits, before);
  });

  test(`${mode}: samehost follows a relative redirect, one to the real's own address, and one to the virtualhost name (to the real's address)`, async () => {
    assertVerdict(await check(job('/relative'), NEVER), true, /^status 200, body matched$/);
    assertVerdict(await check(job('/own-address'), NEVER), true, /^status 200, body matched$/);
    // The name is never resolved: the hop connects to 127.0.0.1 and sends the name as Host.
    const named = job('/virtualhost', { httpHost: VHOST, receive: `host=${VHOST}:\\d+$` });
    assertVerdict(await check(named, NEVER), true, /^status 200, body matched$/);
    // Without that virtualhost the name is another host.
    assertVerdict(
      await check(job('/virtualhost'), NEVER),
      false,
      /redirect to another host not followed \(http:\/\/www\.example\.test:\d+\/ok;/,
    );
  });

  test(`${mode}: any follows a redirect to another host, as ldirectord`, async () => {
    const before = otherHits;
    assertVerdict(
      await check(
        job('/other-host', { httpRedirect: 'any', receive: 'internal admin /internal-admin\\?token=s3cret' }),
        NEVER,
      ),
      true,
      /^status 200, body matched$/,
    );
    assert.equal(otherHits, before + 1);
  });

  test(`${mode}: no judges the redirect as the answer, by httpstatus`, async () => {
    assertVerdict(await check(job('/relative', { httpRedirect: 'no' }), NEVER), false, /^status 302$/);
    assertVerdict(
      await check(job('/relative', { httpRedirect: 'no', httpStatus: [[302, 302]], receive: 'moved' }), NEVER),
      true,
      /^status 302, body matched$/,
    );
    const before = otherHits;
    assertVerdict(await check(job('/other-host', { httpRedirect: 'no' }), NEVER), false, /^status 302$/);
    assert.equal(otherHits, before);
  });

  test(`${mode}: a redirect to a scheme other than http(s) is not followed under any policy`, async () => {
    for (const httpRedirect of ['samehost', 'any'] as const) {
      assertVerdict(
        await check(job('/ftp', { httpRedirect }), NEVER),
        false,
        /^redirect to unsupported URL ftp:\/\/127\.0\.0\.1\/x$/,
      );
    }
  });
}
