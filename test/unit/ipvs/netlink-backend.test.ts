// The netlink backend over a scripted transport: family resolution, batching window, dumps, error mapping.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cstring, encodeAttrs, u16, u32 } from '../../../src/ipvs/netlink/attributes';
import { CTRL_ATTR, GENL_ID_CTRL, IPVS_CMD, NLM_F } from '../../../src/ipvs/netlink/constants';
import { NetlinkBackend } from '../../../src/ipvs/netlink/backend';
import { serviceSpecAttrs, withService } from '../../../src/ipvs/netlink/ipvs-codec';
import { splitMessages } from '../../../src/ipvs/netlink/message';
import type { NetlinkTransport, TransactOptions } from '../../../src/ipvs/netlink/transport';
import type { IpvsOp, IpvsService } from '../../../src/ipvs/types';
import { ack, data, done, IPVS_FAMILY_ID } from '../../helpers/netlink-messages';

const IPVS_ID = IPVS_FAMILY_ID;

/** A kernel stand-in: answers GETFAMILY, ACKs writes (EEXIST for a chosen seq), serves one service in dumps. */
class ScriptedKernel implements NetlinkTransport {
  readonly batches: Array<{ sent: number[]; options: TransactOptions }> = [];
  failSeq = -1;
  closed = false;
  constructor(private readonly service?: IpvsService) {}

  async transact(messages: readonly Buffer[], options: TransactOptions): Promise<Buffer> {
    const replies: Buffer[] = [];
    const cmds: number[] = [];
    for (const m of messages) {
      const [msg] = splitMessages(m);
      assert.ok(msg);
      const cmd = msg.payload.readUInt8(0);
      cmds.push(cmd);
      if (msg.type === GENL_ID_CTRL) {
        replies.push(
          data(
            msg.seq,
            1,
            encodeAttrs([
              { type: CTRL_ATTR.FAMILY_ID, value: u16(IPVS_ID) },
              { type: CTRL_ATTR.FAMILY_NAME, value: cstring('IPVS') },
            ]),
            GENL_ID_CTRL,
          ),
          ack(msg.seq),
        );
      } else if ((msg.flags & NLM_F.DUMP) === NLM_F.DUMP) {
        assert.equal(msg.type, IPVS_ID);
        if (cmd === IPVS_CMD.GET_SERVICE && this.service)
          replies.push(data(msg.seq, IPVS_CMD.NEW_SERVICE, encodeAttrs(withService(serviceSpecAttrs(this.service)))));
        replies.push(done(msg.seq));
      } else if (cmd === IPVS_CMD.GET_INFO) {
        replies.push(
          data(
            msg.seq,
            IPVS_CMD.SET_INFO,
            encodeAttrs([
              { type: 1, value: u32(0x010201) },
              { type: 2, value: u32(4096) },
            ]),
          ),
          ack(msg.seq),
        );
      } else {
        replies.push(ack(msg.seq, msg.seq === this.failSeq ? 17 /* EEXIST */ : 0));
      }
    }
    this.batches.push({ sent: cmds, options });
    return Buffer.concat(replies);
  }

  close(): void {
    this.closed = true;
  }
}

const svc = (port: number): IpvsService => ({
  family: 'inet',
  protocol: 'tcp',
  address: '192.0.2.1',
  port,
  scheduler: 'rr',
  onePacket: false,
  schedulerFlags: [],
});

test('open resolves the family; writes go out in batches of at most the window, one ACK per seq', async () => {
  const kernel = new ScriptedKernel();
  const backend = await NetlinkBackend.open(kernel, { window: 3 });
  const ops: IpvsOp[] = Array.from({ length: 7 }, (_, i) => ({ op: 'add-service', service: svc(1000 + i) }));
  const results = await backend.apply(ops);
  assert.equal(results.length, 7);
  assert.ok(results.every((r) => r.status === 'done'));
  const writes = kernel.batches.slice(1);
  assert.deepEqual(
    writes.map((b) => b.sent.length),
    [3, 3, 1],
  );
  assert.ok(writes.every((b) => b.options.seqs.length === b.sent.length && (b.options.dumpSeqs ?? []).length === 0));
  const seqs = writes.flatMap((b) => b.options.seqs);
  assert.equal(new Set(seqs).size, seqs.length, 'every request has its own sequence number');
});

test('an EEXIST answer to an add converges; results keep the order of the operations', async () => {
  const kernel = new ScriptedKernel();
  const backend = await NetlinkBackend.open(kernel);
  kernel.failSeq = 3;
  const results = await backend.apply([
    { op: 'add-service', service: svc(1) },
    { op: 'add-service', service: svc(2) },
  ]);
  assert.deepEqual(
    results.map((r) => r.status),
    ['done', 'converged'],
  );
});

test('list dumps services then the destinations of each; info decodes; close closes the socket', async () => {
  const kernel = new ScriptedKernel(svc(80));
  const backend = await NetlinkBackend.open(kernel);
  const table = await backend.list();
  assert.equal(table.length, 1);
  assert.deepEqual(table[0]?.destinations, []);
  const dumps = kernel.batches.slice(1, 3);
  assert.deepEqual(
    dumps.map((b) => b.sent),
    [[IPVS_CMD.GET_SERVICE], [IPVS_CMD.GET_DEST]],
  );
  assert.ok(dumps.every((b) => b.options.seqs.length === 0 && b.options.dumpSeqs?.length === 1));
  assert.deepEqual(await backend.info(), { version: '1.2.1', connTableSize: 4096 });
  await backend.close();
  assert.ok(kernel.closed);
});
