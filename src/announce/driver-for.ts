// The one place a route target becomes its driver (the daemon's announcer and the announce guard both use it).
import type { ProcessRunner } from '../process-runner';
import { birdDriver } from './bird-driver';
import { frrDriver } from './frr-driver';
import type { RouteDriver, RouteTarget } from './route-driver';

/** The driver of `target`: BIRD 2 through its control socket and include file, FRR through vtysh (run by `run`). */
export function routeDriverFor(target: RouteTarget, run: ProcessRunner): RouteDriver {
  if (target.driver === 'frr') return frrDriver({ socket: target.socket, run });
  return birdDriver({ socket: target.socket, file: target.file ?? '' });
}
