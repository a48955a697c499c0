// The quorum state machine (gain at quorum + hysteresis, loss below quorum − hysteresis) and decide() below a quorum.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { Health } from '../../../src/model/health';
import { decide, type Decision } from '../../../src/engine/decide';
import { pairKey } from '../../../src/model/health';
import { nextQuorumState, type DecidedQuorum } from '../../../src/engine/quorum';
import { MemoryBackend } from '../../../src/ipvs/memory';
import { quorumThresholds, type Config } from '../../../src/model';
import { loadValid } from '../../helpers/config';
import { weights } from '../../helpers/engine';
import { addrService, dest } from '../../helpers/ipvs-tables';

const VIP = 'tcp:192.0.2.1:80';
const REALS = [1, 2, 3, 4, 5].map((i) => `10.0.0.${i}:80`);

async function web(extra: string[]): Promise<Config> {
  const body = [...REALS.map((r) => `real=${r} masq 2`), ...extra].map((l) => `\t${l}`).join('\n');
  return loadValid(`virtual=192.0.2.1:80\n${body}\n`);
}

/** Health of the five reals: the first `up` up, the next `unknown` unknown, the rest down. */
function healthOf(up: number, unknown = 0): Map<string, Health> {
  return new Map(REALS.map((r, i) => [pairKey(VIP, r), i < up ? 'up' : i < up + unknown ? 'unknown' : 'down']));
}

function run(config: Config, up: number, previous?: DecidedQuorum, unknown = 0): Decision {
  return decide({
    config,
    health: healthOf(up, unknown),
    observed: [],
    ...(previous ? { quorum: new Map([[VIP, previous]]) } : {}),
  });
}

describe('nextQuorumState', () => {
  const t = quorumThresholds({ needed: { kind: 'count', value: 3 }, hysteresis: 1, source: { file: 'x', line: 1 } }, 5);

  test('gained at quorum + hysteresis, lost below quorum − hysteresis, kept inside the band', () => {
    assert.deepEqual([t.gainAt, t.loseBelow], [4, 2]);
    assert.equal(nextQuorumState('down', 3, 0, t), 'down', '3 < 4: not gained yet');
    assert.equal(nextQuorumState('down', 4, 0, t), 'up');
    assert.equal(nextQuorumState('up', 2, 0, t), 'up', '2 is not below 2: kept');
    assert.equal(nextQuorumState('up', 1, 0, t), 'down');
  });

  test('with nothing decided before, the plain quorum decides', () => {
    assert.equal(nextQuorumState(undefined, 3, 0, t), 'up');
    assert.equal(nextQuorumState(undefined, 2, 0, t), 'down');
  });

  test('pending while reals without a result could still meet the quorum', () => {
    assert.equal(nextQuorumState(undefined, 1, 2, t), 'pending');
    assert.equal(nextQuorumState(undefined, 0, 2, t), 'down', 'two unknown reals cannot make three');
    assert.equal(nextQuorumState('down', 2, 2, t), 'pending');
    assert.equal(nextQuorumState('up', 1, 1, t), 'pending');
  });

  test("the defaults are ldirectord's fallback rule, whatever the history (property)", () => {
    const d = quorumThresholds(undefined, 0);
    fc.assert(
      fc.property(
        fc.constantFrom<DecidedQuorum | undefined>(undefined, 'up', 'down'),
        fc.nat(50),
        fc.nat(50),
        (previous, serving, unknown) => {
          const old = serving > 0 ? 'up' : unknown > 0 ? 'pending' : 'down';
          assert.equal(nextQuorumState(previous, serving, unknown, d), old);
        },
      ),
    );
  });
});

describe('decide below a quorum', () => {
  test('without a fallback server the table is as without quorum; only the state says it', async () => {
    const config = await web(['quorum=3', 'quiescent=yes']);
    const d = run(config, 2);
    assert.equal(d.virtuals[0]?.quorum.state, 'down');
    assert.equal(d.virtuals[0]?.fallbackState, 'active');
    assert.deepEqual(d.virtuals[0]?.quorum, {
      quorum: 3,
      hysteresis: 0,
      gainAt: 3,
      loseBelow: 3,
      state: 'down',
      serving: 2,
      unknown: 0,
    });
    assert.deepEqual(
      weights(d.desired),
      { [VIP]: ['10.0.0.1:80=2', '10.0.0.2:80=2'] },
      'the two up serve; the down ones are not re-added',
    );
  });

  test('with a fallback server it takes new connections; the reals still up stay at weight 0 (their connections go on)', async () => {
    const config = await web(['quorum=3', 'fallback=127.0.0.1:8080 masq']);
    const d = run(config, 2);
    assert.equal(d.virtuals[0]?.fallbackState, 'active');
    assert.deepEqual(weights(d.desired), { [VIP]: ['10.0.0.1:80=0', '10.0.0.2:80=0', '127.0.0.1:8080=1'] });
    const r = d.virtuals[0]?.reals.find((x) => x.realKey === '10.0.0.1:80');
    assert.deepEqual([r?.reason, r?.serving, r?.inTable], ['below-quorum', true, true]);
    const met = run(config, 3);
    assert.deepEqual(weights(met.desired), { [VIP]: ['10.0.0.1:80=2', '10.0.0.2:80=2', '10.0.0.3:80=2'] });
    assert.equal(met.virtuals[0]?.quorum.state, 'up');
  });

  test('hysteresis: the previous state decides inside the band', async () => {
    const config = await web(['quorum=3', 'hysteresis=1', 'fallback=127.0.0.1:8080 masq']);
    assert.equal(run(config, 3, 'down').virtuals[0]?.quorum.state, 'down', 'three do not regain it: four do');
    assert.equal(run(config, 4, 'down').virtuals[0]?.quorum.state, 'up');
    assert.equal(run(config, 2, 'up').virtuals[0]?.quorum.state, 'up', 'two keep it');
    const lost = run(config, 1, 'up');
    assert.equal(lost.virtuals[0]?.quorum.state, 'down');
    assert.deepEqual(weights(lost.desired), { [VIP]: ['10.0.0.1:80=0', '127.0.0.1:8080=1'] });
  });

  test('reals drained by hand do not count; pending keeps the fallback as the kernel has it', async () => {
    const config = await web(['quorum=2', 'fallback=127.0.0.1:8080 masq']);
    const drained = decide({
      config,
      health: healthOf(2),
      observed: [],
      manualDrains: new Set([pairKey(VIP, REALS[0] as string)]),
    });
    assert.equal(drained.virtuals[0]?.quorum.serving, 1);
    assert.equal(drained.virtuals[0]?.quorum.state, 'down');
    const observed = await new MemoryBackend([
      {
        service: addrService('192.0.2.1', 80),
        destinations: [dest('127.0.0.1', 8080, { weight: 1, forward: 'masq' })],
      },
    ]).list();
    const pending = decide({ config, health: healthOf(1, 2), observed, quorum: new Map([[VIP, 'down']]) });
    assert.equal(pending.virtuals[0]?.quorum.state, 'pending');
    assert.equal(pending.virtuals[0]?.fallback?.inTable, true, 'the fallback stays while undecided');
    assert.deepEqual(
      weights(pending.desired)[VIP]?.includes('10.0.0.1:80=2'),
      true,
      'the real up keeps serving while undecided',
    );
  });
});
