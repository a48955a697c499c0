// Kernel tier (inside the VM): the IPVS capabilities issue 15 brings to the configuration, through the real `ldir`
// daemon with each backend, read back with Debian's ipvsadm. `persistenceengine=sip` (with `persistent=`) on a UDP
// service: `ipvsadm -Ln` shows `persistent N pe sip`, SIP datagrams through the VIP stick to a real by their Call-ID
// (not by the client's address: one client's calls spread over both reals), `/proc/net/ip_vs_conn` holds one
// template per Call-ID, a datagram without a Call-ID is dropped. `ipvstimeouts="TCP TCPFIN UDP"`: `ldir check` shows
// the change beforehand, the start sets it (`ipvsadm -L --timeout`), `ldir status` shows it, a reload (previewed
// first) changes it, and the stop leaves it as it is, or gives back what ldir found with `ipvstimeoutsrestore=yes`,
// also after a restart (the successor gives back what its predecessor found). Figures as "figure: ...".
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { StatusReport } from '../../../src/daemon/protocol';
import {
  deleteServices,
  eventually,
  LdirDirector,
  listTable,
  peekTable,
  tableShape,
} from '../../helpers/ldir-director';
import { buildNatLab, type NatLab } from '../../helpers/netns-lab';

const skip =
  process.env['LDIR_IN_VM'] === '1' && existsSync('/proc/net/ip_vs')
    ? false
    : 'runs inside the kernel-tier VM only (test/kernel/host-runs-guest-tests)';

const NET = 170;
const VIP = `10.${NET + 1}.0.1`;
const SERVICE = `UDP ${VIP}:5060`;
const TEST_TIMEOUT = 600_000;
/** The kernel's defaults, set before each run so that every run starts from the same values. */
const DEFAULTS = '900 120 300';

// argv: host port firstSourcePort callId... One new UDP socket (a new flow for IPVS) per datagram, bound to its own
// source port (firstSourcePort + its index): an ephemeral port that happened to repeat one of an earlier datagram
// would match that datagram's UDP connection entry, which IPVS looks up before any persistence, and go to its real
// whatever the Call-ID. Each datagram is a SIP OPTIONS request with that Call-ID ("-": without one). Prints
// "CALLID REAL" per datagram (REAL "none" when no answer came within 5 s).
const SIP_CLIENT_JS = `
const dgram = require('node:dgram');
const [host, port, firstSourcePort, ...ids] = process.argv.slice(1);
function ask(id, index) {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.bind(Number(firstSourcePort) + index);
    const callId = id === '-' ? '' : 'Call-ID: ' + id + '\\r\\n';
    const msg = 'OPTIONS sip:lab@' + host + ' SIP/2.0\\r\\nVia: SIP/2.0/UDP client;branch=z9hG4bK' + Math.random().toString(16).slice(2) + '\\r\\n'
      + 'From: <sip:client@lab>;tag=1\\r\\nTo: <sip:lab@' + host + '>\\r\\n' + callId + 'CSeq: 1 OPTIONS\\r\\nContent-Length: 0\\r\\n\\r\\n';
    const timer = setTimeout(() => { s.close(); resolve('none'); }, 5000);
    s.on('message', (m) => { clearTimeout(timer); s.close(); resolve(String(m).trim().replace(/^hello from /, '')); });
    s.send(msg, Number(port), host);
  });
}
(async () => { for (const [i, id] of ids.entries()) process.stdout.write(id + ' ' + (await ask(id, i)) + '\\n'); })();
`;

/** `ipvsadm -L --timeout`: `tcp tcpfin udp`. */
function kernelTimeouts(): string {
  const out = execFileSync('ipvsadm', ['-L', '--timeout'], { encoding: 'utf8' });
  const m = /^Timeout \(tcp tcpfin udp\): (\d+) (\d+) (\d+)$/m.exec(out);
  if (!m) throw new Error(`unexpected ipvsadm -L --timeout output: ${out}`);
  return `${m[1]} ${m[2]} ${m[3]}`;
}

