// Resolves a generic netlink family id by name through the controller (CTRL_CMD_GETFAMILY).
import { ErrorCodes, LdirError } from '../../errors';
import { cstring, getU16 } from './attributes';
import { CTRL_ATTR, CTRL_CMD, GENL_ID_CTRL, NLM_F } from './constants';
import { collect, encodeGenl } from './message';
import type { NetlinkTransport } from './transport';

/** The CTRL_CMD_GETFAMILY request for `name`. */
export function getFamilyRequest(name: string, seq: number): Buffer {
  return encodeGenl({
    family: GENL_ID_CTRL,
    cmd: CTRL_CMD.GETFAMILY,
    version: 1,
    flags: NLM_F.REQUEST | NLM_F.ACK,
    seq,
    attrs: [{ type: CTRL_ATTR.FAMILY_NAME, value: cstring(name) }],
  });
}

/** Resolves a family id; ENOENT (family not registered: module not loaded) comes back as IPVS_UNAVAILABLE. */
export async function resolveFamily(transport: NetlinkTransport, name: string, seq: number): Promise<number> {
  const tx = collect(await transport.transact([getFamilyRequest(name, seq)], { seqs: [seq] }));
  const ack = tx.acks.get(seq);
  if (ack?.errno !== undefined) {
    const code =
      ack.errno === 'ENOENT' || ack.errno === 'EPERM' ? ErrorCodes.IPVS_UNAVAILABLE : ErrorCodes.IPVS_REQUEST_FAILED;
    const why =
      ack.errno === 'ENOENT'
        ? `generic netlink family ${name} is not registered (is the ip_vs module loaded?)`
        : `resolving generic netlink family ${name} failed: ${ack.errno}`;
    throw new LdirError(code, why, { details: { errno: ack.errno } });
  }
  const reply = tx.data.get(seq)?.[0];
  const id = reply ? getU16(reply.attrs, CTRL_ATTR.FAMILY_ID) : undefined;
  if (id === undefined) throw new LdirError(ErrorCodes.IPVS_PROTOCOL, `no family id in the reply for ${name}`);
  return id;
}
