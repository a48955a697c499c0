// Netlink attribute (TLV) encoding and decoding, nested attributes included.
import { ErrorCodes, LdirError } from '../../errors';
import { NLA_F_NESTED, NLA_HDRLEN, NLA_TYPE_MASK } from './constants';

/** Rounds up to netlink's 4-byte alignment. */
export function align4(n: number): number {
  return (n + 3) & ~3;
}

/** One encoded attribute value: raw bytes, or a list of nested attributes. */
export type AttrValue = Buffer | readonly Attr[];

/** An attribute to encode. */
export interface Attr {
  readonly type: number;
  readonly value: AttrValue;
}

/** Encodes attributes (nested lists get NLA_F_NESTED), each padded to 4 bytes. */
export function encodeAttrs(attrs: readonly Attr[]): Buffer {
  const parts: Buffer[] = [];
  for (const a of attrs) {
    const nested = !Buffer.isBuffer(a.value);
    const payload = nested ? encodeAttrs(a.value as readonly Attr[]) : (a.value as Buffer);
    const header = Buffer.alloc(NLA_HDRLEN);
    header.writeUInt16LE(NLA_HDRLEN + payload.length, 0);
    header.writeUInt16LE(nested ? a.type | NLA_F_NESTED : a.type, 2);
    parts.push(header, payload, Buffer.alloc(align4(payload.length) - payload.length));
  }
  return Buffer.concat(parts);
}

/** u8 payload. */
export const u8 = (n: number): Buffer => Buffer.from([n & 0xff]);
/** u16 payload in host order (little-endian on the x86-64/arm64 hosts ldir runs on). */
export function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n, 0);
  return b;
}
/** u16 payload in network order (IPVS ports). */
export function u16be(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n, 0);
  return b;
}
/** u32 payload in host order. */
export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0, 0);
  return b;
}
/** NUL-terminated string payload. */
export const cstring = (s: string): Buffer => Buffer.concat([Buffer.from(s, 'utf8'), Buffer.alloc(1)]);

/** Decoded attributes by type (the last one wins when a type repeats). */
export type AttrMap = ReadonlyMap<number, Buffer>;

function protocolError(message: string): LdirError {
  return new LdirError(ErrorCodes.IPVS_PROTOCOL, `netlink: ${message}`);
}

/** Decodes a run of attributes; throws `LDIR_ERR_IPVS_PROTOCOL` on a malformed length. */
export function decodeAttrs(buf: Buffer): AttrMap {
  const out = new Map<number, Buffer>();
  let off = 0;
  while (off + NLA_HDRLEN <= buf.length) {
    const len = buf.readUInt16LE(off);
    const type = buf.readUInt16LE(off + 2) & NLA_TYPE_MASK;
    if (len < NLA_HDRLEN || off + len > buf.length)
      throw protocolError(`attribute ${type} has bad length ${len} at ${off}`);
    out.set(type, buf.subarray(off + NLA_HDRLEN, off + len));
    off += align4(len);
  }
  return out;
}

/** Reads a u16 attribute in host order. */
export function getU16(m: AttrMap, type: number): number | undefined {
  const b = m.get(type);
  return b && b.length >= 2 ? b.readUInt16LE(0) : undefined;
}
/** Reads a u16 attribute in network order. */
export function getU16be(m: AttrMap, type: number): number | undefined {
  const b = m.get(type);
  return b && b.length >= 2 ? b.readUInt16BE(0) : undefined;
}
/** Reads a u32 attribute in host order. */
export function getU32(m: AttrMap, type: number): number | undefined {
  const b = m.get(type);
  return b && b.length >= 4 ? b.readUInt32LE(0) : undefined;
}
/** Reads a u8 attribute. */
export function getU8(m: AttrMap, type: number): number | undefined {
  const b = m.get(type);
  return b && b.length >= 1 ? b.readUInt8(0) : undefined;
}
/** Reads a u64 attribute (u32 when only 4 bytes are present, as in legacy stats). */
export function getU64(m: AttrMap, type: number): bigint | undefined {
  const b = m.get(type);
  if (!b) return undefined;
  if (b.length >= 8) return b.readBigUInt64LE(0);
  if (b.length >= 4) return BigInt(b.readUInt32LE(0));
  return undefined;
}
/** Reads a NUL-terminated string attribute. */
export function getString(m: AttrMap, type: number): string | undefined {
  const b = m.get(type);
  if (!b) return undefined;
  const end = b.indexOf(0);
  return b.subarray(0, end < 0 ? b.length : end).toString('utf8');
}
/** Decodes a nested attribute. */
export function getNested(m: AttrMap, type: number): AttrMap | undefined {
  const b = m.get(type);
  return b ? decodeAttrs(b) : undefined;
}
