// The live status page in a real browser (issue 18): the `ldir` binary (memory backend) with HTTP real servers on
// 127.0.0.x serves its page on the metrics endpoint; headless Chromium (Debian package) loads it, the DOM is checked
// for every virtual, real, state and event, a screenshot is taken (LDIR_UPDATE_SCREENSHOT=1 writes it to
// docs/status-page.png), and a real that fails shows DOWN within two refreshes without the page being reloaded.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sendControlRequest } from '../../../src/cli/control-client';
import { controlSocketPath, type StatusReport } from '../../../src/daemon/protocol';
import { Chromium, findChromium, type BrowserPage } from '../../helpers/chromium';
import { ldirBinary } from '../../helpers/ldir-binary';
import { skipOrFail } from '../../helpers/prerequisites';
import { SwitchableReal } from '../../helpers/switchable-real';
import { freePort } from '../../helpers/system';
import { eventually } from '../../helpers/wait';
import { httpGet } from './http-client';

const WEB = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];
const MAIL = '127.0.0.5';
const SCREENSHOT = path.resolve(__dirname, '../../../../docs/status-page.png');

let env: NodeJS.ProcessEnv = {};
const ldir = ldirBinary(() => env);
let tmp = '';
let file = '';
let port = 0;
let metricsPort = 0;
let base = '';
let started = false;
const reals = new Map<string, SwitchableReal>(
  [...WEB, MAIL].map((a) => [a, new SwitchableReal(a, (_req, res) => res.end('alive\n'))]),
);
const chromium = findChromium();
let browser: Chromium | undefined;

/** The daemon's report as the page reads it. */
async function report(): Promise<StatusReport> {
  const r = await httpGet(`${base}/status.json`);
  assert.equal(r.status, 200, r.body.toString('utf8'));
  return JSON.parse(r.body.toString('utf8')) as StatusReport;
}

/** Health of every real as the daemon reports it: `127.0.0.2=up ...`. */
async function healths(): Promise<string> {
  return (await report()).virtualServices.flatMap((v) => v.reals.map((r) => `${r.address}=${r.health}`)).join(' ');
}

/** What the page shows, read from its DOM. */
interface PageView {
  readonly refreshes: number;
  readonly marker: unknown;
  readonly live: string;
  readonly director: string;
  readonly virtuals: readonly {
    readonly id: string;
    readonly title: string;
    readonly tags: string;
    readonly rows: readonly { readonly real: string; readonly health: string; readonly text: string }[];
  }[];
  readonly events: readonly string[];
  readonly overflow: number;
}

const READ_VIEW = `(() => ({
  refreshes: Number(document.body.dataset.refreshes),
  marker: window.__ldirTestMarker,
  live: document.getElementById('live').textContent,
  director: document.getElementById('director').innerText,
  virtuals: [...document.querySelectorAll('section.virtual')].map((s) => ({
    id: s.dataset.virtual, title: s.querySelector('h2').textContent, tags: s.querySelector('.tags').innerText.replace(/\\s+/g, ' '),
    rows: [...s.querySelectorAll('tr[data-real]')].map((tr) => ({ real: tr.dataset.real, health: tr.dataset.health, text: tr.innerText.replace(/\\s+/g, ' ') })),
  })),
  events: [...document.querySelectorAll('#events tbody tr')].map((tr) => tr.innerText.replace(/\\s+/g, ' ')),
  overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
}))()`;

async function view(page: BrowserPage): Promise<PageView> {
  return page.evaluate<PageView>(READ_VIEW);
}

