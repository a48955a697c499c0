// The foundation modules: errors with stable codes, the system clock, the pino logger with secrets redacted.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { systemClock } from '../../src/clock';
import { errorMessage, ErrorCodes, isLdirError, LdirError } from '../../src/errors';
import { createLogger } from '../../src/log';

test('LdirError carries a stable code, a cause and details', () => {
  const cause = new Error('low level');
  const err = new LdirError(ErrorCodes.CONFIG_INVALID, 'bad config', { cause, details: { file: '/x' } });
  assert.equal(err.code, 'LDIR_ERR_CONFIG_INVALID');
  assert.equal(err.cause, cause);
  assert.deepEqual(err.details, { file: '/x' });
  assert.ok(isLdirError(err, ErrorCodes.CONFIG_INVALID));
  assert.ok(!isLdirError(err, ErrorCodes.USAGE));
  assert.ok(!isLdirError(new Error('x')));
  const codes = Object.values(ErrorCodes);
  assert.equal(new Set(codes).size, codes.length, 'codes are unique');
  assert.ok(codes.every((c) => /^LDIR_ERR_[A-Z_]+$/.test(c)));
});

test('the system clock tells time and runs timers', async () => {
  const clock = systemClock();
  const t0 = clock.monotonic();
  const before = Date.now();
  const now = clock.now();
  assert.ok(before <= now && now <= Date.now(), 'epoch milliseconds');
  await new Promise<void>((resolve) => clock.setTimeout(resolve, 20));
  assert.ok(clock.monotonic() - t0 >= 15);
  // A cleared timer, then one of the same delay made after it: Node runs equal timers in the order they were made,
  // so when the second has fired, the first would have.
  let fired = false;
  const h = clock.setTimeout(() => {
    fired = true;
  }, 10);
  clock.clearTimeout(h);
  await new Promise<void>((resolve) => clock.setTimeout(resolve, 10));
  assert.equal(fired, false);
});

test('the logger writes JSON lines and never writes secrets', async () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  const log = createLogger({ level: 'debug', destination: sink });
  log
    .child({ module: 'checks', vs: 'tcp:192.0.2.1:80' })
    .info({ passwd: 'hunter2', check: { secret: 's3', login: 'bob' } }, 'transition');
  await new Promise((r) => setImmediate(r));
  const rec = JSON.parse(lines.join('')) as Record<string, unknown>;
  assert.equal(rec['msg'], 'transition');
  assert.equal(rec['module'], 'checks');
  assert.equal(rec['passwd'], '[redacted]');
  assert.deepEqual(rec['check'], { secret: '[redacted]', login: 'bob' });
  assert.doesNotMatch(lines.join(''), /hunter2|s3"/);
});

test('errorMessage: the message of an Error, any other thrown value as a string', () => {
  assert.equal(errorMessage(new LdirError(ErrorCodes.USAGE, 'bad flag')), 'bad flag');
  assert.equal(errorMessage(new TypeError('x is not a function')), 'x is not a function');
  assert.equal(errorMessage('plain text'), 'plain text');
  assert.equal(errorMessage(42), '42');
  assert.equal(errorMessage(undefined), 'undefined');
});
