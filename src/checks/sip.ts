// `service=sip`: send a SIP OPTIONS request (UDP or TCP as the virtual service), up on a `SIP/2.0 200` status
// line (ldirectord's check_sip).
import { randomBytes } from 'node:crypto';
import * as os from 'node:os';
import { fail, guardCheck, pass, type CheckVerdict } from './guard';
import { hostText, readUntil, udpExchange, withTcp } from './sockets';
import type { Checker, CheckJob } from './types';

/** The OPTIONS request ldirectord sends, with our local address in `Via` and `login` as the SIP user. */
export function sipOptionsRequest(
  login: string,
  transport: 'UDP' | 'TCP',
  local: { address: string; port: number },
): Buffer {
  const user = login !== '' ? login : `ldirectord@${os.hostname()}`;
  const text =
    `OPTIONS sip:${user} SIP/2.0\r\n` +
    `Via: SIP/2.0/${transport} ${hostText(local.address)}:${local.port};branch=z9hG4bK${randomBytes(6).toString('hex')}\r\n` +
    'Max-Forwards: 70\r\n' +
    `To: <sip:${user}>\r\n` +
    `From: <sip:${user}>;tag=${randomBytes(4).toString('hex')}\r\n` +
    `Call-ID: ${randomBytes(8).toString('hex')}\r\n` +
    'CSeq: 63104 OPTIONS\r\n' +
    `Contact: <sip:${user}>\r\n` +
    'Accept: application/sdp\r\n' +
    'Content-Length: 0\r\n\r\n';
  return Buffer.from(text, 'utf8');
}

/** The verdict on a reply's status line. */
function judgeStatus(statusLine: string): CheckVerdict {
  return /^SIP\/2\.0 200/.test(statusLine) ? pass(statusLine) : fail(`status "${statusLine.slice(0, 80)}"`);
}

/** OPTIONS over TCP: the verdict comes from the first line of the reply. */
function overTcp(job: CheckJob, signal: AbortSignal): Promise<CheckVerdict> {
  return withTcp(job.address, job.port, signal, (socket) => {
    socket.write(
      sipOptionsRequest(job.login, 'TCP', { address: socket.localAddress ?? '', port: socket.localPort ?? 0 }),
    );
    return readUntil(socket, signal, (data, ended) => {
      const text = data.toString('latin1');
      const eol = text.indexOf('\n');
      if (eol < 0) return ended ? (text === '' ? fail('no reply') : judgeStatus(text.replace(/\r$/, ''))) : undefined;
      return judgeStatus(text.slice(0, eol).replace(/\r$/, ''));
    });
  });
}

/** OPTIONS over UDP: the verdict comes from the first line of the first reply datagram. */
function overUdp(job: CheckJob, signal: AbortSignal): Promise<CheckVerdict> {
  return udpExchange(
    job.address,
    job.port,
    signal,
    (local) => sipOptionsRequest(job.login, 'UDP', local),
    (message) => judgeStatus(message.toString('latin1').split(/\r?\n/)[0] ?? ''),
  );
}

/** Up when the SIP server answers OPTIONS with `SIP/2.0 200` within `negotiateTimeoutMs`. */
export const sipCheck: Checker = (job, signal) =>
  guardCheck(signal, job.negotiateTimeoutMs, (s) => (job.protocol === 'udp' ? overUdp(job, s) : overTcp(job, s)));
