// Chooses the IPVS backend: netlink when the kernel answers, else ipvsadm when installed, else a clear error.
import { accessSync, constants as fsConstants } from 'node:fs';
import { ErrorCodes, isLdirError, LdirError } from '../errors';
import { IpvsadmBackend, IPVSADM_PATHS } from './ipvsadm/backend';
import { MemoryBackend } from './memory';
import { NetlinkBackend } from './netlink/backend';
import { NetlinkSocket } from './netlink/socket';
import type { IpvsBackend } from './types';
import { BACKEND_CHOICES, type BackendChoice } from './backend-choice';

export { BACKEND_CHOICES, type BackendChoice };

/** How each backend is made (injected in tests). */
export interface BackendFactories {
  readonly netlink: () => Promise<IpvsBackend>;
  /** Path of a runnable ipvsadm, or undefined. */
  readonly ipvsadmBinary: () => string | undefined;
  readonly ipvsadm: (binary: string) => IpvsBackend;
  readonly memory: () => IpvsBackend;
}

/** The real factories. */
export function systemFactories(): BackendFactories {
  return {
    netlink: async () => {
      const socket = NetlinkSocket.open();
      try {
        const backend = await NetlinkBackend.open(socket);
        await backend.info();
        return backend;
      } catch (err) {
        socket.close();
        throw err;
      }
    },
    ipvsadmBinary: () =>
      IPVSADM_PATHS.find((p) => {
        try {
          accessSync(p, fsConstants.X_OK);
          return true;
        } catch {
          return false;
        }
      }),
    ipvsadm: (binary) => new IpvsadmBackend({ binary }),
    memory: () => new MemoryBackend(),
  };
}

/** Why a backend could not be used, in words for the operator. */
function explain(err: unknown): string {
  if (!isLdirError(err)) return String(err);
  const errno = err.details['errno'];
  if (errno === 'EPERM' || errno === 'EACCES') return `${err.message} (ldir needs CAP_NET_ADMIN: run it as root)`;
  return err.message;
}

/** The chosen backend, and why the ones before it were passed over. */
export interface Selection {
  readonly backend: IpvsBackend;
  readonly passedOver: readonly string[];
}

/** Opens the backend for `choice`; `auto` tries netlink, then ipvsadm. Throws IPVS_UNAVAILABLE naming every cause. */
export async function selectBackend(
  choice: BackendChoice,
  factories: BackendFactories = systemFactories(),
): Promise<Selection> {
  if (choice === 'memory') return { backend: factories.memory(), passedOver: [] };
  const passedOver: string[] = [];
  if (choice === 'auto' || choice === 'netlink') {
    try {
      return { backend: await factories.netlink(), passedOver };
    } catch (err) {
      passedOver.push(`netlink: ${explain(err)}`);
      if (choice === 'netlink')
        throw new LdirError(ErrorCodes.IPVS_UNAVAILABLE, `IPVS through netlink is not available: ${explain(err)}`, {
          cause: err,
        });
    }
  }
  const binary = factories.ipvsadmBinary();
  if (!binary) {
    passedOver.push(`ipvsadm: not installed (looked in ${IPVSADM_PATHS.join(', ')})`);
    throw new LdirError(
      ErrorCodes.IPVS_UNAVAILABLE,
      `no way to reach the kernel IPVS table: ${passedOver.join('; ')}`,
      { details: { passedOver } },
    );
  }
  const backend = factories.ipvsadm(binary);
  try {
    await backend.info();
  } catch (err) {
    passedOver.push(`ipvsadm: ${explain(err)}`);
    throw new LdirError(
      ErrorCodes.IPVS_UNAVAILABLE,
      `no way to reach the kernel IPVS table: ${passedOver.join('; ')}`,
      { cause: err, details: { passedOver } },
    );
  }
  return { backend, passedOver };
}
