// NetlinkSocket: a netlink transport over the native addon, one transaction at a time per socket.
import { ErrorCodes, LdirError } from '../../errors';
import { isNativeErrnoError, loadNativeAddon, type NativeAddon, type NativeNetlinkHandle } from '../../native/addon';
import type { NetlinkTransport, TransactOptions } from './transport';

/** NETLINK_GENERIC (include/uapi/linux/netlink.h). */
export const NETLINK_GENERIC = 16;

/** Default time a transaction may take before it rejects with ETIMEDOUT. */
export const DEFAULT_TRANSACT_TIMEOUT_MS = 5000;

/** Errno name of a native error, or undefined. */
function errnoOf(err: unknown): string | undefined {
  return isNativeErrnoError(err) ? err.code : undefined;
}

/** A bound netlink socket; transactions are serialised (the kernel allows one dump per socket at a time anyway). */
export class NetlinkSocket implements NetlinkTransport {
  private tail: Promise<unknown> = Promise.resolve();
  private isClosed = false;

  private constructor(
    private readonly addon: NativeAddon,
    private readonly handle: NativeNetlinkHandle,
    /** The port id the kernel assigned to this socket. */
    readonly portId: number,
  ) {}

  /**
   * Opens a netlink socket of `protocol`. Throws `NATIVE_UNAVAILABLE` when the addon is not built, or
   * `IPVS_UNAVAILABLE` (details.errno) when the kernel refuses the socket.
   */
  static open(protocol: number = NETLINK_GENERIC, addon: NativeAddon = loadNativeAddon()): NetlinkSocket {
    try {
      const { handle, portId } = addon.netlinkOpen(protocol);
      return new NetlinkSocket(addon, handle, portId);
    } catch (cause) {
      const errno = errnoOf(cause) ?? 'UNKNOWN';
      throw new LdirError(ErrorCodes.IPVS_UNAVAILABLE, `cannot open netlink socket (protocol ${protocol}): ${errno}`, {
        cause,
        details: { errno },
      });
    }
  }

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * Sends `messages` as one datagram and resolves with every message received for `seqs` (until each has its ACK or
   * error) and `dumpSeqs` (until NLMSG_DONE). Rejects with `IPVS_REQUEST_FAILED`, details.errno = `ENOBUFS` (replies
   * lost: resync with a dump), `ETIMEDOUT`, `EBADF` (closed), ... Sequence numbers must be unique per socket.
   */
  transact(messages: readonly Buffer[], options: TransactOptions): Promise<Buffer> {
    const run = (): Promise<Buffer> => this.runOne(messages, options);
    const result = this.tail.then(run, run);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Closes the socket; idempotent. A pending or later transaction rejects with EBADF. */
  close(): void {
    this.isClosed = true;
    this.addon.netlinkClose(this.handle);
  }

  /** One native transaction, with native errors converted to LdirError. */
  private async runOne(messages: readonly Buffer[], options: TransactOptions): Promise<Buffer> {
    if (messages.length === 0) {
      throw new LdirError(ErrorCodes.INTERNAL, 'netlink transaction without messages');
    }
    const timeoutMs = options.timeoutMs ?? DEFAULT_TRANSACT_TIMEOUT_MS;
    try {
      return await this.addon.netlinkTransact(
        this.handle,
        Buffer.concat(messages),
        options.seqs,
        options.dumpSeqs ?? [],
        timeoutMs,
      );
    } catch (cause) {
      const errno = errnoOf(cause) ?? 'UNKNOWN';
      throw new LdirError(ErrorCodes.IPVS_REQUEST_FAILED, `netlink transaction failed: ${errno}`, {
        cause,
        details: { errno, messages: messages.length, timeoutMs },
      });
    }
  }
}
