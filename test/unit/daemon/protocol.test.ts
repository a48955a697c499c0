// Control protocol: strict request validation (good and malformed lines), tolerant response parsing, wire helpers.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatDiagnostic, type Diagnostic } from '../../../src/config/diagnostics';
import {
  controlSocketPath,
  encodeMessage,
  errorResponse,
  formatWireDiagnostic,
  MAX_REQUEST_BYTES,
  okResponse,
  parseRequest,
  parseResponse,
  toWireDiagnostic,
  type ErrorResponse,
  type HealthStatus,
  type PreviewStep,
} from '../../../src/daemon/protocol';
import { SchemaError } from '../../../src/daemon/validate';
import { sampleReport } from '../../helpers/status-report';

function refused(line: string): ErrorResponse {
  const parsed = parseRequest(line);
  assert.equal(parsed.ok, false, `expected ${line.slice(0, 80)} to be refused`);
  return (parsed as { response: ErrorResponse }).response;
}

describe('parseRequest accepts', () => {
  for (const type of ['status', 'reload', 'reload-preview', 'stop', 'ping'] as const) {
    test(type, () => {
      assert.deepEqual(parseRequest(JSON.stringify({ v: 1, id: 'c1', type })), {
        ok: true,
        request: { v: 1, id: 'c1', type },
      });
    });
  }

  test('drain and undrain with their target, numeric ids', () => {
    for (const type of ['drain', 'undrain'] as const) {
      const line = JSON.stringify({ type, id: 7, v: 1, virtual: 'tcp:192.0.2.1:80', real: '[2001:db8::1]:80' });
      assert.deepEqual(parseRequest(line), {
        ok: true,
        request: { v: 1, id: 7, type, virtual: 'tcp:192.0.2.1:80', real: '[2001:db8::1]:80' },
      });
    }
  });

  test('weight with its target and a runtime weight (0..2147483647) or reset', () => {
    for (const weight of [0, 5, 2147483647, 'reset'] as const) {
      const line = JSON.stringify({
        v: 1,
        id: 'w',
        type: 'weight',
        virtual: 'tcp:192.0.2.1:80',
        real: '10.0.0.1',
        weight,
      });
      assert.deepEqual(parseRequest(line), {
        ok: true,
        request: { v: 1, id: 'w', type: 'weight', virtual: 'tcp:192.0.2.1:80', real: '10.0.0.1', weight },
      });
    }
  });

  test('restart, bare or with the program, backend, debug and timeout of the installation that asks', () => {
    assert.deepEqual(parseRequest('{"v":1,"id":"r","type":"restart"}'), {
      ok: true,
      request: { v: 1, id: 'r', type: 'restart' },
    });
    const full = {
      v: 1,
      id: 'r',
      type: 'restart',
      program: ['/usr/bin/node', '--require', 'hook.js', '/opt/ldir-2/dist/src/main.js'],
      ipvs: 'netlink',
      debug: true,
      timeoutMs: 90_000,
    };
    assert.deepEqual(parseRequest(JSON.stringify(full)), { ok: true, request: full });
  });

  test('a line of exactly the size limit', () => {
    const base = JSON.stringify({ v: 1, id: 'x', type: 'drain', virtual: 'v', real: 'r' });
    const line = `${base.slice(0, -1)}${' '.repeat(MAX_REQUEST_BYTES - base.length)}}`;
    assert.equal(Buffer.byteLength(line), MAX_REQUEST_BYTES);
    assert.equal(parseRequest(line).ok, true);
  });
});

