// Start-up cost: the protocol client libraries of checks most directors never run load on the first such check,
// not when the checks (and so the daemon) load.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';

const REGISTRY = path.resolve(__dirname, '../../../src/checks/registry.js');
const LAZY = ['mysql2', 'pg', 'ldapts', 'basic-ftp'];

test('loading every checker does not load mysql2, pg, ldapts or basic-ftp', () => {
  // A fresh process: this test runner may have loaded them already.
  const loaded = execFileSync(
    process.execPath,
    [
      '-e',
      `
    require(${JSON.stringify(REGISTRY)}).defaultCheckers();
    const mods = Object.keys(require.cache).filter((f) => f.includes('/node_modules/'))
      .map((f) => f.split('/node_modules/').pop().split('/')[0]);
    process.stdout.write(JSON.stringify([...new Set(mods)]));
  `,
    ],
    { encoding: 'utf8', timeout: 30_000 },
  );
  const modules = JSON.parse(loaded) as string[];
  assert.ok(modules.length > 0, 'the probe sees node_modules packages (undici at least)');
  for (const name of LAZY) assert.ok(!modules.includes(name), `${name} is loaded at start-up: ${modules.join(', ')}`);
});
