// The pure parts of the scale-out proof (`npm run bench:scaleout` and test/kernel/guest/scaleout-ecmp.test.ts; the
// run itself needs the VM): the one line and its targets, the longest stretch of disturbed new connections, and the
// router's nexthops read from `ip -j route`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import {
  missedScaleOutTargets,
  parseScaleOutLine,
  scaleOutLine,
  type ScaleOutFigures,
} from '../../../bench/scaleout-line';
import { EMPTY_ANNOUNCE_FILE } from '../../helpers/bird';
import { directorBirdConfig, routeNexthops, routerBirdConfig } from '../../helpers/scaleout-lab';
import { longestDisturbance } from '../../helpers/traffic-client';

const good: ScaleOutFigures = {
  directors: 3,
  withdrawS: 1.234,
  established: 8,
  establishedBroken: 0,
  newFailingS: 1.05,
  rejoinBroken: 0,
};

test('the scale-out line is printed as issue 16 words it and reads back (the last line wins)', () => {
  const line = scaleOutLine(good);
  assert.equal(
    line,
    'scale-out directors=3 withdraw_s=1.23 established=8 established_broken=0 new_failing_s=1.05 rejoin_broken=0',
  );
  const bad = scaleOutLine({ ...good, establishedBroken: 2 });
  assert.deepEqual(parseScaleOutLine(`vm| ${bad}\nnoise\nvm| ${line}\n`), { ...good, withdrawS: 1.23 });
  assert.equal(parseScaleOutLine('scale-out directors=3 withdraw_s=1.2'), undefined);
});

test('each missed target is named; figures at the bounds meet them', () => {
  assert.deepEqual(missedScaleOutTargets(good), []);
  assert.deepEqual(missedScaleOutTargets({ ...good, withdrawS: 3, newFailingS: 3 }), []);
  const missed = missedScaleOutTargets({
    ...good,
    withdrawS: 3.2,
    establishedBroken: 1,
    newFailingS: 4,
    rejoinBroken: 2,
  });
  assert.equal(missed.length, 4);
  assert.match(missed[0] as string, /withdrawn 3\.20 s after kill -9/);
  assert.match(missed[1] as string, /1 established connections broken by losing/);
  assert.match(missed[2] as string, /failing for 4\.00 s/);
  assert.match(missed[3] as string, /2 established connections broken by adding/);
  // A figure that could not be measured misses its target.
  assert.equal(missedScaleOutTargets({ ...good, withdrawS: Number.NaN }).length, 1);
});

test('longestDisturbance: stretches cut at gaps, each lasting from its first start to its last plus one period', () => {
  assert.equal(longestDisturbance([], 1_000, 50), 0);
  assert.equal(longestDisturbance([5_000], 1_000, 50), 0.05);
  // 10.0 .. 11.2 s (gaps up to 600 ms are bridged), then a lone one at 20 s; unsorted input.
  assert.equal(longestDisturbance([11_200, 10_000, 20_000, 10_600, 10_900], 1_000, 50), 1.25);
  // A gap over the bound splits the stretch.
  assert.equal(longestDisturbance([0, 400, 1_500, 1_700], 1_000, 100), 0.5);
});

test('routeNexthops reads a multipath route, a single-path one and none', () => {
  const multi = JSON.stringify([
    {
      dst: '10.79.2.10',
      protocol: 'bird',
      metric: 32,
      flags: [],
      nexthops: [
        { gateway: '10.79.0.13', dev: 'eth0', weight: 1, flags: [] },
        { gateway: '10.79.0.11', dev: 'eth0', weight: 1, flags: [] },
      ],
    },
  ]);
  assert.deepEqual(routeNexthops(multi), ['10.79.0.11', '10.79.0.13']);
  assert.deepEqual(
    routeNexthops(
      JSON.stringify([{ dst: '10.79.2.10', gateway: '10.79.0.12', dev: 'eth0', protocol: 'bird', flags: [] }]),
    ),
    ['10.79.0.12'],
  );
  assert.deepEqual(routeNexthops('[]\n'), []);
  assert.deepEqual(routeNexthops(''), []);
});

const birdHere = spawnSync('bird', ['--version']).status === 0;

test("BIRD parses the lab's router and director configurations (bird -p)", {
  skip: birdHere ? false : 'needs bird (Debian bird2; test/provision.sh installs it)',
}, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-scaleout-conf-'));
  try {
    const include = path.join(dir, 'announce.conf');
    fs.writeFileSync(include, EMPTY_ANNOUNCE_FILE);
    for (const [name, text] of [
      ['router.conf', routerBirdConfig('10.79.0.1', ['10.79.0.11', '10.79.0.12', '10.79.0.13'])],
      ['director.conf', directorBirdConfig('10.79.0.11', '10.79.0.1', '10.79.2.10', include)],
    ] as const) {
      const file = path.join(dir, name);
      fs.writeFileSync(file, text);
      const r = spawnSync('bird', ['-p', '-c', file], { encoding: 'utf8' });
      assert.equal(r.status, 0, `${name}: ${r.stderr}${r.stdout}\n${text}`);
    }
    assert.match(routerBirdConfig('10.79.0.1', ['10.79.0.11']), /merge paths on/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