describe('parseRequest refuses, never throws', () => {
  const cases: Array<[string, string, string, string | number | null]> = [
    ['not JSON', 'status please', 'LDIR_ERR_CONTROL_BAD_REQUEST', null],
    ['truncated JSON', '{"v":1,"id":"a","type":"sta', 'LDIR_ERR_CONTROL_BAD_REQUEST', null],
    ['an array', '[{"v":1}]', 'LDIR_ERR_CONTROL_BAD_REQUEST', null],
    ['null', 'null', 'LDIR_ERR_CONTROL_BAD_REQUEST', null],
    ['a string', '"status"', 'LDIR_ERR_CONTROL_BAD_REQUEST', null],
    ['no id', '{"v":1,"type":"status"}', 'LDIR_ERR_CONTROL_BAD_REQUEST', null],
    ['empty id', '{"v":1,"id":"","type":"status"}', 'LDIR_ERR_CONTROL_BAD_REQUEST', null],
    ['id too long', `{"v":1,"id":"${'x'.repeat(65)}","type":"status"}`, 'LDIR_ERR_CONTROL_BAD_REQUEST', null],
    ['negative id', '{"v":1,"id":-1,"type":"status"}', 'LDIR_ERR_CONTROL_BAD_REQUEST', null],
    ['fractional id', '{"v":1,"id":1.5,"type":"status"}', 'LDIR_ERR_CONTROL_BAD_REQUEST', null],
    ['object id', '{"v":1,"id":{},"type":"status"}', 'LDIR_ERR_CONTROL_BAD_REQUEST', null],
    ['id with a newline', '{"v":1,"id":"a\\nb","type":"status"}', 'LDIR_ERR_CONTROL_BAD_REQUEST', null],
    ['no version', '{"id":"a","type":"status"}', 'LDIR_ERR_CONTROL_BAD_REQUEST', 'a'],
    ['version as a string', '{"v":"1","id":"a","type":"status"}', 'LDIR_ERR_CONTROL_BAD_REQUEST', 'a'],
    ['another version', '{"v":2,"id":"a","type":"status"}', 'LDIR_ERR_CONTROL_VERSION', 'a'],
    ['unknown type', '{"v":1,"id":"a","type":"reboot"}', 'LDIR_ERR_CONTROL_BAD_REQUEST', 'a'],
    ['no type', '{"v":1,"id":3}', 'LDIR_ERR_CONTROL_BAD_REQUEST', 3],
    ['an unknown member', '{"v":1,"id":"a","type":"status","verbose":true}', 'LDIR_ERR_CONTROL_BAD_REQUEST', 'a'],
    ['a __proto__ member', '{"v":1,"id":"a","type":"status","__proto__":{"x":1}}', 'LDIR_ERR_CONTROL_BAD_REQUEST', 'a'],
    [
      'drain without real',
      '{"v":1,"id":"a","type":"drain","virtual":"tcp:1.2.3.4:80"}',
      'LDIR_ERR_CONTROL_BAD_REQUEST',
      'a',
    ],
    [
      'drain with a numeric real',
      '{"v":1,"id":"a","type":"drain","virtual":"v","real":80}',
      'LDIR_ERR_CONTROL_BAD_REQUEST',
      'a',
    ],
    [
      'drain with an empty virtual',
      '{"v":1,"id":"a","type":"drain","virtual":"","real":"r"}',
      'LDIR_ERR_CONTROL_BAD_REQUEST',
      'a',
    ],
    [
      'drain with control characters',
      '{"v":1,"id":"a","type":"drain","virtual":"v\\u001b[2J","real":"r"}',
      'LDIR_ERR_CONTROL_BAD_REQUEST',
      'a',
    ],
    [
      'weight without a weight',
      '{"v":1,"id":"a","type":"weight","virtual":"v","real":"r"}',
      'LDIR_ERR_CONTROL_BAD_REQUEST',
      'a',
    ],
    [
      'weight below 0',
      '{"v":1,"id":"a","type":"weight","virtual":"v","real":"r","weight":-1}',
      'LDIR_ERR_CONTROL_BAD_REQUEST',
      'a',
    ],
    [
      "weight above the kernel's INT_MAX",
      '{"v":1,"id":"a","type":"weight","virtual":"v","real":"r","weight":2147483648}',
      'LDIR_ERR_CONTROL_BAD_REQUEST',
      'a',
    ],
    [
      'a fractional weight',
      '{"v":1,"id":"a","type":"weight","virtual":"v","real":"r","weight":1.5}',
      'LDIR_ERR_CONTROL_BAD_REQUEST',
      'a',
    ],
    [
      'a weight as a string',
      '{"v":1,"id":"a","type":"weight","virtual":"v","real":"r","weight":"5"}',
      'LDIR_ERR_CONTROL_BAD_REQUEST',
      'a',
    ],
    [
      'weight null (reset is spelled out)',
      '{"v":1,"id":"a","type":"weight","virtual":"v","real":"r","weight":null}',
      'LDIR_ERR_CONTROL_BAD_REQUEST',
      'a',
    ],
    [
      'weight with an unknown member',
      '{"v":1,"id":"a","type":"weight","virtual":"v","real":"r","weight":1,"persist":false}',
      'LDIR_ERR_CONTROL_BAD_REQUEST',
      'a',
    ],
    [
      'drain with a weight',
      '{"v":1,"id":"a","type":"drain","virtual":"v","real":"r","weight":0}',
      'LDIR_ERR_CONTROL_BAD_REQUEST',
      'a',
    ],
    [
      'status with a target',
      '{"v":1,"id":"a","type":"status","virtual":"v","real":"r"}',
      'LDIR_ERR_CONTROL_BAD_REQUEST',
      'a',
    ],
    [
      'reload-preview with a member',
      '{"v":1,"id":"a","type":"reload-preview","json":true}',
      'LDIR_ERR_CONTROL_BAD_REQUEST',
      'a',
    ],
    [
      'reload with a dry-run flag (previews are their own request)',
      '{"v":1,"id":"a","type":"reload","dryRun":true}',
      'LDIR_ERR_CONTROL_BAD_REQUEST',
      'a',
    ],
    [
      'restart with a program found through PATH',
      '{"v":1,"id":"a","type":"restart","program":["node","/x/main.js"]}',
      'LDIR_ERR_CONTROL_BAD_REQUEST',
      'a',
    ],
    [
      'restart with an empty program',
      '{"v":1,"id":"a","type":"restart","program":[]}',
      'LDIR_ERR_CONTROL_BAD_REQUEST',
      'a',
    ],
    [
      'restart with a timeout below 100 ms',
      '{"v":1,"id":"a","type":"restart","timeoutMs":5}',
      'LDIR_ERR_CONTROL_BAD_REQUEST',
      'a',
    ],
    [
      'restart with an unknown backend',
      '{"v":1,"id":"a","type":"restart","ipvs":"iptables"}',
      'LDIR_ERR_CONTROL_BAD_REQUEST',
      'a',
    ],
  ];
  for (const [name, line, code, id] of cases) {
    test(name, () => {
      const response = refused(line);
      assert.equal(response.ok, false);
      assert.equal(response.v, 1);
      assert.equal(response.error.code, code);
      assert.equal(response.id, id);
      assert.ok(response.error.message.length > 0);
    });
  }

  test('a line over 64 KiB', () => {
    const line = JSON.stringify({ v: 1, id: 'a', type: 'status', pad: 'x'.repeat(MAX_REQUEST_BYTES) });
    assert.equal(refused(line).error.code, 'LDIR_ERR_CONTROL_TOO_LARGE');
  });

  test('the message says where the problem is', () => {
    assert.match(
      refused('{"v":1,"id":"a","type":"drain","virtual":"v","real":80}').error.message,
      /\$\.real: expected a string/,
    );
  });
});

