// A CliIo that records what a command writes, for in-process CLI tests.
import type { CliIo } from '../../src/cli/io';

/** A CliIo whose stdout and stderr text accumulate in `out` and `err`. */
export function capture(): CliIo & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    stdout: (t: string) => {
      io.out += t;
    },
    stderr: (t: string) => {
      io.err += t;
    },
  };
  return io;
}
