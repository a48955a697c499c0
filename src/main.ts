#!/usr/bin/env -S node --max-semi-space-size=1
// Entry of the `ldir` binary (also installed as `ldirectord`): hands argv to the CLI.
import * as nodeModule from 'node:module';

// V8's compile cache, where Node offers it (22.1 and later: module.enableCompileCache): later starts skip compiling
// ldir's code, which is most of a start on a slow CPU. Node 20 has none; then this does nothing. Enabled before the
// CLI is loaded, so that it covers it.
(nodeModule as { enableCompileCache?: () => unknown }).enableCompileCache?.();

const { runCli } = require('./cli/run') as typeof import('./cli/run');
const { processIo } = require('./cli/io') as typeof import('./cli/io');

void runCli(process.argv.slice(2), processIo()).then((code) => {
  process.exitCode = code;
});