before(async () => {
  if (!chromium) return;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-statuspage-'));
  env = {
    ...process.env,
    LDIR_RUN_DIR: path.join(tmp, 'run'),
    LDIR_SOCKET_DIR: path.join(tmp, 'sock'),
    LDIR_STATE_DIR: path.join(tmp, 'state'),
  };
  port = await freePort('127.0.0.2');
  metricsPort = await freePort('127.0.0.1');
  base = `http://127.0.0.1:${metricsPort}`;
  for (const r of reals.values()) await r.start(port);
  file = path.join(tmp, 'site.cf');
  fs.writeFileSync(
    file,
    `checkinterval=1
checktimeout=1
negotiatetimeout=1
quiescent=yes
metrics=127.0.0.1:${metricsPort}
logfile="${path.join(tmp, 'ldir.log')}"
announcesocket=${path.join(tmp, 'no-bird.ctl')}
announcefile=${path.join(tmp, 'ldir-bird.conf')}

virtual=127.0.0.1:80
${WEB.map((r) => `\treal=${r}:${port} masq 5`).join('\n')}
\tfallback=127.0.0.9:${port} masq
\tchecktype=negotiate
\tservice=http
\trequest="/"
\treceive="alive"
\tscheduler=wlc
\tquorum=2

virtual=127.0.0.1:25
\treal=${MAIL}:${port} gate 3
\tchecktype=connect
\tscheduler=rr
\tpersistent=300
\tannounce=bird
`,
  );
  const run = await ldir('--ipvs=memory', file, 'start');
  assert.equal(run.status, 0, run.stderr);
  started = true;
  await eventually(
    'every real up',
    async () => ((await healths()).split(' ').every((h) => h.endsWith('=up')) ? true : undefined),
    20_000,
    100,
    () => fs.readFileSync(path.join(tmp, 'ldir.log'), 'utf8').slice(-3000),
  );
  // What an operator did by hand, for the page to show: a real drained, another at a runtime weight.
  assert.equal((await ldir(file, 'drain', '127.0.0.1:80', WEB[2] as string)).status, 0);
  assert.equal((await ldir(file, 'weight', '127.0.0.1:80', WEB[1] as string, '7')).status, 0);
  // A reload with a broken file: refused, the running configuration stays, and the events say so.
  const good = fs.readFileSync(file, 'utf8');
  fs.writeFileSync(file, `${good}\tbogusdirective=1\n`);
  // Straight to the control socket (the `ldir reload` command checks the file first and would not ask).
  const refused = await sendControlRequest(controlSocketPath('site.cf', env['LDIR_SOCKET_DIR']), { type: 'reload' });
  assert.ok(!refused.ok || !(refused.result as { applied?: boolean }).applied, JSON.stringify(refused));
  fs.writeFileSync(file, good);
  browser = await Chromium.launch(chromium);
});

