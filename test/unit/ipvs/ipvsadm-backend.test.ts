// IpvsadmBackend with a fake exec: one `ipvsadm -R` per apply, its stdin, result attribution, reads and commands.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCodes, isLdirError } from '../../../src/errors';
import { IpvsadmBackend, LIST_SCRIPT } from '../../../src/ipvs/ipvsadm/backend';
import { spawnExec, type IpvsadmExecResult } from '../../../src/ipvs/ipvsadm/exec';
import type { IpvsDestination, IpvsOp, IpvsService, ServiceKey } from '../../../src/ipvs/types';
import { FIXTURE_TABLE, ipvsadmFixture } from '../../helpers/ipvsadm-table';

interface Call {
  readonly file: string;
  readonly args: readonly string[];
  readonly stdin: string | undefined;
}

/** A backend whose exec records its calls and answers from `answers` in order. */
function fake(...answers: (Partial<IpvsadmExecResult> | Error)[]): { backend: IpvsadmBackend; calls: Call[] } {
  const calls: Call[] = [];
  const backend = new IpvsadmBackend({
    binary: '/usr/sbin/ipvsadm',
    exec: async (file, args, stdin) => {
      calls.push({ file, args, stdin });
      const a = answers.shift() ?? {};
      if (a instanceof Error) throw a;
      return { code: 0, stdout: '', stderr: '', ...a };
    },
  });
  return { backend, calls };
}

const marker = (i: number): string => `--ldir-op-${i}: unknown option\n`;
const KEY: ServiceKey = { family: 'inet', protocol: 'tcp', address: '192.0.2.10', port: 80 };
const SVC: IpvsService = { ...KEY, scheduler: 'wlc', onePacket: false, schedulerFlags: [] };
const DEST: IpvsDestination = {
  address: '10.1.0.1',
  family: 'inet',
  port: 8080,
  forward: 'masq',
  weight: 1,
  upperThreshold: 0,
  lowerThreshold: 0,
};
const OPS: IpvsOp[] = [
  { op: 'add-service', service: SVC },
  { op: 'add-destination', service: KEY, destination: DEST },
  { op: 'add-destination', service: KEY, destination: { ...DEST, address: '10.1.0.2' } },
  { op: 'edit-destination', service: KEY, destination: { ...DEST, address: '10.1.0.3' } },
  { op: 'delete-destination', service: KEY, destination: { address: '10.1.0.4', port: 8080, family: 'inet' } },
  { op: 'delete-service', service: { family: 'inet', fwmark: 4 } },
  { op: 'edit-service', service: { ...SVC, port: 81 } },
  {
    op: 'delete-destination',
    service: { family: 'inet', fwmark: 5 },
    destination: { address: '10.1.0.4', port: 0, family: 'inet' },
  },
];
const LINES = [
  '-A -t 192.0.2.10:80 -s wlc',
  '-a -t 192.0.2.10:80 -r 10.1.0.1:8080 -m -w 1 -x 0 -y 0',
  '-a -t 192.0.2.10:80 -r 10.1.0.2:8080 -m -w 1 -x 0 -y 0',
  '-e -t 192.0.2.10:80 -r 10.1.0.3:8080 -m -w 1 -x 0 -y 0',
  '-d -t 192.0.2.10:80 -r 10.1.0.4:8080',
  '-D -f 4',
  '-E -t 192.0.2.10:81 -s wlc',
  '-d -f 5 -r 10.1.0.4:0',
];
const stdinOf = (lines: readonly string[]): string => lines.map((l, i) => `${l}\n-L --ldir-op-${i}\n`).join('');