describe('responses', () => {
  test('a status response round-trips through encode and parse', () => {
    const line = encodeMessage(okResponse('c1', 'status', sampleReport()));
    assert.equal(line.indexOf('\n'), line.length - 1, 'one line');
    assert.deepEqual(parseResponse(line.trimEnd(), 'status'), okResponse('c1', 'status', sampleReport()));
  });

  test('a status with gue and gre reals and their tunnel settings passes the schema; a bad checksum mode does not', () => {
    const report = sampleReport();
    const v = report.virtualServices[0]!;
    const reals = [
      { ...v.reals[0]!, forward: 'gue' as const, tunnelPort: 6080, tunnelFlags: 'csum' as const },
      { ...v.reals[1]!, forward: 'gre' as const, tunnelPort: null, tunnelFlags: 'nocsum' as const },
    ];
    const tunnelled = { ...report, virtualServices: [{ ...v, reals }] };
    assert.deepEqual(
      parseResponse(encodeMessage(okResponse('t', 'status', tunnelled)).trimEnd(), 'status'),
      okResponse('t', 'status', tunnelled),
    );
    const bad = { ...report, virtualServices: [{ ...v, reals: [{ ...reals[0]!, tunnelFlags: 'crc' }] }] };
    assert.throws(
      () => parseResponse(JSON.stringify(okResponse('t', 'status', bad as typeof report)), 'status'),
      /tunnelFlags/,
    );
  });

  test('members added by a newer daemon are dropped', () => {
    const report = sampleReport();
    const newer = {
      ...okResponse(1, 'status', report),
      extra: 1,
      result: { ...report, cluster: 'x', daemon: { ...report.daemon, rss: 1 } },
    };
    assert.deepEqual(parseResponse(JSON.stringify(newer), 'status'), okResponse(1, 'status', report));
  });

  test('an error response with diagnostics', () => {
    const response = errorResponse('r', 'LDIR_ERR_CONFIG_INVALID', 'bad', [
      { file: '/x.cf', line: 3, severity: 'error', code: 'syntax', message: 'm' },
    ]);
    assert.deepEqual(parseResponse(JSON.stringify(response), 'reload'), response);
  });

  test('every result type validates', () => {
    const results = {
      ping: { pid: 1, configFile: '/x', startedAt: '2024-05-01T12:00:00.000Z', uptimeSeconds: 3.5, lastSyncOk: null },
      reload: { file: '/x', diagnostics: [] },
      drain: { virtual: 'tcp:1.2.3.4:80', real: '10.0.0.1:80', changed: true },
      undrain: {
        virtual: 'tcp:1.2.3.4:80',
        real: '10.0.0.1:80',
        changed: false,
        saveError: '/var/lib/ldir/x.state: EROFS',
      },
      weight: {
        virtual: 'tcp:1.2.3.4:80',
        real: '10.0.0.1:80',
        configuredWeight: 5,
        weight: 2,
        previous: null,
        changed: true,
      },
      stop: { stopped: true },
    } as const;
    for (const [type, result] of Object.entries(results)) {
      const line = JSON.stringify({ v: 1, id: 'a', ok: true, type, result });
      assert.deepEqual(parseResponse(line, type as keyof typeof results), { v: 1, id: 'a', ok: true, type, result });
    }
  });

  test('a reset weight answer; a weight answer without its weights is refused', () => {
    const result = { virtual: 'v', real: 'r', configuredWeight: 1, weight: null, previous: 3, changed: true };
    assert.deepEqual(parseResponse(JSON.stringify({ v: 1, id: 'a', ok: true, type: 'weight', result }), 'weight'), {
      v: 1,
      id: 'a',
      ok: true,
      type: 'weight',
      result,
    });
    const { configuredWeight: _c, ...missing } = result;
    assert.throws(
      () => parseResponse(JSON.stringify({ v: 1, id: 'a', ok: true, type: 'weight', result: missing }), 'weight'),
      SchemaError,
    );
  });

  test("a real's runtime weight travels in a status answer (null: none; absent from older daemons)", () => {
    const report = sampleReport();
    const v = report.virtualServices[0];
    assert.ok(v);
    const withOverride = {
      ...report,
      virtualServices: [{ ...v, reals: v.reals.map((r, i) => ({ ...r, override: i === 0 ? 7 : null })) }],
    };
    const line = JSON.stringify(okResponse('s', 'status', withOverride));
    assert.deepEqual(parseResponse(line, 'status'), okResponse('s', 'status', withOverride));
    const bad = { ...report, virtualServices: [{ ...v, reals: v.reals.map((r) => ({ ...r, override: -1 })) }] };
    assert.throws(() => parseResponse(JSON.stringify(okResponse('s', 'status', bad)), 'status'), SchemaError);
  });

  test("the watchdog's verdict travels in ping and status answers; a malformed one is refused", () => {
    const watchdog = {
      ok: false,
      reasons: [
        {
          code: 'checks-overdue',
          message: 'checks-overdue: ...',
          ageSeconds: 12.5,
          limitSeconds: 4,
          reals: 2,
          worst: { virtual: 'tcp:1.2.3.4:80', real: '10.0.0.1:80' },
        },
        { code: 'engine-stalled', message: 'engine-stalled: ...', ageSeconds: 45, limitSeconds: 30 },
      ],
    };
    const ping = {
      pid: 1,
      configFile: '/x',
      startedAt: '2024-05-01T12:00:00.000Z',
      uptimeSeconds: 3.5,
      lastSyncOk: true,
      watchdog,
    };
    assert.deepEqual(parseResponse(JSON.stringify(okResponse(1, 'ping', ping)), 'ping'), okResponse(1, 'ping', ping));
    const report = sampleReport();
    const withWatchdog = { ...report, daemon: { ...report.daemon, watchdog } };
    assert.deepEqual(
      parseResponse(JSON.stringify(okResponse(1, 'status', withWatchdog)), 'status'),
      okResponse(1, 'status', withWatchdog),
    );
    const bad = {
      ...ping,
      watchdog: { ok: false, reasons: [{ code: 'checks-overdue', message: 'x', ageSeconds: -1, limitSeconds: 4 }] },
    };
    assert.throws(() => parseResponse(JSON.stringify(okResponse(1, 'ping', bad)), 'ping'), SchemaError);
  });

  test('the health verdict travels in ping and status answers (a code this side lacks too); a malformed one is refused', () => {
    const health: HealthStatus = {
      level: 'degraded',
      summary: 'degraded: kernel-refused: ...; newer-code: ...',
      reasons: [
        { code: 'kernel-refused', level: 'degraded', message: 'kernel-refused: ...', virtuals: ['tcp:1.2.3.4:81'] },
        { code: 'newer-code', level: 'degraded', message: 'newer-code: ...' },
      ],
    };
    const ping = {
      pid: 1,
      configFile: '/x',
      startedAt: '2024-05-01T12:00:00.000Z',
      uptimeSeconds: 3.5,
      lastSyncOk: false,
      health,
    };
    assert.deepEqual(parseResponse(JSON.stringify(okResponse(1, 'ping', ping)), 'ping'), okResponse(1, 'ping', ping));
    const report = sampleReport();
    const withHealth = { ...report, daemon: { ...report.daemon, health } };
    assert.deepEqual(
      parseResponse(JSON.stringify(okResponse(1, 'status', withHealth)), 'status'),
      okResponse(1, 'status', withHealth),
    );
    for (const wrong of [
      { ...health, level: 'fine' },
      { ...health, reasons: [{ code: 'x', level: 'ok', message: 'x' }] },
      { level: 'ok', reasons: [] },
    ]) {
      const line = JSON.stringify({ v: 1, id: 1, ok: true, type: 'ping', result: { ...ping, health: wrong } });
      assert.throws(() => parseResponse(line, 'ping'), SchemaError, JSON.stringify(wrong));
    }
  });

  test('invalid responses throw SchemaError', () => {
    const report = sampleReport();
    const bad = [
      'nope',
      JSON.stringify({ v: 1, id: 'a', ok: true, type: 'ping', result: report }),
      JSON.stringify({ v: 1, id: null, ok: true, type: 'status', result: report }),
      JSON.stringify({ v: 1, id: 'a', ok: true, type: 'status', result: { ...report, generatedAt: 'yesterday' } }),
      JSON.stringify({
        v: 1,
        id: 'a',
        ok: true,
        type: 'status',
        result: { ...report, virtualServices: [{ id: 'x' }] },
      }),
      JSON.stringify({ v: 1, id: 'a', ok: false }),
    ];
    for (const line of bad) assert.throws(() => parseResponse(line, 'status'), SchemaError, line.slice(0, 60));
    assert.throws(
      () =>
        parseResponse(JSON.stringify({ v: 1, id: 'a', ok: true, type: 'stop', result: { stopped: false } }), 'stop'),
      SchemaError,
    );
    assert.throws(
      () => parseResponse(JSON.stringify({ v: 1, id: 'a', ok: true, type: 'ping', result: { pid: 0 } }), 'ping'),
      SchemaError,
    );
  });
});

