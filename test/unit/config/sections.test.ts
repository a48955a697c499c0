// File structure: column-0 globals, indented virtual bodies, blank lines, comments, tabs, CRLF.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lexCf } from '../../../src/config/cf-lexer';
import { errors, load, loadErrors, loadValid } from '../../helpers/config';

test('a body line needs four spaces or a tab; three spaces is a global line', async () => {
  const four = await loadValid('virtual=192.0.2.1:80\n    real=10.0.0.1:80 gate\n');
  assert.equal(four.virtualServices[0]?.reals.length, 1);
  const tab = await loadValid('virtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate\n');
  assert.equal(tab.virtualServices[0]?.reals.length, 1);
  const errs = await loadErrors('virtual=192.0.2.1:80\n   real=10.0.0.1:80 gate\n');
  assert.equal(errs[0]?.pos.line, 2);
  assert.match(errs[0]?.message ?? '', /indented line outside a virtual section/);
});

test('a blank line ends a section: an indented line after it is an error at its line', async () => {
  const errs = await loadErrors('virtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate\n\n\tscheduler=rr\n');
  assert.deepEqual(
    errs.map((e) => e.pos.line),
    [4],
  );
});

test('a line of exactly four spaces (or one tab) ends the section; five or more spaces is an error', async () => {
  await loadValid('virtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate\n    \nchecktimeout=3\n');
  await loadValid('virtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate\n\t\nchecktimeout=3\n');
  const errs = await loadErrors('virtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate\n     \n\tscheduler=rr\n');
  assert.equal(errs[0]?.pos.line, 3);
  assert.match(errs[0]?.message ?? '', /only white space/);
});

test('comment lines, even in column 0, do not end a section; # truncates values inside sections', async () => {
  const c = await loadValid(
    'virtual=192.0.2.1:80\n# comment\n\treal=10.0.0.1:80 gate # primary\n  # indented comment\n\tscheduler=rr\n',
  );
  const v = c.virtualServices[0];
  assert.equal(v?.reals.length, 1);
  assert.equal(v?.scheduler, 'rr');
  const r = await load('virtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate\n\treceive="a#b"\n');
  assert.match(errors(r)[0]?.message ?? '', /receive value must be in double quotes/);
});

test('a section ends at a non-indented line, which is read as a global or a new virtual', async () => {
  const c = await loadValid(
    'virtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate\nchecktimeout=3\nvirtual=192.0.2.2:80\n\treal=10.0.0.1:80 gate\n',
  );
  assert.equal(c.virtualServices.length, 2);
  assert.equal(c.virtualServices[1]?.check.checkTimeout, 3);
});

test('spaces around = are allowed', async () => {
  const c = await loadValid('checktimeout = 3\nvirtual = 192.0.2.1:80\n\treal = 10.0.0.1:80 gate\n\tscheduler = rr\n');
  assert.equal(c.virtualServices[0]?.scheduler, 'rr');
  assert.equal(c.virtualServices[0]?.check.checkTimeout, 3);
});

test('CRLF files are read like LF files', async () => {
  const c = await loadValid(
    'quiescent=yes\r\nvirtual=192.0.2.1:80\r\n\treal=10.0.0.1:80 gate\r\n\tquiescent=no\r\n\r\nfork=no\r\n',
  );
  assert.equal(c.virtualServices[0]?.quiescent, false);
});

test('a virtual with no body (even at end of file) is a virtual without real servers', async () => {
  const c = await loadValid('checktimeout=3\nvirtual=192.0.2.1:80');
  assert.equal(c.virtualServices[0]?.reals.length, 0);
});

test('duplicate virtual services are refused at the line ending the section, naming both', async () => {
  const errs = await loadErrors(
    'virtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate\n\nvirtual=192.0.2.1:http\n\treal=10.0.0.2:80 gate\n\nchecktimeout=3\n',
  );
  assert.equal(errs.length, 1);
  assert.equal(errs[0]?.code, 'duplicate-virtual');
  assert.equal(errs[0]?.pos.line, 6);
  assert.match(errs[0]?.message ?? '', /tcp:192\.0\.2\.1:80: the section at line 4 repeats the one at line 1/);
  await loadValid(
    'virtual=192.0.2.1:53\n\treal=10.0.0.1 gate\n\nvirtual=192.0.2.1:53\n\tprotocol=tcp\n\treal=10.0.0.1 gate\n',
  );
  const marks = await loadErrors('virtual=5\n\treal=10.0.0.1 gate\nvirtual=5\n\treal=10.0.0.1 gate\n');
  assert.equal(marks[0]?.code, 'duplicate-virtual');
});

test('every error is reported, in line order, not only the first', async () => {
  const errs = await loadErrors(
    'bogus=1\nvirtual=192.0.2.1:80\n\treal=10.0.0.1:80 direct\n\tscheduler=RR\nfork=perhaps\n',
  );
  assert.deepEqual(
    errs.map((e) => e.pos.line),
    [1, 3, 4, 5],
  );
});

test('the lexer records body lines with their own line numbers and where the section ended', () => {
  const doc = lexCf('a=1\nvirtual=1.2.3.4:80\n\t# c\n\treal=x gate\n\nb=2\n', '/f.cf');
  assert.equal(doc.entries.length, 3);
  const v = doc.entries[1];
  assert.ok(v?.kind === 'virtual');
  assert.deepEqual(
    v.virtual.body.map((d) => [d.key, d.value, d.pos.line]),
    [['real', 'x gate', 4]],
  );
  assert.equal(v.virtual.endLine, 5);
});
