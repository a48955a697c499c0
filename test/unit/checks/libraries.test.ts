// The protocol libraries a configuration's checks need are known from the checks alone, and loaded (or reported) up
// front: module loading never happens inside a check's time.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkLibraries, loadLibraries } from '../../../src/checks/libraries';
import { makeJob } from '../../helpers/check-job';

test('each negotiate service asks for its library; connect, ping and plain http over the native prober for none', () => {
  const jobs = [
    makeJob({ type: 'connect' }),
    makeJob({ type: 'ping' }),
    makeJob({ service: 'http' }),
    makeJob({ service: 'https' }),
    makeJob({ service: 'dns' }),
    makeJob({ type: 'combined', service: 'mysql' }),
    makeJob({ service: 'ldaps' }),
    makeJob({ service: 'submission' }),
    makeJob({ type: 'connect', service: 'pgsql' }),
  ];
  assert.deepEqual(checkLibraries(jobs, { nativeHttp: true }), [
    'dns-packet',
    'ldapts',
    'mysql2',
    'nodemailer/lib/smtp-connection',
    'undici',
  ]);
  assert.deepEqual(
    checkLibraries([makeJob({ service: 'http' })], { nativeHttp: true }),
    [],
    'the native fast path needs no undici',
  );
  assert.deepEqual(checkLibraries([makeJob({ service: 'http' })], { nativeHttp: false }), ['undici']);
  assert.deepEqual(
    checkLibraries([makeJob({ type: 'connect', service: 'mysql' })], { nativeHttp: true }),
    [],
    'a connect check never speaks the protocol',
  );
});

test('loading reports what could not be loaded instead of throwing', () => {
  const seen: string[] = [];
  const r = loadLibraries(['undici', 'no-such-library'], (name) => {
    seen.push(name);
    if (name === 'no-such-library') throw new Error('Cannot find module');
    return {};
  });
  assert.deepEqual(seen, ['undici', 'no-such-library']);
  assert.deepEqual(r, { loaded: ['undici'], failed: ['no-such-library'] });
});
