/**
 * Columnar batches of tier rows: what the flusher and compactor hand to the Parquet writer and what the
 * reader returns. Rows are sorted by (namespace, target, poller, time).
 *
 * @module
 */
import { allocStatColumns, type StatColumns, STATS, type Stats } from "../model/aggregate_stats.ts";
import type { IdentityRows } from "./identity.ts";

/** Raw samples, columnar. */
export interface RawColumns {
  length: number;
  namespace: string[];
  target: string[];
  poller: string[];
  /** Sample time, Unix ms. */
  ts: Float64Array;
  /** `KIND_CODE` of the sample (0 none, 1 gauge, 2 counter, 3 text). */
  kind: Uint8Array;
  /** Gauge value; NaN when the sample is not a gauge. */
  value: Float64Array;
  /** Exact unsigned 64-bit counter; null when the sample is not a counter. */
  counter: (bigint | null)[];
  /** Text value; null when the sample is not a text. */
  text: (string | null)[];
  /** 1 when the poll succeeded. */
  valid: Uint8Array;
  /** Poll error; null when empty. */
  error: (string | null)[];
  /** Poll duration in ms (0 when unknown). */
  pollMs: Int32Array;
  /** The rows' series as numbers (the flush encoder's rows; see `IdentityColumns.identity`). */
  identity?: IdentityRows;
}

/**
 * Aggregate rows (partial aggregates: a key may appear in several files; readers merge them). The
 * statistics are the columns of `STATS`; those of type `value` (sum, min, max) are NaN when count is 0.
 */
export interface AggColumns extends StatColumns {
  length: number;
  namespace: string[];
  target: string[];
  poller: string[];
  /** Bucket start, Unix ms. */
  bucket: Float64Array;
  /** `VALUE_KIND_CODE` (1 gauge, 2 rate of a counter, 3 text). */
  kind: Uint8Array;
  /** Percentiles derived from the sketch; NaN when unknown (no sketch or no values). */
  p50: Float64Array;
  p90: Float64Array;
  p95: Float64Array;
  p99: Float64Array;
  /** DDSketch protobuf (docs/format/sketch.md); null when percentiles are off or count is 0. */
  sketch: (Uint8Array | null)[];
  /** The rows' series as numbers (the flush encoder's rows; see `IdentityColumns.identity`). */
  identity?: IdentityRows;
}

/**
 * Raw columns for `n` rows, to be filled in: no value, counter, text or error; valid. `unfilled`: for a
 * caller that sets every field of every row (their contents are then unspecified).
 */
export function allocRawColumns(n: number, fill: "filled" | "unfilled" = "filled"): RawColumns {
  const cols: RawColumns = {
    length: n,
    namespace: new Array(n),
    target: new Array(n),
    poller: new Array(n),
    ts: new Float64Array(n),
    kind: new Uint8Array(n),
    value: new Float64Array(n),
    counter: new Array(n),
    text: new Array(n),
    valid: new Uint8Array(n),
    error: new Array(n),
    pollMs: new Int32Array(n),
  };
  if (fill === "filled") {
    cols.value.fill(NaN);
    cols.counter.fill(null);
    cols.text.fill(null);
    cols.valid.fill(1);
    cols.error.fill(null);
  }
  return cols;
}

/** Aggregate columns for `n` rows, zeroed (identity strings and sketches unset). */
export function allocAggColumns(n: number): AggColumns {
  return {
    length: n,
    namespace: new Array(n),
    target: new Array(n),
    poller: new Array(n),
    bucket: new Float64Array(n),
    kind: new Uint8Array(n),
    ...allocStatColumns(n),
    p50: new Float64Array(n),
    p90: new Float64Array(n),
    p95: new Float64Array(n),
    p99: new Float64Array(n),
    sketch: new Array(n),
  };
}

/** Puts an aggregate's statistics into row `i` (statistics of type `value` are NaN when count is 0). */
export function putStats(c: AggColumns, i: number, stats: Stats): void {
  const empty = stats.count === 0;
  for (const s of STATS) c[s.name][i] = empty && s.type === "value" ? NaN : stats[s.name];
}

/** Row `i`'s statistics into `into` (statistics of type `value` left alone when count is 0: they are null). */
export function takeStats(c: AggColumns, i: number, into: Stats): void {
  const empty = c.count[i] === 0;
  for (const s of STATS) if (!(empty && s.type === "value")) into[s.name] = c[s.name][i];
}
