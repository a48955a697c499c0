// ping checker: ICMP echo to 127.0.0.1 and ::1 through whichever socket this host permits, the raw path forced, the
// ping-socket path inside a test-made namespace where net.ipv4.ping_group_range is opened, and "icmp unavailable".
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { ErrorCodes, LdirError } from '../../../src/errors';
import { loadNativeAddon, type NativeAddon, type NativeErrnoError } from '../../../src/native/addon';
import { createPingChecker, echoRequest, icmpChecksum, pingCheck } from '../../../src/checks/ping';
import { assertResult, makeJob, NEVER } from '../../helpers/check-job';
import { skipOrFail } from '../../helpers/prerequisites';

/** An errno-coded error as the addon throws it. */
function errnoError(code: string, errno: number): NativeErrnoError {
  return Object.assign(new Error(`socket: ${code}`), { code, errno, syscall: 'socket' });
}

/** The real addon, or undefined (the caller skips; CI fails) when it is not built. */
function realAddon(t: { skip(msg: string): void }): NativeAddon | undefined {
  try {
    return loadNativeAddon();
  } catch (err) {
    skipOrFail(t, (err as Error).message);
    return undefined;
  }
}

/** The addon with ping sockets refused (EACCES, as with net.ipv4.ping_group_range = "1 0"). */
function rawOnly(real: NativeAddon): NativeAddon {
  return {
    netlinkOpen: (p) => real.netlinkOpen(p),
    netlinkTransact: (...a) => real.netlinkTransact(...a),
    netlinkClose: (h) => real.netlinkClose(h),
    icmpRawTransact: (...a) => real.icmpRawTransact(...a),
    TcpProbeEngine: real.TcpProbeEngine,
    syslogOpen: (...a) => real.syslogOpen(...a),
    syslogWrite: (...a) => real.syslogWrite(...a),
    syslogClose: (h) => real.syslogClose(h),
    icmpOpen: (family, raw) => {
      if (!raw) throw errnoError('EACCES', 13);
      return real.icmpOpen(family, raw);
    },
  };
}

test('echo header: type, identifier, sequence and a valid IPv4 checksum', () => {
  const v4 = echoRequest(4, 0x1234, 7);
  assert.equal(v4[0], 8);
  assert.equal(v4.readUInt16BE(4), 0x1234);
  assert.equal(v4.readUInt16BE(6), 7);
  assert.equal(icmpChecksum(v4), 0);
  assert.equal(echoRequest(6, 1, 1)[0], 128);
});

for (const address of ['127.0.0.1', '::1']) {
  test(`ping ${address} is up (host default socket kind)`, async (t) => {
    if (!realAddon(t)) return;
    const r = await pingCheck(makeJob({ type: 'ping', address, checkTimeoutMs: 1000, pingCount: 2 }), NEVER);
    assertResult(r, true, /^echo reply in [\d.]+ ms$/);
  });

  test(`ping ${address} over a raw socket (ping sockets refused)`, async (t) => {
    const real = realAddon(t);
    if (!real) return;
    try {
      fs.closeSync(real.icmpOpen(address.includes(':') ? 6 : 4, true));
    } catch (err) {
      skipOrFail(t, `raw ICMP not permitted here (needs CAP_NET_RAW): ${(err as Error).message}`);
      return;
    }
    const check = createPingChecker({ addon: () => rawOnly(real) });
    const r = await check(makeJob({ type: 'ping', address, checkTimeoutMs: 1000 }), NEVER);
    assertResult(r, true, /^echo reply/);
    // Several probes in flight at once, one fd each.
    const many = await Promise.all(
      Array.from({ length: 8 }, () => check(makeJob({ type: 'ping', address, checkTimeoutMs: 1000 }), NEVER)),
    );
    assert.ok(
      many.every((m) => m.up),
      JSON.stringify(many),
    );
  });
}

test('neither ping sockets nor raw sockets: down, naming the sysctl', async () => {
  const fake = rawOnly({} as NativeAddon);
  const denied: NativeAddon = {
    ...fake,
    icmpOpen: (_f, raw) => {
      throw raw ? errnoError('EPERM', 1) : errnoError('EACCES', 13);
    },
  };
  const r = await createPingChecker({ addon: () => denied })(makeJob({ type: 'ping' }), NEVER);
  assertResult(r, false, /^icmp unavailable: .*net\.ipv4\.ping_group_range.*CAP_NET_RAW \(EPERM\)$/);
  const missing = (): NativeAddon => {
    throw new LdirError(ErrorCodes.NATIVE_UNAVAILABLE, 'native addon not built: run npm run build:native');
  };
  assertResult(
    await createPingChecker({ addon: missing })(makeJob({ type: 'ping', address: '::1' }), NEVER),
    false,
    /^icmp unavailable: native addon not built/,
  );
});

test('ping sockets are used where net.ipv4.ping_group_range allows (in a test-made namespace)', async (t) => {
  if (!realAddon(t)) return;
  if (process.getuid?.() !== 0) return skipOrFail(t, 'not root: ip netns needs root');
  const ns = `ldpg${process.pid % 100000}`;
  try {
    execFileSync('ip', ['netns', 'add', ns], { stdio: 'pipe' });
  } catch (err) {
    return skipOrFail(t, `ip netns not permitted: ${(err as Error).message}`);
  }
  try {
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    execFileSync('ip', ['netns', 'exec', ns, 'sh', '-c', 'echo "0 2147483647" > /proc/sys/net/ipv4/ping_group_range']);
    const dist = path.resolve(__dirname, '../../../src');
    const script = `
      const { createPingChecker } = require(${JSON.stringify(path.join(dist, 'checks/ping.js'))});
      const { loadNativeAddon } = require(${JSON.stringify(path.join(dist, 'native/addon.js'))});
      const real = loadNativeAddon();
      const used = [];
      const addon = Object.assign(Object.create(real), { icmpOpen: (f, raw) => { used.push(raw ? 'raw' : 'socket'); return real.icmpOpen(f, raw); } });
      const check = createPingChecker({ addon: () => addon });
      const signal = new AbortController().signal;
      const job = (address) => ({ type: 'ping', address, family: address.includes(':') ? 'inet6' : 'inet', pingCount: 1, checkTimeoutMs: 1000 });
      Promise.all([check(job('127.0.0.1'), signal), check(job('::1'), signal)])
        .then((results) => console.log(JSON.stringify({ results, used })));`;
    const out = execFileSync('ip', ['netns', 'exec', ns, process.execPath, '-e', script], {
      encoding: 'utf8',
      timeout: 15_000,
    });
    const { results, used } = JSON.parse(out) as { results: { up: boolean; reason: string }[]; used: string[] };
    assert.deepEqual(used, ['socket', 'socket']);
    for (const r of results) assert.equal(r.up, true, r.reason);
  } finally {
    execFileSync('ip', ['netns', 'del', ns]);
  }
  return undefined;
});
