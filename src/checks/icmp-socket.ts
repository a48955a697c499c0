// Opens an unprivileged ICMP "ping socket" through the native addon and hands it to dgram (all I/O stays in libuv).
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import { ErrorCodes, LdirError } from '../errors';
import { isNativeErrnoError, loadNativeAddon, type NativeAddon } from '../native/addon';

/** Reads net.ipv4.ping_group_range ("1 0" = nobody), or undefined when unreadable. */
function pingGroupRange(): string | undefined {
  try {
    return fs.readFileSync('/proc/sys/net/ipv4/ping_group_range', 'utf8').trim().replace(/\s+/g, ' ');
  } catch {
    return undefined;
  }
}

/**
 * Opens a ping socket (`SOCK_DGRAM`, `IPPROTO_ICMP[V6]`) for `family` and resolves with a bound `dgram.Socket` on
 * it: send ICMP echo requests (header + data, checksum and identifier filled by the kernel) with any non-zero port.
 * Throws `ICMP_UNAVAILABLE` (details.errno: EACCES when our groups are outside net.ipv4.ping_group_range) or
 * `NATIVE_UNAVAILABLE` when the addon is not built.
 */
export async function openPingSocket(family: 4 | 6, addon: NativeAddon = loadNativeAddon()): Promise<dgram.Socket> {
  let fd: number;
  try {
    fd = addon.icmpOpen(family, false);
  } catch (cause) {
    const errno = isNativeErrnoError(cause) ? cause.code : 'UNKNOWN';
    const range = pingGroupRange();
    const why =
      errno === 'EACCES' || errno === 'EPERM'
        ? `ping sockets are not permitted: gid ${process.getgid?.() ?? '?'} is outside net.ipv4.ping_group_range (${range ?? 'unreadable'}); widen it or use raw ICMP (CAP_NET_RAW)`
        : `cannot open an IPv${family} ping socket: ${errno}`;
    throw new LdirError(ErrorCodes.ICMP_UNAVAILABLE, why, { cause, details: { errno, family, pingGroupRange: range } });
  }
  const socket = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
  let adopted = false; // once dgram accepted the fd, closing the socket closes the fd
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ fd }, () => {
        socket.off('error', reject);
        resolve();
      });
      adopted = true;
    });
  } catch (cause) {
    if (!adopted) fs.closeSync(fd);
    try {
      socket.close();
    } catch {
      // never bound: nothing to release
    }
    throw new LdirError(
      ErrorCodes.ICMP_UNAVAILABLE,
      `cannot attach the IPv${family} ping socket to dgram: ${(cause as Error).message}`,
      {
        cause,
        details: { family },
      },
    );
  }
  return socket;
}
