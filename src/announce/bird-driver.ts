// The BIRD 2 driver of route health injection: the include file written atomically, then `configure` on the socket.
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../system/atomic-file';
import { parseBirdInclude, renderBirdInclude } from './bird-include';
import { birdConfigure } from './bird-control';

/** What a routing daemon driver does: tell what it announces, announce a new set. Injected into the announcer. */
export interface RouteDriver {
  /** `bird socket=... file=...`: for logs and `ldir status`. */
  readonly describe: string;
  /** The prefixes announced now as the driver last wrote them (read back at start: a restart keeps them). */
  announced(): string[];
  /** Announces exactly `prefixes` (withdrawing the others); rejects with LDIR_ERR_ANNOUNCE when not taken. */
  apply(prefixes: readonly string[]): Promise<void>;
}

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
    announced: () => {
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
