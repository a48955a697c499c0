// smtp, pop/pops, imap/imaps and ftp checkers against real OpenSMTPD, Dovecot and vsftpd servers on 127.0.0.1.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, describe, test, type TestContext } from 'node:test';
import { ftpCheck } from '../../../src/checks/ftp';
import { imapCheck, imapQuote } from '../../../src/checks/imap';
import { popCheck } from '../../../src/checks/pop';
import { smtpCheck } from '../../../src/checks/smtp';
import type { CheckJob, Checker } from '../../../src/checks/types';
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
import {
  FTP_FILE,
  MAIL_FTP_PACKAGES,
  MAIL_USER,
  startMailFtpServers,
  type MailFtpServers,
} from '../../helpers/mail-ftp-servers';
import { ensurePackages, IN_CI } from '../../helpers/system';

let servers: MailFtpServers | undefined;
let unavailable: string | undefined;
let silent: Server | undefined;
let silentPort = 0;

before(
  async () => {
    silent = silentServer();
    silentPort = await listen(silent, '127.0.0.1');
    for (let attempt = 1; ; attempt++) {
      unavailable = ensurePackages(MAIL_FTP_PACKAGES);
      // Another test file's apt-get may hold the dpkg lock right now: wait for it rather than give up.
      if (unavailable === undefined || !/\block\b/i.test(unavailable) || attempt === 6) break;
      await new Promise((resolve) => setTimeout(resolve, 10_000));
    }
    if (unavailable === undefined) servers = await startMailFtpServers();
  },
  { timeout: 900_000 },
);

after(async () => {
  await servers?.stop();
  if (silent) await closeServer(silent);
});

/** The running servers, or skips the test (fails it in CI) when the packages could not be installed. */
function need(t: TestContext): MailFtpServers | undefined {
  if (servers) return servers;
  const reason = unavailable ?? 'servers did not start';
  if (IN_CI) assert.fail(reason);
  t.skip(reason);
  return undefined;
}

const NEGOTIATE_MS = 3000;
const job = (overrides: Partial<CheckJob>): CheckJob => makeJob({ negotiateTimeoutMs: NEGOTIATE_MS, ...overrides });
const login = { login: MAIL_USER.login, passwd: MAIL_USER.passwd };

test('imapQuote escapes backslashes and double quotes', () => {
  assert.equal(imapQuote('a"b\\c d'), '"a\\"b\\\\c d"');
});

describe('smtp', () => {
  test('OpenSMTPD greeting and EHLO: up', async (t) => {
    const s = need(t);
    if (!s) return;
    for (const service of ['smtp', 'submission'] as const) {
      assertResult(await smtpCheck(job({ service, port: s.smtp }), NEVER), true, /HELO ok/);
    }
  });

  test('a greeting other than 220 (a POP3 server): down', async (t) => {
    const s = need(t);
    if (!s) return;
    assertResult(await smtpCheck(job({ service: 'smtp', port: s.pop3 }), NEVER), false, /^greeting: \+OK/);
  });

  test('220 greeting but EHLO and HELO refused (vsftpd): down', async (t) => {
    const s = need(t);
    if (!s) return;
    assertResult(await smtpCheck(job({ service: 'smtp', port: s.ftp }), NEVER), false, /^HELO: 5\d\d/);
  });

  test('EHLO refused, HELO accepted (scripted old server): up, as Net::SMTP', async () => {
    const old = createServer((sock) => {
      sock.on('error', () => undefined);
      sock.write('220 old.example SMTP\r\n');
      sock.on('data', (d) => {
        for (const line of d.toString('latin1').split('\r\n').filter(Boolean)) {
          if (/^EHLO /i.test(line)) sock.write('502 command not implemented\r\n');
          else if (/^HELO /i.test(line)) sock.write('250 old.example\r\n');
          else if (/^QUIT/i.test(line)) sock.end('221 bye\r\n');
          else sock.write('500 what\r\n');
        }
      });
    });
    const port = await listen(old, '127.0.0.1');
    try {
      assertResult(await smtpCheck(job({ service: 'smtp', port }), NEVER), true, /HELO ok/);
    } finally {
      await closeServer(old);
    }
  });
});

describe('pop', () => {
  test('greeting only (no login): up', async (t) => {
    const s = need(t);
    if (!s) return;
    assertResult(await popCheck(job({ service: 'pop', port: s.pop3 }), NEVER), true, /greeting/);
  });

  test('USER/PASS with the right password: up; wrong password: down', async (t) => {
    const s = need(t);
    if (!s) return;
    assertResult(await popCheck(job({ service: 'pop', port: s.pop3, ...login }), NEVER), true, /login ok/);
    const wrong = await popCheck(job({ service: 'pop', port: s.pop3, login: MAIL_USER.login, passwd: 'wrong' }), NEVER);
    assertResult(wrong, false, /^login rejected: -ERR/);
  });

  test('pops over TLS: up without verification, with the right CA, and down with another CA', async (t) => {
    const s = need(t);
    if (!s) return;
    assertResult(await popCheck(job({ service: 'pops', port: s.pop3s, ...login }), NEVER), true, /login ok/);
    assertResult(
      await popCheck(job({ service: 'pops', port: s.pop3s, tlsVerify: true, tlsCa: s.cert }), NEVER),
      true,
      /greeting/,
    );
    const other = await popCheck(job({ service: 'pops', port: s.pop3s, tlsVerify: true, tlsCa: s.otherCert }), NEVER);
    assertResult(other, false, /certificate/i);
  });

  test('pop against an IMAP server: down on its greeting', async (t) => {
    const s = need(t);
    if (!s) return;
    assertResult(await popCheck(job({ service: 'pop', port: s.imap }), NEVER), false, /^greeting: \* OK/);
  });
});

