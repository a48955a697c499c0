// The native netlink transport against the kernel's nlctrl generic-netlink family (no IPVS needed).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { test } from 'node:test';
import { ErrorCodes, isLdirError, LdirError } from '../../../src/errors';
import { NetlinkSocket } from '../../../src/ipvs/netlink/socket';
import { loadNativeAddon } from '../../../src/native/addon';
import { eventually } from '../../helpers/wait';

// Hand-built constants (include/uapi/linux/netlink.h, genetlink.h): the codec under test lives elsewhere.
const GENL_ID_CTRL = 16;
const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const NLM_F_REQUEST = 0x1;
const NLM_F_ACK = 0x4;
const NLM_F_DUMP = 0x300;
const CTRL_CMD_NEWFAMILY = 1;
const CTRL_CMD_GETFAMILY = 3;
const CTRL_ATTR_FAMILY_ID = 1;
const CTRL_ATTR_FAMILY_NAME = 2;

/** One nlctrl request: nlmsghdr (16) + genlmsghdr (4) + optional CTRL_ATTR_FAMILY_NAME. */
function ctrlRequest(cmd: number, flags: number, seq: number, familyName?: string): Buffer {
  const name = familyName === undefined ? undefined : Buffer.from(`${familyName}\0`);
  const attrLen = name ? 4 + name.length : 0;
  const len = 20 + ((attrLen + 3) & ~3);
  const b = Buffer.alloc(len);
  b.writeUInt32LE(len, 0);
  b.writeUInt16LE(GENL_ID_CTRL, 4);
  b.writeUInt16LE(flags, 6);
  b.writeUInt32LE(seq, 8);
  b.writeUInt32LE(0, 12);
  b.writeUInt8(cmd, 16);
  b.writeUInt8(1, 17);
  if (name) {
    b.writeUInt16LE(attrLen, 20);
    b.writeUInt16LE(CTRL_ATTR_FAMILY_NAME, 22);
    name.copy(b, 24);
  }
  return b;
}

interface Msg {
  type: number;
  seq: number;
  body: Buffer;
}

/** Splits concatenated netlink messages. */
function split(buf: Buffer): Msg[] {
  const out: Msg[] = [];
  let off = 0;
  while (off + 16 <= buf.length) {
    const len = buf.readUInt32LE(off);
    assert.ok(len >= 16 && off + len <= buf.length, `bad message length ${len} at ${off}`);
    out.push({
      type: buf.readUInt16LE(off + 4),
      seq: buf.readUInt32LE(off + 8),
      body: buf.subarray(off + 16, off + len),
    });
    off += (len + 3) & ~3;
  }
  assert.equal(off, buf.length, 'trailing bytes');
  return out;
}

/** Attributes of a genl message body (after the 4-byte genl header). */
function attrs(body: Buffer): Map<number, Buffer> {
  const m = new Map<number, Buffer>();
  let off = 4;
  while (off + 4 <= body.length) {
    const len = body.readUInt16LE(off);
    if (len < 4) break;
    m.set(body.readUInt16LE(off + 2) & 0x3fff, body.subarray(off + 4, off + len));
    off += (len + 3) & ~3;
  }
  return m;
}

/** The errno (negative or 0) of an NLMSG_ERROR message. */
const ackError = (m: Msg): number => m.body.readInt32LE(0);

let nextSeq = 1;

test('the addon loads (fails with the reason when it is not built)', () => {
  assert.doesNotThrow(() => loadNativeAddon());
});

test('resolves the nlctrl family: reply with family id 16, then a zero ACK', async () => {
  const sock = NetlinkSocket.open();
  try {
    assert.ok(sock.portId > 0, 'kernel-assigned port id');
    const seq = nextSeq++;
    const msgs = split(
      await sock.transact([ctrlRequest(CTRL_CMD_GETFAMILY, NLM_F_REQUEST | NLM_F_ACK, seq, 'nlctrl')], { seqs: [seq] }),
    );
    const reply = msgs.find((m) => m.type === GENL_ID_CTRL);
    assert.ok(reply, 'a family reply');
    assert.equal(reply.body.readUInt8(0), CTRL_CMD_NEWFAMILY);
    assert.equal(attrs(reply.body).get(CTRL_ATTR_FAMILY_ID)?.readUInt16LE(0), 16);
    assert.equal(attrs(reply.body).get(CTRL_ATTR_FAMILY_NAME)?.toString('latin1'), 'nlctrl\0');
    const ack = msgs.at(-1);
    assert.ok(ack && ack.type === NLMSG_ERROR && ack.seq === seq);
    assert.equal(ackError(ack), 0);
  } finally {
    sock.close();
  }
});

test('an unsupported genl command gets an error ACK with -EOPNOTSUPP', async () => {
  const sock = NetlinkSocket.open();
  try {
    const seq = nextSeq++;
    const msgs = split(await sock.transact([ctrlRequest(200, NLM_F_REQUEST | NLM_F_ACK, seq)], { seqs: [seq] }));
    const ack = msgs.find((m) => m.type === NLMSG_ERROR);
    assert.ok(ack);
    assert.equal(ackError(ack), -os.constants.errno.EOPNOTSUPP);
  } finally {
    sock.close();
  }
});

test('a dump of all families ends with NLMSG_DONE and includes nlctrl', async () => {
  const sock = NetlinkSocket.open();
  try {
    const seq = nextSeq++;
    const msgs = split(
      await sock.transact([ctrlRequest(CTRL_CMD_GETFAMILY, NLM_F_REQUEST | NLM_F_DUMP, seq)], {
        seqs: [],
        dumpSeqs: [seq],
      }),
    );
    assert.equal(msgs.at(-1)?.type, NLMSG_DONE);
    const names = msgs
      .filter((m) => m.type === GENL_ID_CTRL)
      .map((m) => attrs(m.body).get(CTRL_ATTR_FAMILY_NAME)?.toString('latin1'));
    assert.ok(names.includes('nlctrl\0'), `families: ${names.join(',')}`);
  } finally {
    sock.close();
  }
});

