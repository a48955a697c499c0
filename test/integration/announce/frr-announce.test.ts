// Route health injection through a real FRR (issue 16): ldir on the host (memory backend, reals on 127.0.0.x)
// drives the FRR (zebra + bgpd) of a "director" network namespace through vtysh; bgpd speaks eBGP over a veth pair to
// the BIRD of a "router" namespace, whose routing table the test reads. The director's frr.conf is what
// docs/operations.md asks of an operator: the VIPs on the loopback (bgpd's import check wants them in the RIB), the
// route-map LDIR-ANNOUNCE, an outbound policy for the eBGP neighbour, and a network statement of the operator's own
// (192.0.2.99/32) that ldir must leave alone. The scenario is test/helpers/route-injection-lab.ts.
import * as fs from 'node:fs';
import {
  DIRECTOR_ADDRESS,
  DIRECTOR_ASN,
  OWN_ROUTE,
  ROUTER_ADDRESS,
  ROUTER_ASN,
  VIP1,
  VIP2,
  describeRouteInjection,
  sh,
  type RouteInjectionLab,
} from '../../helpers/route-injection-lab';

const frrDir = (lab: RouteInjectionLab): string => lab.file('frr');
const FRR_DAEMONS = ['zebra', 'bgpd'] as const;

describeRouteInjection('route health injection through FRR', 'frr', {
  packages: ['frr'],
  logs: ['frr/zebra.log', 'frr/bgpd.log'],
  ownRouteExported: true,
  prepare: (lab) => {
    const dir = frrDir(lab);
    // FRR's daemons drop to the frr user: they need to reach their directory (the lab's is 0700 root).
    fs.chmodSync(lab.tmp, 0o755);
    fs.mkdirSync(dir);
    for (const vip of [VIP1, VIP2, OWN_ROUTE]) sh('ip', ['-n', lab.directorNs, 'addr', 'add', vip, 'dev', 'lo']);
    fs.writeFileSync(`${dir}/zebra.conf`, 'hostname director\n');
    fs.writeFileSync(
      `${dir}/bgpd.conf`,
      `router bgp ${DIRECTOR_ASN}
 bgp router-id ${DIRECTOR_ADDRESS}
 neighbor ${ROUTER_ADDRESS} remote-as ${ROUTER_ASN}
 neighbor ${ROUTER_ADDRESS} timers connect 1
 address-family ipv4 unicast
  network ${OWN_ROUTE}
  neighbor ${ROUTER_ADDRESS} route-map EXPORT out
 exit-address-family
!
route-map LDIR-ANNOUNCE permit 10
!
route-map EXPORT permit 10
!
`,
    );
    sh('chown', ['-R', 'frr:frr', dir]);
  },
  start: (lab) => {
    const dir = frrDir(lab);
    for (const d of FRR_DAEMONS) {
      sh('ip', [
        'netns',
        'exec',
        lab.directorNs,
        `/usr/lib/frr/${d}`,
        '-d',
        '-f',
        `${dir}/${d}.conf`,
        '-i',
        `${dir}/${d}.pid`,
        '--vty_socket',
        dir,
        '-z',
        `${dir}/zserv.api`,
        '--log',
        `file:${dir}/${d}.log`,
      ]);
    }
  },
  pidFiles: (lab) => [...FRR_DAEMONS].reverse().map((d) => `${frrDir(lab)}/${d}.pid`),
  announceLines: (lab) => `announce=frr\nannouncesocket=${frrDir(lab)}\n`,
});
