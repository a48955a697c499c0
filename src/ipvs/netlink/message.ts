// Netlink message framing: nlmsghdr + genlmsghdr on the way out; splitting, errors and dumps on the way back.
import { constants as osConstants } from 'node:os';
import { ErrorCodes, LdirError } from '../../errors';
import { align4, decodeAttrs, encodeAttrs, getString, type Attr, type AttrMap } from './attributes';
import { GENL_HDRLEN, NLM_F, NLMSG, NLMSG_HDRLEN, NLMSGERR_ATTR } from './constants';

/** A generic netlink request to encode. */
export interface GenlRequest {
  readonly family: number;
  readonly cmd: number;
  readonly version: number;
  readonly flags: number;
  readonly seq: number;
  readonly attrs: readonly Attr[];
}

/** Encodes one generic netlink message (port id 0: the kernel). */
export function encodeGenl(req: GenlRequest): Buffer {
  const payload = encodeAttrs(req.attrs);
  const msg = Buffer.alloc(NLMSG_HDRLEN + GENL_HDRLEN + payload.length);
  msg.writeUInt32LE(msg.length, 0);
  msg.writeUInt16LE(req.family, 4);
  msg.writeUInt16LE(req.flags, 6);
  msg.writeUInt32LE(req.seq >>> 0, 8);
  msg.writeUInt32LE(0, 12);
  msg.writeUInt8(req.cmd, 16);
  msg.writeUInt8(req.version, 17);
  msg.writeUInt16LE(0, 18);
  payload.copy(msg, NLMSG_HDRLEN + GENL_HDRLEN);
  return msg;
}

/** One received netlink message. */
export interface NetlinkMessage {
  readonly type: number;
  readonly flags: number;
  readonly seq: number;
  readonly pid: number;
  /** Bytes after the nlmsghdr. */
  readonly payload: Buffer;
}

/** Splits a buffer of concatenated netlink messages. */
export function splitMessages(buf: Buffer): NetlinkMessage[] {
  const out: NetlinkMessage[] = [];
  let off = 0;
  while (off + NLMSG_HDRLEN <= buf.length) {
    const len = buf.readUInt32LE(off);
    if (len < NLMSG_HDRLEN || off + len > buf.length) {
      throw new LdirError(ErrorCodes.IPVS_PROTOCOL, `netlink: message with bad length ${len} at ${off}`);
    }
    out.push({
      type: buf.readUInt16LE(off + 4),
      flags: buf.readUInt16LE(off + 6),
      seq: buf.readUInt32LE(off + 8),
      pid: buf.readUInt32LE(off + 12),
      payload: buf.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += align4(len);
  }
  return out;
}

/** Name of a positive errno number (`EEXIST`), or `E<n>` when unknown. */
export function errnoName(errno: number): string {
  for (const [name, value] of Object.entries(osConstants.errno)) if (value === errno) return name;
  return `E${errno}`;
}

/** The outcome carried by an NLMSG_ERROR message: 0 = ACK, else an errno name and the kernel's extended message. */
export interface AckResult {
  readonly seq: number;
  readonly errno: string | undefined;
  readonly extMessage?: string;
}

/** Decodes an NLMSG_ERROR message (with NETLINK_CAP_ACK the request is not echoed; ext-ack TLVs may follow). */
export function decodeAck(msg: NetlinkMessage): AckResult {
  const error = msg.payload.readInt32LE(0);
  if (error === 0) return { seq: msg.seq, errno: undefined };
  let extMessage: string | undefined;
  if (msg.flags & NLM_F.ACK_TLVS) {
    const echoedLen = msg.flags & NLM_F.CAPPED ? NLMSG_HDRLEN : msg.payload.readUInt32LE(4);
    const tlvStart = 4 + align4(echoedLen);
    if (tlvStart <= msg.payload.length) {
      extMessage = getString(decodeAttrs(msg.payload.subarray(tlvStart)), NLMSGERR_ATTR.MSG);
    }
  }
  return extMessage === undefined
    ? { seq: msg.seq, errno: errnoName(-error) }
    : { seq: msg.seq, errno: errnoName(-error), extMessage };
}

/** Attributes of a generic netlink reply (after its 4-byte genl header), with its command. */
export interface GenlReply {
  readonly cmd: number;
  readonly attrs: AttrMap;
}

/** Decodes the genl header and attributes of a data message. */
export function decodeGenl(msg: NetlinkMessage): GenlReply {
  return { cmd: msg.payload.readUInt8(0), attrs: decodeAttrs(msg.payload.subarray(GENL_HDRLEN)) };
}

/** Replies grouped by sequence number: data messages, and the ACK/error that ended each request. */
export interface Transaction {
  readonly data: ReadonlyMap<number, GenlReply[]>;
  readonly acks: ReadonlyMap<number, AckResult>;
  /** Sequence numbers whose dump ended with NLMSG_DONE. */
  readonly done: ReadonlySet<number>;
}

/** Groups the messages of a transaction by sequence number. */
export function collect(buf: Buffer): Transaction {
  const data = new Map<number, GenlReply[]>();
  const acks = new Map<number, AckResult>();
  const done = new Set<number>();
  for (const msg of splitMessages(buf)) {
    if (msg.type === NLMSG.ERROR) acks.set(msg.seq, decodeAck(msg));
    else if (msg.type === NLMSG.DONE) done.add(msg.seq);
    else if (msg.type >= 16) {
      const list = data.get(msg.seq) ?? [];
      list.push(decodeGenl(msg));
      data.set(msg.seq, list);
    }
  }
  return { data, acks, done };
}
