// monitorfile lines in ldirectord's format, and MonitorFiles following configurations.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { monitorLine, MonitorFiles, perlLocaltime } from '../../../src/logging/monitor-file';
import { silentLogger } from '../../../src/log';
import { loadValid } from '../../helpers/config';

test('perlLocaltime is Perl scalar localtime(): day of month padded with a space', () => {
  const at = new Date(2026, 10, 2, 8, 5, 9).getTime();
  assert.equal(perlLocaltime(at), 'Mon Nov  2 08:05:09 2026');
});

test('monitorLine: [time] [pid] real-with-spaces [up|down] escaped message', () => {
  const at = new Date(2026, 10, 22, 8, 10, 0).getTime();
  assert.equal(
    monitorLine(at, 42, '10.0.0.1:80', true, 'status 200'),
    '[Sun Nov 22 08:10:00 2026] [42] 10.0.0.1 80 [up] status 200\n',
  );
  assert.equal(
    monitorLine(at, 42, '[2001:db8::1]:80', false, 'a|b\nc 100%'),
    '[Sun Nov 22 08:10:00 2026] [42] [2001 db8 1] 80 [down] a%7cb%0ac 100%25\n',
  );
  assert.equal(monitorLine(at, 1, '10.0.0.1:80', false, ''), '[Sun Nov 22 08:10:00 2026] [1] 10.0.0.1 80 [down] -\n');
});

test('MonitorFiles: each result goes to the file of every virtual that has one; files follow reloads', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-monitor-'));
  const a = path.join(dir, 'a.log');
  const b = path.join(dir, 'b.log');
  const cfg = (file: string): string =>
    `virtual=10.0.0.100:80\n\treal=10.0.0.1:80 gate\n\tmonitorfile="${file}"\n\nvirtual=10.0.0.101:80\n\treal=10.0.0.1:80 gate\n`;
  const files = new MonitorFiles({
    logger: silentLogger(),
    pid: 7,
    now: () => new Date(2026, 0, 5, 1, 2, 3).getTime(),
  });
  files.apply(await loadValid(cfg(a)));
  const members = [
    { virtualId: 'tcp:10.0.0.100:80', realKey: '10.0.0.1:80' },
    { virtualId: 'tcp:10.0.0.101:80', realKey: '10.0.0.1:80' },
  ];
  files.record({
    identity: 'x',
    members,
    kind: 'connect',
    scheduledAt: 0,
    startedAt: 0,
    result: { up: false, reason: 'refused', durationMs: 1 },
  });
  files.apply(await loadValid(cfg(b)));
  files.record({
    identity: 'x',
    members,
    kind: 'connect',
    scheduledAt: 0,
    startedAt: 0,
    result: { up: true, reason: 'connected', durationMs: 1 },
  });
  files.close();
  assert.equal(fs.readFileSync(a, 'utf8'), '[Mon Jan  5 01:02:03 2026] [7] 10.0.0.1 80 [down] refused\n');
  assert.equal(fs.readFileSync(b, 'utf8'), '[Mon Jan  5 01:02:03 2026] [7] 10.0.0.1 80 [up] connected\n');
  fs.rmSync(dir, { recursive: true, force: true });
});
