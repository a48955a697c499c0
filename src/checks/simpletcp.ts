// `service=simpletcp`: send `request`, close the sending side, up when a reply line matches `receive`
// (ldirectord's check_simpletcp; UDP when the virtual service is UDP).
import { fail, guardCheck, pass, receivePattern, type CheckVerdict } from './guard';
import { readUntil, splitLines, udpExchange, withTcp } from './sockets';
import type { Checker, CheckJob } from './types';

/** The payload ldirectord sends: the request without its leading `/`, with `\n` escapes turned into newlines. */
export function simpletcpPayload(request: string): Buffer {
  return Buffer.from(request.replace(/^\//, '').replace(/\\n/g, '\n'), 'latin1');
}

/** The verdict for the lines seen so far: up on the first matching line; undefined while more may come. */
function judge(
  lines: readonly string[],
  pattern: RegExp | undefined,
  receive: string,
  ended: boolean,
): CheckVerdict | undefined {
  for (const line of lines) {
    // An empty `receive` makes ldirectord's `/$receive/` an empty pattern: any line will do.
    if (!pattern || pattern.test(line)) return pass(`matched "${line.slice(0, 80)}"`);
  }
  if (!ended) return undefined;
  return lines.length === 0 ? fail('no reply') : fail(`no line matched /${receive}/`);
}

/** Runs the exchange over TCP: write, half-close, read lines until one matches or the server closes. */
function overTcp(job: CheckJob, pattern: RegExp | undefined, signal: AbortSignal): Promise<CheckVerdict> {
  return withTcp(job.address, job.port, signal, (socket) => {
    socket.end(simpletcpPayload(job.request));
    return readUntil(socket, signal, (data, ended) =>
      judge(splitLines(data.toString('latin1'), ended), pattern, job.receive, ended),
    );
  });
}

/** Runs the exchange over UDP: one datagram out, then reply datagrams read as lines until one matches. */
function overUdp(job: CheckJob, pattern: RegExp | undefined, signal: AbortSignal): Promise<CheckVerdict> {
  return udpExchange(
    job.address,
    job.port,
    signal,
    () => simpletcpPayload(job.request),
    (message) => judge(splitLines(message.toString('latin1'), true), pattern, job.receive, false),
  );
}

/** Up when a line of the server's reply to `request` matches `receive`, within `negotiateTimeoutMs`. */
export const simpletcpCheck: Checker = (job, signal) =>
  guardCheck(signal, job.negotiateTimeoutMs, (s) => {
    const pattern = receivePattern(job.receive);
    return job.protocol === 'udp' ? overUdp(job, pattern, s) : overTcp(job, pattern, s);
  });
