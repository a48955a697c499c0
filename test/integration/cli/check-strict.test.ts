// `ldir check` (the real binary) on files the kernel would refuse or the director would not apply: exit 2, PATH:LINE each.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

const MAIN = join(__dirname, '..', '..', '..', 'src', 'main.js');

/** Runs `ldir check FILE` as an operator would: a fresh node process on the compiled entry point. */
function check(file: string): { status: number | null; stderr: string; stdout: string } {
  const r = spawnSync(process.execPath, [MAIN, 'check', file], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

describe('ldir check: strict validation through the binary', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ldir-strict-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('issue 21.1: every value the kernel refuses is a PATH:LINE error, and the exit status is 2', () => {
    const file = join(dir, 'kernel-refuses.cf');
    writeFileSync(
      file,
      [
        '# values that used to pass ldir check and failed at run time', // 1
        'virtual=224.0.0.1:80', //                                        2
        '\treal=0.0.0.0:80 gate', //                                      3
        '\treal=10.0.0.2:80 masq 4294967296', //                          4
        '\treal=10.0.0.3:80 masq u:99999999999', //                       5
        '\treal=10.0.0.4:80 masq l:100 u:10', //                          6
        '\tpersistent=99999999999', //                                    7
        '\tnetmask=255.0.255.0', //                                       8
        '',
      ].join('\n'),
    );
    const r = check(file);
    assert.equal(r.status, 2, r.stderr);
    for (const [line, text] of [
      [2, 'virtual service address 224.0.0.1 is a multicast address'],
      [3, 'real server 0.0.0.0 is an unspecified address'],
      [4, 'real server weight 4294967296 is too large'],
      [5, 'upper threshold u:99999999999 is too large'],
      [6, 'lower threshold l:100 is above the upper threshold u:10'],
      [7, 'persistent=99999999999 is out of range'],
      [8, 'netmask 255.0.255.0 is not a contiguous netmask'],
    ] as const) {
      assert.ok(r.stderr.includes(`${file}:${line}: ${text}`), `no "${file}:${line}: ${text}" in:\n${r.stderr}`);
    }
  });

  test('options the director would drop are PATH:LINE errors; unused check options are warnings', () => {
    const file = join(dir, 'dropped.cf');
    writeFileSync(
      file,
      [
        '# options that ldirectord accepts and silently drops', // 1
        'virtual=192.0.2.1:80', //                                 2
        '\treal=10.0.0.1:80 gate', //                              3
        '\tschedflags=sh-port,bogus', //                           4
        '\tnetmask=255.255.255.0', //                              5
        '\tops=yes', //                                            6
        '\tchecktype=connect', //                                  7
        '\tvirtualhost=www.example.com', //                        8
        '',
      ].join('\n'),
    );
    const r = check(file);
    assert.equal(r.status, 2, r.stderr);
    for (const prefix of [
      `${file}:4: schedflags: "bogus" is not a scheduler flag`,
      `${file}:4: schedflags: sh-port is a flag of the sh scheduler, not of wrr`,
      `${file}:5: netmask=255.255.255.0 without persistent`,
      `${file}:6: ops=yes on a TCP service`,
      `${file}:8: warning: virtualhost is not used by checktype=connect`,
    ]) {
      assert.ok(
        r.stderr.split('\n').some((l) => l.startsWith(prefix)),
        `no line starting "${prefix}" in:\n${r.stderr}`,
      );
    }
  });

  test('the same file without the dropped options passes, warnings only (exit 0)', () => {
    const file = join(dir, 'fixed.cf');
    writeFileSync(
      file,
      [
        '# fixed',
        'virtual=192.0.2.1:80',
        '\treal=10.0.0.1:80 gate',
        '\tscheduler=sh',
        '\tschedflags=sh-port',
        '\tpersistent=300',
        '\tnetmask=255.255.255.0',
        '\tchecktype=connect',
        '\tvirtualhost=www.example.com',
        '',
      ].join('\n'),
    );
    const r = check(file);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stderr.trim().split('\n'), [
      `${file}:9: warning: virtualhost is not used by checktype=connect: only negotiate checks of http, https and http_proxy read it`,
    ]);
  });
});