describe('apply', () => {
  test('one ipvsadm -R for the whole batch, lines and markers on stdin, results attributed per line', async () => {
    const stderr =
      'Service already exists\n' +
      marker(0) +
      marker(1) +
      marker(2) +
      'No such destination\n' +
      marker(3) +
      'No such destination\n' +
      marker(4) +
      'No such service\n' +
      marker(5) +
      'No such service\n' +
      marker(6) +
      'Service not defined\n' +
      marker(7);
    const { backend, calls } = fake({ code: 255, stderr });
    const results = await backend.apply(OPS);
    assert.equal(calls.length, 1);
    assert.deepEqual(calls[0], { file: '/usr/sbin/ipvsadm', args: ['-R'], stdin: stdinOf(LINES) });
    assert.deepEqual(results, [
      { status: 'converged', errno: 'EEXIST' },
      { status: 'done' },
      { status: 'done' },
      { status: 'failed', errno: 'ENOENT', message: 'ENOENT: No such destination' },
      { status: 'converged', errno: 'ENOENT' },
      { status: 'converged', errno: 'ESRCH' },
      { status: 'failed', errno: 'ESRCH', message: 'ESRCH: No such service' },
      { status: 'converged', errno: 'ESRCH' },
    ]);
  });

  test('a line that makes ipvsadm exit fails; the lines after it go to a second -R', async () => {
    const { backend, calls } = fake(
      { code: 2, stderr: `${marker(0)}${marker(1)}illegal weight specified\n` },
      { code: 255, stderr: `Service already exists\n${marker(0)}${marker(1)}${marker(2)}${marker(3)}${marker(4)}` },
    );
    const results = await backend.apply(OPS);
    assert.equal(calls.length, 2);
    assert.equal(calls[1]?.stdin, stdinOf(LINES.slice(3)));
    assert.deepEqual(
      results.map((r) => r.status),
      ['done', 'done', 'failed', 'failed', 'done', 'done', 'done', 'done'],
    );
    assert.deepEqual(results[2], { status: 'failed', errno: 'EINVAL', message: 'EINVAL: illegal weight specified' });
    assert.deepEqual(results[3], { status: 'failed', errno: 'EEXIST', message: 'EEXIST: Service already exists' });
  });

  test('an operation ipvsadm cannot express fails with EOPNOTSUPP and is not sent', async () => {
    const ops: IpvsOp[] = [
      { op: 'add-destination', service: KEY, destination: { ...DEST, forward: 'local' } },
      OPS[0] as IpvsOp,
    ];
    const { backend, calls } = fake({ code: 255, stderr: marker(0) });
    const results = await backend.apply(ops);
    assert.equal(calls[0]?.stdin, `${LINES[0]}\n-L --ldir-op-0\n`);
    assert.equal(results[0]?.status, 'failed');
    assert.equal(results[0]?.status === 'failed' && results[0].errno, 'EOPNOTSUPP');
    assert.match(results[0]?.status === 'failed' ? results[0].message : '', /local forwarding method/);
    assert.deepEqual(results[1], { status: 'done' });
  });

  test('no operation, no process', async () => {
    const { backend, calls } = fake();
    assert.deepEqual(await backend.apply([]), []);
    assert.equal(calls.length, 0);
  });

  test('no IPVS, a missing binary, a killed process, no progress: IPVS_UNAVAILABLE', async () => {
    const cases: (Partial<IpvsadmExecResult> | Error)[] = [
      {
        code: 2,
        stderr:
          "Can't initialize ipvs: Protocol not available\nAre you sure that IP Virtual Server is built in the kernel or as module?\n",
      },
      Object.assign(new Error('spawn /usr/sbin/ipvsadm ENOENT'), { code: 'ENOENT' }),
      { code: null, signal: 'SIGKILL', stderr: marker(0) },
      { code: 1, stderr: 'Segmentation fault\n' },
    ];
    for (const answer of cases) {
      const { backend } = fake(answer);
      await assert.rejects(
        backend.apply(OPS),
        (e: unknown) => isLdirError(e, ErrorCodes.IPVS_UNAVAILABLE),
        JSON.stringify(answer),
      );
    }
  });
});

