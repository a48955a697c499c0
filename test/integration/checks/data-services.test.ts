// Loopback tests of the ldap, mysql, pgsql, oracle and radius checkers against real Debian servers on 127.0.0.1.
import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import type { Server } from 'node:net';
import { after, before, describe, it, test } from 'node:test';
import { ldapCheck } from '../../../src/checks/ldap';
import { createOracleCheck, oracleCheck, oracleConnectString, oracleSupport } from '../../../src/checks/oracle';
import { RADIUS_CODE, encodeAccessRequest, radiusCheck, verifyResponse } from '../../../src/checks/radius';
import { mysqlCheck, pgsqlCheck } from '../../../src/checks/sql';
import type { Checker, CheckJob } from '../../../src/checks/types';
import {
  NEVER,
  assertResult,
  closeServer,
  listen,
  makeJob,
  refusedPort,
  silentServer,
  assertNotAtTimeout,
  UNREACHED_MS,
} from '../../helpers/check-job';
import {
  LDAP,
  RADIUS,
  SQL,
  startFreeradius,
  startMariadb,
  startPostgres,
  startSlapd,
  type DataServer,
  type SlapdServer,
} from '../../helpers/data-servers';
import { IN_CI, ensurePackages } from '../../helpers/system';

/** A suite needing Debian packages: skipped with the reason when they cannot be installed, failed in CI. */
function suite(name: string, packages: readonly string[], body: () => void): void {
  const missing = ensurePackages(packages);
  if (missing && IN_CI) {
    test(name, () => assert.fail(missing));
    return;
  }
  describe(name, { skip: missing ?? false }, body);
}

/** A silent TCP server and a refused TCP port, shared by the "no answer" cases of every protocol. */
let silent: Server;
let silentPort: number;
let refused: number;
before(async () => {
  silent = silentServer();
  silentPort = await listen(silent, '127.0.0.1');
  refused = await refusedPort();
});
after(() => closeServer(silent));

/** Checks that a checker reports `refused` on a closed port and `timeout` (near its timeout) on a silent server. */
async function assertNoAnswer(check: Checker, base: Partial<CheckJob>): Promise<void> {
  const [r1, r2] = await Promise.all([
    check(makeJob({ ...base, port: refused }), NEVER),
    check(makeJob({ ...base, port: silentPort, checkTimeoutMs: 800, negotiateTimeoutMs: 800 }), NEVER),
  ]);
  assertResult(r1, false, /^refused$/);
  assertResult(r2, false, /^timeout$/, 750);
}

/**
 * The checker resolves (down, timeout) when the caller's signal aborts, which it does once the silent server has the
 * check's connection: long before its own timeouts (shorter for a client that cannot cancel: it lingers until them).
 */
async function assertAbortable(check: Checker, base: Partial<CheckJob>, timeoutMs = UNREACHED_MS): Promise<void> {
  const controller = new AbortController();
  silent.once('connection', () => controller.abort());
  const job = makeJob({ ...base, port: silentPort, checkTimeoutMs: timeoutMs, negotiateTimeoutMs: timeoutMs });
  const r = await check(job, controller.signal);
  assertResult(r, false, /^timeout$/);
  assert.equal(controller.signal.aborted, true);
  assert.ok(
    r.durationMs < timeoutMs,
    `ended by the abort, not at its own ${timeoutMs} ms timeout (${r.durationMs} ms)`,
  );
}

