// What the netlink backend needs from a socket: batched request/reply by sequence number.

/** Options of one transaction. */
export interface TransactOptions {
  /** Sequence numbers that end with an NLMSG_ERROR (ACK or error). */
  readonly seqs: readonly number[];
  /** Sequence numbers of dumps, which end with NLMSG_DONE (or an error). */
  readonly dumpSeqs?: readonly number[];
  readonly timeoutMs?: number;
}

/** A netlink socket that sends a batch of messages and returns every reply received for them. */
export interface NetlinkTransport {
  transact(messages: readonly Buffer[], options: TransactOptions): Promise<Buffer>;
  close(): void | Promise<void>;
}
