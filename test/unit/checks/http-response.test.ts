// parseHttpResponse: status, headers and body framing of answers read off a socket, and fastHttpVerdict on top of it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fastHttpRequest, fastHttpVerdict } from '../../../src/checks/http';
import { parseHttpResponse, type HttpResponse } from '../../../src/checks/http-response';
import { makeJob } from '../../helpers/check-job';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

function ok(data: string, method = 'GET'): HttpResponse {
  const r = parseHttpResponse(b(data), method);
  assert.ok(!('error' in r), `parse failed: ${JSON.stringify(r)}`);
  return r as HttpResponse;
}

test('Content-Length frames the body; missing bytes make it incomplete; extra bytes are ignored', () => {
  const r = ok('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\nx-a: 2\r\n\r\nhelloEXTRA');
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), 'hello');
  assert.equal(r.complete, true);
  assert.equal(r.headers.get('x-a'), '1, 2');
  assert.equal(ok('HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nshort').complete, false);
});

test('chunked bodies are decoded (extensions, trailers) and incomplete until the last chunk', () => {
  const full = ok(
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n',
  );
  assert.equal(full.body.toString(), 'hello world');
  assert.equal(full.complete, true);
  const cut = ok('HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n6\r\n wo');
  assert.equal(cut.body.toString(), 'hello wo');
  assert.equal(cut.complete, false);
});

test('no body for HEAD, 204 and 304; close-delimited otherwise; interim 1xx skipped; bare LF accepted', () => {
  assert.equal(ok('HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n', 'HEAD').complete, true);
  assert.equal(ok('HTTP/1.1 204 No Content\r\n\r\n').body.length, 0);
  assert.equal(ok('HTTP/1.1 304 Not Modified\r\n\r\n').complete, true);
  assert.equal(ok('HTTP/1.0 200 OK\r\n\r\nuntil the end').body.toString(), 'until the end');
  const interim = ok(
    'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n',
  );
  assert.equal(interim.status, 503);
  assert.equal(ok('HTTP/1.1 200 OK\nA: b\n\nbody').body.toString(), 'body');
});

test('failures: empty, headers cut short, not HTTP', () => {
  assert.deepEqual(parseHttpResponse(b(''), 'GET'), { error: 'empty' });
  assert.deepEqual(parseHttpResponse(b('HTTP/1.1 200 OK\r\nContent-Le'), 'GET'), { error: 'incomplete headers' });
  assert.deepEqual(parseHttpResponse(b('HTT'), 'GET'), { error: 'incomplete headers' });
  assert.deepEqual(parseHttpResponse(b('SSH-2.0-OpenSSH\r\n\r\n'), 'GET'), { error: 'not an HTTP response' });
  assert.deepEqual(parseHttpResponse(b('220 mail ESMTP'), 'GET'), { error: 'not an HTTP response' });
});

test('fastHttpVerdict: the same reasons as the undici path', () => {
  const job = makeJob({ service: 'http', receive: 'ok' });
  const answer = (s: string, error?: string) => ({
    phase: 'read' as const,
    elapsedMs: 1,
    data: b(s),
    ...(error ? { error } : {}),
  });
  assert.deepEqual(fastHttpVerdict(job, answer('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')), {
    up: true,
    reason: 'status 200, body matched',
  });
  assert.deepEqual(fastHttpVerdict(job, answer('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nno')), {
    up: false,
    reason: 'body did not match /ok/',
  });
  assert.deepEqual(fastHttpVerdict(job, answer('HTTP/1.1 503 X\r\nContent-Length: 2\r\n\r\nok')), {
    up: false,
    reason: 'status 503',
  });
  assert.equal(
    fastHttpVerdict(job, answer('HTTP/1.1 302 Found\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n')),
    'redirect',
  );
  assert.deepEqual(fastHttpVerdict(job, answer('HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n')), {
    up: false,
    reason: 'status 302',
  });
  assert.deepEqual(fastHttpVerdict(job, { phase: 'connect', elapsedMs: 1, error: 'ECONNREFUSED' }), {
    up: false,
    reason: 'refused',
  });
  assert.deepEqual(fastHttpVerdict(job, { phase: 'read', elapsedMs: 1, error: 'ETIMEDOUT' }), {
    up: false,
    reason: 'timeout',
  });
  assert.deepEqual(fastHttpVerdict(job, { phase: 'read', elapsedMs: 1, error: 'ABORT_ERR' }), {
    up: false,
    reason: 'timeout',
  });
  // A whole answer counts even when the connection then timed out or was reset.
  assert.deepEqual(fastHttpVerdict(job, answer('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', 'ECONNRESET')), {
    up: true,
    reason: 'status 200, body matched',
  });
  assert.deepEqual(fastHttpVerdict(job, answer('HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nok', 'ETIMEDOUT')), {
    up: false,
    reason: 'timeout',
  });
  assert.deepEqual(fastHttpVerdict(job, answer('HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nok')), {
    up: false,
    reason: 'connection closed',
  });
  assert.deepEqual(fastHttpVerdict(job, answer('')), { up: false, reason: 'connection closed' });
});

test('fastHttpRequest: method, path with query, Host (virtualhost or address, IPv6 bracketed), Connection: close', () => {
  assert.equal(
    fastHttpRequest(makeJob({ service: 'http', port: 8080, request: '/a/b?c=1', httpMethod: 'HEAD' })).toString(),
    'HEAD /a/b?c=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: ldir-health-check\r\nAccept: */*\r\nConnection: close\r\n\r\n',
  );
  assert.match(
    fastHttpRequest(makeJob({ service: 'http', address: '::1', port: 80, request: 'x' })).toString(),
    /^GET \/x HTTP\/1\.1\r\nHost: \[::1\]\r\n/,
  );
  assert.match(
    fastHttpRequest(makeJob({ service: 'http', port: 80, httpHost: 'www.example.org' })).toString(),
    /\r\nHost: www\.example\.org\r\n/,
  );
});
