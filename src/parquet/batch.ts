/**
 * Operations on columnar batches (`RawColumns`, `AggColumns`): slicing, concatenation and gathering
 * rows, and the sort-order check of the writer. Every field of a batch but `length` and `identity`
 * (see {@link IdentityColumns}) is a column (a typed array or a plain array) of `length` entries.
 *
 * @module
 */

import type { IdentityRows } from "./identity.ts";

/** A columnar batch: equally long columns plus their `length`. */
export interface Batch {
  length: number;
}

/** The identity and time of one row: the sort key of tier files. */
export interface SortKey {
  namespace: string;
  target: string;
  poller: string;
  time: number;
}

/** The identity columns every batch has. */
export interface IdentityColumns {
  namespace: string[];
  target: string[];
  poller: string[];
  /**
   * The rows' series as numbers into the flush's table (`identity.ts`), beside the same strings: the
   * writer then works with integers. Optional; any operation may drop it.
   */
  identity?: IdentityRows;
}

type Column = ArrayLike<unknown> & { slice(start: number, end: number): Column };
type TypedArrayCtor = new (length: number) => { set(array: ArrayLike<unknown>, offset: number): void };

function columnsOf(batch: Batch): [string, Column][] {
  return Object.entries(batch).filter(([key]) => key !== "length" && key !== "identity") as [string, Column][];
}

/** The identity numbers of `batch`, if it has them. */
function identityOf(batch: Batch): IdentityRows | undefined {
  return (batch as Partial<IdentityColumns>).identity;
}

/**
 * Rows `start` (inclusive) to `end` (exclusive) of `batch`: typed-array columns are views of the
 * batch's (no copy), other columns copies.
 */
export function sliceBatch<C extends Batch>(batch: C, start: number, end: number): C {
  const out: Record<string, unknown> = { length: end - start };
  for (const [key, column] of columnsOf(batch)) {
    out[key] = ArrayBuffer.isView(column)
      ? (column as unknown as Uint8Array).subarray(start, end)
      : column.slice(start, end);
  }
  const identity = identityOf(batch);
  if (identity) out.identity = { table: identity.table, series: identity.series.subarray(start, end) };
  return out as unknown as C;
}

/**
 * The rows of all `batches`, in order (they must have the same columns).
 *
 * @example
 * ```ts
 * import { concatBatches } from "./batch.ts";
 * const a = { length: 1, ts: new Float64Array([1]), name: ["x"] };
 * const b = { length: 2, ts: new Float64Array([2, 3]), name: ["y", "z"] };
 * const all = concatBatches([a, b]);
 * if (all.length !== 3 || all.ts[2] !== 3 || all.name[1] !== "y") throw new Error("concat");
 * ```
 */
export function concatBatches<C extends Batch>(batches: readonly C[]): C {
  if (batches.length === 1) return batches[0];
  const length = batches.reduce((n, b) => n + b.length, 0);
  const out: Record<string, unknown> = { length };
  for (const [key, first] of columnsOf(batches[0])) {
    const parts = batches.map((b) => (b as unknown as Record<string, Column>)[key]);
    out[key] = ArrayBuffer.isView(first) ? concatTyped(first, parts, length) : concatArrays(parts, length);
  }
  const table = identityOf(batches[0])?.table;
  if (table && batches.every((b) => identityOf(b)?.table === table)) {
    const series = batches.map((b) => identityOf(b)!.series);
    out.identity = { table, series: concatTyped(series[0], series, length) };
  }
  return out as unknown as C;
}

function concatArrays(parts: Column[], length: number): unknown[] {
  const out = new Array<unknown>(length);
  let offset = 0;
  for (const part of parts) {
    for (let i = 0; i < part.length; i++) out[offset + i] = part[i];
    offset += part.length;
  }
  return out;
}

function concatTyped(first: Column, parts: Column[], length: number): unknown {
  const out = new (first.constructor as TypedArrayCtor)(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** The rows of `batch` at `rows` (ascending indexes), as a new batch. */
export function gatherBatch<C extends Batch>(batch: C, rows: Int32Array): C {
  const out: Record<string, unknown> = { length: rows.length };
  for (const [key, column] of columnsOf(batch)) out[key] = gatherColumn(column, rows);
  return out as unknown as C;
}

function gatherColumn(column: Column, rows: Int32Array): unknown {
  const out = ArrayBuffer.isView(column)
    ? new (column.constructor as new (n: number) => Record<number, unknown>)(rows.length)
    : new Array<unknown>(rows.length);
  for (let i = 0; i < rows.length; i++) (out as Record<number, unknown>)[i] = column[rows[i]];
  return out;
}

/** Orders two sort keys: identity by JavaScript string order, then time. */
export function compareKeys(a: SortKey, b: SortKey): number {
  if (a.namespace !== b.namespace) return a.namespace < b.namespace ? -1 : 1;
  if (a.target !== b.target) return a.target < b.target ? -1 : 1;
  if (a.poller !== b.poller) return a.poller < b.poller ? -1 : 1;
  return a.time - b.time;
}

/** The sort key of row `i`. */
export function keyAt(batch: IdentityColumns, time: ArrayLike<number>, i: number): SortKey {
  return { namespace: batch.namespace[i], target: batch.target[i], poller: batch.poller[i], time: time[i] };
}

/**
 * Throws a RangeError unless the rows of `batch` are sorted by (namespace, target, poller, time),
 * also relative to `previous` (the last key of the batch before); returns the new last key.
 */
export function assertSorted(
  batch: IdentityColumns & Batch,
  time: ArrayLike<number>,
  previous: SortKey | null,
  where: string,
): SortKey | null {
  if (batch.length === 0) return previous;
  if (previous && compareKeys(previous, keyAt(batch, time, 0)) > 0) {
    throw outOfOrder(where, keyAt(batch, time, 0), previous, 0);
  }
  if (batch.identity) {
    // series numbered in identity order: integers compared, the strings only where a row is out of order
    const { series } = batch.identity;
    for (let i = 1; i < batch.length; i++) {
      const d = series[i] - series[i - 1];
      if (d < 0 || (d === 0 && time[i] < time[i - 1])) {
        throw outOfOrder(where, keyAt(batch, time, i), keyAt(batch, time, i - 1), i);
      }
    }
    return keyAt(batch, time, batch.length - 1);
  }
  for (let i = 1; i < batch.length; i++) {
    if (compareRows(batch, time, i - 1, i) > 0) {
      throw outOfOrder(where, keyAt(batch, time, i), keyAt(batch, time, i - 1), i);
    }
  }
  return keyAt(batch, time, batch.length - 1);
}

function compareRows(batch: IdentityColumns, time: ArrayLike<number>, i: number, j: number): number {
  const { namespace, target, poller } = batch;
  if (namespace[i] !== namespace[j]) return namespace[i] < namespace[j] ? -1 : 1;
  if (target[i] !== target[j]) return target[i] < target[j] ? -1 : 1;
  if (poller[i] !== poller[j]) return poller[i] < poller[j] ? -1 : 1;
  return time[i] - time[j];
}

function outOfOrder(where: string, key: SortKey, before: SortKey, row: number): RangeError {
  return new RangeError(
    `Cannot write ${where}: rows must be sorted by namespace, target, poller, time, but row ${row} ` +
      `(${describe(key)}) comes after (${describe(before)})`,
  );
}

function describe(key: SortKey): string {
  return `${key.namespace}/${key.target}/${key.poller} @ ${key.time}`;
}
