#!/usr/bin/env node
// Entry of the `ldir` binary (also installed as `ldirectord`): hands argv to the CLI.
import { runCli } from './cli/run';
import { processIo } from './cli/io';

void runCli(process.argv.slice(2), processIo()).then((code) => {
  process.exitCode = code;
});
