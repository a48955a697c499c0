// Netlink messages as the kernel writes them, for scripted kernels (the netlink backend's unit tests, bench:table-pass).
import { NLM_F, NLMSG } from '../../src/ipvs/netlink/constants';

/** The generic netlink family id the scripted kernels give IPVS. */
export const IPVS_FAMILY_ID = 40;

/** An nlmsghdr of `len` bytes in all. */
export function header(len: number, type: number, flags: number, seq: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32LE(len, 0);
  b.writeUInt16LE(type, 4);
  b.writeUInt16LE(flags, 6);
  b.writeUInt32LE(seq, 8);
  return b;
}

/** The ACK of request `seq` (an error when `errno` is not 0), capped: the request is not echoed. */
export function ack(seq: number, errno = 0): Buffer {
  const body = Buffer.alloc(20);
  body.writeInt32LE(-errno, 0);
  return Buffer.concat([header(36, NLMSG.ERROR, NLM_F.CAPPED, seq), body]);
}

/** One data reply of a dump or request `seq`: generic netlink command `cmd` with its attributes. */
export function data(seq: number, cmd: number, attrs: Buffer, type = IPVS_FAMILY_ID): Buffer {
  const genl = Buffer.from([cmd, 1, 0, 0]);
  return Buffer.concat([header(16 + 4 + attrs.length, type, NLM_F.MULTI, seq), genl, attrs]);
}

/** The end of dump `seq`. */
export const done = (seq: number): Buffer => Buffer.concat([header(20, NLMSG.DONE, NLM_F.MULTI, seq), Buffer.alloc(4)]);
