// RADIUS negotiate check (ldirectord check_radius): an Access-Request (RFC 2865) that must be answered by a verified Access-Accept.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { isIPv4 } from 'node:net';
import { fail, guardCheck, pass, reasonOf, type CheckVerdict } from './guard';
import type { Checker } from './types';

/** RADIUS packet codes (RFC 2865 section 3). */
export const RADIUS_CODE = { accessRequest: 1, accessAccept: 2, accessReject: 3, accessChallenge: 11 } as const;

/** RADIUS attribute types used here (RFC 2865 section 5, RFC 3579 section 3.2). */
export const RADIUS_ATTR = {
  userName: 1,
  userPassword: 2,
  nasIpAddress: 4,
  nasIdentifier: 32,
  messageAuthenticator: 80,
} as const;

const HEADER = 20;
const MA_LENGTH = 18;

const md5 = (...parts: Buffer[]): Buffer => {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return h.digest();
};

/** User-Password hiding (RFC 2865 5.2): padded to 16 bytes, each block XORed with MD5(secret + previous block). */
export function hidePassword(password: Buffer, secret: Buffer, authenticator: Buffer): Buffer {
  const length = Math.max(16, Math.ceil(password.length / 16) * 16);
  const out = Buffer.alloc(length);
  password.copy(out);
  let previous = authenticator;
  for (let i = 0; i < length; i += 16) {
    const mask = md5(secret, previous);
    for (let j = 0; j < 16; j++) out[i + j] = (out[i + j] as number) ^ (mask[j] as number);
    previous = out.subarray(i, i + 16);
  }
  return out;
}

function attribute(type: number, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from([type, value.length + 2]), value]);
}

/** What goes into an Access-Request. */
export interface AccessRequestInput {
  readonly identifier: number;
  /** 16 random bytes. */
  readonly authenticator: Buffer;
  readonly userName: string;
  readonly password: string;
  readonly secret: string;
  /** Local address: sent as NAS-IP-Address when IPv4, else NAS-Identifier `ldir` is sent (RFC 2865 wants one). */
  readonly nas: string;
}

/**
 * Encodes an Access-Request with User-Name, hidden User-Password, a NAS attribute and a Message-Authenticator
 * (HMAC-MD5 of the packet under the secret, RFC 3579 3.2). Throws on values RADIUS cannot carry.
 */
export function encodeAccessRequest(req: AccessRequestInput): Buffer {
  const secret = Buffer.from(req.secret, 'utf8');
  const user = Buffer.from(req.userName, 'utf8');
  const password = Buffer.from(req.password, 'utf8');
  if (user.length < 1 || user.length > 253) throw new Error('login must be 1 to 253 bytes for RADIUS');
  if (password.length > 128) throw new Error('passwd longer than 128 bytes');
  const nas = isIPv4(req.nas)
    ? attribute(RADIUS_ATTR.nasIpAddress, Buffer.from(req.nas.split('.').map(Number)))
    : attribute(RADIUS_ATTR.nasIdentifier, Buffer.from('ldir', 'utf8'));
  const attrs = Buffer.concat([
    attribute(RADIUS_ATTR.messageAuthenticator, Buffer.alloc(16)),
    attribute(RADIUS_ATTR.userName, user),
    attribute(RADIUS_ATTR.userPassword, hidePassword(password, secret, req.authenticator)),
    nas,
  ]);
  const packet = Buffer.concat([Buffer.alloc(4), req.authenticator, attrs]);
  packet[0] = RADIUS_CODE.accessRequest;
  packet[1] = req.identifier;
  packet.writeUInt16BE(packet.length, 2);
  createHmac('md5', secret)
    .update(packet)
    .digest()
    .copy(packet, HEADER + 2);
  return packet;
}

/** A response judged against its request. */
export type ResponseCheck =
  | { readonly ok: true; readonly code: number }
  | { readonly ok: false; readonly reason: string };

/**
 * Validates a response: length, identifier, Response Authenticator (MD5 over code, id, length, request
 * authenticator, attributes and secret) and, when present, its Message-Authenticator. Returns the code when valid.
 */