describe('reload-preview responses', () => {
  const KEY = { family: 'inet', protocol: 'tcp', address: '192.0.2.1', port: 80 } as const;
  const steps: PreviewStep[] = [
    {
      kind: 'sysctl',
      key: 'net.ipv4.ip_forward',
      old: '0',
      new: '1',
      why: 'IPv4 masq forwarding',
      status: 'would-change',
      reason: null,
      text: 's',
    },
    { kind: 'drain-cancel', virtual: 'tcp:192.0.2.1:80', real: '10.0.0.7:80', text: 'c' },
    { kind: 'drain-begin', virtual: 'tcp:192.0.2.2:25', real: null, timeoutSeconds: 30, text: 'd' },
    {
      kind: 'fallback-command',
      virtual: 'tcp:192.0.2.1:80',
      action: 'stop',
      argv: ['/bin/sorry', 'stop', '192.0.2.1:80', 'tcp'],
      text: 'f',
    },
    { kind: 'drain-end', virtual: 'tcp:192.0.2.1:80', real: '10.0.0.8:80', why: 'idle', text: 'e' },
    {
      kind: 'ipvs',
      op: {
        op: 'add-service',
        service: { ...KEY, scheduler: 'wrr', persistent: 300, onePacket: false, schedulerFlags: ['flag-1'] },
      },
      role: null,
      real: null,
      reason: null,
      repair: false,
      text: 'A',
    },
    {
      kind: 'ipvs',
      op: {
        op: 'edit-service',
        service: { family: 'inet6', fwmark: 7, scheduler: 'rr', onePacket: true, schedulerFlags: [] },
      },
      role: null,
      real: null,
      reason: null,
      repair: true,
      text: 'E',
    },
    {
      kind: 'ipvs',
      op: {
        op: 'add-destination',
        service: KEY,
        destination: {
          address: '10.0.0.3',
          family: 'inet',
          port: 80,
          forward: 'tunnel',
          weight: 4,
          upperThreshold: 0,
          lowerThreshold: 0,
          tunnelType: 'gue',
          tunnelPort: 6080,
        },
      },
      role: 'real',
      real: '10.0.0.3:80',
      reason: 'up',
      repair: false,
      text: 'a',
    },
    {
      kind: 'ipvs',
      op: { op: 'delete-destination', service: KEY, destination: { address: '10.0.0.8', port: 80, family: 'inet' } },
      role: 'stale',
      real: null,
      reason: null,
      repair: false,
      text: 'x',
    },
    {
      kind: 'ipvs',
      op: { op: 'delete-service', service: { family: 'inet', fwmark: 9 } },
      role: null,
      real: null,
      reason: null,
      repair: false,
      text: 'D',
    },
    { kind: 'fallback', virtual: 'tcp:192.0.2.1:80', active: false, text: 'o' },
    {
      kind: 'sync-daemon',
      action: 'start',
      state: 'master',
      daemon: {
        state: 'master',
        interface: 'eth1',
        syncId: 7,
        group: '239.1.1.1',
        port: 8848,
        ttl: 2,
        maxLength: 1472,
      },
      text: 'm',
    },
    { kind: 'sync-daemon', action: 'stop', state: 'backup', daemon: null, text: 'b' },
    {
      kind: 'first-check',
      virtual: 'tcp:192.0.2.1:80',
      real: '10.0.0.5:80',
      weightUntilChecked: null,
      weight: 1,
      text: 'k',
    },
    { kind: 'execute', name: 'other.cf', action: 'try-reload', text: 'r' },
  ];

  test('a preview with a step of every kind round-trips through encode and parse', () => {
    const result = {
      file: '/etc/ha.d/x.cf',
      diagnostics: [
        { file: '/etc/ha.d/x.cf', line: 2, severity: 'warning' as const, code: 'deprecated', message: 'm' },
      ],
      steps,
    };
    const line = encodeMessage(okResponse('p', 'reload-preview', result)).trimEnd();
    assert.deepEqual(parseResponse(line, 'reload-preview'), okResponse('p', 'reload-preview', result));
  });

  test('members added by a newer daemon are dropped; ill-formed steps are refused', () => {
    const newer = {
      v: 1,
      id: 'p',
      ok: true,
      type: 'reload-preview',
      result: { file: '/x', diagnostics: [], steps: [{ ...steps[2], extra: 1 }], extra: 2 },
    };
    assert.deepEqual(
      parseResponse(JSON.stringify(newer), 'reload-preview'),
      okResponse('p', 'reload-preview', { file: '/x', diagnostics: [], steps: [steps[2] as PreviewStep] }),
    );
    const bad: unknown[] = [
      { kind: 'reboot', text: 'x' },
      { ...steps[2], timeoutSeconds: -1 },
      { ...steps[5], op: { op: 'add-service', service: KEY } },
      { ...steps[5], op: { op: 'flush' } },
      {
        ...steps[8],
        op: {
          op: 'delete-destination',
          service: { family: 'inet', address: '192.0.2.1', port: 80 },
          destination: { address: '10.0.0.8', port: 80, family: 'inet' },
        },
      },
      {
        ...steps[7],
        op: {
          op: 'add-destination',
          service: KEY,
          destination: {
            address: '10.0.0.3',
            family: 'inet',
            port: 80,
            forward: 'nat',
            weight: 1,
            upperThreshold: 0,
            lowerThreshold: 0,
          },
        },
      },
      { ...steps[4], why: 'bored' },
      { ...steps[0], text: undefined },
    ];
    for (const step of bad) {
      const line = JSON.stringify({
        v: 1,
        id: 'p',
        ok: true,
        type: 'reload-preview',
        result: { file: '/x', diagnostics: [], steps: [step] },
      });
      assert.throws(() => parseResponse(line, 'reload-preview'), SchemaError, JSON.stringify(step).slice(0, 80));
    }
  });
});

