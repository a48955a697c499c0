// httpstatus, receivenot, tlsverify, tlscafile and tlsservername against real loopback servers: the http checker in
// both modes (undici alone, and with the native fast path for plain http), then the same directives end to end
// through the `ldir probe` binary from ldirectord.cf and YAML files. The https server's certificate is signed by a CA
// made in the test, names www.example.org and 127.0.0.1, and the server records the server name (SNI) and the Host
// header of every request.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { createHttpChecker } from '../../../src/checks/http';
import { openTcpProber, type TcpProber } from '../../../src/checks/tcp-prober';
import type { Checker, CheckJob } from '../../../src/checks/types';
import type { ProbeRow } from '../../../src/cli/probe-command';
import { assertResult, closeServer, listen, makeJob, NEVER } from '../../helpers/check-job';
import { ldirBinary } from '../../helpers/ldir-binary';
import { IN_CI } from '../../helpers/system';
import { makeCa, makeServerCert, type TestCa } from '../../helpers/tls-certs';

const native = openTcpProber();
let probes = 0;
const counting: TcpProber | undefined = native && {
  accepts: (a) => native.accepts(a),
  probe: (...args) => {
    probes++;
    return native.probe(...args);
  },
  close: () => native.close(),
};
const modes: [string, Checker][] = [['undici', createHttpChecker()]];
if (counting) modes.push(['native', createHttpChecker({ prober: counting })]);
else assert.ok(!IN_CI, 'native addon not built: the fast path must be tested in CI');

const servers: (http.Server | https.Server)[] = [];
let plainPort = 0;
let securePort = 0;
let tmp = '';
let ca: TestCa;
let otherCa: TestCa;
/** Requests seen, by path, and what each https request came with. */
const hits = new Map<string, number>();
const seen: Array<{ path: string; sni: string | false | null; host: string }> = [];

function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = req.url ?? '/';
  hits.set(url, (hits.get(url) ?? 0) + 1);
  const socket = req.socket as TLSSocket;
  if (typeof socket.getPeerCertificate === 'function')
    seen.push({ path: url, sni: socket.servername, host: req.headers.host ?? '' });
  const status = /^\/status\/(\d{3})$/.exec(url);
  if (status) {
    res.statusCode = Number(status[1]);
    res.end(`answered ${status[1]}\n`);
  } else if (url === '/maintenance') res.end('site in maintenance mode\n');
  else if (url === '/ok') res.end('all ok\n');
  else if (url === '/redirect') res.writeHead(302, { location: '/ok' }).end('moved\n');
  else {
    res.statusCode = 404;
    res.end('not found\n');
  }
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-http-rules-'));
  ca = makeCa(tmp, 'ldir-test-ca');
  otherCa = makeCa(tmp, 'other-ca');
  const cert = makeServerCert(tmp, ca, 'www.example.org', ['DNS:www.example.org', 'IP:127.0.0.1']);
  const plain = http.createServer(handler);
  const secure = https.createServer({ key: cert.key, cert: cert.cert }, handler);
  servers.push(plain, secure);
  plainPort = await listen(plain, '127.0.0.1');
  securePort = await listen(secure, '127.0.0.1');
});
after(async () => {
  native?.close();
  await Promise.all(servers.map(closeServer));
  fs.rmSync(tmp, { recursive: true, force: true });
});

const plainJob = (request: string, extra: Partial<CheckJob> = {}): CheckJob =>
  makeJob({ service: 'http', port: plainPort, request, ...extra });
const secureJob = (extra: Partial<CheckJob> = {}): CheckJob =>
  makeJob({ service: 'https', port: securePort, request: '/ok', receive: 'ok', ...extra });

