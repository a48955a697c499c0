// The dns check against a real DNS server: Debian's dnsmasq on 127.0.0.1 answering a small zone (test/helpers/dnsmasq.ts),
// over UDP and TCP, through the checker and through `ldir probe`: up when the record answers as configured, down when
// it answers otherwise, when the name is missing (NXDOMAIN), and once the server is stopped.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dnsCheck } from '../../../src/checks/dns';
import { defaultCheckers } from '../../../src/checks/registry';
import { runProbe, type ProbeRow } from '../../../src/cli/probe-command';
import { capture } from '../../helpers/cli-io';
import { makeJob, NEVER } from '../../helpers/check-job';
import { startDnsmasq, type Dnsmasq } from '../../helpers/dnsmasq';
import { ensurePackages, IN_CI } from '../../helpers/system';

const ZONE = {
  domain: 'ldir.test',
  hosts: { 'www.ldir.test': '127.0.0.42' },
  cnames: { 'alias.ldir.test': 'www.ldir.test' },
};

const missing = ensurePackages(['dnsmasq']);
if (missing && IN_CI) {
  it('dnsmasq is available', () => assert.fail(missing));
}

describe('dns check against dnsmasq', { skip: missing ?? false, concurrency: false }, () => {
  let dns: Dnsmasq;
  let dir = '';
  before(async () => {
    dns = await startDnsmasq(ZONE);
    dir = mkdtempSync(join(tmpdir(), 'ldir-dnsmasq-'));
  });
  after(async () => {
    await dns?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const check = (protocol: 'udp' | 'tcp', request: string, receive: string) =>
    dnsCheck(makeJob({ service: 'dns', port: dns.port, protocol, request, receive, negotiateTimeoutMs: 5000 }), NEVER);
  const expect = async (p: Promise<{ up: boolean; reason: string }>, up: boolean, reason: RegExp): Promise<void> => {
    const r = await p;
    assert.deepEqual(
      [r.up, reason.test(r.reason)],
      [up, true],
      `${JSON.stringify(r)}, expected ${up ? 'up' : 'down'} ${reason}\ndnsmasq log:\n${dns.log().split('\n').slice(-10).join('\n')}`,
    );
  };

  for (const protocol of ['udp', 'tcp'] as const) {
    it(`${protocol}: up when the record answers as configured (A, through a CNAME, PTR of the address)`, async () => {
      await expect(check(protocol, '/www.ldir.test', '^127\\.0\\.0\\.42$'), true, /^A 127\.0\.0\.42$/);
      await expect(check(protocol, 'alias.ldir.test', '127.0.0.42'), true, /^A 127\.0\.0\.42$/);
      await expect(check(protocol, '/127.0.0.42', 'www\\.ldir\\.test'), true, /^PTR www\.ldir\.test$/);
    });

    it(`${protocol}: down when the answer differs from receive, or the name is missing`, async () => {
      await expect(check(protocol, '/www.ldir.test', '^10\\.'), false, /^no answer matched/);
      await expect(check(protocol, '/missing.ldir.test', '.'), false, /^rcode NXDOMAIN$/);
    });
  }

  it('ldir probe: one row per virtual, up for the configured record, down for the missing name', async () => {
    const file = join(dir, 'dns.cf');
    const virtual = (port: number, protocol: string, request: string): string[] => [
      `virtual=127.0.0.12:${port}`,
      `\treal=127.0.0.1:${dns.port} masq`,
      `\tprotocol=${protocol}`,
      '\tchecktype=negotiate',
      '\tservice=dns',
      `\trequest="${request}"`,
      '\treceive="127.0.0.42"',
      '',
    ];
    writeFileSync(
      file,
      [
        'negotiatetimeout=5',
        ...virtual(53, 'udp', 'www.ldir.test'),
        ...virtual(54, 'tcp', 'www.ldir.test'),
        ...virtual(55, 'udp', 'missing.ldir.test'),
      ].join('\n'),
    );
    const io = capture();
    assert.equal(await runProbe({ config: file, json: true, checkers: defaultCheckers() }, io), 1, io.err);
    const rows = JSON.parse(io.out) as ProbeRow[];
    assert.deepEqual(
      rows.map((r) => [r.virtual, r.up, r.reason]),
      [
        ['udp:127.0.0.12:53', true, 'A 127.0.0.42'],
        ['tcp:127.0.0.12:54', true, 'A 127.0.0.42'],
        ['udp:127.0.0.12:55', false, 'rcode NXDOMAIN'],
      ],
    );
  });

  it('down once the server is stopped, over UDP and TCP', async () => {
    await expect(check('udp', '/www.ldir.test', '127.0.0.42'), true, /^A /);
    await dns.stop();
    await expect(check('udp', '/www.ldir.test', '127.0.0.42'), false, /^(refused|timeout)$/);
    await expect(check('tcp', '/www.ldir.test', '127.0.0.42'), false, /^refused$/);
  });
});
