// The real= grammar, ranges, resolution and ldirectord's unanchored-regex quirks.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatRealLine, parseRealLine } from '../../../src/config/real-line';
import { load, loadErrors, onlyVirtual, vs, warnings } from '../../helpers/config';

test('full grammar: host, port, forward, weight, request/receive, thresholds', async () => {
  const v = await onlyVirtual(vs('real=10.0.0.1:8080 masq 5 "status","UP" l:10 u:100'));
  assert.deepEqual(v.reals[0], {
    address: '10.0.0.1',
    port: 8080,
    forward: 'masq',
    weight: 5,
    request: '/status',
    receive: 'UP',
    lowerThreshold: 10,
    upperThreshold: 100,
    source: { file: '/etc/ha.d/test.cf', line: 2 },
  });
});

test('request and receive may be separated by a space; weight 0 is allowed', async () => {
  const v = await onlyVirtual(vs('real=10.0.0.1:80 ipip 0 "/a" "b"'));
  assert.equal(v.reals[0]?.weight, 0);
  assert.equal(v.reals[0]?.request, '/a');
  assert.equal(v.reals[0]?.receive, 'b');
});

test('port omitted is 0; service names resolve for any protocol', async () => {
  const v = await onlyVirtual(vs('real=10.0.0.1 gate', 'real=10.0.0.2:http gate', 'real=10.0.0.3:domain gate'));
  assert.deepEqual(
    v.reals.map((r) => r.port),
    [0, 80, 53],
  );
});

test("host names resolve in the virtual's family", async () => {
  const v = await onlyVirtual(vs('real=web1:80 gate'));
  assert.equal(v.reals[0]?.address, '10.0.0.1');
  const v6 = await onlyVirtual('virtual6=[2001:db8::1]:80\n\treal6=www6:80 gate\n\treal6=[2001:DB8:0::5]:80 gate\n');
  assert.deepEqual(
    v6.reals.map((r) => r.address),
    ['2001:db8::80', '2001:db8::5'],
  );
});

test('IPv4 ranges expand, by address or by name', async () => {
  const v = await onlyVirtual(vs('real=10.0.0.254->10.0.1.1:80 gate 2'));
  assert.deepEqual(
    v.reals.map((r) => r.address),
    ['10.0.0.254', '10.0.0.255', '10.0.1.0', '10.0.1.1'],
  );
  assert.ok(v.reals.every((r) => r.weight === 2));
  const named = await onlyVirtual(vs('real=web1->web3:80 gate'));
  assert.deepEqual(
    named.reals.map((r) => r.address),
    ['10.0.0.1', '10.0.0.2', '10.0.0.3'],
  );
});

test('range errors: reversed, IPv6, too large, unresolvable end', async () => {
  assert.match((await loadErrors(vs('real=10.0.0.9->10.0.0.1:80 gate')))[0]?.message ?? '', /must not be greater/);
  assert.match(
    (await loadErrors('virtual6=[2001:db8::1]:80\n\treal6=[2001:db8::1]->[2001:db8::3]:80 gate\n'))[0]?.message ?? '',
    /IPv6 is not supported/,
  );
  assert.match((await loadErrors(vs('real=10.0.0.0->10.2.0.0:80 gate')))[0]?.message ?? '', /at most 65536/);
  assert.match((await loadErrors(vs('real=10.0.0.1->nosuch:80 gate')))[0]?.message ?? '', /could not resolve end host/);
});

test('resolution errors name the host or port, at the real line', async () => {
  const host = await loadErrors(vs('real=nosuch:80 gate'));
  assert.equal(host[0]?.pos.line, 2);
  assert.match(host[0]?.message ?? '', /invalid address \(nosuch\) for real server \(could not resolve host\)/);
  assert.match((await loadErrors(vs('real=10.0.0.1:gopher gate')))[0]?.message ?? '', /invalid port \(gopher\)/);
  assert.match((await loadErrors(vs('real=10.0.0.1:70000 gate')))[0]?.message ?? '', /invalid port \(70000\)/);
  assert.match((await loadErrors(vs('real=[2001:db8::2]:80 gate')))[0]?.message ?? '', /could not resolve host/);
});

