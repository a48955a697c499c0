// The BIRD 2 driver of route health injection: the include file written atomically, then `configure` on the socket.
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../system/atomic-file';
import { parseBirdInclude, renderBirdInclude } from './bird-include';
import { birdConfigure } from './bird-control';
import type { RouteDriver } from './route-driver';

/** Where the BIRD driver writes and whom it asks to reconfigure. */
export interface BirdTarget {
  readonly socket: string;
  readonly file: string;
}

/** Options of {@link birdDriver}: the target and, for tests, the two effects. */
export interface BirdDriverOptions extends BirdTarget {
  readonly writeFile?: (path: string, text: string) => void;
  readonly configure?: (socket: string) => Promise<unknown>;
}

/**
 * A driver writing `file` (two prefix sets, see bird-include.ts) atomically and asking BIRD at `socket` to read its
 * configuration again. A file that cannot be written, or a refusal by BIRD (a syntax error in bird.conf, an include
 * that is not there), rejects: the announcer retries.
 */
export function birdDriver(options: BirdDriverOptions): RouteDriver {
  const write = options.writeFile ?? ((path: string, text: string) => writeFileAtomic(path, text, { mode: 0o644 }));
  const configure = options.configure ?? ((socket: string) => birdConfigure(socket));
  return {
    describe: `bird socket=${options.socket} file=${options.file}`,
    announced: async () => {
      try {
        return parseBirdInclude(readFileSync(options.file, 'utf8'));
      } catch {
        return [];
      }
    },
    apply: async (prefixes) => {
      write(options.file, renderBirdInclude(prefixes));
      await configure(options.socket);
    },
  };
}