describe('imap', () => {
  test('greeting only (no login): up', async (t) => {
    const s = need(t);
    if (!s) return;
    assertResult(await imapCheck(job({ service: 'imap', port: s.imap }), NEVER), true, /greeting OK/);
  });

  test('LOGIN with the right password (quoted): up; wrong password: down', async (t) => {
    const s = need(t);
    if (!s) return;
    assertResult(await imapCheck(job({ service: 'imap', port: s.imap, ...login }), NEVER), true, /login ok/);
    const wrong = await imapCheck(
      job({ service: 'imap', port: s.imap, login: MAIL_USER.login, passwd: 'wrong' }),
      NEVER,
    );
    assertResult(wrong, false, /^login rejected: NO/);
  });

  test('imaps over TLS: up without verification, with the right CA, and down with another CA', async (t) => {
    const s = need(t);
    if (!s) return;
    assertResult(await imapCheck(job({ service: 'imaps', port: s.imaps, ...login }), NEVER), true, /login ok/);
    assertResult(
      await imapCheck(job({ service: 'imaps', port: s.imaps, tlsVerify: true, tlsCa: s.cert }), NEVER),
      true,
      /greeting/,
    );
    const other = await imapCheck(job({ service: 'imaps', port: s.imaps, tlsVerify: true, tlsCa: s.otherCert }), NEVER);
    assertResult(other, false, /certificate/i);
  });

  test('imap against a POP3 server: down on its greeting', async (t) => {
    const s = need(t);
    if (!s) return;
    assertResult(await imapCheck(job({ service: 'imap', port: s.pop3 }), NEVER), false, /^greeting: \+OK/);
  });
});

describe('ftp', () => {
  const ftp = (s: MailFtpServers, overrides: Partial<CheckJob>): CheckJob =>
    job({ service: 'ftp', port: s.ftp, request: `/${FTP_FILE.name}`, receive: 'all good', ...overrides });

  test('anonymous RETR with matching content: up (also with an empty receive)', async (t) => {
    const s = need(t);
    if (!s) return;
    assertResult(await ftpCheck(ftp(s, { login: 'anonymous', passwd: 'ldirectord@test' }), NEVER), true, /matched/);
    assertResult(
      await ftpCheck(ftp(s, { receive: '' }), NEVER),
      true,
      new RegExp(`retrieved ${FTP_FILE.content.length} bytes`),
    );
  });

  test('content that does not match: down', async (t) => {
    const s = need(t);
    if (!s) return;
    assertResult(await ftpCheck(ftp(s, { receive: 'all bad' }), NEVER), false, /did not match/);
  });

  test('missing file and rejected login: down with the step', async (t) => {
    const s = need(t);
    if (!s) return;
    assertResult(await ftpCheck(ftp(s, { request: '/nosuch.txt' }), NEVER), false, /^retr: 550/);
    assertResult(await ftpCheck(ftp(s, { login: 'ldir', passwd: 'wrong' }), NEVER), false, /^login: 530/);
  });
});

describe('every checker: refused port, silent server, outer abort', () => {
  const cases: [string, Checker, Partial<CheckJob>][] = [
    ['smtp', smtpCheck, { service: 'smtp' }],
    ['pop', popCheck, { service: 'pop', ...login }],
    ['pops', popCheck, { service: 'pops' }],
    ['imap', imapCheck, { service: 'imap', ...login }],
    ['imaps', imapCheck, { service: 'imaps' }],
    ['ftp', ftpCheck, { service: 'ftp', request: '/x', receive: 'x' }],
  ];
  for (const [name, check, overrides] of cases) {
    test(`${name}: refused port is down (refused)`, async () => {
      const r = await check(job({ ...overrides, port: await refusedPort() }), NEVER);
      assertResult(r, false, /^refused$/);
    });

    test(`${name}: a server that never greets is down at negotiatetimeout`, async () => {
      const never = job({ ...overrides, port: silentPort, negotiateTimeoutMs: 300, checkTimeoutMs: UNREACHED_MS });
      const r = await check(never, NEVER);
      assertResult(r, false, /^timeout$/, 290);
      assertNotAtTimeout(r, `${name} at its negotiatetimeout`);
    });

    test(`${name}: an outer abort ends the check at once`, async () => {
      // Aborted once the silent server has its connection (mid-check), long before its own timeouts.
      const ctl = new AbortController();
      silent?.once('connection', () => ctl.abort());
      const never = job({
        ...overrides,
        port: silentPort,
        negotiateTimeoutMs: UNREACHED_MS,
        checkTimeoutMs: UNREACHED_MS,
      });
      const r = await check(never, ctl.signal);
      assertResult(r, false, /^timeout$/);
      assert.equal(ctl.signal.aborted, true);
      assertNotAtTimeout(r, `${name} after the abort`);
    });
  }
});
