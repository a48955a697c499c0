// `checktype=connect`: a TCP connection to the real server's check port within checktimeout.
import { guardCheck, pass } from './guard';
import { tcpConnect } from './sockets';
import type { Checker } from './types';

/** Up when a TCP connection to `job.address:job.port` completes within `checkTimeoutMs` (then closed at once). */
export const connectCheck: Checker = (job, signal) =>
  guardCheck(signal, job.checkTimeoutMs, async (s) => {
    const socket = await tcpConnect(job.address, job.port, s);
    socket.destroy();
    return pass('connected');
  });
