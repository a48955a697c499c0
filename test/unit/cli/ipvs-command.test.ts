// `ldir ipvs`: backend choice, table rendering, JSON, clear errors.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIpvsArgs, runIpvs } from '../../../src/cli/ipvs-command';
import { runCli } from '../../../src/cli/run';
import { MemoryBackend } from '../../../src/ipvs/memory';
import type { BackendFactories } from '../../../src/ipvs/select';
import { capture } from '../../helpers/cli-io';

async function populated(): Promise<MemoryBackend> {
  const m = new MemoryBackend();
  const service = { family: 'inet' as const, protocol: 'tcp' as const, address: '192.0.2.1', port: 80 };
  await m.apply([
    {
      op: 'add-service',
      service: { ...service, scheduler: 'wrr', persistent: 300, onePacket: false, schedulerFlags: [] },
    },
    {
      op: 'add-destination',
      service,
      destination: {
        address: '198.51.100.2',
        family: 'inet',
        port: 80,
        forward: 'route',
        weight: 3,
        upperThreshold: 0,
        lowerThreshold: 0,
      },
    },
    {
      op: 'add-service',
      service: { family: 'inet6', fwmark: 9, scheduler: 'sh', onePacket: false, schedulerFlags: ['flag-1'] },
    },
  ]);
  return m;
}

test('arguments', () => {
  assert.deepEqual(parseIpvsArgs([]), { backend: 'auto', action: 'list', json: false });
  assert.deepEqual(parseIpvsArgs(['--ipvs=ipvsadm', 'info', '--json']), {
    backend: 'ipvsadm',
    action: 'info',
    json: true,
  });
  assert.match(String(parseIpvsArgs(['--ipvs=magic'])), /--ipvs must be one of/);
});

test('list renders the table like ipvsadm -Ln; --json gives the normalized table', async () => {
  const m = await populated();
  const factories = { memory: () => m } as unknown as BackendFactories;
  const io = capture();
  assert.equal(await runIpvs({ backend: 'memory', action: 'list', json: false, factories }, io), 0);
  assert.match(io.out, /^TCP {2}192\.0\.2\.1:80 wrr persistent 300$/m);
  assert.match(io.out, /^ {2}-> 198\.51\.100\.2:80\s+Route\s+3\s+0\s+0$/m);
  assert.match(io.out, /^FWM {2}9 sh \(flag-1\)$/m);
  const json = capture();
  const again = await populated();
  await runIpvs(
    {
      backend: 'memory',
      action: 'list',
      json: true,
      factories: { memory: () => again } as unknown as BackendFactories,
    },
    json,
  );
  const parsed = JSON.parse(json.out) as Array<{ service: { scheduler: string } }>;
  assert.deepEqual(
    parsed.map((p) => p.service.scheduler),
    ['wrr', 'sh'],
  );
});

test('no reachable kernel table: exit 1 with the reasons; bad option: exit 255', async () => {
  const io = capture();
  const code = await runCli(['ipvs', '--ipvs=netlink'], io);
  if (code === 0) return; // a host with IPVS and root: nothing to assert here
  assert.equal(code, 1);
  assert.match(io.err, /netlink/);
  assert.equal(await runCli(['ipvs', '--frob'], capture()), 255);
});
