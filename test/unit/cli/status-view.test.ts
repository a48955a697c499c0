// `ldir status` rendering: golden table for people on 80 columns, JSON as the daemon sent it, durations.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { statusExitCode } from '../../../src/cli/exit-codes';
import { formatDuration, renderStatus, renderStatusJson } from '../../../src/cli/status-view';
import { sampleReport } from '../../helpers/status-report';

const GOLDEN = `ldir running, pid 4242, up 1d02h, config /etc/ha.d/ldirectord.cf
kernel: netlink; last sync 12s ago: ok
last reload 1h02m ago: FAILED (/etc/ha.d/ldirectord.cf:7: unknown directive "...

tcp:192.0.2.1:80  sched wrr  2/3 up
  REAL         FWD   HEALTH  WEIGHT  FOR    FLAGS    LAST CHECK
  10.0.0.1:80  masq  up         5/5  3m12s           HTTP 200 (12ms)
  10.0.0.2:80  masq  down       5/0  45s             connect: ECONNREFUSED (1ms)
  10.0.0.3:80  masq  up         3/0  1h02m  DRAINED  HTTP 200 (12ms)

fwm:100  sched rr  0/1 up  FALLBACK 10.0.0.99
  REAL      FWD   HEALTH  WEIGHT  FOR    FLAGS  LAST CHECK
  10.0.0.5  gate  down       1/-  2d03h  MAINT  ping: no reply (3.0s)

tcp:[2001:db8::1]:443  sched sh  1/2 up  DRAINING
  REAL                FWD   HEALTH   WEIGHT  FOR    FLAGS     LAST CHECK
  [2001:db8::10]:443  gate  unknown     1/-  -                -
  [2001:db8::11]:443  gate  up          1/0  1m00s  DRAINING  TLS ok, HTTP 20...

WEIGHT = configured/kernel (- = not in kernel); FOR = time in health state
`;

