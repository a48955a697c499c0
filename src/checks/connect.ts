// `checktype=connect`: a TCP connection (an SCTP association on an SCTP service) to the real server's check port
// within checktimeout.
import { guardCheck, pass, reasonOfErrno } from './guard';
import { tcpConnect } from './sockets';
import type { TcpProbeOutcome, TcpProber } from './tcp-prober';
import type { CheckResult, Checker } from './types';

/** Why an SCTP connect check cannot run: Node has no SCTP sockets, only the native addon opens associations. */
export const SCTP_NEEDS_ADDON = 'an SCTP association needs the native addon, which is not built (npm run build:native)';
/** Why an SCTP connect check cannot run on an addon built before SCTP probes. */
export const SCTP_NEEDS_NEWER_ADDON =
  'the native addon was built without SCTP probes: rebuild it (npm run build:native)';

/** A down result that took no time. */
function cannotRun(reason: string): Promise<CheckResult> {
  return Promise.resolve({ up: false, reason, durationMs: 0 });
}

/**
 * Up when a TCP connection to `job.address:job.port` completes within `checkTimeoutMs` (then closed at once). An SCTP
 * job is down with {@link SCTP_NEEDS_ADDON}: Node sockets cannot open an association (never a TCP connect instead).
 */
export const connectCheck: Checker = (job, signal) => {
  if (job.protocol === 'sctp') return cannotRun(SCTP_NEEDS_ADDON);
  return guardCheck(signal, job.checkTimeoutMs, async (s) => {
    const socket = await tcpConnect(job.address, job.port, s);
    socket.destroy();
    return pass('connected');
  });
};

/**
 * The connect checker: through `prober` (the native engine, off the JS thread) when given and the address is
 * numeric, else {@link connectCheck} over Node sockets. Same verdicts and reasons either way. On an SCTP service it
 * opens an SCTP association (a one-to-one socket) through the engine, which only the addon can do.
 */
export function createConnectChecker(prober?: TcpProber): Checker {
  if (!prober) return connectCheck;
  return (job, signal) => {
    if (!prober.accepts(job.address)) return connectCheck(job, signal);
    if (job.protocol !== 'sctp')
      return prober.probe(job.address, job.port, job.checkTimeoutMs, signal).then(connectVerdict);
    if (!prober.protocols?.includes('sctp')) return cannotRun(SCTP_NEEDS_NEWER_ADDON);
    return prober.probe(job.address, job.port, job.checkTimeoutMs, signal, undefined, 'sctp').then(connectVerdict);
  };
}

/** The result of a native connect probe. */
export function connectVerdict(o: Pick<TcpProbeOutcome, 'error' | 'elapsedMs'>): CheckResult {
  return o.error === undefined
    ? { up: true, reason: 'connected', durationMs: o.elapsedMs }
    : { up: false, reason: reasonOfErrno(o.error), durationMs: o.elapsedMs };
}
