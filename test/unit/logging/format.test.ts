// Human-readable log rendering: golden pretty lines, key=value quoting, levels, errors, syslog truncation.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { rootLoggerOptions } from '../../../src/log';
import {
  formatMessage,
  formatPretty,
  formatTimestamp,
  formatValue,
  levelLabel,
  parseRecord,
  renderLine,
  type LogRecord,
} from '../../../src/logging/format';
import { truncateUtf8 } from '../../../src/logging/syslog-sink';

const T0 = Date.UTC(2024, 4, 1, 12, 0, 0, 123);

/** The lines a pino logger (ldir's root options, fixed clock) writes for `fn`. */
function records(fn: (log: pino.Logger) => void): string[] {
  const lines: string[] = [];
  const log = pino(
    rootLoggerOptions('trace', () => T0),
    { write: (s: string) => lines.push(s) },
  );
  fn(log);
  return lines;
}

test('pretty golden: bound fields, quoting, levels, secrets redacted, error frames indented', () => {
  const lines = records((root) => {
    const log = root.child({ module: 'engine', vs: 'tcp:192.0.2.1:80' });
    log.info({ rs: '10.0.0.2:80', weight: 5 }, 'real server up');
    log.warn({ rs: '10.0.0.3:80', reason: 'HTTP 503 "unavailable"', passwd: 'hunter2' }, 'real server down');
    log.debug({ result: { up: false, ms: 12 } }, 'probe');
    log.trace('tick');
    root.child({ module: 'alerts' }).fatal({ smtp: null, secret: 's3' }, 'mail queue full\nsecond line');
  });
  const out = lines.map((l) => renderLine(l, 'pretty', { utc: true })).join('');
  assert.equal(
    out,
    [
      '2024-05-01 12:00:00.123 INFO  real server up module=engine vs=tcp:192.0.2.1:80 rs=10.0.0.2:80 weight=5',
      '2024-05-01 12:00:00.123 WARN  real server down module=engine vs=tcp:192.0.2.1:80 rs=10.0.0.3:80 reason="HTTP 503 \\"unavailable\\"" passwd=[redacted]',
      '2024-05-01 12:00:00.123 DEBUG probe module=engine vs=tcp:192.0.2.1:80 result={"up":false,"ms":12}',
      '2024-05-01 12:00:00.123 TRACE tick module=engine vs=tcp:192.0.2.1:80',
      '2024-05-01 12:00:00.123 FATAL mail queue full\\nsecond line module=alerts smtp=null secret=[redacted]',
      '',
    ].join('\n'),
  );
});

test('pretty golden: an error shows its message as err=..., its stack frames below', () => {
  const err = new Error('connect ECONNREFUSED 10.0.0.2:80');
  err.stack =
    'Error: connect ECONNREFUSED 10.0.0.2:80\n    at TCPConnectWrap.afterConnect (node:net:1607:16)\n    at probe (checks/connect.js:10:3)';
  const [line] = records((log) => log.error({ err, module: 'checks' }, 'check failed'));
  assert.equal(
    renderLine(line as string, 'pretty', { utc: true }),
    [
      '2024-05-01 12:00:00.123 ERROR check failed err="connect ECONNREFUSED 10.0.0.2:80" module=checks',
      '    at TCPConnectWrap.afterConnect (node:net:1607:16)',
      '    at probe (checks/connect.js:10:3)',
      '',
    ].join('\n'),
  );
});

test('pretty with colour: only the level is coloured, padded inside the escape', () => {
  const rec: LogRecord = { level: 40, time: T0, msg: 'x' };
  assert.equal(formatPretty(rec, { utc: true, color: true }), '2024-05-01 12:00:00.123 \x1b[33mWARN \x1b[0m x\n');
  assert.equal(
    formatPretty({ level: 30, time: T0, msg: 'y' }, { utc: true, color: true }),
    '2024-05-01 12:00:00.123 \x1b[32mINFO \x1b[0m y\n',
  );
});

test('json format passes lines through; unparseable lines pass through pretty unchanged', () => {
  const [line] = records((log) => log.info('a'));
  assert.equal(renderLine(line as string, 'json'), line);
  assert.equal(renderLine('not json\n', 'pretty'), 'not json\n');
  assert.equal(parseRecord('[1,2]'), undefined);
  assert.equal(parseRecord('{"msg":"no level"}'), undefined);
  assert.deepEqual(parseRecord('{"level":30,"msg":"m"}'), { level: 30, msg: 'm' });
});

test('values: bare when safe, JSON-quoted otherwise; records without msg are fields only', () => {
  assert.equal(formatValue('10.0.0.2:80'), '10.0.0.2:80');
  assert.equal(formatValue(''), '""');
  assert.equal(formatValue('a b'), '"a b"');
  assert.equal(formatValue('k=v'), '"k=v"');
  assert.equal(formatValue('tab\there'), '"tab\\there"');
  assert.equal(formatValue(3.5), '3.5');
  assert.equal(formatValue(true), 'true');
  assert.equal(formatValue([1, 'a']), '[1,"a"]');
  assert.equal(formatMessage({ level: 30, time: 1, name: 'ldir', pid: 1, hostname: 'h', a: 1 }), 'a=1');
  assert.equal(formatMessage({ level: 30, msg: '', b: 'x y' }), 'b="x y"');
});

test('level labels, custom levels in the band below; timestamps local and UTC', () => {
  assert.deepEqual([10, 20, 30, 40, 50, 60, 35, 5].map(levelLabel), [
    'TRACE',
    'DEBUG',
    'INFO',
    'WARN',
    'ERROR',
    'FATAL',
    'INFO',
    'TRACE',
  ]);
  assert.equal(formatTimestamp(T0, true), '2024-05-01 12:00:00.123');
  const local = new Date(T0);
  assert.match(formatTimestamp(T0), new RegExp(`^${local.getFullYear()}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.123$`));
});

test('syslog truncation keeps whole UTF-8 characters', () => {
  assert.equal(truncateUtf8('abc', 10), 'abc');
  assert.equal(truncateUtf8('abcdef', 4), 'abcd');
  assert.equal(truncateUtf8('aé€', 3), 'aé'); // é is 2 bytes, € 3: cut before €
  assert.equal(truncateUtf8('a€', 3), 'a');
  assert.equal(Buffer.byteLength(truncateUtf8('€'.repeat(5000), 8000)), 7998);
});
