// The probe engine's per-check statistics (one Float64Array, a fixed number of numbers per check) read as a map by
// check id, one value made when it is asked for (issue 21, big tables): at 100,000 offloaded checks, building a Map
// of an object per check took 0.15–0.3 s in one turn of the event loop at every status, scrape and watchdog read.

/**
 * A read-only map of check id to `V` over the rows of a Float64Array (`stride` numbers per row, the id first): `get`
 * makes the value of one row with `read(offset)`; iterating makes them one at a time. Rows whose id `keep` refuses
 * are left out. The index is one Int32Array by id (ids are small, counted up from 1), built in one pass over the rows.
 */
export class EngineRowTable<V> implements ReadonlyMap<number, V> {
  /** Row number + 1 by id; 0: no row. */
  private readonly index: Int32Array;
  private readonly ids: number[] = [];

  constructor(
    rows: Float64Array,
    private readonly stride: number,
    keep: (id: number, offset: number) => boolean,
    private readonly read: (offset: number) => V,
  ) {
    let maxId = 0;
    for (let i = 0; i + stride <= rows.length; i += stride) maxId = Math.max(maxId, rows[i] as number);
    this.index = new Int32Array(maxId + 1);
    for (let i = 0, row = 0; i + stride <= rows.length; i += stride, row++) {
      const id = rows[i] as number;
      if (!Number.isInteger(id) || id < 0 || !keep(id, i)) continue;
      if (this.index[id] === 0) this.ids.push(id);
      this.index[id] = row + 1;
    }
  }

  get size(): number {
    return this.ids.length;
  }

  has(id: number): boolean {
    return Number.isInteger(id) && id >= 0 && id < this.index.length && this.index[id] !== 0;
  }

  get(id: number): V | undefined {
    if (!this.has(id)) return undefined;
    return this.read(((this.index[id] as number) - 1) * this.stride);
  }

  *entries(): MapIterator<[number, V]> {
    for (const id of this.ids) yield [id, this.get(id) as V];
  }

  *keys(): MapIterator<number> {
    yield* this.ids;
  }

  *values(): MapIterator<V> {
    for (const id of this.ids) yield this.get(id) as V;
  }

  forEach(visit: (value: V, id: number, map: ReadonlyMap<number, V>) => void): void {
    for (const id of this.ids) visit(this.get(id) as V, id, this);
  }

  [Symbol.iterator](): MapIterator<[number, V]> {
    return this.entries();
  }
}