test('grammar errors', async () => {
  const cases: Array<[string, RegExp]> = [
    ['real=10.0.0.1:80', /wrong format/],
    ['real=10.0.0.1:80 direct', /forward method must be gate, masq, ipip, gue or gre, not "direct"/],
    ['real=10.0.0.1:80 Gate', /forward method must be/],
    ['real=10.0.0.1:80 gate 5 junk', /invalid real server line, around "junk"/],
    ['real=10.0.0.1:80 gate l:x', /invalid real server line/],
    ['real=10.0.0.1:80 gate "/status", "HTTP 200"', /invalid real server line/],
  ];
  for (const [line, pattern] of cases) {
    const errs = await loadErrors(vs(line));
    assert.match(errs[0]?.message ?? '', pattern, line);
    assert.equal(errs[0]?.pos.line, 2);
  }
});

test("text ldirectord skips is accepted with a warning, with ldirectord's meaning", async () => {
  const r = await load(
    vs('real=10.0.0.1:80 gate foo 5', 'real=10.0.0.2:80 !masq 3', 'real=10.0.0.3:80 gate u:100 l:0'),
  );
  assert.ok(r.config, r.diagnostics.map((d) => d.message).join('; '));
  const reals = r.config.virtualServices[0]?.reals ?? [];
  assert.equal(reals[0]?.weight, 5);
  assert.equal(reals[1]?.forward, 'masq');
  assert.deepEqual(
    [reals[2]?.lowerThreshold, reals[2]?.upperThreshold],
    [0, 0],
    'ldirectord drops u: written before l:',
  );
  assert.deepEqual(
    warnings(r).map((w) => w.pos.line),
    [2, 3, 4],
  );
  // ldirectord drops a u: written before l:, leaving l:10 above u:0, which the kernel refuses: an error at the line.
  const swapped = await load(vs('real=10.0.0.3:80 gate u:100 l:10'));
  assert.equal(swapped.config, undefined);
  assert.deepEqual(
    swapped.diagnostics.map((d) => [d.severity, d.pos.line]),
    [
      ['warning', 2],
      ['error', 2],
    ],
  );
  assert.match(swapped.diagnostics[0]?.message ?? '', /text "u:100" is ignored/);
  assert.match(swapped.diagnostics[1]?.message ?? '', /lower threshold l:10 without an upper threshold/);
});

test('a real listed twice keeps the later entry, with a warning', async () => {
  const r = await load(vs('real=10.0.0.1:80 gate 1', 'real=10.0.0.1:80 gate 7'));
  assert.deepEqual(
    r.config?.virtualServices[0]?.reals.map((x) => x.weight),
    [7],
  );
  assert.equal(warnings(r)[0]?.pos.line, 3);
});

test('parseRealLine and formatRealLine round-trip the canonical form', () => {
  for (const text of ['10.0.0.1 gate', 'web1->web3:http masq 3', '[2001:db8::1]:80 ipip 0 "/x","y" l:1 u:2']) {
    const r = parseRealLine(text);
    assert.ok(r.ok);
    assert.equal(formatRealLine(r.value), text);
  }
});

test('limits keep hostile input fast: line length, total real servers', async () => {
  const long = await loadErrors(vs(`real=${'a'.repeat(40_000)}`));
  assert.match(long[0]?.message ?? '', /longer than 4096 characters/);
  const fallback = await loadErrors(`fallback=${'a'.repeat(5000)} b\n${vs('real=10.0.0.1:80 gate')}`);
  assert.match(fallback[0]?.message ?? '', /longer than 4096 characters/);
  const lines = Array.from({ length: 4 }, (_, i) => `real=10.${i}.0.0->10.${i}.255.255:80 gate`);
  const many = await loadErrors(vs(...lines));
  assert.equal(many.length, 1);
  assert.equal(many[0]?.pos.line, 5);
  assert.match(many[0]?.message ?? '', /more than 200000 real servers/);
});

test("fallback takes the last two words, as ldirectord's unanchored pattern does", async () => {
  const r = await load('virtual=192.0.2.1:80\n\treal=10.0.0.1 gate\n\tfallback=junk 127.0.0.1:81 masq\n');
  assert.deepEqual(
    [
      r.config?.virtualServices[0]?.fallback?.address,
      r.config?.virtualServices[0]?.fallback?.port,
      r.config?.virtualServices[0]?.fallback?.forward,
    ],
    ['127.0.0.1', 81, 'masq'],
  );
  assert.equal(warnings(r)[0]?.pos.line, 3);
});