describe('renderStatus', () => {
  test('golden output on 80 columns', () => {
    const text = renderStatus(sampleReport());
    assert.equal(text, GOLDEN);
    assert.ok(text.split('\n').every((l) => l.length <= 80));
  });

  test('no control character from the daemon reaches the terminal', () => {
    const text = renderStatus(sampleReport(), { width: Infinity });
    assert.ok(!/[\u0000-\u0009\u000b-\u001f\u007f]/.test(text));
    assert.match(text, /body matched "\?\[31mwelcome to the very long page title" \(1\.5s\)$/m);
  });

  test('a check that disagrees with the health column is marked', () => {
    const report = sampleReport();
    const v = report.virtualServices[0]!;
    const reals = [
      { ...v.reals[0]!, lastCheck: { up: false, reason: 'timeout', durationMs: 3000, at: report.generatedAt } },
      {
        ...v.reals[1]!,
        maintenance: true,
        lastCheck: { up: true, reason: 'HTTP 200', durationMs: 5, at: report.generatedAt },
      },
    ];
    const text = renderStatus({ ...report, virtualServices: [{ ...v, reals }] });
    assert.match(text, /10\.0\.0\.1:80 .* failed: timeout \(3\.0s\)$/m);
    assert.match(text, /10\.0\.0\.2:80 .* MAINT {2}ok: HTTP 200 \(5ms\)$/m);
  });

  test('the in-memory backend, a failed sync and an empty configuration say so', () => {
    const report = sampleReport();
    const text = renderStatus({
      ...report,
      virtualServices: [],
      daemon: {
        ...report.daemon,
        backend: { name: 'memory', inMemory: true },
        lastSync: { at: report.generatedAt, ok: false, message: '2 operations refused' },
        lastReload: null,
      },
    });
    assert.equal(
      text,
      `ldir running, pid 4242, up 1d02h, config /etc/ha.d/ldirectord.cf
WARNING: in-memory IPVS backend, the kernel table is NOT changed
kernel: memory; last sync 0s ago: FAILED (2 operations refused)
last reload: never

no virtual services
`,
    );
    assert.match(
      renderStatus({ ...report, daemon: { ...report.daemon, lastSync: null } }, { width: 200 }),
      /last sync: never/,
    );
  });

  test('a failing watchdog shows right under the first line, one line per reason; nothing when ok', () => {
    const report = sampleReport();
    const watchdog = {
      ok: false,
      reasons: [
        {
          code: 'checks-overdue',
          message: 'checks-overdue: ...',
          ageSeconds: 86_400.5,
          limitSeconds: 120,
          reals: 1234,
          worst: { virtual: 'tcp:[2001:db8::1]:443', real: '[2001:db8::10]:443' },
        },
        { code: 'engine-stalled', message: 'engine-stalled: ...', ageSeconds: 45.2, limitSeconds: 30 },
        { code: 'newer-reason', message: 'newer-reason: \u001b[31mred', ageSeconds: 1, limitSeconds: 1 },
      ],
    };
    const text = renderStatus({ ...report, daemon: { ...report.daemon, watchdog } });
    assert.equal(
      text.split('\n').slice(0, 6).join('\n'),
      `ldir running, pid 4242, up 1d02h, config /etc/ha.d/ldirectord.cf
WATCHDOG: checks-overdue: 1234 reals without result, worst 1d00h (limit 2m00s):
  tcp:[2001:db8::1]:443 [2001:db8::10]:443
WATCHDOG: engine-stalled: no kernel sync pass for 45.2s (limit 30s)
WATCHDOG: newer-reason: ?[31mred
kernel: netlink; last sync 12s ago: ok`,
    );
    assert.ok(text.split('\n').every((l) => l.length <= 80));
    assert.equal(
      renderStatus({ ...report, daemon: { ...report.daemon, watchdog: { ok: true, reasons: [] } } }),
      GOLDEN,
    );
  });

  test('the health verdict: a line under the first, KERNEL REFUSED on the virtuals it names; exit 4 only when failing', () => {
    const report = sampleReport();
    const message =
      'kernel-refused: the kernel refused 1 operation of the last sync at 2026-01-01T00:00:00.000Z, retried every sync: fwm:100 (add-service EINVAL)';
    const degraded = {
      level: 'degraded' as const,
      reasons: [{ code: 'kernel-refused', level: 'degraded' as const, message, virtuals: ['fwm:100'] }],
      summary: `degraded: ${message}`,
    };
    const text = renderStatus({ ...report, daemon: { ...report.daemon, health: degraded } }, { width: Infinity });
    const lines = text.split('\n');
    assert.equal(lines[1], `health: DEGRADED: ${message}`);
    assert.equal(lines[2], 'kernel: netlink; last sync 12s ago: ok');
    assert.ok(lines.includes('fwm:100  sched rr  0/1 up  FALLBACK 10.0.0.99  KERNEL REFUSED'), text);
    assert.ok(
      lines.includes('tcp:192.0.2.1:80  sched wrr  2/3 up'),
      'a virtual the verdict does not name is not flagged',
    );
    assert.ok(
      renderStatus({ ...report, daemon: { ...report.daemon, health: degraded } })
        .split('\n')
        .every((l) => l.length <= 80),
    );
    const ok = renderStatus({
      ...report,
      daemon: { ...report.daemon, health: { level: 'ok', reasons: [], summary: 'ok' } },
    });
    assert.equal(ok, GOLDEN.replace('\nkernel:', '\nhealth: ok\nkernel:'));
    assert.equal(renderStatus(report), GOLDEN, 'a daemon before the verdict: no line');

    assert.equal(statusExitCode({ daemon: { ...report.daemon, health: degraded } }), 0);
    assert.equal(
      statusExitCode({
        daemon: { ...report.daemon, health: { ...degraded, level: 'failing', summary: `failing: ${message}` } },
      }),
      4,
    );
    assert.equal(statusExitCode({ daemon: report.daemon }), 0);
  });

  test('a tunnelled real shows its GUE port and its checksums unless nocsum; the FWD column widens for them', () => {
    const report = sampleReport();
    const v = report.virtualServices[0]!;
    const reals = [
      { ...v.reals[0]!, forward: 'gue' as const, tunnelPort: 6080, tunnelFlags: 'remcsum' as const },
      { ...v.reals[1]!, forward: 'gre' as const, tunnelPort: null, tunnelFlags: 'nocsum' as const },
      { ...v.reals[2]!, forward: 'gre' as const, tunnelPort: null, tunnelFlags: 'csum' as const },
    ];
    const lines = renderStatus({ ...report, virtualServices: [{ ...v, reals }] }, { width: 200 }).split('\n');
    assert.match(lines.find((l) => l.includes('REAL')) ?? '', /^ {2}REAL {9}FWD {15}HEALTH/);
    assert.match(lines.find((l) => l.includes('10.0.0.1:80')) ?? '', /^ {2}10\.0\.0\.1:80 {2}gue:6080,remcsum {2}up /);
    assert.match(lines.find((l) => l.includes('10.0.0.2:80')) ?? '', /^ {2}10\.0\.0\.2:80 {2}gre {15}down /);
    assert.match(lines.find((l) => l.includes('10.0.0.3:80')) ?? '', /^ {2}10\.0\.0\.3:80 {2}gre,csum {10}up /);
  });

  test('a virtual without reals, and wide terminals keep the whole reason', () => {
    const report = sampleReport();
    const v = { ...report.virtualServices[0]!, reals: [], realsUp: 0, realsTotal: 0 };
    assert.match(
      renderStatus({ ...report, virtualServices: [v] }),
      /^tcp:192\.0\.2\.1:80 {2}sched wrr {2}0\/0 up\n {2}\(no real servers\)$/m,
    );
    assert.match(renderStatus(report, { width: 200 }), /welcome to the very long page title" \(1\.5s\)$/m);
  });
});

describe('renderStatusJson', () => {
  test('is the report as is', () => {
    const json = renderStatusJson(sampleReport());
    assert.deepEqual(JSON.parse(json), sampleReport());
    assert.equal(json, `${JSON.stringify(sampleReport(), null, 2)}\n`);
  });
});

test('formatDuration', () => {
  const cases: Array<[number, string]> = [
    [-5, '0s'],
    [0, '0s'],
    [999, '0s'],
    [45_000, '45s'],
    [60_000, '1m00s'],
    [192_000, '3m12s'],
    [3_599_999, '59m59s'],
    [3_600_000, '1h00m'],
    [7_380_000, '2h03m'],
    [86_399_000, '23h59m'],
    [86_400_000, '1d00h'],
    [(2 * 86400 + 3 * 3600) * 1000, '2d03h'],
  ];
  for (const [ms, text] of cases) assert.equal(formatDuration(ms), text, String(ms));
});