for (const [mode, check] of modes) {
  describe(`${mode}: httpstatus and receivenot`, () => {
    test('a status listed in httpstatus passes, one not listed fails; without httpstatus only 2xx pass', async () => {
      const listed: CheckJob['httpStatus'] = [
        [200, 299],
        [404, 404],
      ];
      assertResult(await check(plainJob('/status/404', { httpStatus: listed }), NEVER), true, /^status 404$/);
      assertResult(await check(plainJob('/status/204', { httpStatus: listed }), NEVER), true, /^status 204$/);
      assertResult(await check(plainJob('/status/503', { httpStatus: listed }), NEVER), false, /^status 503$/);
      assertResult(await check(plainJob('/status/404'), NEVER), false, /^status 404$/);
      assertResult(await check(plainJob('/status/200', { httpStatus: [[500, 503]] }), NEVER), false, /^status 200$/);
      assertResult(await check(plainJob('/status/503', { httpStatus: [[500, 503]] }), NEVER), true, /^status 503$/);
    });

    test('a redirect whose status is listed is the final answer, not followed; unlisted it is followed', async () => {
      const before = hits.get('/ok') ?? 0;
      assertResult(
        await check(
          plainJob('/redirect', {
            httpStatus: [
              [200, 299],
              [302, 302],
            ],
            receive: 'moved',
          }),
          NEVER,
        ),
        true,
        /^status 302, body matched$/,
      );
      assert.equal(hits.get('/ok') ?? 0, before, 'the redirect was not followed');
      assertResult(
        await check(plainJob('/redirect', { receive: 'all ok' }), NEVER),
        true,
        /^status 200, body matched$/,
      );
      assert.equal(hits.get('/ok') ?? 0, before + 1, 'without 302 in httpstatus it is followed');
    });

    test('receivenot: a body that matches it is down, one that does not is up; plain strings and patterns', async () => {
      assertResult(
        await check(plainJob('/maintenance', { receiveNot: 'maintenance' }), NEVER),
        false,
        /^body matched receivenot \/maintenance\/$/,
      );
      assertResult(
        await check(plainJob('/maintenance', { receiveNot: 'maint\\w+ mode' }), NEVER),
        false,
        /^body matched receivenot/,
      );
      assertResult(
        await check(plainJob('/ok', { receiveNot: 'maintenance' }), NEVER),
        true,
        /^status 200, receivenot not matched$/,
      );
      const both = { receive: 'ok', receiveNot: 'maintenance' };
      assertResult(
        await check(plainJob('/ok', both), NEVER),
        true,
        /^status 200, body matched, receivenot not matched$/,
      );
      assertResult(await check(plainJob('/maintenance', both), NEVER), false, /^body did not match \/ok\/$/);
      assertResult(
        await check(plainJob('/maintenance', { receive: 'site', receiveNot: 'mode' }), NEVER),
        false,
        /receivenot/,
      );
      // HEAD: there is no body, so nothing to match.
      assertResult(
        await check(plainJob('/maintenance', { receiveNot: 'maintenance', httpMethod: 'HEAD' }), NEVER),
        true,
        /^status 200/,
      );
    });

    test('the status is judged before the body: a failing status is reported as such', async () => {
      assertResult(
        await check(plainJob('/status/503', { receiveNot: 'nothing-like-this' }), NEVER),
        false,
        /^status 503$/,
      );
    });
  });

  test(`${mode}: https applies httpstatus and receivenot too`, async () => {
    assertResult(
      await check(secureJob({ request: '/status/404', receive: '', httpStatus: [[404, 404]] }), NEVER),
      true,
      /^status 404$/,
    );
    assertResult(
      await check(secureJob({ request: '/maintenance', receive: '', receiveNot: 'maintenance' }), NEVER),
      false,
      /receivenot/,
    );
  });
}

test('native: plain http with httpstatus and receivenot stays on the fast path (one native probe per check)', async (t) => {
  const fast = modes.find(([mode]) => mode === 'native')?.[1];
  if (!fast) return t.skip('native addon not built');
  const before = probes;
  await fast(plainJob('/status/404', { httpStatus: [[404, 404]] }), NEVER);
  await fast(plainJob('/ok', { receiveNot: 'maintenance' }), NEVER);
  await fast(plainJob('/redirect', { httpStatus: [[302, 302]] }), NEVER);
  assert.equal(probes - before, 3);
  return undefined;
});