/** The line of the SIP service in `ipvsadm -Ln` (`UDP  VIP:5060 rr persistent 120 pe sip`), white space squeezed. */
function serviceLine(): string | undefined {
  const out = execFileSync('ipvsadm', ['-Ln'], { encoding: 'utf8' });
  return out
    .split('\n')
    .find((l) => l.startsWith('UDP') && l.includes(`${VIP}:5060`))
    ?.replace(/\s+/g, ' ')
    .trim();
}

/** PersistConn of each destination of the SIP service (`ipvsadm -Ln --persistent-conn`). */
function persistentConns(): Map<string, number> {
  const out = execFileSync('ipvsadm', ['-Ln', '--persistent-conn'], { encoding: 'utf8' });
  const conns = new Map<string, number>();
  let inService = false;
  for (const line of out.split('\n')) {
    const svc = /^(TCP|UDP|SCTP|FWM)\s+(\S+)/.exec(line);
    if (svc) inService = svc[1] === 'UDP' && svc[2] === `${VIP}:5060`;
    const d = /^\s+->\s+(\S+)\s+\d+\s+(\d+)/.exec(line);
    if (inService && d) conns.set(d[1] as string, Number(d[2]));
  }
  return conns;
}

describe('IPVS configuration through the daemon: SIP persistence engine and connection timeouts (both backends)', {
  skip,
  concurrency: false,
}, () => {
  let lab: NatLab;
  let director: LdirDirector;
  const addr = (i: number): string => `10.${NET}.${i}.2`;

  function config(name: string, timeouts: string, restore: boolean, persistent: number): string {
    return director.writeConfig(
      name,
      [
        'checkinterval=1',
        `logfile="${director.logPath(name)}"`,
        'metrics=no',
        `ipvstimeouts="${timeouts}"`,
        `ipvstimeoutsrestore=${restore ? 'yes' : 'no'}`,
        '',
        `virtual=${VIP}:5060`,
        '\tprotocol=udp',
        `\treal=${addr(1)}:5060 masq`,
        `\treal=${addr(2)}:5060 masq`,
        '\tchecktype=on',
        '\tscheduler=rr',
        `\tpersistent=${persistent}`,
        '\tpersistenceengine=sip',
        '',
      ].join('\n'),
    );
  }

  /** Source port of the next SIP datagram: never one used before in this file (see SIP_CLIENT_JS). */
  let nextSourcePort = 41_000;

  /** Sends SIP datagrams with `ids` from the client namespace; the real that answered each. */
  function sip(ids: readonly string[]): Array<[string, string]> {
    const out = lab.clientExec(process.execPath, ['-e', SIP_CLIENT_JS, VIP, '5060', String(nextSourcePort), ...ids]);
    nextSourcePort += ids.length;
    return out
      .trim()
      .split('\n')
      .map((l) => l.split(' ') as [string, string]);
  }

  async function run(
    name: string,
    ipvs: 'netlink' | 'ipvsadm',
    restore: boolean,
    t: { diagnostic: (m: string) => void },
  ): Promise<void> {
    const trace: string[] = [];
    try {
      execFileSync('ipvsadm', ['--set', ...DEFAULTS.split(' ')]);
      assert.equal(kernelTimeouts(), DEFAULTS);
      config(name, '7201 31 61', restore, 120);

      // ldir check shows the change beforehand, as it shows sysctls, and writes nothing.
      const check = await director.run(['check', `--ipvs=${ipvs}`, director.configPath(name)]);
      assert.equal(check.status, 0, check.stderr);
      assert.deepEqual(
        check.stdout.split('\n').filter((l) => l.startsWith('ipvs timeout:')),
        ['ipvs timeout: tcp 900 -> 7201', 'ipvs timeout: tcpfin 120 -> 31', 'ipvs timeout: udp 300 -> 61'],
      );
      assert.equal(kernelTimeouts(), DEFAULTS, 'ldir check wrote nothing');

      const started = await director.start(name, ipvs);
      console.log(`figure: ${ipvs}: ldir start returned after ${started.ms} ms`);
      trace.push('started');
      await eventually(
        'the SIP service with both reals',
        () => (peekTable().get(SERVICE)?.size === 2 ? true : undefined),
        60_000,
        200,
        () => tableShape(listTable(), [SERVICE]),
      );
      assert.equal(kernelTimeouts(), '7201 31 61', 'ipvsadm -L --timeout after start');
      assert.equal(serviceLine(), `UDP ${VIP}:5060 rr persistent 120 pe sip`);
      const status: StatusReport = await director.status(name);
      assert.equal(status.daemon.backend.name, ipvs);
      assert.deepEqual(status.daemon.ipvsTimeouts, [
        { timeout: 'tcp', value: 7201, found: 900, restore },
        { timeout: 'tcpfin', value: 31, found: 120, restore },
        { timeout: 'udp', value: 61, found: 300, restore },
      ]);
      assert.deepEqual(
        [status.virtualServices[0]?.persistent, status.virtualServices[0]?.persistenceEngine],
        [120, 'sip'],
      );

      // The engine at work: one client, six calls. Persistence by address would send them all to one real; by Call-ID
      // they spread (rr per new template), each call sticks to its real, and a datagram without a Call-ID is dropped.
      const calls = ['a', 'b', 'c', 'd', 'e', 'f'].map((c) => `${ipvs}-call-${c}`);
      const first = sip(calls);
      const again = sip([...calls].reverse());
      const none = sip(['-']);
      const byCall = new Map(first);
      assert.equal(
        new Set(first.map(([, r]) => r)).size,
        2,
        `one client's calls on both reals: ${JSON.stringify(first)}`,
      );
      assert.ok(
        first.every(([, r]) => /^per[12]$/.test(r)),
        JSON.stringify(first),
      );
      for (const [call, real] of again) {
        if (real === byCall.get(call)) continue;
        const conns = readFileSync('/proc/net/ip_vs_conn', 'utf8')
          .split('\n')
          .filter((l) => /^UDP|^Pro/.test(l))
          .join('\n');
        assert.fail(
          `${call} sticks to its real: ${real} now, ${byCall.get(call)} before; first ${JSON.stringify(first)}, again ` +
            `${JSON.stringify(again)}\n/proc/net/ip_vs_conn:\n${conns}`,
        );
      }
      assert.deepEqual(none, [['-', 'none']], 'a datagram without a Call-ID is dropped');
      // Templates outlive a service deleted and added again (the kernel keeps its destinations in a trash for a
      // while): count this phase's calls (their Call-IDs name the backend), and ipvsadm's count holds at least those.
      const conn = readFileSync('/proc/net/ip_vs_conn', 'utf8');
      const templates = conn.split('\n').filter((l) => new RegExp(` sip ${ipvs}-call-[a-f]\\s*$`).test(l)).length;
      assert.equal(templates, calls.length, 'one persistence template per Call-ID (/proc/net/ip_vs_conn)');
      const persistent = [...persistentConns().values()].reduce((a, b) => a + b, 0);
      assert.ok(persistent >= templates, `ipvsadm -Ln --persistent-conn counts them: ${persistent}`);
      for (const call of calls) assert.match(conn, new RegExp(` sip ${call}\\s*$`, 'm'), `a template keyed on ${call}`);
      console.log(
        `figure: ${ipvs}: 6 calls from one client: ${[...new Set(first.map(([, r]) => r))].map((r) => `${r}=${first.filter(([, x]) => x === r).length}`).join(' ')}; repeated calls on the same real; ${templates} templates`,
      );

      // A reload with changed timeouts, previewed first. tcpfin is no longer set: given back at the reload when
      // ipvstimeoutsrestore=yes (the configuration that set it said so), left otherwise. persistent changes; pe stays.
      config(name, '3601 0 62', restore, 90);
      const preview = await director.run([director.configPath(name), 'reload', '--dry-run']);
      assert.equal(preview.status, 0, preview.stderr);
      const tcpfin = restore
        ? 'ipvs timeout tcpfin 31 -> 120 (would be restored: found before ldir set 31, ipvstimeoutsrestore=yes)'
        : 'ipvs timeout tcpfin 31 (left: no longer set by ldir; ipvstimeoutsrestore=no)';
      assert.deepEqual(preview.stdout.trimEnd().split('\n'), [
        `ipvs timeout tcp 7201 -> 3601  # ipvstimeouts at ${director.configPath(name)}:4`,
        tcpfin,
        `ipvs timeout udp 61 -> 62  # ipvstimeouts at ${director.configPath(name)}:4`,
        `ipvsadm -E -u ${VIP}:5060 -s rr -p 90 --pe sip`,
      ]);
      assert.equal(kernelTimeouts(), '7201 31 61', 'the preview wrote nothing');
      const reload = await director.reload(name);
      assert.equal(reload.status, 0, reload.stderr);
      trace.push('reloaded');
      const afterReload = `3601 ${restore ? 120 : 31} 62`;
      assert.equal(kernelTimeouts(), afterReload, 'ipvsadm -L --timeout after the reload');
      await eventually(
        'persistent 90 with its engine',
        () => (serviceLine() === `UDP ${VIP}:5060 rr persistent 90 pe sip` ? true : undefined),
        30_000,
        200,
        () => serviceLine() ?? '(absent)',
      );

      if (restore) {
        // A restart hands the director over: the successor must give back what the first daemon found (900...), not
        // what it found itself (3601...).
        const restarted = await director.restart(name);
        console.log(`figure: ${ipvs}: ldir restart returned after ${restarted.ms} ms`);
        trace.push('restarted');
        assert.equal(kernelTimeouts(), afterReload, 'a restart changes no timeout');
        const s = await director.status(name);
        assert.deepEqual(
          s.daemon.ipvsTimeouts?.map((x) => [x.timeout, x.value, x.found]),
          [
            ['tcp', 3601, 900],
            ['udp', 62, 300],
          ],
        );
      }

      // The engine reads the service back as it wrote it (pe included): its resyncs repaired nothing. A restart's
      // successor counts from its own first pass: wait for a resync of its own (every 10 s) instead of assuming one ran.
      let last = await director.status(name);
      last = await eventually(
        'a resync after the last start',
        async () => {
          const s = await director.status(name);
          return (s.daemon.kernelOps?.syncs ?? 0) >= 2 ? s : undefined;
        },
        60_000,
        500,
        () => `kernel ops: ${JSON.stringify(last.daemon.kernelOps)}`,
      );
      assert.equal(last.daemon.kernelOps?.driftRepairs, 0, `no drift repair: ${JSON.stringify(last.daemon.kernelOps)}`);

      const stopped = await director.stop(name);
      assert.equal(stopped.status, 0, stopped.stderr);
      trace.push('stopped');
      assert.equal(peekTable().has(SERVICE), false, 'cleanstop removed the service');
      assert.equal(
        kernelTimeouts(),
        restore ? DEFAULTS : afterReload,
        restore ? 'given back at stop' : 'left as they were at stop',
      );
      console.log(
        `figure: ${ipvs}: timeouts ${DEFAULTS} -> start 7201 31 61 -> reload ${afterReload} -> stop ${kernelTimeouts()} (ipvstimeoutsrestore=${restore ? 'yes' : 'no'})`,
      );
    } catch (err) {
      t.diagnostic(`steps done: ${trace.join(', ')}`);
      const pid = director.pid(name);
      if (pid !== undefined) console.log(director.changesLogged(name, pid));
      console.log(
        director
          .logRecords(name, (r) => r['module'] === 'ipvs-timeouts' || Number(r['level']) >= 40)
          .map((r) => JSON.stringify(r))
          .join('\n'),
      );
      throw err;
    }
  }

  before(async () => {
    lab = buildNatLab('pe', 2, 80, { net: NET, udp: 5060 });
    director = new LdirDirector('ldir-pe-');
    deleteServices([SERVICE]);
    await lab.ready();
  });

  after(() => {
    director?.cleanup();
    deleteServices([SERVICE]);
    lab?.teardown();
    try {
      execFileSync('ipvsadm', ['--set', ...DEFAULTS.split(' ')]);
    } catch {
      /* no ipvsadm */
    }
  });

  test('netlink backend, ipvstimeoutsrestore=yes: set, shown, reloaded, carried through a restart, given back at stop', {
    timeout: TEST_TIMEOUT,
  }, async (t) => {
    await run('pe-netlink.cf', 'netlink', true, t);
  });

  test('ipvsadm backend, ipvstimeoutsrestore=no: set, shown, reloaded, left as they are at stop', {
    timeout: TEST_TIMEOUT,
  }, async (t) => {
    await run('pe-ipvsadm.cf', 'ipvsadm', false, t);
  });
});
