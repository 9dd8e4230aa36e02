/**
 * Identity columns as numbers: the flush encoder's rows name their series by number into a table of
 * the flush's series, sorted by identity ({@link SeriesDictionary}). The table interns each identity
 * column's strings once per flush (its UTF-8 bytes and UTF-8 order too), so the writer builds a row
 * group's dictionary pages, statistics and page bounds from integers instead of hashing and comparing
 * strings row by row (`writeDictionaryIdsColumn` in `fast_column.ts`: the same bytes).
 *
 * A batch may carry {@link IdentityRows} beside its string columns; they must name the same strings.
 * Every batch operation may drop them (the strings stay right).
 *
 * @module
 */

import type { ColumnData } from "./layout.ts";

/** The identity columns. */
export type IdentityColumn = "namespace" | "target" | "poller";

/** The distinct strings of one identity column of a {@link SeriesDictionary}. */
export class InternedStrings {
  /** The distinct strings, by id. */
  readonly strings: string[] = [];
  /** Each series' id. */
  readonly ids: Int32Array;
  private utf8Bytes: (Uint8Array | undefined)[] = [];
  private ranks: Int32Array | null = null;
  private order: Int32Array | null = null;

  constructor(values: readonly string[]) {
    this.ids = new Int32Array(values.length);
    const idOf = new Map<string, number>();
    let prev: string | undefined = undefined, prevId = -1;
    for (let s = 0; s < values.length; s++) {
      const v = values[s];
      if (v !== prev) {
        let id = idOf.get(v);
        if (id === undefined) {
          id = this.strings.length;
          this.strings.push(v);
          idOf.set(v, id);
        }
        prev = v;
        prevId = id;
      }
      this.ids[s] = prevId;
    }
  }

  /** The UTF-8 bytes of string `id` (encoded once). */
  utf8(id: number): Uint8Array {
    return this.utf8Bytes[id] ??= UTF8.encode(this.strings[id]);
  }

  /** Each string's rank in UTF-8 byte order (Parquet's order for statistics), by id. */
  rank(): Int32Array {
    if (this.ranks) return this.ranks;
    const order = this.byRank();
    const ranks = new Int32Array(order.length);
    for (let r = 0; r < order.length; r++) ranks[order[r]] = r;
    return this.ranks = ranks;
  }

  /** The ids in UTF-8 byte order: `byRank()[rank()[id]] === id`. */
  byRank(): Int32Array {
    if (this.order) return this.order;
    const utf8 = this.strings.map((_, id) => this.utf8(id));
    const ids = Array.from(this.strings, (_, id) => id).sort((a, b) => compareBytes(utf8[a], utf8[b]));
    return this.order = Int32Array.from(ids);
  }
}

/**
 * The series of a flush, numbered in identity order, with each identity column's strings interned.
 *
 * @example
 * ```ts
 * import { SeriesDictionary } from "./identity.ts";
 * const d = new SeriesDictionary(["ns", "ns", "ns"], ["a", "a", "b"], ["cpu", "mem", "cpu"]);
 * const p = d.columns.poller;
 * if (p.strings.length !== 2 || p.ids[2] !== p.ids[0] || p.strings[p.ids[1]] !== "mem") throw new Error();
 * ```
 */
export class SeriesDictionary {
  readonly columns: Readonly<Record<IdentityColumn, InternedStrings>>;

  constructor(namespace: readonly string[], target: readonly string[], poller: readonly string[]) {
    this.columns = {
      namespace: new InternedStrings(namespace),
      target: new InternedStrings(target),
      poller: new InternedStrings(poller),
    };
  }
}

/** The series of each row of a batch, by number into `table` (ascending within a batch: rows are sorted). */
export interface IdentityRows {
  series: Int32Array;
  table: SeriesDictionary;
}

/** One identity column of some rows: row `i` holds string `strings.ids[series[i]]`. */
export class DictionaryIds {
  constructor(readonly series: Int32Array, readonly strings: InternedStrings) {}

  /** The number of rows. */
  get length(): number {
    return this.series.length;
  }

  /** The rows' strings, as hyparquet-writer takes them. */
  toStrings(): string[] {
    const { series, strings: { ids, strings } } = this;
    const out = new Array<string>(series.length);
    for (let i = 0; i < out.length; i++) out[i] = strings[ids[series[i]]];
    return out;
  }
}

/** Column `name` of the rows `identity` names, as string ids. */
export function identityIds(identity: IdentityRows, name: IdentityColumn): DictionaryIds {
  return new DictionaryIds(identity.series, identity.table.columns[name]);
}

/**
 * The writer's data of a batch's identity columns: string ids when the batch carries its
 * {@link IdentityRows}, else its strings.
 */
export function identityData(
  cols: { namespace: string[]; target: string[]; poller: string[]; identity?: IdentityRows },
): Record<IdentityColumn, () => ColumnData> {
  const { identity } = cols;
  return {
    namespace: () => identity ? identityIds(identity, "namespace") : cols.namespace,
    target: () => identity ? identityIds(identity, "target") : cols.target,
    poller: () => identity ? identityIds(identity, "poller") : cols.poller,
  };
}

const UTF8 = new TextEncoder();

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}
