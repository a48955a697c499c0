// `service=nntp`: connect, wait for the server greeting, up when it starts with `2` (ldirectord's check_nntp).
import { fail, guardCheck, pass } from './guard';
import { readUntil, withTcp } from './sockets';
import type { Checker } from './types';

/** Up when the first bytes (at most 64) the NNTP server sends start with `2` (200/201 greeting). */
export const nntpCheck: Checker = (job, signal) =>
  guardCheck(signal, job.negotiateTimeoutMs, (s) =>
    withTcp(job.address, job.port, s, (socket) =>
      readUntil(socket, s, (data, ended) => {
        if (data.length === 0) return ended ? fail('connection closed without a greeting') : undefined;
        const banner = data.subarray(0, 64).toString('latin1');
        const firstLine = banner.split(/\r?\n/)[0] ?? '';
        return banner.startsWith('2') ? pass(firstLine) : fail(`unexpected greeting "${firstLine}"`);
      }),
    ),
  );
