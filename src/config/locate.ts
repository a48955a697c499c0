// Finds a configuration file the way ldirectord does: /etc/ha.d/NAME, then /etc/ha.d/conf/NAME, then NAME itself.
import { statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';

/** Default configuration name when none is given. */
export const DEFAULT_CONFIG_NAME = 'ldirectord.cf';

/** Where {@link locateConfig} looks; injectable for tests. */
export interface LocateOptions {
  readonly haDirectory?: string;
  readonly isFile?: (path: string) => boolean;
}

function isFile(path: string): boolean {
  try {
    // Without an exception for a missing file: `execute=` checks may locate 100,000 names (issue 21 item 7).
    return statSync(path, { throwIfNoEntry: false })?.isFile() === true;
  } catch {
    return false;
  }
}

/** A located configuration: its absolute path (undefined when not found) and its name for pid files and logs. */
export interface LocatedConfig {
  readonly path: string | undefined;
  /** ldirectord's CFGNAME: the base name of the configuration as given. */
  readonly name: string;
  readonly tried: readonly string[];
}

/** Resolves a configuration name or path to a file, as ldirectord's ld_init. */
export function locateConfig(given: string | undefined, options: LocateOptions = {}): LocatedConfig {
  const name = given ?? DEFAULT_CONFIG_NAME;
  const ha = options.haDirectory ?? '/etc/ha.d';
  const exists = options.isFile ?? isFile;
  const candidates = [join(ha, name), join(ha, 'conf', name), resolve(name)];
  const path = candidates.find((c) => exists(c));
  return { path, name: given === undefined ? 'ldirectord' : basename(name), tried: candidates };
}
