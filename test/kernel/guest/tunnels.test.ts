// Kernel tier (inside the VM): LVS-TUN with GUE and GRE through the real `ldir` daemon, with each backend. A client
// namespace reaches, through the director's VIPs, a real behind a GUE tunnel, one behind a GRE tunnel, an IPv6 real
// behind the IPv4 VIP (GUE over IPv6) and an IPv4 real behind the IPv6 VIP (GRE over IPv4, with checksums); each
// real decapsulates in its namespace and answers the client directly (the director sees no reply packet). The
// netlink backend runs the ldirectord.cf form, the ipvsadm backend the YAML form with the same meaning; Debian's
// `ipvsadm -Ln --tun-info` reads back what each wrote, before and after a reload that changes the checksum mode.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, afterEach, before, describe, test } from 'node:test';
import { deleteServices, eventually, LdirDirector } from '../../helpers/ldir-director';
import { clientBurst, countAnswers } from '../../helpers/netns-traffic';
import { buildTunnelLab, type TunnelLab } from '../../helpers/tunnel-lab';

const skip =
  process.env['LDIR_IN_VM'] === '1' && existsSync('/proc/net/ip_vs')
    ? false
    : 'runs inside the kernel-tier VM only (test/kernel/host-runs-guest-tests)';

const NET = 63;
const TEST_TIMEOUT = 300_000;
const VIP4 = `10.${NET}.9.1`;
const VIP6 = `fd${NET}:9::1`;
const SERVICE4 = `TCP  ${VIP4}:80`;
const SERVICE6 = `TCP  [${VIP6}]:80`;

/** The reals: lab name → the address the director tunnels to (as ipvsadm lists it). */
const GUE4 = 'tnG';
const GRE4 = 'tnE';
const GUE6 = 'tnS';
const GRE4_IN_V6 = 'tnF';

function ipvsadm(args: readonly string[]): string {
  return execFileSync('ipvsadm', [...args], { encoding: 'utf8', timeout: 30_000 });
}

/**
 * `ipvsadm -Ln --tun-info` as `SERVICE → destination → "TunnelInfo weight"`, e.g.
 * `TCP  10.63.9.1:80` → `10.63.3.2:80` → `gue:6080:+c 1`.
 */
function tunnelTable(): Map<string, Map<string, string>> {
  const table = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const line of ipvsadm(['-Ln', '--tun-info']).split('\n')) {
    const service = /^(TCP\s+\S+)/.exec(line);
    if (service) table.set((service[1] as string).replace(/\s+/, '  '), (current = new Map()));
    const dest = /^\s+->\s+(\S+)\s+(\S+)\s+(\S+)\s+(\d+)\s+\d+\s+\d+/.exec(line);
    if (dest && current) current.set(dest[1] as string, `${dest[2]} ${dest[3]} ${dest[4]}`);
  }
  return table;
}

/** The part of {@link tunnelTable} for the two lab services, as sorted text lines (for comparisons and messages). */
function tunnelLines(): string[] {
  const table = tunnelTable();
  return [SERVICE4, SERVICE6]
    .flatMap((s) => [...(table.get(s) ?? new Map<string, string>())].map(([d, info]) => `${s} -> ${d} ${info}`))
    .sort();
}

/** What `ipvsadm -Ln --tun-info` must show with the virtual's checksum mode `flags` (ipvsadm's `+c`, `r+c`). */
function expectedLines(lab: TunnelLab, gueFlags: '+c' | 'r+c'): string[] {
  const real = (name: string) => lab.reals.find((r) => r.name === name)!;
  return [
    `${SERVICE4} -> ${real(GUE4).address4}:80 Tunnel gue:6080:${gueFlags} 1`,
    `${SERVICE4} -> ${real(GRE4).address4}:80 Tunnel gre:-c 1`,
    `${SERVICE4} -> [${real(GUE6).address6}]:80 Tunnel gue:6081:+c 1`,
    `${SERVICE6} -> ${real(GRE4_IN_V6).address4}:80 Tunnel gre:+c 1`,
  ].sort();
}

