// The daemon's state file, /var/lib/ldir/<cfgname>.state: the runtime weights (`ldir weight`) and hand drains
// (`ldir drain`) in force, so that a stop and start, a crash or a kill -9 does not forget them. JSON, versioned,
// written atomically; read once at start.
import * as nodeFs from 'node:fs';
import { join } from 'node:path';
import type { OperatorSetting } from '../engine/operator-settings';
import { MAX_RUNTIME_WEIGHT } from '../model/weight';
import { writeFileAtomic, type AtomicFs } from '../system/atomic-file';
import { arrayOf, bool, int, object, optional, str, type Check } from './validate';

/** Directory of state files (one per configuration name). */
export const STATE_DIRECTORY = '/var/lib/ldir';

/** Version of the file's format; a file of another version is not read (logged, and left alone until a change). */
export const STATE_FILE_VERSION = 1;

/** Path of the state file of the daemon running configuration `configName` (as the pid file, one per name). */
export function stateFilePath(configName: string, directory: string = STATE_DIRECTORY): string {
  return join(directory, `${configName}.state`);
}

/** One real's hand settings as the file holds them. */
interface StateEntry {
  /** Virtual service id (`tcp:192.0.2.1:80`). */
  readonly virtual: string;
  /** `ADDRESS:PORT` (`[ADDRESS]:PORT` for IPv6), as `ldir status` names it. */
  readonly real: string;
  readonly weight?: number;
  readonly drained?: boolean;
}

/** The file's content. */
interface StateDocument {
  readonly version: number;
  /** The configuration file of the daemon that wrote it (for people: the file name already says which). */
  readonly config: string;
  /** ISO 8601 time of the write. */
  readonly savedAt: string;
  readonly reals: readonly StateEntry[];
}

const NAME = str({ min: 1, max: 256, printable: true });

/** An entry: unknown members (from a newer ldir) are ignored. */
const entrySchema: Check<StateEntry> = object(
  {
    virtual: NAME,
    real: NAME,
    weight: optional(int({ min: 0, max: MAX_RUNTIME_WEIGHT })),
    drained: optional(bool),
  },
  false,
);

/** The file's JSON text for `settings`, written by the daemon of `configFile` at `savedAt` (epoch ms). */
export function encodeStateFile(
  settings: readonly OperatorSetting[],
  meta: { readonly configFile: string; readonly savedAt: number },
): string {
  const doc: StateDocument = {
    version: STATE_FILE_VERSION,
    config: meta.configFile,
    savedAt: new Date(meta.savedAt).toISOString(),
    reals: settings.map((s) => ({
      virtual: s.virtualId,
      real: s.realKey,
      ...(s.weight !== undefined ? { weight: s.weight } : {}),
      ...(s.drained ? { drained: true } : {}),
    })),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/**
 * The settings a state file's text holds. Throws an Error saying what is wrong (not JSON, another version, a bad
 * member with its JSON path) for anything but a complete file of {@link STATE_FILE_VERSION}. Entries with neither a
 * weight nor a drain are left out.
 */
export function parseStateFile(text: string): OperatorSetting[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`not JSON: ${(err as Error).message}`);
  }
  const { version } = object({ version: int() }, false)(value, '$');
  if (version !== STATE_FILE_VERSION)
    throw new Error(`version ${version}, this ldir reads version ${STATE_FILE_VERSION}`);
  const { reals } = object({ reals: arrayOf(entrySchema) }, false)(value, '$');
  return reals
    .filter((e) => e.weight !== undefined || e.drained === true)
    .map((e) => ({
      virtualId: e.virtual,
      realKey: e.real,
      ...(e.weight !== undefined ? { weight: e.weight } : {}),
      ...(e.drained ? { drained: true as const } : {}),
    }));
}

/** What {@link readStateFile} found: no file, the settings, or a file that cannot be used (and why). */
export type StateFileRead =
  | { readonly state: 'absent' }
  | { readonly state: 'read'; readonly settings: readonly OperatorSetting[] }
  | { readonly state: 'unreadable'; readonly reason: string };

/** Reads the state file at `path`. Never throws: a file that cannot be read or used is `unreadable`, with why. */
export function readStateFile(path: string, fs: Pick<typeof nodeFs, 'readFileSync'> = nodeFs): StateFileRead {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { state: 'absent' };
    return { state: 'unreadable', reason: `cannot read it: ${(err as Error).message}` };
  }
  try {
    return { state: 'read', settings: parseStateFile(text) };
  } catch (err) {
    return { state: 'unreadable', reason: (err as Error).message };
  }
}

/**
 * Writes `settings` to the state file at `path` atomically (mode 0644: it holds no secret; its directory is created
 * with mode 0755 when missing). Throws when it cannot be written; the previous file is then left as it was.
 */
export function writeStateFile(
  path: string,
  settings: readonly OperatorSetting[],
  meta: { readonly configFile: string; readonly savedAt: number },
  fs?: AtomicFs,
): void {
  writeFileAtomic(path, encodeStateFile(settings, meta), { mode: 0o644, directoryMode: 0o755, ...(fs ? { fs } : {}) });
}
