// The verdict on an HTTP answer (src/checks/http-judge.ts) and the fast path's use of it: httpstatus ranges,
// redirects listed or followed, receive and receivenot, and the reasons people see.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fastHttpVerdict } from '../../../src/checks/http';
import { finalVerdict, isRedirect, needsBody, passReason, statusPasses } from '../../../src/checks/http-judge';
import type { CheckJob } from '../../../src/checks/types';
import { makeJob } from '../../helpers/check-job';

const job = (extra: Partial<CheckJob> = {}): CheckJob => makeJob({ service: 'http', ...extra });
const answer = (status: string, body: string, headers = ''): Buffer =>
  Buffer.from(`HTTP/1.1 ${status}\r\n${headers}Content-Length: ${body.length}\r\n\r\n${body}`, 'latin1');

describe('statusPasses', () => {
  test('without httpstatus: 200..299 only (ldirectord is_success)', () => {
    assert.deepEqual(
      [199, 200, 204, 299, 300, 302, 404].map((s) => statusPasses(job(), s)),
      [false, true, true, true, false, false, false],
    );
  });
  test('with httpstatus: exactly its ranges, bounds included', () => {
    const j = job({
      httpStatus: [
        [200, 204],
        [301, 302],
        [404, 404],
      ],
    });
    assert.deepEqual(
      [200, 204, 205, 301, 302, 303, 404, 410].map((s) => statusPasses(j, s)),
      [true, true, false, true, true, false, true, false],
    );
  });
});

describe('isRedirect', () => {
  test('a redirect status with a Location is followed unless httpstatus lists it', () => {
    assert.equal(isRedirect(job(), 302, true), true);
    assert.equal(isRedirect(job(), 302, false), false, 'no Location: final');
    assert.equal(isRedirect(job(), 304, true), false, '304 is no redirect');
    assert.equal(isRedirect(job({ httpStatus: [[300, 399]] }), 302, true), false, 'listed: the final answer');
    assert.equal(isRedirect(job({ httpStatus: [[301, 301]] }), 302, true), true);
  });
});

describe('finalVerdict and passReason', () => {
  test('the status first, then receive, then receivenot', () => {
    const j = job({ receive: 'ok', receiveNot: 'maint' });
    assert.deepEqual(finalVerdict(j, 503, 'ok'), { up: false, reason: 'status 503' });
    assert.deepEqual(finalVerdict(j, 200, 'nothing'), { up: false, reason: 'body did not match /ok/' });
    assert.deepEqual(finalVerdict(j, 200, 'ok but maint'), { up: false, reason: 'body matched receivenot /maint/' });
    assert.deepEqual(finalVerdict(j, 200, 'ok'), {
      up: true,
      reason: 'status 200, body matched, receivenot not matched',
    });
  });
  test('receivenot is a regular expression; an invalid one is matched as plain text (as receive)', () => {
    assert.equal(finalVerdict(job({ receiveNot: 'maint\\w+' }), 200, 'maintenance').up, false);
    assert.equal(finalVerdict(job({ receiveNot: 'a(b' }), 200, 'xa(by').up, false);
    assert.equal(finalVerdict(job({ receiveNot: 'a(b' }), 200, 'ab').up, true);
  });
  test('reasons name only the rules that were set; the weight rides along', () => {
    assert.equal(passReason(job(), 204), 'status 204');
    assert.equal(passReason(job({ receiveNot: 'x' }), 200), 'status 200, receivenot not matched');
    assert.deepEqual(finalVerdict(job(), 200, '', 7), { up: true, reason: 'status 200, weight 7', weight: 7 });
  });
  test('the body is needed only for a passing status with receive or receivenot', () => {
    assert.equal(needsBody(job(), 200), false);
    assert.equal(needsBody(job({ receiveNot: 'x' }), 200), true);
    assert.equal(needsBody(job({ receive: 'x' }), 503), false);
  });
});

describe('fastHttpVerdict with the rules', () => {
  const read = (data: Buffer): { phase: 'read'; elapsedMs: number; data: Buffer } => ({
    phase: 'read',
    elapsedMs: 1,
    data,
  });
  test('a listed redirect is judged, an unlisted one goes to the undici path', () => {
    const moved = answer('302 Found', 'moved', 'Location: /x\r\n');
    assert.equal(fastHttpVerdict(job(), read(moved)), 'redirect');
    assert.deepEqual(fastHttpVerdict(job({ httpStatus: [[302, 302]], receive: 'moved' }), read(moved)), {
      up: true,
      reason: 'status 302, body matched',
    });
  });
  test('a listed error status passes; receivenot is looked for in the body', () => {
    assert.deepEqual(fastHttpVerdict(job({ httpStatus: [[404, 404]] }), read(answer('404 Not Found', 'x'))), {
      up: true,
      reason: 'status 404',
    });
    assert.deepEqual(fastHttpVerdict(job({ receiveNot: 'maint' }), read(answer('200 OK', 'in maintenance'))), {
      up: false,
      reason: 'body matched receivenot /maint/',
    });
  });
});
