// runCheck: check types, connect vs ping for UDP virtual services, negotiate by service, unsupported services.
import assert from 'node:assert/strict';
import type * as net from 'node:net';
import { after, before, test } from 'node:test';
import { runCheck } from '../../../src/checks/dispatch';
import { defaultCheckers } from '../../../src/checks/registry';
import type { Checker, CheckerTable } from '../../../src/checks/types';
import {
  assertResult,
  closeServer,
  listen,
  makeJob,
  NEVER,
  silentServer,
  assertNotAtTimeout,
  UNREACHED_MS,
} from '../../helpers/check-job';

let server: net.Server;
let port = 0;
before(async () => {
  server = silentServer();
  port = await listen(server, '127.0.0.1');
});
after(() => closeServer(server));

/** A table whose checkers only say who they are. */
function spyTable(): CheckerTable {
  const named =
    (name: string): Checker =>
    async () => ({ up: true, reason: name, durationMs: 0 });
  return {
    connect: named('connect'),
    ping: named('ping'),
    external: named('external'),
    http: named('http'),
    none: named('none'),
  };
}

test('types on/off/ping/external go to their checkers', async () => {
  const t = spyTable();
  assertResult(await runCheck(makeJob({ type: 'on' }), 'negotiate', NEVER, t), true, /on/);
  assertResult(await runCheck(makeJob({ type: 'off' }), 'negotiate', NEVER, t), false, /off/);
  assert.equal((await runCheck(makeJob({ type: 'ping' }), 'negotiate', NEVER, t)).reason, 'ping');
  assert.equal((await runCheck(makeJob({ type: 'external' }), 'negotiate', NEVER, t)).reason, 'external');
  assert.equal((await runCheck(makeJob({ type: 'external-perl' }), 'connect', NEVER, t)).reason, 'external');
});

test('connect is a ping on UDP virtual services; combined follows kind', async () => {
  const t = spyTable();
  assert.equal((await runCheck(makeJob({ type: 'connect', protocol: 'tcp' }), 'connect', NEVER, t)).reason, 'connect');
  assert.equal(
    (await runCheck(makeJob({ type: 'connect', protocol: 'fwm' }), 'negotiate', NEVER, t)).reason,
    'connect',
  );
  assert.equal((await runCheck(makeJob({ type: 'connect', protocol: 'udp' }), 'connect', NEVER, t)).reason, 'ping');
  assert.equal((await runCheck(makeJob({ type: 'combined', service: 'http' }), 'negotiate', NEVER, t)).reason, 'http');
  assert.equal((await runCheck(makeJob({ type: 'combined', service: 'http' }), 'connect', NEVER, t)).reason, 'connect');
  assert.equal((await runCheck(makeJob({ type: 'negotiate', service: 'http' }), 'connect', NEVER, t)).reason, 'http');
});

test('a service without a checker is down: not supported', async () => {
  assertResult(
    await runCheck(makeJob({ service: 'oracle' }), 'negotiate', NEVER, {}),
    false,
    /^service oracle not supported$/,
  );
  assertResult(await runCheck(makeJob({ type: 'ping' }), 'negotiate', NEVER, {}), false, /not supported/);
});

test('a checker that breaks the contract (throws) still gives a result', async () => {
  const bad: Checker = () => {
    throw new Error('boom');
  };
  assertResult(await runCheck(makeJob({ service: 'http' }), 'negotiate', NEVER, { http: bad }), false, /boom/);
});

test('the default table runs real checkers', async () => {
  const table = defaultCheckers();
  for (const key of [
    'connect',
    'ping',
    'external',
    'http',
    'https',
    'http_proxy',
    'simpletcp',
    'nntp',
    'sip',
    'dns',
    'none',
    'smtp',
    'submission',
    'pop',
    'pops',
    'imap',
    'imaps',
    'ftp',
    'ldap',
    'ldaps',
    'mysql',
    'pgsql',
    'oracle',
    'radius',
  ] as const) {
    assert.equal(typeof table[key], 'function', key);
  }
  assertResult(await runCheck(makeJob({ type: 'connect', port }), 'connect', NEVER, table), true, /connected/);
  assertResult(await runCheck(makeJob({ service: 'none' }), 'negotiate', NEVER, table), true, /none/);
  // At its negotiatetimeout: its checktimeout is one the test never waits for.
  const nntp = makeJob({
    type: 'negotiate',
    service: 'nntp',
    port,
    negotiateTimeoutMs: 300,
    checkTimeoutMs: UNREACHED_MS,
  });
  const r = await runCheck(nntp, 'negotiate', NEVER, table);
  assertResult(r, false, /^timeout$/, 250);
  assertNotAtTimeout(r, 'nntp at its negotiatetimeout');
});
