// Route health injection through a real BIRD 2 (issue 16): ldir on the host (memory backend, reals on 127.0.0.x)
// drives the BIRD of a "director" network namespace over its control socket; that BIRD speaks eBGP over a veth pair
// to the BIRD of a "router" namespace, whose routing table the test reads (`birdc show route`). The lab and the
// scenario (announce, withdraw, reload, stop, kill -9 within 3 s, restart) are test/helpers/route-injection-lab.ts.
import * as fs from 'node:fs';
import { EMPTY_ANNOUNCE_FILE, startBird } from '../../helpers/bird';
import {
  DIRECTOR_ADDRESS,
  DIRECTOR_ASN,
  OWN_ROUTE,
  ROUTER_ADDRESS,
  ROUTER_ASN,
  VIP1,
  VIP2,
  describeRouteInjection,
  type RouteInjectionLab,
} from '../../helpers/route-injection-lab';

const announceFile = (lab: RouteInjectionLab): string => lab.file('ldir-announce.conf');
const ctl = (lab: RouteInjectionLab): string => lab.file('director.ctl');

describeRouteInjection('route health injection through BIRD 2', 'ann', {
  packages: [],
  logs: ['director.log', 'ldir-announce.conf'],
  ownRouteExported: false,
  prepare: (lab) => {
    // The operator creates the include file once (empty sets); ldir rewrites it from then on.
    fs.writeFileSync(announceFile(lab), EMPTY_ANNOUNCE_FILE);
  },
  start: (lab) => {
    // Its control socket is DIR/director.ctl and its pid file DIR/director.pid (helpers/bird).
    startBird(
      lab.directorNs,
      lab.tmp,
      'director',
      `router id ${DIRECTOR_ADDRESS};
include "${announceFile(lab)}";
protocol device {}
protocol static vips { ipv4; route ${VIP1} blackhole; route ${VIP2} blackhole; route ${OWN_ROUTE} blackhole; }
protocol bgp peer {
  local ${DIRECTOR_ADDRESS} as ${DIRECTOR_ASN};
  neighbor ${ROUTER_ADDRESS} as ${ROUTER_ASN};
  connect delay time 1; connect retry time 1; error wait time 1, 2;
  ipv4 { import none; export where net ~ LDIR_ANNOUNCED_V4; };
}
`,
    );
  },
  pidFiles: (lab) => [lab.file('director.pid')],
  announceLines: (lab) => `announce=bird\nannouncesocket=${ctl(lab)}\nannouncefile=${announceFile(lab)}\n`,
});
