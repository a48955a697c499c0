// `checktype=connect`: a TCP connection to the real server's check port within checktimeout.
import { guardCheck, pass, reasonOfErrno } from './guard';
import { tcpConnect } from './sockets';
import type { TcpProbeOutcome, TcpProber } from './tcp-prober';
import type { CheckResult, Checker } from './types';

/** Up when a TCP connection to `job.address:job.port` completes within `checkTimeoutMs` (then closed at once). */
export const connectCheck: Checker = (job, signal) =>
  guardCheck(signal, job.checkTimeoutMs, async (s) => {
    const socket = await tcpConnect(job.address, job.port, s);
    socket.destroy();
    return pass('connected');
  });

/**
 * The connect checker: through `prober` (the native engine, off the JS thread) when given and the address is
 * numeric, else {@link connectCheck} over Node sockets. Same verdicts and reasons either way.
 */
export function createConnectChecker(prober?: TcpProber): Checker {
  if (!prober) return connectCheck;
  return (job, signal) => {
    if (!prober.accepts(job.address)) return connectCheck(job, signal);
    return prober.probe(job.address, job.port, job.checkTimeoutMs, signal).then(connectVerdict);
  };
}

/** The result of a native connect probe. */
export function connectVerdict(o: Pick<TcpProbeOutcome, 'error' | 'elapsedMs'>): CheckResult {
  return o.error === undefined
    ? { up: true, reason: 'connected', durationMs: o.elapsedMs }
    : { up: false, reason: reasonOfErrno(o.error), durationMs: o.elapsedMs };
}