suite('ldap check against slapd', ['slapd', 'openssl'], () => {
  let slapd: SlapdServer;
  const ldap = (over: Partial<CheckJob>): Partial<CheckJob> => ({ service: 'ldap', port: slapd.port, ...over });
  before(async () => {
    slapd = await startSlapd();
  });
  after(() => slapd?.stop());

  it('is up on an anonymous bind and one entry at the base DN', async () => {
    assertResult(
      await ldapCheck(makeJob(ldap({ request: `/${LDAP.suffix}` })), NEVER),
      true,
      /found "dc=example,dc=org"/,
    );
  });
  it('reads the root DSE for the default request "/"', async () => {
    assertResult(await ldapCheck(makeJob(ldap({ request: '/' })), NEVER), true, /found ""/);
  });
  it('binds with login and passwd and matches receive against the DN', async () => {
    const job = makeJob(
      ldap({ request: `/${LDAP.user}`, login: LDAP.user, passwd: LDAP.password, receive: '^cn=reader,' }),
    );
    assertResult(await ldapCheck(job, NEVER), true, /found "cn=reader/);
  });
  it('binds anonymously when passwd is empty, as ldirectord', async () => {
    assertResult(
      await ldapCheck(makeJob(ldap({ request: `/${LDAP.suffix}`, login: LDAP.user })), NEVER),
      true,
      /found/,
    );
  });
  it('is down on a wrong password', async () => {
    const job = makeJob(ldap({ request: `/${LDAP.suffix}`, login: LDAP.user, passwd: 'wrong' }));
    assertResult(await ldapCheck(job, NEVER), false, /^bind failed: .*[Ii]nvalid credentials/);
  });
  it('is down on a base DN that does not exist', async () => {
    assertResult(
      await ldapCheck(makeJob(ldap({ request: '/dc=nowhere,dc=org' })), NEVER),
      false,
      /^search failed: .*[Nn]o such object/,
    );
  });
  it('is down when the DN does not match receive', async () => {
    const job = makeJob(ldap({ request: `/${LDAP.suffix}`, receive: '^ou=elsewhere' }));
    assertResult(await ldapCheck(job, NEVER), false, /DN "dc=example,dc=org" did not match \/\^ou=elsewhere\//);
  });
  it('speaks ldaps (TLS), unverified by default and verified against a configured CA', async () => {
    const job = makeJob({ service: 'ldaps', port: slapd.tlsPort, request: `/${LDAP.suffix}` });
    assertResult(await ldapCheck(job, NEVER), true, /found/);
    assertResult(await ldapCheck({ ...job, tlsVerify: true, tlsCa: slapd.certPem }, NEVER), true, /found/);
  });
  it('is down (not up) when ldaps meets a certificate outside the configured CA', async () => {
    const other = makeJob({
      service: 'ldaps',
      port: slapd.tlsPort,
      request: `/${LDAP.suffix}`,
      tlsVerify: true,
      tlsCa: slapd.otherCaPem,
    });
    assertResult(await ldapCheck(other, NEVER), false, /certificate|self[- ]signed/i);
  });
  it('is down on a refused port and on a silent server (checktimeout), and honours abort', async () => {
    await assertNoAnswer(ldapCheck, { service: 'ldap', request: `/${LDAP.suffix}` });
    await assertAbortable(ldapCheck, { service: 'ldap' });
  });
});

/** Common SQL cases: login, query with and without rows, errors, no answer. */
function sqlCases(check: Checker, service: 'mysql' | 'pgsql', server: () => DataServer): void {
  const sql = (over: Partial<CheckJob>): CheckJob =>
    makeJob({
      service,
      port: server().port,
      login: SQL.user,
      passwd: SQL.password,
      database: SQL.database,
      request: '/SELECT id FROM t',
      ...over,
    });
  it('is up when the query returns a row', async () => {
    assertResult(await check(sql({}), NEVER), true, /^1 row$/);
  });
  it('is down when the query returns no rows', async () => {
    assertResult(await check(sql({ request: '/SELECT id FROM t WHERE id = 2' }), NEVER), false, /^no rows returned$/);
  });
  it('is down on a wrong password', async () => {
    assertResult(
      await check(sql({ passwd: 'wrong' }), NEVER),
      false,
      /^login failed: .*(denied|authentication failed)/i,
    );
  });
  it('is down on a query error', async () => {
    assertResult(await check(sql({ request: '/SELECT nope FROM missing' }), NEVER), false, /^query failed: /);
  });
  it('is down without a login or a request, as ldirectord', async () => {
    assertResult(await check(sql({ login: '' }), NEVER), false, /no login/);
    assertResult(await check(sql({ request: '/' }), NEVER), false, /no request/);
  });
  it('is down on a refused port and on a silent server (negotiatetimeout), and honours abort', async () => {
    await assertNoAnswer(check, { service, login: SQL.user, passwd: SQL.password, request: '/SELECT 1' });
    await assertAbortable(check, { service, login: SQL.user, passwd: SQL.password, request: '/SELECT 1' });
  });
}

suite('mysql check against MariaDB', ['mariadb-server'], () => {
  let server: DataServer;
  before(async () => {
    server = await startMariadb();
  });
  after(() => server?.stop());
  sqlCases(mysqlCheck, 'mysql', () => server);
});

suite('pgsql check against PostgreSQL', ['postgresql'], () => {
  let server: DataServer;
  before(async () => {
    server = await startPostgres();
  });
  after(() => server?.stop());
  sqlCases(pgsqlCheck, 'pgsql', () => server);
});

describe('oracle check (thin mode, no server)', () => {
  const base: Partial<CheckJob> = {
    service: 'oracle',
    login: 'scott',
    passwd: 'tiger',
    database: 'ORCL',
    request: '/SELECT 1 FROM DUAL',
  };
  it('is supported here through the oracledb package', () => {
    assert.deepEqual(oracleSupport(), { supported: true });
  });
  it('reports "not supported" when the driver cannot be loaded, and the check is down with that reason', async () => {
    const missing = (): never => {
      throw new Error("Cannot find module 'oracledb'");
    };
    const support = oracleSupport(missing);
    assert.equal(support.supported, false);
    assert.match(support.supported ? '' : support.reason, /service=oracle is not supported.*Cannot find module/);
    const r = await createOracleCheck(missing)(makeJob({ ...base, port: refused }), NEVER);
    assertResult(r, false, /service=oracle is not supported/);
  });
  it('connects to the SID in database, as ldirectord sid=', () => {
    assert.equal(
      oracleConnectString({ address: '127.0.0.1', port: 1521, database: 'ORCL' }),
      '(DESCRIPTION=(ADDRESS=(PROTOCOL=TCP)(HOST=127.0.0.1)(PORT=1521))(CONNECT_DATA=(SID=ORCL)))',
    );
  });
  it('is down on a refused port and on a silent server (negotiatetimeout), and honours abort', async () => {
    await assertNoAnswer(oracleCheck, base);
    // A short timeout: node-oracledb cannot cancel a connection attempt, which lingers until its own timeout.
    await assertAbortable(oracleCheck, base, 1500);
  });
});

suite('radius check against FreeRADIUS', ['freeradius'], () => {
  let server: DataServer;
  const radius = (over: Partial<CheckJob>): CheckJob =>
    makeJob({
      service: 'radius',
      protocol: 'udp',
      port: server.port,
      login: RADIUS.user,
      passwd: RADIUS.password,
      secret: RADIUS.secret,
      ...over,
    });
  before(async () => {
    server = await startFreeradius();
  });
  after(() => server?.stop());

  it('is up on Access-Accept (server requires Message-Authenticator)', async () => {
    assertResult(await radiusCheck(radius({}), NEVER), true, /^access accept$/);
  });
  it('is down on Access-Reject for a wrong password or an unknown user', async () => {
    assertResult(await radiusCheck(radius({ passwd: 'wrong' }), NEVER), false, /^access reject$/);
    assertResult(await radiusCheck(radius({ login: 'mallory' }), NEVER), false, /^access reject$/);
  });
  it('is down on a wrong secret (the server drops the request: timeout)', async () => {
    assertResult(await radiusCheck(radius({ secret: 'wrong', checkTimeoutMs: 800 }), NEVER), false, /^timeout$/, 750);
  });
  it('is down on a refused UDP port, a silent UDP server (checktimeout) and abort', async () => {
    const quiet: UdpSocket = createSocket('udp4');
    await new Promise<void>((resolve) => quiet.bind(0, '127.0.0.1', resolve));
    const quietPort = quiet.address().port;
    const closed: UdpSocket = createSocket('udp4');
    await new Promise<void>((resolve) => closed.bind(0, '127.0.0.1', resolve));
    const closedPort = closed.address().port;
    await new Promise<void>((resolve) => closed.close(resolve));
    try {
      const [r1, r2] = await Promise.all([
        radiusCheck(radius({ port: closedPort }), NEVER),
        radiusCheck(radius({ port: quietPort, checkTimeoutMs: 800 }), NEVER),
      ]);
      assertResult(r1, false, /^refused$/);
      assertResult(r2, false, /^timeout$/, 750);
      // Aborted once the silent server has the request; its own timeout is out of reach.
      const controller = new AbortController();
      quiet.once('message', () => controller.abort());
      const r3 = await radiusCheck(radius({ port: quietPort, checkTimeoutMs: UNREACHED_MS }), controller.signal);
      assertResult(r3, false, /^timeout$/);
      assert.equal(controller.signal.aborted, true);
      assertNotAtTimeout(r3, 'radius after the abort');
    } finally {
      quiet.close();
    }
  });
});

describe('radius packets (RFC 2865, RFC 3579)', () => {
  const secret = 'xyzzy5461';
  const requestAuth = randomBytes(16);
  /** An answer as a server builds it: Message-Authenticator over the packet with the request authenticator, then the Response Authenticator. */
  function answer(code: number, id: number, withMa: boolean): Buffer {
    const attrs = withMa ? Buffer.concat([Buffer.from([80, 18]), Buffer.alloc(16)]) : Buffer.alloc(0);
    const p = Buffer.concat([Buffer.from([code, id, 0, 0]), requestAuth, attrs]);
    p.writeUInt16BE(p.length, 2);
    if (withMa) createHmac('md5', secret).update(p).digest().copy(p, 22);
    createHash('md5')
      .update(p.subarray(0, 4))
      .update(requestAuth)
      .update(p.subarray(20))
      .update(secret)
      .digest()
      .copy(p, 4);
    return p;
  }
  it('verifies Response Authenticator and Message-Authenticator, and rejects tampering or a wrong secret', () => {
    assert.deepEqual(verifyResponse(answer(2, 7, true), 7, requestAuth, secret), {
      ok: true,
      code: RADIUS_CODE.accessAccept,
    });
    assert.deepEqual(verifyResponse(answer(3, 7, false), 7, requestAuth, secret), {
      ok: true,
      code: RADIUS_CODE.accessReject,
    });
    const tampered = answer(2, 7, true);
    tampered[25] = (tampered[25] as number) ^ 1;
    assert.equal(verifyResponse(tampered, 7, requestAuth, secret).ok, false);
    assert.equal(verifyResponse(answer(2, 7, false), 7, requestAuth, 'other').ok, false);
    assert.deepEqual(verifyResponse(answer(2, 8, false), 7, requestAuth, secret), {
      ok: false,
      reason: 'identifier mismatch',
    });
  });
  it('encodes an Access-Request whose Message-Authenticator is the HMAC-MD5 of the packet', () => {
    const p = encodeAccessRequest({
      identifier: 1,
      authenticator: requestAuth,
      userName: 'u',
      password: 'p',
      secret,
      nas: '127.0.0.1',
    });
    assert.equal(p[0], 1);
    assert.equal(p.readUInt16BE(2), p.length);
    const ma = Buffer.from(p.subarray(22, 38));
    p.fill(0, 22, 38);
    assert.deepEqual(createHmac('md5', secret).update(p).digest(), ma);
  });
});
