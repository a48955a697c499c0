// A netlink backend over a scripted kernel that answers dumps as the kernel does (bench:table-pass): one TCP service
// 10.202.0.1:80 (wrr) whose destinations carry every attribute the kernel puts in a GET_DEST reply, traffic
// counters (32 and 64 bit) included, so that decoding costs what it costs on a real director.
import { cstring, encodeAttrs, u16, u16be, u32, type Attr } from '../src/ipvs/netlink/attributes';
import { NetlinkBackend } from '../src/ipvs/netlink/backend';
import { CTRL_ATTR, GENL_ID_CTRL, IPVS_CMD, IPVS_CMD_ATTR, IPVS_DEST_ATTR } from '../src/ipvs/netlink/constants';
import { encodeAddress, serviceSpecAttrs, withService } from '../src/ipvs/netlink/ipvs-codec';
import { splitMessages } from '../src/ipvs/netlink/message';
import type { NetlinkTransport } from '../src/ipvs/netlink/transport';
import { ack, data, done, IPVS_FAMILY_ID } from '../test/helpers/netlink-messages';

function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
}

/** The DEST attribute of a GET_DEST reply for a masq destination `address`:80 at weight 1. */
function destinationReply(address: string, i: number): Buffer {
  const counters = (value: (n: number) => Buffer): Attr[] =>
    Array.from({ length: 10 }, (_, k) => ({ type: k + 1, value: value(i * 10 + k) }));
  return encodeAttrs([
    {
      type: IPVS_CMD_ATTR.DEST,
      value: [
        { type: IPVS_DEST_ATTR.ADDR, value: encodeAddress(address) },
        { type: IPVS_DEST_ATTR.PORT, value: u16be(80) },
        { type: IPVS_DEST_ATTR.FWD_METHOD, value: u32(0) },
        { type: IPVS_DEST_ATTR.WEIGHT, value: u32(1) },
        { type: IPVS_DEST_ATTR.TUN_TYPE, value: Buffer.from([0]) },
        { type: IPVS_DEST_ATTR.TUN_PORT, value: u16be(0) },
        { type: IPVS_DEST_ATTR.TUN_FLAGS, value: u16(0) },
        { type: IPVS_DEST_ATTR.U_THRESH, value: u32(0) },
        { type: IPVS_DEST_ATTR.L_THRESH, value: u32(0) },
        { type: IPVS_DEST_ATTR.ACTIVE_CONNS, value: u32(i % 3) },
        { type: IPVS_DEST_ATTR.INACT_CONNS, value: u32(i % 5) },
        { type: IPVS_DEST_ATTR.PERSIST_CONNS, value: u32(0) },
        { type: IPVS_DEST_ATTR.STATS, value: counters(u32) },
        { type: IPVS_DEST_ATTR.STATS64, value: counters(u64) },
        { type: IPVS_DEST_ATTR.ADDR_FAMILY, value: u16(2) },
      ],
    },
  ]);
}

/** A netlink backend whose kernel lists one service with a destination per address of `addresses`. */
export async function scriptedDumpBackend(addresses: readonly string[]): Promise<NetlinkBackend> {
  const service = encodeAttrs(
    withService(
      serviceSpecAttrs({
        family: 'inet',
        protocol: 'tcp',
        address: '10.202.0.1',
        port: 80,
        scheduler: 'wrr',
        onePacket: false,
        schedulerFlags: [],
      }),
    ),
  );
  const destinations = addresses.map(destinationReply);
  const kernel: NetlinkTransport = {
    async transact(messages) {
      const out: Buffer[] = [];
      for (const m of messages) {
        for (const msg of splitMessages(m)) {
          const cmd = msg.payload.readUInt8(0);
          if (msg.type === GENL_ID_CTRL) {
            const family = encodeAttrs([
              { type: CTRL_ATTR.FAMILY_ID, value: u16(IPVS_FAMILY_ID) },
              { type: CTRL_ATTR.FAMILY_NAME, value: cstring('IPVS') },
            ]);
            out.push(data(msg.seq, 1, family, GENL_ID_CTRL), ack(msg.seq));
          } else if (cmd === IPVS_CMD.GET_SERVICE) {
            out.push(data(msg.seq, IPVS_CMD.NEW_SERVICE, service), done(msg.seq));
          } else if (cmd === IPVS_CMD.GET_DEST) {
            for (const d of destinations) out.push(data(msg.seq, IPVS_CMD.NEW_DEST, d));
            out.push(done(msg.seq));
          } else {
            out.push(ack(msg.seq));
          }
        }
      }
      return Buffer.concat(out);
    },
    close() {},
  };
  return NetlinkBackend.open(kernel);
}