after(async () => {
  await browser?.close();
  if (started) await ldir(file, 'stop');
  for (const r of reals.values()) await r.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** A new page of `width` x `height` at `/` + `query`, once it drew its first report (both virtual services). */
async function drawnPage(width: number, height: number, query: string): Promise<{ page: BrowserPage; seen: PageView }> {
  const page = await (browser as Chromium).newPage(width, height);
  await page.goto(`${base}/${query}`);
  let seen: PageView | undefined;
  await eventually(
    'the page drew the report',
    async () => {
      seen = await view(page);
      return seen.refreshes >= 1 && seen.virtuals.length === 2 ? seen : undefined;
    },
    15_000,
    100,
    () => JSON.stringify(seen),
  );
  return { page, seen: seen as PageView };
}

describe('status page in headless Chromium', () => {
  test('shows every virtual and real with its state, weights, checks, the director and the events; screenshot', async (t) => {
    if (!chromium || !browser)
      return skipOrFail(t, 'no chromium (Debian package chromium; test/provision.sh installs it)');
    const { page, seen: drawn } = await drawnPage(1280, 900, '');
    let seen: PageView | undefined = drawn;
    // The hand changes made before the page loaded are drawn from the first report on.
    await eventually(
      'the drain and the runtime weight are drawn',
      async () => {
        seen = await view(page);
        const web = seen.virtuals.find((v) => v.id === 'tcp:127.0.0.1:80');
        return web?.rows.find((r) => r.real === `${WEB[2]}:${port}`)?.text.includes('DRAINED') ? seen : undefined;
      },
      10_000,
      100,
      () => JSON.stringify(seen),
    );
    const v = seen as PageView;
    assert.match(v.live, /^LIVE: updated /);
    assert.match(v.director, /IPVS backend\s+memory/);
    assert.match(v.director, /Role\s+none/);
    assert.match(v.director, /Checker watchdog\s+OK/);
    assert.match(v.director, /Health\s+OK/);
    // The :25 virtual is announced through a BIRD that is not there: its vote is drawn, and the failure beside it.
    assert.match(v.director, /Route announcement\s+FAILING bird .*announced: nothing; last error: /);
    const [web, mail] = [
      v.virtuals.find((x) => x.id === 'tcp:127.0.0.1:80'),
      v.virtuals.find((x) => x.id === 'tcp:127.0.0.1:25'),
    ];
    assert.ok(web && mail, JSON.stringify(v.virtuals));
    assert.equal(web.title, 'TCP 127.0.0.1:80');
    assert.match(web.tags, /reals 3\/3 UP/);
    assert.match(web.tags, /scheduler wlc/);
    assert.match(web.tags, /forwarding masq/);
    assert.match(web.tags, /quorum UP 1 serving, needs 2|quorum UP \d serving, needs 2/);
    assert.match(web.tags, new RegExp(`fallback 127\\.0\\.0\\.9:${port} (STANDING BY|IN SERVICE)`));
    assert.deepEqual(
      web.rows.map((r) => [r.real, r.health]),
      WEB.map((a) => [`${a}:${port}`, 'up']),
    );
    for (const r of web.rows) {
      assert.match(r.text, /UP for \d+s/, r.text);
      assert.match(r.text, /PASS status 200/, r.text);
      assert.match(r.text, /\d+\.\d ms, \d+s ago/, r.text);
    }
    assert.match(web.rows[0]?.text ?? '', /5 \/ 5/);
    assert.match(web.rows[1]?.text ?? '', /5 \/ 7 override 7/);
    assert.match(web.rows[2]?.text ?? '', /5 \/ 0 DRAINED by hand/);
    assert.equal(mail.title, 'TCP 127.0.0.1:25');
    assert.match(mail.tags, /scheduler rr/);
    assert.match(mail.tags, /forwarding gate/);
    assert.match(mail.tags, /persistent 300s/);
    assert.match(mail.tags, /route 127\.0\.0\.1\/32 ANNOUNCED/);
    assert.doesNotMatch(web.tags, /route /);
    assert.deepEqual(
      mail.rows.map((r) => [r.real, r.health]),
      [[`${MAIL}:${port}`, 'up']],
    );
    // Connections and rates come from the kernel's stats (the memory table counts none: zeros, not dashes).
    assert.match(mail.rows[0]?.text ?? '', /3 \/ 3 PASS .* 0 0 0 0 0 0 B 0 B$/);
    // Events, newest first: the first health of each real.
    for (const a of [...WEB, MAIL])
      assert.ok(
        v.events.some((e) => e.includes(`real ${a}:${port} of`) && e.includes('unknown -> up')),
        JSON.stringify(v.events),
      );
    assert.ok(
      v.events.every((e) => /^\S.* (OK|PROBLEM) \S+ /.test(e)),
      JSON.stringify(v.events),
    );
    assert.ok(
      v.events.some((e) => /PROBLEM reload reload refused: .*bogusdirective.*the previous one stays in force/.test(e)),
      JSON.stringify(v.events),
    );
    assert.match(v.director, /Last reload\s+REFUSED/);
    const png = await page.screenshot();
    assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
    const width = png.readUInt32BE(16);
    assert.equal(width, 1280, 'screenshot width');
    fs.writeFileSync(path.join(tmp, 'status-page.png'), png);
    if (process.env['LDIR_UPDATE_SCREENSHOT'] === '1') fs.writeFileSync(SCREENSHOT, png);
  });

  test('/status.json is what `ldir status --json` prints: the same report, events and traffic included', async () => {
    const [json, cli] = await Promise.all([report(), ldir('--json', file, 'status')]);
    assert.equal(cli.status, 0, cli.stderr);
    const printed = JSON.parse(cli.stdout) as StatusReport;
    /** The report's shape: every member's path, values left out (times and ages move between two reads). */
    const shape = (value: unknown): string[] => {
      const paths = new Set<string>();
      const walk = (v: unknown, at: string): void => {
        if (v === null || typeof v !== 'object') return;
        for (const [k, x] of Object.entries(v)) {
          const path = `${at}.${Array.isArray(v) ? '#' : k}`;
          paths.add(path);
          walk(x, path);
        }
      };
      walk(value, '');
      return [...paths].sort();
    };
    assert.deepEqual(shape(json), shape(printed));
    assert.ok(json.events && json.events.length >= 5, 'the events ring is in the report');
    assert.deepEqual(json.events, printed.events);
    assert.ok(json.daemon.kernelStats?.ok, JSON.stringify(json.daemon.kernelStats));
    assert.deepEqual(
      json.virtualServices.map((v) =>
        v.reals.map((r) => [r.address, r.health, r.kernelWeight, r.traffic?.activeConns]),
      ),
      printed.virtualServices.map((v) =>
        v.reals.map((r) => [r.address, r.health, r.kernelWeight, r.traffic?.activeConns]),
      ),
    );
  });

  test('readable on a phone: 390 px wide, nothing wider than the screen but the tables scrolled inside their boxes', async (t) => {
    if (!chromium || !browser)
      return skipOrFail(t, 'no chromium (Debian package chromium; test/provision.sh installs it)');
    const { seen } = await drawnPage(390, 844, '');
    assert.ok(seen.overflow <= 1, `the page is ${seen.overflow} px wider than the screen`);
  });

  test('a failed real shows DOWN within two refreshes, without a reload; it comes back UP', async (t) => {
    if (!chromium || !browser)
      return skipOrFail(t, 'no chromium (Debian package chromium; test/provision.sh installs it)');
    const { page, seen: drawn } = await drawnPage(1280, 900, '?refresh=1');
    let seen: PageView | undefined = drawn;
    await page.evaluate('window.__ldirTestMarker = "same page"');
    const victim = `${WEB[0]}:${port}`;
    const rowOf = (pv: PageView): { health: string; text: string } | undefined =>
      pv.virtuals[0]?.rows.find((r) => r.real === victim);
    await reals.get(WEB[0] as string)?.stop();
    // The daemon decides first (checks); from the moment it reports the real down, the page has two refreshes.
    let health = '';
    await eventually(
      'the daemon reports the real down',
      async () => ((health = await healths()).includes(`${WEB[0]}=down`) ? true : undefined),
      20_000,
      50,
      () => health,
    );
    const atDecision = (await view(page)).refreshes;
    await eventually(
      'the page shows the real DOWN',
      async () => {
        seen = await view(page);
        return rowOf(seen)?.health === 'down' ? seen : undefined;
      },
      15_000,
      50,
      () => JSON.stringify(rowOf(seen as PageView)),
    );
    const down = seen as PageView;
    assert.ok(down.refreshes - atDecision <= 2, `shown after ${down.refreshes - atDecision} refreshes`);
    assert.equal(down.marker, 'same page', 'the page was not reloaded');
    assert.match(rowOf(down)?.text ?? '', /DOWN for \d+s/);
    assert.match(rowOf(down)?.text ?? '', /FAIL /);
    assert.match(down.virtuals[0]?.tags ?? '', /reals 2\/3 UP/);
    assert.ok(
      down.events.some(
        (e) => /PROBLEM transition/.test(e) && e.includes(`real ${victim} of tcp:127.0.0.1:80 up -> down`),
      ),
      JSON.stringify(down.events),
    );
    await reals.get(WEB[0] as string)?.start(port);
    await eventually(
      'the page shows the real UP again',
      async () => {
        seen = await view(page);
        return rowOf(seen)?.health === 'up' ? seen : undefined;
      },
      20_000,
      50,
      () => JSON.stringify(rowOf(seen as PageView)),
    );
    assert.equal((seen as PageView).marker, 'same page');
    assert.ok((seen as PageView).events.some((e) => e.includes(`real ${victim} of tcp:127.0.0.1:80 down -> up`)));
  });

  test('when the director stops answering, the page says STALE and keeps what it last showed', async (t) => {
    if (!chromium || !browser)
      return skipOrFail(t, 'no chromium (Debian package chromium; test/provision.sh installs it)');
    const { page, seen: drawn } = await drawnPage(1280, 900, '?refresh=1');
    let seen: PageView | undefined = drawn;
    const stopped = await ldir(file, 'stop');
    assert.equal(stopped.status, 0, stopped.stderr);
    started = false;
    await eventually(
      'the page says STALE',
      async () => {
        seen = await view(page);
        return seen.live.startsWith('STALE') ? seen : undefined;
      },
      15_000,
      100,
      () => JSON.stringify(seen?.live),
    );
    const stale = seen as PageView;
    assert.match(stale.live, /^STALE: cannot read the director's status \(.+\); what you see is from /);
    assert.equal(stale.virtuals.length, 2, 'the last report stays on the page');
  });
});
