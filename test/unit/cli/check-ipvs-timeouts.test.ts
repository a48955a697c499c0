// `ldir check` reports what the daemon would do with the IPVS connection timeouts (human lines and the --json array),
// reading them without writing, and without any kernel access when the configuration sets none.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runCheck } from '../../../src/cli/check-command';
import { ErrorCodes, LdirError } from '../../../src/errors';
import type { IpvsTimeoutResult } from '../../../src/system/ipvs-timeouts';
import type { SysctlStore } from '../../../src/system/sysctl';
import { capture } from '../../helpers/cli-io';
import { fakeResolver, TEST_PROBES } from '../../helpers/config';

const LOAD = { resolver: fakeResolver(), probes: TEST_PROBES, hostname: 'director' };
const GATE = 'virtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate\n';
/** No sysctl to plan for gate servers: a store that is never used. */
const NO_SYSCTL: SysctlStore = {
  read: () => assert.fail('read'),
  write: () => assert.fail('write'),
  list: () => assert.fail('list'),
};

function configFile(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'ldir-timeouts-check-')), 'ldirectord.cf');
  writeFileSync(path, text);
  return path;
}

describe('ldir check: IPVS timeouts', () => {
  test('human: one "ipvs timeout:" line per timeout that would change; the kernel is only read', async () => {
    let reads = 0;
    const io = capture();
    const code = await runCheck(
      {
        config: configFile(`ipvstimeouts="7200 120 600"\n${GATE}`),
        json: false,
        load: LOAD,
        sysctlStore: NO_SYSCTL,
        readTimeouts: async () => {
          reads++;
          return { tcp: 900, tcpFin: 120, udp: 300 };
        },
      },
      io,
    );
    assert.equal(code, 0);
    assert.equal(io.out, 'ipvs timeout: tcp 900 -> 7200\nipvs timeout: udp 300 -> 600\n');
    assert.equal(reads, 1);
  });

  test('--json: an ipvstimeouts array with every configured timeout, unchanged ones included', async () => {
    const file = configFile(`ipvstimeouts=7200 120 0\n${GATE}`);
    const io = capture();
    await runCheck(
      {
        config: file,
        json: true,
        load: LOAD,
        sysctlStore: NO_SYSCTL,
        readTimeouts: async () => ({ tcp: 900, tcpFin: 120, udp: 300 }),
      },
      io,
    );
    const out = JSON.parse(io.out) as { globals: { ipvsTimeouts: unknown }; ipvstimeouts: IpvsTimeoutResult[] };
    assert.deepEqual(out.globals.ipvsTimeouts, {
      tcp: 7200,
      tcpFin: 120,
      udp: 0,
      restore: false,
      source: { file, line: 1 },
    });
    assert.deepEqual(out.ipvstimeouts, [
      { timeout: 'tcp', old: 900, new: 7200, why: `ipvstimeouts at ${file}:1`, status: 'would-change' },
      { timeout: 'tcpfin', old: 120, new: 120, why: `ipvstimeouts at ${file}:1`, status: 'unchanged' },
    ]);
  });

  test('timeouts that cannot be read (no IPVS, not root): said per timeout; the exit code stays 0', async () => {
    const io = capture();
    const code = await runCheck(
      {
        config: configFile(`ipvstimeouts=0 0 600\n${GATE}`),
        json: false,
        load: LOAD,
        sysctlStore: NO_SYSCTL,
        readTimeouts: async () => {
          throw new LdirError(ErrorCodes.IPVS_UNAVAILABLE, 'no way to reach the kernel IPVS table', {
            details: { errno: 'EPERM' },
          });
        },
      },
      io,
    );
    assert.equal(code, 0);
    assert.equal(
      io.out,
      "ipvs timeout: udp cannot be set to 600: cannot read the kernel's timeouts: no way to reach the kernel IPVS table\n",
    );
  });

  test('no ipvstimeouts: the kernel is not read at all; --json gives an empty array', async () => {
    for (const json of [false, true]) {
      const io = capture();
      assert.equal(
        await runCheck(
          {
            config: configFile(GATE),
            json,
            load: LOAD,
            sysctlStore: NO_SYSCTL,
            readTimeouts: () => assert.fail('read'),
          },
          io,
        ),
        0,
      );
      if (json) assert.deepEqual((JSON.parse(io.out) as { ipvstimeouts: unknown }).ipvstimeouts, []);
      else assert.equal(io.out, '');
    }
  });

  test('--ipvs=memory reads the in-memory table (the kernel defaults)', async () => {
    const io = capture();
    await runCheck(
      {
        config: configFile(`ipvstimeouts=900 60 300\n${GATE}`),
        json: false,
        load: LOAD,
        sysctlStore: NO_SYSCTL,
        ipvs: 'memory',
      },
      io,
    );
    assert.equal(io.out, 'ipvs timeout: tcpfin 120 -> 60\n');
  });
});
