// The connect check of an SCTP service opens an SCTP association, never a TCP connection: through the native engine
// (one probe, and the engine's scheduled rounds), while Node sockets and an addon built without SCTP probes refuse
// with their reason. This host may have no SCTP in its kernel: a TCP listener on the port proves either way that no
// TCP connection was made (an association to it is refused, or the socket cannot be made: EPROTONOSUPPORT). Real
// associations through a virtual service are shown in the VM (test/kernel/guest/sctp-nat.test.ts).
import assert from 'node:assert/strict';
import type * as net from 'node:net';
import { after, before, test } from 'node:test';
import {
  connectCheck,
  createConnectChecker,
  SCTP_NEEDS_ADDON,
  SCTP_NEEDS_NEWER_ADDON,
} from '../../../src/checks/connect';
import { runCheck } from '../../../src/checks/dispatch';
import type { CheckTarget } from '../../../src/checks/jobs';
import { defaultCheckers } from '../../../src/checks/registry';
import { CheckScheduler, type CheckRecord } from '../../../src/checks/scheduler';
import { openTcpProber, type TcpProber } from '../../../src/checks/tcp-prober';
import { systemClock } from '../../../src/clock';
import { closeServer, listen, makeJob, NEVER, silentServer } from '../../helpers/check-job';
import { IN_CI } from '../../helpers/system';
import { eventually } from '../../helpers/wait';

/** How an association to a port where only TCP listens fails: refused (SCTP answers ABORT), or no SCTP here. */
const NOT_TCP = /^(refused|protocol not supported by this kernel \(for SCTP: load the sctp module\))$/;

let server: net.Server;
let port = 0;
let prober: TcpProber | undefined;

before(async () => {
  server = silentServer();
  port = await listen(server, '127.0.0.1');
  prober = openTcpProber();
});
after(async () => {
  prober?.close();
  await closeServer(server);
});

/** The prober, or skips (fails in CI: the addon is built there). */
function need(t: { skip(msg: string): void }): TcpProber | undefined {
  if (!prober) {
    assert.ok(!IN_CI, 'native addon not built');
    t.skip('native addon not built');
  }
  return prober;
}

const sctpJob = (): ReturnType<typeof makeJob> =>
  makeJob({ type: 'connect', protocol: 'sctp', port, checkTimeoutMs: 2000 });

test('the engine lists SCTP among its transports', (t) => {
  const p = need(t);
  if (!p) return;
  assert.deepEqual(p.protocols, ['tcp', 'sctp']);
});

test('a TCP connect to the listener is up (the control: the port is open to TCP)', async (t) => {
  const p = need(t);
  if (!p) return;
  const r = await createConnectChecker(p)(makeJob({ type: 'connect', port }), NEVER);
  assert.equal(r.up, true, JSON.stringify(r));
});

test('an SCTP connect check through the engine opens an association, not a TCP connection', async (t) => {
  const p = need(t);
  if (!p) return;
  const outcome = await p.probe('127.0.0.1', port, 2000, NEVER, undefined, 'sctp');
  assert.ok(outcome.error === 'ECONNREFUSED' || outcome.error === 'EPROTONOSUPPORT', JSON.stringify(outcome));
  const r = await createConnectChecker(p)(sctpJob(), NEVER);
  assert.equal(r.up, false, JSON.stringify(r));
  assert.match(r.reason, NOT_TCP);
});

test('an SCTP connect check through the dispatcher and the default checkers takes the same path', async (t) => {
  const p = need(t);
  if (!p) return;
  const r = await runCheck(sctpJob(), 'connect', NEVER, defaultCheckers({ tcpProber: p }));
  assert.equal(r.up, false, JSON.stringify(r));
  assert.match(r.reason, NOT_TCP);
});

test('without the addon an SCTP connect check is down with the reason, and never tries TCP', async () => {
  const r = await connectCheck(sctpJob(), NEVER);
  assert.deepEqual(r, { up: false, reason: SCTP_NEEDS_ADDON, durationMs: 0 });
  const viaTable = await runCheck(sctpJob(), 'connect', NEVER, defaultCheckers());
  assert.equal(viaTable.reason, SCTP_NEEDS_ADDON);
});

test('an addon built without SCTP probes: down, rebuild it', async (t) => {
  const p = need(t);
  if (!p) return;
  const tcpOnly: TcpProber = {
    accepts: (a) => p.accepts(a),
    probe: (...args) => p.probe(...args),
    close: () => undefined,
  };
  const r = await createConnectChecker(tcpOnly)(sctpJob(), NEVER);
  assert.deepEqual(r, { up: false, reason: SCTP_NEEDS_NEWER_ADDON, durationMs: 0 });
});

test("the engine runs an SCTP connect check's rounds itself, over SCTP", async (t) => {
  const p = need(t);
  const offload = p?.roundOffload?.(systemClock());
  if (!p || !offload) return;
  const started: number[] = [];
  const records: CheckRecord[] = [];
  const checkers = defaultCheckers({ tcpProber: p });
  const s = new CheckScheduler({
    clock: systemClock(),
    run: (job, kind, signal) => runCheck(job, kind, signal, checkers),
    onCheck: (r) => records.push(r),
    offload: {
      start: (spec, deliver) => {
        const id = offload.start(spec, deliver);
        if (id !== undefined) started.push(id);
        return id;
      },
      stop: (id) => offload.stop(id),
      statuses: () => offload.statuses(),
      takeQuiet: (visit) => offload.takeQuiet(visit),
      takeQuietCounts: (visit) => offload.takeQuietCounts(visit),
      close: () => offload.close(),
    },
  });
  const target: CheckTarget = {
    identity: 'sctp',
    job: sctpJob(),
    connectsBetweenNegotiates: 0,
    failureCount: 1,
    riseCount: 1,
    intervalMs: 50,
    members: [{ virtualId: 'sctp:192.0.2.10:80', realKey: `127.0.0.1:${port}` }],
  };
  try {
    s.sync([target]);
    await eventually('a round of the SCTP check', () => (records.length > 0 ? true : undefined), 5_000, 20);
    assert.equal(started.length, 1, 'the engine took the check');
    const first = records[0] as CheckRecord;
    assert.equal(first.result.up, false, JSON.stringify(first.result));
    assert.match(first.result.reason, NOT_TCP);
  } finally {
    s.stop();
    offload.close();
  }
});