/** Packets in and out of a service (`ipvsadm -Ln --stats --exact`). */
function packets(service: string): { inPackets: number; outPackets: number } {
  const [, address] = service.split(/\s+/);
  const line = ipvsadm(['-Ln', '--stats', '--exact'])
    .split('\n')
    .find((l) => l.startsWith('TCP') && l.split(/\s+/)[1] === address);
  const f = line?.trim().split(/\s+/) ?? [];
  if (f.length < 5) throw new Error(`no stats line for ${service}`);
  return { inPackets: Number(f[3]), outPackets: Number(f[4]) };
}

/** The ldirectord.cf form; `gueFlags` is the virtual's tunnelflags. */
function cfConfig(lab: TunnelLab, logfile: string, gueFlags: 'csum' | 'remcsum'): string {
  const real = (name: string) => lab.reals.find((r) => r.name === name)!;
  return [
    'checkinterval=1',
    'checktimeout=2',
    `logfile="${logfile}"`,
    '',
    `virtual=${VIP4}:80`,
    '\tchecktype=connect',
    '\tscheduler=rr',
    `\treal=${real(GUE4).address4}:80 gue`,
    `\treal=${real(GRE4).address4}:80 gre tunnelflags=nocsum`,
    `\treal6=[${real(GUE6).address6}]:80 gue tunnelport=6081 tunnelflags=csum`,
    '\ttunnelport=6080',
    `\ttunnelflags=${gueFlags}`,
    '',
    `virtual6=[${VIP6}]:80`,
    '\tchecktype=connect',
    '\tscheduler=rr',
    `\treal=${real(GRE4_IN_V6).address4}:80 gre tunnelflags=csum`,
    '',
  ].join('\n');
}

/** The same in YAML, with the per-real overrides as mapping keys. */
function yamlConfig(lab: TunnelLab, logfile: string, gueFlags: 'csum' | 'remcsum'): string {
  const real = (name: string) => lab.reals.find((r) => r.name === name)!;
  return [
    'checkinterval: 1',
    'checktimeout: 2',
    `logfile: ${logfile}`,
    'virtuals:',
    `  - virtual: ${VIP4}:80`,
    '    checktype: connect',
    '    scheduler: rr',
    '    tunnelport: 6080',
    `    tunnelflags: ${gueFlags}`,
    '    real:',
    `      - ${real(GUE4).address4}:80 gue`,
    `      - { host: ${real(GRE4).address4}, port: 80, forward: gre, tunnelflags: nocsum }`,
    '    real6:',
    `      - { host: "${real(GUE6).address6}", port: 80, forward: gue, tunnelport: 6081, tunnelflags: csum }`,
    `  - virtual6: "[${VIP6}]:80"`,
    '    checktype: connect',
    '    scheduler: rr',
    '    real:',
    `      - { host: ${real(GRE4_IN_V6).address4}, port: 80, forward: gre, tunnelflags: csum }`,
    '',
  ].join('\n');
}

function figure(text: string): void {
  console.log(`figure: ${text}`);
}