export function verifyResponse(
  response: Buffer,
  identifier: number,
  requestAuthenticator: Buffer,
  secret: string,
): ResponseCheck {
  if (response.length < HEADER) return { ok: false, reason: 'short response' };
  const length = response.readUInt16BE(2);
  if (length < HEADER || length > response.length) return { ok: false, reason: 'bad response length' };
  const packet = response.subarray(0, length);
  if (packet[1] !== identifier) return { ok: false, reason: 'identifier mismatch' };
  const key = Buffer.from(secret, 'utf8');
  const expected = md5(packet.subarray(0, 4), requestAuthenticator, packet.subarray(HEADER), key);
  if (!timingSafeEqual(expected, packet.subarray(4, HEADER))) {
    return { ok: false, reason: 'bad response authenticator (wrong secret?)' };
  }
  for (let off = HEADER; off + 2 <= length; ) {
    const type = packet[off] as number;
    const len = packet[off + 1] as number;
    if (len < 2 || off + len > length) return { ok: false, reason: 'malformed attributes' };
    if (type === RADIUS_ATTR.messageAuthenticator) {
      if (len !== MA_LENGTH) return { ok: false, reason: 'malformed Message-Authenticator' };
      const copy = Buffer.from(packet);
      requestAuthenticator.copy(copy, 4);
      copy.fill(0, off + 2, off + MA_LENGTH);
      const mac = createHmac('md5', key).update(copy).digest();
      if (!timingSafeEqual(mac, packet.subarray(off + 2, off + MA_LENGTH))) {
        return { ok: false, reason: 'bad Message-Authenticator (wrong secret?)' };
      }
    }
    off += len;
  }
  return { ok: true, code: packet[0] as number };
}

function codeVerdict(code: number): CheckVerdict {
  switch (code) {
    case RADIUS_CODE.accessAccept:
      return pass('access accept');
    case RADIUS_CODE.accessReject:
      return fail('access reject');
    case RADIUS_CODE.accessChallenge:
      return fail('access challenge');
    default:
      return fail(`unexpected RADIUS code ${code}`);
  }
}

function radiusBody(job: Parameters<Checker>[0], signal: AbortSignal): Promise<CheckVerdict> {
  return new Promise<CheckVerdict>((resolve) => {
    const socket: Socket = createSocket(job.family === 'inet6' ? 'udp6' : 'udp4');
    const identifier = randomBytes(1)[0] as number;
    const authenticator = randomBytes(16);
    let retransmit: NodeJS.Timeout | undefined;
    let settled = false;
    const finish = (verdict: CheckVerdict): void => {
      if (settled) return;
      settled = true;
      if (retransmit) clearInterval(retransmit);
      signal.removeEventListener('abort', onAbort);
      socket.close();
      resolve(verdict);
    };
    const onAbort = (): void => finish(fail('timeout'));
    signal.addEventListener('abort', onAbort, { once: true });
    // ICMP port unreachable on the connected socket arrives here as ECONNREFUSED.
    socket.on('error', (err) => finish(fail(reasonOf(err))));
    socket.on('message', (msg) => {
      const check = verifyResponse(msg, identifier, authenticator, job.secret);
      // Replies to another identifier are not ours (a late answer to nothing we sent): keep waiting.
      if (!check.ok && check.reason === 'identifier mismatch') return;
      finish(check.ok ? codeVerdict(check.code) : fail(check.reason));
    });
    socket.connect(job.port, job.address, () => {
      let packet: Buffer;
      try {
        packet = encodeAccessRequest({
          identifier,
          authenticator,
          userName: job.login,
          password: job.passwd,
          secret: job.secret,
          nas: socket.address().address,
        });
      } catch (err) {
        return finish(fail(reasonOf(err)));
      }
      const send = (): void =>
        socket.send(packet, (err) => {
          if (err) finish(fail(reasonOf(err)));
        });
      send();
      // Same packet again (same identifier and authenticator, RFC 2865 2.5) in case a datagram was lost.
      retransmit = setInterval(send, Math.max(500, Math.floor(job.checkTimeoutMs / 3)));
    });
  });
}

/**
 * RADIUS check (`service=radius`): sends an Access-Request over UDP to address:port with User-Name = login,
 * User-Password = passwd hidden with `secret`, and a Message-Authenticator; up only on an Access-Accept whose Response
 * Authenticator (and Message-Authenticator, when present) verifies; Access-Reject is down `access reject`. Bounded by
 * `checktimeout`, as ldirectord.
 */
export const radiusCheck: Checker = (job, signal) => guardCheck(signal, job.checkTimeoutMs, (s) => radiusBody(job, s));
