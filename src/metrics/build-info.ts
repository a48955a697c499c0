// ldir's version for ldir_build_info, read from the package.json the running code was built from.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { BuildInfo } from './types';

/**
 * The version in the nearest `package.json` named `ldir` above `from` (default: this compiled file's directory,
 * which works from `dist/` and from any other output directory), and the running Node.js version. `unknown` when
 * there is none.
 */
export function readBuildInfo(from: string = __dirname): BuildInfo {
  let dir = from;
  for (let i = 0; i < 8; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'ldir' && typeof pkg.version === 'string')
        return { version: pkg.version, nodeVersion: process.version };
    } catch {
      // no package.json here (or not readable): look one level up
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return { version: 'unknown', nodeVersion: process.version };
}