describe('tlsverify, tlscafile, tlsservername (https)', () => {
  const check = createHttpChecker();
  const last = (): { sni: string | false | null; host: string } | undefined => seen[seen.length - 1];

  test('without tlsverify nothing is verified (another CA, a wrong name): up, as ldirectord', async () => {
    assertResult(
      await check(secureJob({ tlsCa: otherCa.certPem, tlsServerName: 'wrong.example.net' }), NEVER),
      true,
      /^status 200/,
    );
    assert.equal(last()?.sni, 'wrong.example.net', 'the server name is still sent');
  });

  test('tlsverify with the system CAs only: a certificate of a private CA is refused', async () => {
    assertResult(await check(secureJob({ tlsVerify: true }), NEVER), false, /certificate|self.signed|issuer/i);
  });

  test('tlsverify with the CA: up without a server name (the chain only, no SNI); down with another CA', async () => {
    assertResult(
      await check(secureJob({ tlsVerify: true, tlsCa: ca.certPem }), NEVER),
      true,
      /^status 200, body matched$/,
    );
    assert.equal(last()?.sni, false, 'no SNI: real servers are addressed by IP');
    assertResult(
      await check(secureJob({ tlsVerify: true, tlsCa: otherCa.certPem }), NEVER),
      false,
      /certificate|issuer/i,
    );
  });

  test('tlsverify with a server name: sent as SNI and checked against the certificate', async () => {
    assertResult(
      await check(secureJob({ tlsVerify: true, tlsCa: ca.certPem, tlsServerName: 'www.example.org' }), NEVER),
      true,
      /^status 200/,
    );
    assert.equal(last()?.sni, 'www.example.org');
    const wrong = await check(
      secureJob({ tlsVerify: true, tlsCa: ca.certPem, tlsServerName: 'other.example.org' }),
      NEVER,
    );
    assertResult(wrong, false, /altnames|does not match|other\.example\.org/i);
  });

  test('the server name and the Host header are independent: tlsservername beats the virtualhost for SNI', async () => {
    assertResult(
      await check(secureJob({ httpHost: 'vhost.example.com', tlsServerName: 'www.example.org' }), NEVER),
      true,
      /^status 200/,
    );
    assert.deepEqual({ sni: last()?.sni, host: last()?.host }, { sni: 'www.example.org', host: 'vhost.example.com' });
  });
});

