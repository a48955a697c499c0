// virtual=/virtual6= forms and fallback servers (per virtual and global).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { load, loadErrors, loadValid, onlyVirtual, warnings } from '../../helpers/config';

const body = '\n\treal=10.0.0.1:80 gate\n';
const body6 = '\n\treal6=[2001:db8::2]:80 gate\n';

test('virtual forms: IPv4:port, host:port, service name, fwmark, virtual6 address and fwmark', async () => {
  assert.equal((await onlyVirtual(`virtual=192.0.2.1:80${body}`)).id, 'tcp:192.0.2.1:80');
  assert.equal((await onlyVirtual(`virtual=lb.example.com:https${body}`)).id, 'tcp:192.0.2.10:443');
  assert.equal((await onlyVirtual(`virtual=localhost:8080${body}`)).address, '127.0.0.1');
  assert.equal((await onlyVirtual(`virtual=42${body}`)).id, 'fwm:42');
  assert.equal((await onlyVirtual(`virtual6=[2001:DB8::1]:80${body6}`)).id, 'tcp:[2001:db8::1]:80');
  assert.equal((await onlyVirtual(`virtual6=lb.example.com:80${body6}`)).address, '2001:db8::10');
  assert.equal((await onlyVirtual(`virtual6=42${body6}`)).id, 'fwm6:42');
});

test('virtual errors are reported at the virtual line', async () => {
  const cases: Array<[string, RegExp]> = [
    [`virtual=[2001:db8::1]:80${body}`, /please use "virtual6"/],
    [`virtual6=[2001:db8:::1]:80${body6}`, /invalid IPv6 address/],
    [`virtual=:80${body}`, /invalid address for virtual server/],
    [`virtual=nosuch.example:80${body}`, /could not resolve nosuch.example as IPv4/],
    [`virtual=192.0.2.1:gopher${body}`, /unknown port or service "gopher"/],
    [`virtual=192.0.2.1:http\n\tprotocol=udp${body}`, /unknown port or service "http" for udp/],
    [`virtual6=192.0.2.1:80${body6}`, /could not resolve 192.0.2.1 as IPv6/],
  ];
  for (const [text, pattern] of cases) {
    const errs = await loadErrors(text);
    assert.equal(errs[0]?.pos.line, 1, text);
    assert.match(errs[0]?.message ?? '', pattern, text);
  }
});

test('ldirectord reads virtual=1.2.3 as fwmark 1 and ignores text after ip:port; ldir warns', async () => {
  const r = await load(`virtual=1.2.3${body}\nvirtual=192.0.2.1:80 www${body}`);
  assert.deepEqual(
    r.config?.virtualServices.map((v) => v.id),
    ['fwm:1', 'tcp:192.0.2.1:80'],
  );
  assert.deepEqual(
    warnings(r).map((w) => w.pos.line),
    [1, 4],
  );
});

test('per-virtual fallback: port defaults to the virtual port, forward to gate', async () => {
  const v = await onlyVirtual(`virtual=192.0.2.1:https\n\treal=10.0.0.1 gate\n\tfallback=127.0.0.1\n`);
  assert.deepEqual(v.fallback, {
    address: '127.0.0.1',
    port: 443,
    forward: 'gate',
    source: { file: '/etc/ha.d/test.cf', line: 3 },
  });
  const named = await onlyVirtual(`virtual=192.0.2.1:80\n\treal=10.0.0.1 gate\n\tfallback=localhost:http masq\n`);
  assert.deepEqual([named.fallback?.address, named.fallback?.port, named.fallback?.forward], ['127.0.0.1', 80, 'masq']);
  const v6 = await onlyVirtual(`virtual6=[2001:db8::1]:80\n\treal6=[2001:db8::2] gate\n\tfallback6=[::1]:8080\n`);
  assert.deepEqual([v6.fallback?.address, v6.fallback?.port], ['::1', 8080]);
});

test('global fallback applies per family to tcp and udp virtuals only, with the virtual port when it has none', async () => {
  const c = await loadValid(
    `fallback=127.0.0.1\nfallback6=[::1]:81\nvirtual=192.0.2.1:80${body}\nvirtual=192.0.2.1:53${body}\nvirtual=9${body}\nvirtual6=[2001:db8::1]:80${body6}`,
  );
  const [tcp, udp, mark, v6] = c.virtualServices;
  assert.deepEqual([tcp?.fallback?.address, tcp?.fallback?.port], ['127.0.0.1', 80]);
  assert.deepEqual([udp?.fallback?.address, udp?.fallback?.port], ['127.0.0.1', 53]);
  assert.equal(mark?.fallback, undefined);
  assert.deepEqual([v6?.fallback?.address, v6?.fallback?.port], ['::1', 81]);
});

test('a per-virtual fallback beats the global one', async () => {
  const v = await onlyVirtual(
    `fallback=127.0.0.1:80\nvirtual=192.0.2.1:80\n\treal=10.0.0.1 gate\n\tfallback=127.0.0.2:8080\n`,
  );
  assert.equal(v.fallback?.address, '127.0.0.2');
});

test('fallback errors at the fallback line; an fwmark fallback accepts numeric ports only', async () => {
  const mark = await loadErrors('virtual=9\n\treal=10.0.0.1 gate\n\tfallback=127.0.0.1:http\n');
  assert.equal(mark[0]?.pos.line, 3);
  assert.match(mark[0]?.message ?? '', /invalid port for fallback server/);
  await loadValid('virtual=9\n\treal=10.0.0.1 gate\n\tfallback=127.0.0.1:80\n');
  const unresolved = await loadErrors('virtual=192.0.2.1:80\n\treal=10.0.0.1 gate\n\tfallback=nosuch:80\n');
  assert.match(unresolved[0]?.message ?? '', /could not resolve for fallback server: nosuch/);
  const six = await loadErrors('virtual6=[2001:db8::1]:80\n\treal6=[2001:db8::2] gate\n\tfallback6=::1\n');
  assert.equal(six[0]?.pos.line, 3);
});

test('an empty fallback means the local host, as ldirectord (with a warning)', async () => {
  const r = await load('virtual=192.0.2.1:80\n\treal=10.0.0.1 gate\n\tfallback=\n');
  assert.equal(r.config?.virtualServices[0]?.fallback?.address, '127.0.0.1');
  assert.equal(warnings(r)[0]?.pos.line, 3);
});
