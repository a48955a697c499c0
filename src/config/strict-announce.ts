// Strict validation of announced virtuals (route health injection, issue 16): what active-active directors behind
// ECMP need to keep a connection when the router moves it to another director.
import { lineOf, type StrictRule } from './strict-subject';

/** The one kernel scheduler that picks the same real for a flow on every director, without connection sync. */
export const ECMP_CONSISTENT_SCHEDULER = 'mh';

/**
 * An announced virtual (`announce=bird|frr`) with a scheduler other than `mh`: a warning (a single announcing
 * director works with any scheduler; the file is not wrong, the scale-out is). Every director announces the address,
 * the router spreads flows over them by ECMP, and when a director is added or lost the router moves flows to
 * another one. Only Maglev hashing (`mh`) gives the same real there; wlc, rr, sh and the others pick from each
 * director's own state (or, for sh, a table that differs as soon as the reals differ in weight or order), so the
 * moved connection lands on another real and breaks.
 */
const ecmpConsistentScheduler: StrictRule = (subject, sink) => {
  const { virtual } = subject;
  if (!virtual.announce || virtual.scheduler === ECMP_CONSISTENT_SCHEDULER) return;
  sink.warn(
    'inconsistent-scheduler',
    lineOf(subject, 'scheduler'),
    `scheduler=${virtual.scheduler} is not consistent across directors, and this virtual service is announced (announce=${virtual.announce.driver}): ` +
      "when the router's ECMP moves a connection to another director (one lost or added), that director picks its own real and the connection breaks. " +
      'Use scheduler=mh with schedflags=mh-port (Maglev hashing: every director picks the same real for a flow), ' +
      "and ipvssysctl=sloppy_tcp=1 so a director that did not see a connection's SYN takes it over (with gate, direct routing, or ipip/gue tunnels)",
    'scheduler',
  );
};

/** The rules about announced virtuals, by name. */
export const ANNOUNCE_RULES: Readonly<Record<string, StrictRule>> = { ecmpConsistentScheduler };
