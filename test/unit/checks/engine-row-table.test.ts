import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EngineRowTable } from '../../../src/checks/engine-row-table';

// Rows of 3 numbers: id, a, b.
const rows = Float64Array.from([7, 1, 2, 3, 10, 20, 5, 100, 200]);

test('a row table reads the row of an id when asked, none when built', () => {
  let reads = 0;
  const table = new EngineRowTable(
    rows,
    3,
    () => true,
    (i) => {
      reads++;
      return { a: rows[i + 1], b: rows[i + 2] };
    },
  );
  assert.equal(reads, 0, 'nothing made before it is asked for');
  assert.equal(table.size, 3);
  assert.deepEqual(table.get(3), { a: 10, b: 20 });
  assert.equal(reads, 1);
  assert.equal(table.get(4), undefined);
  assert.equal(table.get(1_000), undefined);
  assert.equal(table.get(-1), undefined);
  assert.equal(table.get(1.5), undefined);
  assert.equal(table.has(5), true);
  assert.equal(table.has(6), false);
});

test('a row table iterates like a Map in row order and leaves out the rows it is told to', () => {
  const table = new EngineRowTable(
    rows,
    3,
    (id, i) => id !== 3 && rows[i + 1] !== undefined,
    (i) => rows[i + 1] as number,
  );
  assert.deepEqual(
    [...table],
    [
      [7, 1],
      [5, 100],
    ],
  );
  assert.deepEqual([...table.keys()], [7, 5]);
  assert.deepEqual([...table.values()], [1, 100]);
  assert.deepEqual(
    new Map(table.entries()),
    new Map([
      [7, 1],
      [5, 100],
    ]),
  );
  const visited: number[] = [];
  table.forEach((v, id) => {
    visited.push(id, v);
  });
  assert.deepEqual(visited, [7, 1, 5, 100]);
  assert.equal(table.get(3), undefined, 'a row left out is absent');
});

test('a row table ignores a trailing partial row', () => {
  const table = new EngineRowTable(
    Float64Array.from([1, 9, 2]),
    2,
    () => true,
    (i) => i,
  );
  assert.deepEqual([...table.keys()], [1]);
});
