// Validators of kernel operations and sync daemons as the engine hands them to the kernel (in a reload preview).
import type {
  DestinationKey,
  IpvsDestination,
  IpvsFamily,
  IpvsOp,
  IpvsService,
  IpvsSyncDaemon,
  ServiceKey,
} from '../ipvs/types';
import { PORT, WEIGHT } from './protocol-schema-fields';
import { arrayOf, bool, int, literal, object, optional, str, type Check } from './validate';

const FAMILY: Check<IpvsFamily> = literal('inet', 'inet6');
const ADDRESS = str({ min: 1, max: 64 });
const U32 = int({ min: 0, max: 0xffffffff });

/** A service identity: a firewall mark, or protocol, address and port. */
const serviceKey: Check<ServiceKey> = (value, path) => {
  const record = object({ family: FAMILY }, false)(value, path);
  if (value !== null && typeof value === 'object' && 'fwmark' in value)
    return { ...record, ...object({ fwmark: U32 }, false)(value, path) };
  return {
    ...record,
    ...object({ protocol: literal('tcp', 'udp', 'sctp'), address: ADDRESS, port: PORT }, false)(value, path),
  };
};

/** A service with its settings. */
const ipvsService: Check<IpvsService> = (value, path) => ({
  ...serviceKey(value, path),
  ...object(
    {
      scheduler: str({ min: 1, max: 64 }),
      persistent: optional(U32),
      netmask: optional(str({ min: 1, max: 64 })),
      onePacket: bool,
      schedulerFlags: arrayOf(literal('flag-1', 'flag-2', 'flag-3'), 3),
      persistenceEngine: optional(str({ min: 1, max: 64 })),
    },
    false,
  )(value, path),
});

const destinationKey: Check<DestinationKey & { readonly family: IpvsFamily }> = object(
  { address: ADDRESS, port: PORT, family: FAMILY },
  false,
);

const ipvsDestination: Check<IpvsDestination> = object(
  {
    address: ADDRESS,
    family: FAMILY,
    port: PORT,
    forward: literal('masq', 'local', 'tunnel', 'route'),
    weight: WEIGHT,
    upperThreshold: WEIGHT,
    lowerThreshold: WEIGHT,
    tunnelType: optional(literal('ipip', 'gue', 'gre')),
    tunnelPort: optional(PORT),
    tunnelChecksum: optional(literal('nocsum', 'csum', 'remcsum')),
  },
  false,
);

/** One kernel operation as the engine applies it. */
export const ipvsOpSchema: Check<IpvsOp> = (value, path) => {
  const { op } = object(
    {
      op: literal(
        'add-service',
        'edit-service',
        'delete-service',
        'add-destination',
        'edit-destination',
        'delete-destination',
      ),
    },
    false,
  )(value, path);
  switch (op) {
    case 'add-service':
    case 'edit-service':
      return { op, ...object({ service: ipvsService }, false)(value, path) };
    case 'delete-service':
      return { op, ...object({ service: serviceKey }, false)(value, path) };
    case 'add-destination':
    case 'edit-destination':
      return { op, ...object({ service: serviceKey, destination: ipvsDestination }, false)(value, path) };
    case 'delete-destination':
      return { op, ...object({ service: serviceKey, destination: destinationKey }, false)(value, path) };
  }
};

/** A sync daemon as the kernel runs it. */
export const syncDaemonSchema: Check<IpvsSyncDaemon> = object(
  {
    state: literal('master', 'backup'),
    interface: str({ min: 1, max: 16 }),
    syncId: U32,
    maxLength: optional(int({ min: 0, max: 65535 })),
    group: optional(str({ min: 1, max: 64 })),
    port: optional(PORT),
    ttl: optional(int({ min: 0, max: 255 })),
  },
  false,
);
