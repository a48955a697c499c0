#!/usr/bin/env node
// Builds the native addon with node-gyp, offline when the running Node's headers are installed next to it.
// `node native/build.js` fails loudly (npm run build:native); `--optional` (npm install) prints one line instead
// of failing, because ldir works without the addon (it falls back to ipvsadm).
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const optional = process.argv.includes('--optional');
const here = __dirname;

/** Path of node-gyp's entry script: the one npm runs scripts with, else the one bundled with npm, else PATH. */
function nodeGypCommand() {
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && fs.existsSync(fromNpm)) return [process.execPath, fromNpm];
  const prefix = path.dirname(path.dirname(process.execPath));
  const bundled = path.join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  if (fs.existsSync(bundled)) return [process.execPath, bundled];
  return ['node-gyp'];
}

/** `--nodedir=<prefix>` when the headers of this Node are installed (no download needed), else nothing. */
function nodedirArgs() {
  const prefix = path.dirname(path.dirname(process.execPath));
  return fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];
}

/** True when `cmd` is an executable file in PATH. */
function inPath(cmd) {
  return (process.env.PATH || '').split(path.delimiter).some((dir) => {
    try {
      fs.accessSync(path.join(dir, cmd), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

const missing = [['g++', 'c++'], ['make'], ['python3']].filter((alts) => !alts.some(inPath)).map((alts) => alts[0]);
if (missing.length > 0) {
  const line = `ldir: native addon not built: ${missing.join(', ')} missing (install g++ make python3, then run npm run build:native); ldir will use ipvsadm`;
  console.error(line);
  process.exit(optional ? 0 : 1);
}

const [cmd, ...pre] = nodeGypCommand();
const args = [...pre, 'rebuild', ...nodedirArgs(), '-C', here];
const logFile = path.join(here, 'build.log');
const res = optional
  ? spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  : spawnSync(cmd, args, { stdio: 'inherit' });
if (res.status === 0) {
  if (optional) console.error('ldir: native addon built (native/build/Release/ldir_native.node)');
  process.exit(0);
}
if (!optional) process.exit(res.status ?? 1);
try {
  fs.writeFileSync(logFile, `${res.stdout ?? ''}${res.stderr ?? ''}${res.error ? String(res.error) : ''}`);
} catch {
  // the one line below is all we can offer
}
console.error(
  `ldir: native addon build failed (see ${logFile}; retry with npm run build:native); ldir will use ipvsadm`,
);
process.exit(0);