describe('ldir probe (the binary) with the directives in both configuration forms', () => {
  const ldir = ldirBinary(() => ({ ...process.env }), 30_000);

  /** The configuration in ldirectord.cf form; the same services in YAML below. */
  const cfText = (): string =>
    [
      'checktimeout=2',
      'negotiatetimeout=2',
      'tlsverify=yes',
      `tlscafile=${ca.certFile}`,
      '',
      'virtual=127.0.0.10:443',
      `\treal=127.0.0.1:${securePort} masq`,
      '\tservice=https',
      '\trequest="/ok"',
      '\treceive="all ok"',
      '\tvirtualhost=www.example.org',
      '',
      'virtual=127.0.0.11:443',
      `\treal=127.0.0.1:${securePort} masq`,
      '\tservice=https',
      '\trequest="/ok"',
      '\ttlsservername=www.example.org',
      `\ttlscafile=${otherCa.certFile}`,
      '',
      'virtual=127.0.0.12:80',
      `\treal=127.0.0.1:${plainPort} masq`,
      '\tservice=http',
      '\trequest="/status/404"',
      '\thttpstatus=2xx,404',
      '',
      'virtual=127.0.0.13:80',
      `\treal=127.0.0.1:${plainPort} masq`,
      '\tservice=http',
      '\trequest="/maintenance"',
      '\treceivenot="maintenance"',
      '',
    ].join('\n');
  const yamlText = (): string =>
    [
      'checktimeout: 2',
      'negotiatetimeout: 2',
      'tlsverify: yes',
      `tlscafile: ${ca.certFile}`,
      'virtuals:',
      '  - virtual: 127.0.0.10:443',
      `    real: 127.0.0.1:${securePort} masq`,
      '    service: https',
      '    request: /ok',
      '    receive: all ok',
      '    virtualhost: www.example.org',
      '  - virtual: 127.0.0.11:443',
      `    real: 127.0.0.1:${securePort} masq`,
      '    service: https',
      '    request: /ok',
      '    tlsservername: www.example.org',
      `    tlscafile: ${otherCa.certFile}`,
      '  - virtual: 127.0.0.12:80',
      `    real: 127.0.0.1:${plainPort} masq`,
      '    service: http',
      '    request: /status/404',
      '    httpstatus: [2xx, 404]',
      '  - virtual: 127.0.0.13:80',
      `    real: 127.0.0.1:${plainPort} masq`,
      '    service: http',
      '    request: /maintenance',
      '    receivenot: maintenance',
    ].join('\n');

  for (const [form, file, text] of [
    ['ldirectord.cf', 'rules.cf', cfText],
    ['YAML', 'rules.yaml', yamlText],
  ] as const) {
    test(`${form}: verified with the CA file and the virtualhost as SNI; another CA is down; status list and receivenot`, async () => {
      const config = path.join(tmp, file);
      fs.writeFileSync(config, text());
      const from = seen.length;
      const run = await ldir('probe', '--json', config);
      assert.equal(run.status, 1, `one virtual is down by design:\n${run.stdout}${run.stderr}`);
      const rows = JSON.parse(run.stdout) as ProbeRow[];
      const byVirtual = new Map(rows.map((r) => [r.virtual, r]));
      assert.deepEqual(
        rows.map((r) => [r.virtual, r.up]),
        [
          ['tcp:127.0.0.10:443', true],
          ['tcp:127.0.0.11:443', false],
          ['tcp:127.0.0.12:80', true],
          ['tcp:127.0.0.13:80', false],
        ],
        JSON.stringify(rows, null, 2),
      );
      assert.match(byVirtual.get('tcp:127.0.0.10:443')?.reason ?? '', /^status 200, body matched$/);
      assert.match(byVirtual.get('tcp:127.0.0.11:443')?.reason ?? '', /certificate|issuer/i);
      assert.match(byVirtual.get('tcp:127.0.0.12:80')?.reason ?? '', /^status 404$/);
      assert.match(byVirtual.get('tcp:127.0.0.13:80')?.reason ?? '', /^body matched receivenot \/maintenance\/$/);
      assert.deepEqual(
        seen.slice(from).map((s) => [s.sni, s.host]),
        [['www.example.org', 'www.example.org']],
        'the server saw the SNI of the verified check (the one with another CA never got to send a request)',
      );
    });
  }

  test('a CA file that is not there, or not PEM, is an error at its line; so is tlscafile without tlsverify=yes', async () => {
    const config = path.join(tmp, 'bad.cf');
    const notPem = path.join(tmp, 'not-pem.txt');
    fs.writeFileSync(notPem, 'hello\n');
    fs.writeFileSync(
      config,
      [
        `tlscafile=${path.join(tmp, 'missing.pem')}`,
        'virtual=127.0.0.10:443',
        `\treal=127.0.0.1:${securePort} masq`,
        '\tservice=https',
        `\ttlscafile=${notPem}`,
        '\ttlsverify=yes',
        '',
        'virtual=127.0.0.11:443',
        `\treal=127.0.0.1:${securePort} masq`,
        '\tservice=https',
        `\ttlscafile=${ca.certFile}`,
        '',
      ].join('\n'),
    );
    const run = await ldir('check', config);
    assert.equal(run.status, 2, run.stderr);
    assert.match(
      run.stderr,
      new RegExp(`${config}:1: tlscafile: cannot read ${path.join(tmp, 'missing.pem')}: ENOENT`),
    );
    assert.match(run.stderr, new RegExp(`${config}:5: tlscafile ${notPem} holds no PEM certificate`));
    assert.match(run.stderr, new RegExp(`${config}:11: tlscafile: without tlsverify=yes no certificate is verified`));
  });
});