describe('wire helpers', () => {
  test('the socket path is named after the configuration', () => {
    assert.equal(controlSocketPath('ldirectord.cf'), '/run/ldir/ldirectord.cf.sock');
    assert.equal(controlSocketPath('web', '/tmp/x'), '/tmp/x/web.sock');
  });

  test('diagnostics print as ldir check prints them', () => {
    const diagnostics: Diagnostic[] = [
      {
        severity: 'error',
        code: 'unknown-directive',
        message: 'unknown directive "bogus"',
        pos: { file: '/etc/ha.d/x.cf', line: 4 },
      },
      {
        severity: 'warning',
        code: 'deprecated',
        message: 'checkcount is deprecated',
        pos: { file: '/etc/x.yaml', line: 2, column: 5 },
      },
    ];
    for (const d of diagnostics) assert.equal(formatWireDiagnostic(toWireDiagnostic(d)), formatDiagnostic(d));
    assert.deepEqual(toWireDiagnostic(diagnostics[1] as Diagnostic), {
      file: '/etc/x.yaml',
      line: 2,
      column: 5,
      severity: 'warning',
      code: 'deprecated',
      message: 'checkcount is deprecated',
    });
  });

  test('newlines inside strings never break the one-line framing', () => {
    const line = encodeMessage(errorResponse('a', 'LDIR_ERR_INTERNAL', 'two\nlines\r\n'));
    assert.equal(line.split('\n').length, 2);
  });
});