describe('LVS-TUN through GUE and GRE tunnels, both backends', { skip, concurrency: false }, () => {
  let lab: TunnelLab;
  let director: LdirDirector;
  let current = '';

  before(async () => {
    deleteServices([`TCP ${VIP4}:80`, `TCP [${VIP6}]:80`]);
    lab = buildTunnelLab('tn', NET, [
      { name: GUE4, decap: { kind: 'gue', outer: 'inet', port: 6080 } },
      { name: GRE4, decap: { kind: 'gre', outer: 'inet', csum: false } },
      { name: GUE6, decap: { kind: 'gue', outer: 'inet6', port: 6081 } },
      { name: GRE4_IN_V6, decap: { kind: 'gre', outer: 'inet', csum: true } },
    ]);
    await lab.ready();
    director = new LdirDirector('ldir-tunnels-');
  });

  /**
   * New connections from the client namespace, one after the other. Each may take 20 s: a SYN lost while the
   * emulated VM is starved (a loaded host) is sent again after 1 s and 3 s, which a 5 s limit would count as a
   * failure of the tunnel; a tunnel that does not work answers no retransmission either.
   */
  const burst = (url: string, count: number): Promise<string[]> =>
    clientBurst({ clientNetns: lab.clientNetns }, url, count, 300_000, 20_000);

  afterEach((t) => {
    if (current) director.printChangesIfFailed(t, current, `kernel table (--tun-info):\n${tunnelLines().join('\n')}\n`);
  });

  after(() => {
    for (const step of [
      () => director?.cleanup(),
      () => deleteServices([`TCP ${VIP4}:80`, `TCP [${VIP6}]:80`]),
      () => lab?.teardown(),
    ]) {
      try {
        step();
      } catch (err) {
        console.error(`teardown: ${String(err)}`);
      }
    }
  });

  for (const [backend, form] of [
    ['netlink', 'cf'],
    ['ipvsadm', 'yaml'],
  ] as const) {
    test(`${backend} backend (${form} form): every tunnel carries client traffic, replies bypass the director, a reload edits the checksum mode`, {
      timeout: TEST_TIMEOUT,
    }, async () => {
      const name = `tunnels-${backend}.${form}`;
      current = name;
      const write = (flags: 'csum' | 'remcsum'): string =>
        director.writeConfig(name, (form === 'cf' ? cfConfig : yamlConfig)(lab, director.logPath(name), flags));
      write('csum');
      const check = await director.run(['check', director.configPath(name)]);
      assert.equal(check.status, 0, `ldir check:\n${check.stderr}${check.stdout}`);
      const t0 = Date.now();
      await director.start(name, backend);
      const want = expectedLines(lab, '+c');
      await eventually(
        'every tunnelled real in the kernel at weight 1',
        () => (tunnelLines().join('\n') === want.join('\n') ? true : undefined),
        90_000,
        500,
        () => `want:\n${want.join('\n')}\ngot:\n${tunnelLines().join('\n')}`,
      );
      figure(`${backend}: start to all four tunnelled reals at weight 1 in ${Date.now() - t0} ms`);
      console.log(ipvsadm(['-Ln', '--tun-info']));

      const report = await director.status(name);
      assert.equal(report.daemon.backend.name, backend);
      const reals = report.virtualServices
        .flatMap((v) =>
          v.reals.map((r) => `${v.id} ${r.address} ${r.forward} ${r.tunnelPort} ${r.tunnelFlags} ${r.health}`),
        )
        .sort();
      assert.deepEqual(
        reals,
        [
          `tcp:${VIP4}:80 10.${NET}.3.2 gue 6080 csum up`,
          `tcp:${VIP4}:80 10.${NET}.4.2 gre null nocsum up`,
          `tcp:${VIP4}:80 fd${NET}:5::2 gue 6081 csum up`,
          `tcp:[${VIP6}]:80 10.${NET}.6.2 gre null csum up`,
        ].sort(),
      );
      const text = await director.run([director.configPath(name), 'status']);
      assert.match(text.stdout, new RegExp(`10\\.${NET}\\.3\\.2:80\\s+gue:6080,csum\\s+up`));

      const before4 = packets(SERVICE4);
      const answers4 = await burst(`http://${VIP4}/`, 9);
      assert.deepEqual(
        Object.fromEntries(countAnswers(answers4)),
        { [GUE4]: 3, [GRE4]: 3, [GUE6]: 3 },
        answers4.join('\n'),
      );
      const answers6 = await burst(`http://[${VIP6}]/`, 3);
      assert.deepEqual(Object.fromEntries(countAnswers(answers6)), { [GRE4_IN_V6]: 3 }, answers6.join('\n'));
      // The kernel's service counters are summed from per-CPU ones by its rate estimator (every 2 s, later on a
      // starved VM): wait for them to catch up with the requests already answered.
      const after4 = await eventually(
        "the director counted the client's tunnelled packets",
        () => {
          const now = packets(SERVICE4);
          return now.inPackets - before4.inPackets >= 9 * 3 ? now : undefined;
        },
        30_000,
        250,
        () => `the director tunnelled the client's packets: ${JSON.stringify([before4, packets(SERVICE4)])}`,
      );
      assert.equal(
        after4.outPackets,
        before4.outPackets,
        'LVS-TUN: the reals answer the client directly, no reply passes the director',
      );
      assert.equal(packets(SERVICE6).outPackets, 0);
      figure(
        `${backend}: 9 requests through ${VIP4} (GUE/IPv4, GRE/IPv4, GUE/IPv6) and 3 through ${VIP6} (GRE/IPv4) answered, director in ${after4.inPackets - before4.inPackets} packets, out 0`,
      );

      write('remcsum');
      const reload = await director.reload(name);
      assert.equal(reload.status, 0, `ldir reload:\n${reload.stderr}${reload.stdout}`);
      const reloaded = expectedLines(lab, 'r+c');
      await eventually(
        'the GUE real edited to remote checksum offload',
        () => (tunnelLines().join('\n') === reloaded.join('\n') ? true : undefined),
        30_000,
        250,
        () => `want:\n${reloaded.join('\n')}\ngot:\n${tunnelLines().join('\n')}`,
      );
      const again = await burst(`http://${VIP4}/`, 6);
      assert.deepEqual(Object.fromEntries(countAnswers(again)), { [GUE4]: 2, [GRE4]: 2, [GUE6]: 2 }, again.join('\n'));

      const stop = await director.stop(name);
      assert.equal(stop.status, 0, `ldir stop:\n${stop.stderr}${stop.stdout}`);
      current = '';
      await eventually(
        'the services removed at stop',
        () => (tunnelTable().has(SERVICE4) || tunnelTable().has(SERVICE6) ? undefined : true),
        30_000,
        250,
      );
    });
  }

  test("mh with mh-port over GUE and GRE (the consistent hashing of ECMP scale-out): the kernel takes the scheduler and its flags, the client's connections are spread by port", {
    timeout: TEST_TIMEOUT,
  }, async () => {
    const name = 'tunnels-mh.cf';
    current = name;
    const text = cfConfig(lab, director.logPath(name), 'csum').replace(
      '\tscheduler=rr',
      '\tscheduler=mh\n\tschedflags=mh-fallback,mh-port',
    );
    director.writeConfig(name, text);
    const check = await director.run(['check', director.configPath(name)]);
    assert.equal(check.status, 0, `ldir check:\n${check.stderr}${check.stdout}`);
    await director.start(name, 'netlink');
    const want = expectedLines(lab, '+c');
    await eventually(
      'every tunnelled real in the kernel at weight 1',
      () => (tunnelLines().join('\n') === want.join('\n') ? true : undefined),
      90_000,
      500,
      () => `want:\n${want.join('\n')}\ngot:\n${tunnelLines().join('\n')}`,
    );
    const serviceLine =
      ipvsadm(['-Ln'])
        .split('\n')
        .find((l) => l.startsWith('TCP') && l.includes(`${VIP4}:80`)) ?? '';
    assert.match(serviceLine, /\bmh\b.*mh-fallback.*mh-port/, `the kernel's service line: ${serviceLine}`);
    // One client address: without mh-port every connection would hash to one real; with it the source port counts.
    const answers = await burst(`http://${VIP4}/`, 12);
    const counts = countAnswers(answers);
    assert.equal(counts.get('error'), undefined, answers.join('\n'));
    assert.ok(
      [...counts.keys()].every((k) => [GUE4, GRE4, GUE6].includes(k)),
      answers.join('\n'),
    );
    assert.ok(
      counts.size >= 2,
      `12 connections from one client address all went to one real: ${JSON.stringify([...counts])}`,
    );
    figure(`mh over tunnels: 12 connections answered by ${JSON.stringify(Object.fromEntries(counts))}`);
    const stop = await director.stop(name);
    assert.equal(stop.status, 0, `ldir stop:\n${stop.stderr}${stop.stdout}`);
    current = '';
    await eventually(
      'the services removed at stop',
      () => (tunnelTable().has(SERVICE4) || tunnelTable().has(SERVICE6) ? undefined : true),
      30_000,
      250,
    );
  });
});