describe('reads and single commands', () => {
  test('list: one ipvsadm -R with the five listings', async () => {
    const { backend, calls } = fake({ stdout: ipvsadmFixture('list-all.txt') });
    assert.deepEqual(await backend.list(), FIXTURE_TABLE);
    assert.deepEqual(calls, [{ file: '/usr/sbin/ipvsadm', args: ['-R'], stdin: LIST_SCRIPT }]);
    assert.equal(
      LIST_SCRIPT,
      '-L -n --exact --tun-info\n-L -n --exact --thresholds\n-L -n --exact --persistent-conn\n-L -n --exact --stats\n-L -n --exact --rate\n',
    );
  });

  test('info, timeouts, daemons', async () => {
    const { backend, calls } = fake(
      { stdout: ipvsadmFixture('list-plain.txt') },
      { stdout: ipvsadmFixture('timeout.txt') },
      { stdout: ipvsadmFixture('daemon.txt') },
    );
    assert.deepEqual(await backend.info(), { version: '1.2.1', connTableSize: 4096 });
    assert.deepEqual(await backend.getTimeouts(), { tcp: 900, tcpFin: 120, udp: 300 });
    assert.equal((await backend.listSyncDaemons()).length, 2);
    assert.deepEqual(
      calls.map((c) => c.args),
      [
        ['-L', '-n'],
        ['-L', '--timeout'],
        ['-L', '--daemon'],
      ],
    );
  });

  test('writes as single commands', async () => {
    const { backend, calls } = fake();
    await backend.setTimeouts({ tcp: 900, tcpFin: 120, udp: 0 });
    await backend.zero();
    await backend.zero({ family: 'inet6', fwmark: 3 });
    await backend.flush();
    await backend.startSyncDaemon({ state: 'master', interface: 'eth0', syncId: 7 });
    await backend.stopSyncDaemon('master');
    await backend.close();
    assert.deepEqual(
      calls.map((c) => c.args),
      [
        ['--set', '900', '120', '0'],
        ['-Z'],
        ['-Z', '-f', '3', '-6'],
        ['-C'],
        ['--start-daemon', 'master', '--mcast-interface', 'eth0', '--syncid', '7'],
        ['--stop-daemon', 'master'],
      ],
    );
  });

  test('a kernel refusal of a single command throws IPVS_REQUEST_FAILED with the errno', async () => {
    const { backend } = fake(
      { code: 255, stderr: 'No daemon is running\n' },
      { code: 255, stderr: 'No such service\n' },
    );
    await assert.rejects(
      backend.stopSyncDaemon('backup'),
      (e: unknown) => isLdirError(e, ErrorCodes.IPVS_REQUEST_FAILED) && e.details.errno === 'ESRCH',
    );
    await assert.rejects(
      backend.zero(KEY),
      (e: unknown) => isLdirError(e, ErrorCodes.IPVS_REQUEST_FAILED) && e.details.errno === 'ESRCH',
    );
  });
});

describe('spawnExec', () => {
  test('runs without a shell, feeds stdin, collects stdout, stderr and the exit code', async () => {
    const exec = spawnExec(10_000);
    const script =
      "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{process.stdout.write(s.toUpperCase()+process.env.LC_ALL);process.stderr.write(process.argv[1]);process.exit(3)})";
    const res = await exec(process.execPath, ['-e', script, '$(echo not a shell) ; *'], 'abc\n');
    assert.deepEqual(res, { code: 3, signal: null, stdout: 'ABC\nC', stderr: '$(echo not a shell) ; *' });
  });

  test('a process that outlives the timeout is terminated (SIGTERM to its group); a missing binary rejects', async () => {
    const res = await spawnExec(200)(process.execPath, ['-e', 'setTimeout(() => {}, 10000)']);
    assert.equal(res.code, null);
    assert.equal(res.signal, 'SIGTERM');
    await assert.rejects(spawnExec(1000)('/nonexistent/ipvsadm', ['-L']), /ENOENT/);
  });
});
