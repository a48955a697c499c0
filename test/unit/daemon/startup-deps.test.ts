// Start-up cost: the daemon (and every CLI action on an ldirectord.cf file) does not load the yaml package,
// nodemailer, undici nor tinyglobby; yaml loads with the first YAML file, tinyglobby with the first include glob,
// nodemailer with the first mail transport, undici with the first check that needs it (https, http_proxy, redirects).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';

const SRC = path.resolve(__dirname, '../../../src');

/** Runs `body` (JavaScript, async allowed) in a fresh process and returns the node_modules packages it loaded. */
function packagesLoadedBy(body: string): string[] {
  const out = execFileSync(
    process.execPath,
    [
      '-e',
      `
    const src = ${JSON.stringify(SRC)};
    (async () => {
      ${body}
      const mods = Object.keys(require.cache).filter((f) => f.includes('/node_modules/'))
        .map((f) => f.split('/node_modules/').pop().split('/')[0]);
      process.stdout.write(JSON.stringify([...new Set(mods)]));
    })().catch((e) => { console.error(e); process.exit(1); });
  `,
    ],
    { encoding: 'utf8', timeout: 30_000 },
  );
  return JSON.parse(out) as string[];
}

const CF = 'virtual=127.0.0.1:80\\n\\treal=127.0.0.2:80 masq\\n\\tchecktype=connect\\n';
const YAML = 'virtuals:\\n  - virtual: 127.0.0.1:80\\n    real: [127.0.0.2:80 masq]\\n    checktype: connect\\n';
const LOAD = (text: string, file: string): string => `
  const r = await require(src + '/config/load.js').loadConfigText('${text}', '${file}');
  if (!r.config) throw new Error(JSON.stringify(r.diagnostics));`;

test('the daemon and an ldirectord.cf file load neither yaml, nodemailer nor undici', () => {
  const loaded = packagesLoadedBy(`
    require(src + '/app/foreground.js');
    require(src + '/app/observers.js');
    require(src + '/cli/ldirectord-actions.js');
    ${LOAD(CF, 'site.cf')}`);
  assert.ok(
    loaded.includes('pino') && loaded.includes('prom-client'),
    `the probe sees the daemon's packages: ${loaded.join(', ')}`,
  );
  for (const name of ['yaml', 'nodemailer', 'undici', 'dns-packet', 'tinyglobby'])
    assert.ok(!loaded.includes(name), `${name} is loaded at start-up: ${loaded.join(', ')}`);
});

test('a YAML file loads yaml; the first mail transport loads nodemailer; the first https check loads undici', () => {
  const checked = packagesLoadedBy(`
    const { createHttpChecker } = require(src + '/checks/http.js');
    const job = { address: '127.0.0.1', port: 1, service: 'https', request: '/', receive: '', virtualHost: undefined, httpMethod: 'GET' };
    await createHttpChecker()(job, AbortSignal.timeout(2000)).catch(() => undefined);`);
  assert.ok(checked.includes('undici'), checked.join(', '));
  assert.ok(packagesLoadedBy(LOAD(YAML, 'site.yaml')).includes('yaml'));
  const globbing = packagesLoadedBy(LOAD('include=/nonexistent-ldir-dir/*.cf\\n', 'site.cf'));
  assert.ok(globbing.includes('tinyglobby') && !globbing.includes('yaml'), globbing.join(', '));
  const mailer = packagesLoadedBy(
    `require(src + '/alerts/transports.js').nodemailerTransports()({ kind: 'sendmail' }, 'director');`,
  );
  assert.ok(mailer.includes('nodemailer'), mailer.join(', '));
});
