// ldir_real_server_rise_successes: the successes in a row of a down real towards risecount, from the scheduler's state.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { find, value } from './exposition';
import { real, snapshot, status, testMetrics, virtual } from './fixtures';

const V1 = 'tcp:192.0.2.1:80';
const NAME = 'ldir_real_server_rise_successes';

describe('ldir_real_server_rise_successes', () => {
  test('the streak of a rising real, 0 for the others, gone with the check', async () => {
    const { scrape, src } = testMetrics({
      engine: snapshot([virtual(V1, [real('10.0.0.1:80', { health: 'down' }), real('10.0.0.2:80')])]),
      checks: [
        {
          ...status('a', `${V1} 10.0.0.1:80`, 'tcp:192.0.2.2:80 10.0.0.1:80'),
          health: 'down',
          riseSuccesses: 2,
          riseCount: 3,
        },
        status('b', `${V1} 10.0.0.2:80`),
      ],
    });
    let e = await scrape();
    assert.equal(value(e, NAME, { virtual: V1, real: '10.0.0.1:80' }), 2);
    assert.equal(
      value(e, NAME, { virtual: 'tcp:192.0.2.2:80', real: '10.0.0.1:80' }),
      2,
      'every pair the check serves',
    );
    assert.equal(value(e, NAME, { virtual: V1, real: '10.0.0.2:80' }), 0);
    src.checks = [status('b', `${V1} 10.0.0.2:80`)];
    e = await scrape();
    assert.deepEqual(find(e, NAME, { real: '10.0.0.1:80' }), [], 'a stopped check leaves no series');
    assert.equal(find(e, NAME).length, 1);
  });
});
