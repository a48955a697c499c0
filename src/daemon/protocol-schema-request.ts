// Strict validators of the control protocol's requests: no unknown member is accepted.
import { MAX_RUNTIME_WEIGHT } from '../model/weight';
import type { ControlRequest, RequestId, RequestType } from './protocol';
import { arrayOf, bool, int, literal, object, optional, SchemaError, str, type Check } from './validate';

const TARGET = str({ min: 1, max: 256, printable: true });

/** A request id: 1..64 printable characters, or an integer >= 0. */
export const idSchema: Check<RequestId> = (value, path) => {
  if (typeof value === 'number') return int({ min: 0 })(value, path);
  if (typeof value === 'string') return str({ min: 1, max: 64, printable: true })(value, path);
  throw new SchemaError(path, 'expected a string of 1..64 characters or an integer >= 0');
};

/** The request type member. */
export const requestTypeSchema: Check<RequestType> = literal(
  'status',
  'reload',
  'reload-preview',
  'drain',
  'undrain',
  'weight',
  'stop',
  'ping',
  'role',
  'restart',
);

/** A runtime weight the kernel takes (0..2147483647), or `reset`. */
const RUNTIME_WEIGHT: Check<number | 'reset'> = (value, path) =>
  value === 'reset' ? 'reset' : int({ min: 0, max: MAX_RUNTIME_WEIGHT })(value, path);

/** The program a restart runs: an absolute path first (the node binary), then its arguments (the entry script). */
const PROGRAM: Check<string[]> = (value, path) => {
  const argv = arrayOf(str({ min: 1, max: 4096, printable: true }), 8)(value, path);
  if (argv.length === 0 || !(argv[0] as string).startsWith('/'))
    throw new SchemaError(`${path}[0]`, 'expected the absolute path of a program');
  return argv;
};

function simpleRequest<T extends 'reload' | 'reload-preview' | 'stop' | 'ping'>(type: T): Check<ControlRequest> {
  return object({ v: int(), id: idSchema, type: literal(type) }, true);
}

function targetRequest<T extends 'drain' | 'undrain'>(type: T): Check<ControlRequest> {
  return object({ v: int(), id: idSchema, type: literal(type), virtual: TARGET, real: TARGET }, true);
}

/** Strict request validators by type: no unknown member is accepted. */
export const requestSchemas: { readonly [T in RequestType]: Check<ControlRequest> } = {
  status: object({ v: int(), id: idSchema, type: literal('status'), stream: optional(bool) }, true),
  reload: simpleRequest('reload'),
  'reload-preview': simpleRequest('reload-preview'),
  stop: simpleRequest('stop'),
  ping: simpleRequest('ping'),
  drain: targetRequest('drain'),
  undrain: targetRequest('undrain'),
  weight: object(
    { v: int(), id: idSchema, type: literal('weight'), virtual: TARGET, real: TARGET, weight: RUNTIME_WEIGHT },
    true,
  ),
  role: object({ v: int(), id: idSchema, type: literal('role'), role: literal('master', 'backup') }, true),
  restart: object(
    {
      v: int(),
      id: idSchema,
      type: literal('restart'),
      program: optional(PROGRAM),
      ipvs: optional(literal('auto', 'netlink', 'ipvsadm', 'memory')),
      debug: optional(bool),
      timeoutMs: optional(int({ min: 100, max: 3_600_000 })),
    },
    true,
  ),
};