test('a 500-message batch either succeeds or rejects with ENOBUFS, and the socket stays usable', async () => {
  const sock = NetlinkSocket.open();
  try {
    const seqs = Array.from({ length: 500 }, () => nextSeq++);
    const batch = seqs.map((seq) => ctrlRequest(CTRL_CMD_GETFAMILY, NLM_F_REQUEST | NLM_F_ACK, seq, 'nlctrl'));
    try {
      const msgs = split(await sock.transact(batch, { seqs, timeoutMs: 10000 }));
      assert.equal(msgs.filter((m) => m.type === NLMSG_ERROR && ackError(m) === 0).length, 500);
      assert.equal(msgs.filter((m) => m.type === GENL_ID_CTRL).length, 500);
    } catch (err) {
      assert.ok(isLdirError(err, ErrorCodes.IPVS_REQUEST_FAILED) && err.details['errno'] === 'ENOBUFS', String(err));
    }
    const seq = nextSeq++;
    const after = split(
      await sock.transact([ctrlRequest(CTRL_CMD_GETFAMILY, NLM_F_REQUEST | NLM_F_ACK, seq, 'nlctrl')], { seqs: [seq] }),
    );
    assert.deepEqual(
      after.map((m) => m.seq),
      [seq, seq],
      "only this transaction's messages",
    );
  } finally {
    sock.close();
  }
});

test('concurrent transactions are serialised and each gets its own replies', async () => {
  const sock = NetlinkSocket.open();
  try {
    const seqs = [nextSeq++, nextSeq++, nextSeq++];
    const results = await Promise.all(
      seqs.map((seq) =>
        sock.transact([ctrlRequest(CTRL_CMD_GETFAMILY, NLM_F_REQUEST | NLM_F_ACK, seq, 'nlctrl')], { seqs: [seq] }),
      ),
    );
    results.forEach((buf, i) => {
      assert.ok(split(buf).every((m) => m.seq === seqs[i]));
    });
  } finally {
    sock.close();
  }
});

test('an unanswered seq rejects with ETIMEDOUT; late or stray messages do not leak into the next transaction', async () => {
  const sock = NetlinkSocket.open();
  try {
    const seq = nextSeq++;
    // Without NLM_F_REQUEST the kernel ignores the message, so its ACK never comes.
    await assert.rejects(
      sock.transact([ctrlRequest(CTRL_CMD_GETFAMILY, 0, seq, 'nlctrl')], { seqs: [seq], timeoutMs: 150 }),
      (err: unknown) => isLdirError(err, ErrorCodes.IPVS_REQUEST_FAILED) && err.details['errno'] === 'ETIMEDOUT',
    );
    const s2 = nextSeq++;
    const msgs = split(
      await sock.transact([ctrlRequest(CTRL_CMD_GETFAMILY, NLM_F_REQUEST | NLM_F_ACK, s2, 'nlctrl')], { seqs: [s2] }),
    );
    assert.ok(msgs.every((m) => m.seq === s2));
  } finally {
    sock.close();
  }
});

test('transact on a closed socket rejects with EBADF; close is idempotent', async () => {
  const sock = NetlinkSocket.open();
  sock.close();
  sock.close();
  assert.equal(sock.closed, true);
  const seq = nextSeq++;
  await assert.rejects(
    sock.transact([ctrlRequest(CTRL_CMD_GETFAMILY, NLM_F_REQUEST | NLM_F_ACK, seq, 'nlctrl')], { seqs: [seq] }),
    (err: unknown) => {
      assert.ok(err instanceof LdirError);
      assert.equal(err.code, ErrorCodes.IPVS_REQUEST_FAILED);
      assert.equal(err.details['errno'], 'EBADF');
      return true;
    },
  );
});

/** poll(2) as /proc/PID/task/TID/syscall numbers it (glibc's poll is ppoll on arm64). */
const POLL_SYSCALL = process.arch === 'arm64' ? '73' : '7';

/** Whether a thread of this process is inside poll(2): in a unit-test process, only a netlink worker waiting for replies. */
function aThreadPolls(): boolean {
  return fs.readdirSync('/proc/self/task').some((tid) => {
    try {
      return fs.readFileSync(`/proc/self/task/${tid}/syscall`, 'utf8').split(' ')[0] === POLL_SYSCALL;
    } catch {
      return false; // the thread is gone
    }
  });
}

test('closing while a transaction waits rejects it with EBADF', async () => {
  const sock = NetlinkSocket.open();
  const seq = nextSeq++;
  // Without NLM_F_REQUEST no answer ever comes: the worker waits for one until it is closed (or for a minute).
  const pending = sock.transact([ctrlRequest(CTRL_CMD_GETFAMILY, 0, seq, 'nlctrl')], {
    seqs: [seq],
    timeoutMs: 60_000,
  });
  await eventually('the netlink worker waiting in poll(2)', () => aThreadPolls() || undefined, 20_000, 5);
  sock.close();
  await assert.rejects(pending, (err: unknown) => isLdirError(err) && err.details['errno'] === 'EBADF');
});

test('the native layer rejects bad arguments synchronously with TypeError', () => {
  const addon = loadNativeAddon();
  assert.throws(() => addon.netlinkClose({} as never), TypeError);
  assert.throws(() => addon.netlinkOpen('x' as never), TypeError);
});
