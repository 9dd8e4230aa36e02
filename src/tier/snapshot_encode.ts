/**
 * Writing head snapshots (docs/format/snapshot.md; the layout is described in `src/head/snapshot.ts`,
 * which also reads them): here, below the head, so the flush encoder thread can write a snapshot from
 * the state copied at a flush's cut.
 *
 * @module
 */
import zlib from "node:zlib";
import { type AggregatorState, writeAggregatorState } from "../aggregate/aggregator.ts";
import { FLAG_VALID } from "../model/batch.ts";
import { ByteWriter } from "../model/bytes.ts";

/** First bytes of a snapshot file: "STSN". */
export const SNAPSHOT_MAGIC: readonly number[] = [0x53, 0x54, 0x53, 0x4e];
/** The layout version written. */
export const SNAPSHOT_VERSION = 2;
/** Bytes before the body. */
export const SNAPSHOT_HEADER = 20;

/** Metadata carried by a snapshot. */
export interface SnapshotMeta {
  walSegment: number;
  createdMs: number;
  watermark: number;
  /**
   * Newest timestamp stored for a series the index no longer holds (idle expiry; `SeriesIndex.forgottenNewest`,
   * -Infinity when none): written from version 2 on, so duplicate checks stay right across restarts.
   */
  forgottenNewest?: number;
}

/** The last values of the series, by head id, copied at a cut (see `SeriesIndex.capture`). */
export interface SeriesValues {
  /** -Infinity: no sample applied yet (the series is not visible). */
  lastTs: Float64Array;
  lastKind: Uint8Array;
  lastFlags: Uint8Array;
  lastValue: Float64Array;
  lastBig: Map<number, bigint>;
  lastText: Map<number, string>;
  lastError: Map<number, string>;
}

/** The series with their names (by head id; at least as many names as values). */
export interface SeriesState extends SeriesValues {
  namespace: readonly string[];
  target: readonly string[];
  poller: readonly string[];
}

/** The state a snapshot holds. */
export interface SnapshotCapture {
  meta: SnapshotMeta;
  series: SeriesState;
  agg: AggregatorState;
}

/** Writes a snapshot, yielding every few thousand series or buckets (a caller may let requests in). */
export function* snapshotParts(c: SnapshotCapture): Generator<void, Uint8Array> {
  const { meta, series, agg } = c;
  // sized up front: growing a 25 MB buffer by doubling copies it a dozen times
  const w = new ByteWriter(
    SNAPSHOT_HEADER + 64 + series.lastTs.length * 96 + agg.live * (64 + 8 * agg.slots.inline),
  );
  w.pos = SNAPSHOT_HEADER; // the header goes in front once the body's length and CRC are known (no copy)
  w.varint(meta.walSegment);
  w.f64(meta.createdMs);
  w.f64(meta.watermark);
  w.f64(meta.forgottenNewest ?? -Infinity);
  yield* writeSeries(w, series);
  yield* writeAggregatorState(w, agg);
  const end = w.pos;
  const crc = zlib.crc32(w.buf.subarray(SNAPSHOT_HEADER, end)) >>> 0;
  w.pos = 0;
  for (const b of SNAPSHOT_MAGIC) w.u8(b);
  w.u8(SNAPSHOT_VERSION);
  w.u8(0);
  w.u8(0);
  w.u8(0);
  w.u64(end - SNAPSHOT_HEADER);
  w.u32(crc);
  w.pos = end;
  return w.bytes();
}

function* writeSeries(w: ByteWriter, s: SeriesState): Generator<void, void> {
  const ids: number[] = [];
  for (let id = 0; id < s.lastTs.length; id++) if (s.lastTs[id] !== -Infinity) ids.push(id);
  w.varint(ids.length);
  for (let k = 0; k < ids.length; k++) {
    const id = ids[k];
    w.varint(id);
    w.string(s.namespace[id]);
    w.string(s.target[id]);
    w.string(s.poller[id]);
    w.f64(s.lastTs[id]);
    w.u8(s.lastKind[id]);
    w.u8((s.lastFlags[id] & FLAG_VALID) !== 0 ? 1 : 0);
    w.f64(s.lastValue[id]);
    const lastBig = s.lastBig.get(id);
    const big = lastBig !== undefined && lastBig > BigInt(Number.MAX_SAFE_INTEGER) ? lastBig : undefined;
    const text = s.lastText.get(id), error = s.lastError.get(id);
    w.u8((big !== undefined ? 1 : 0) | (text !== undefined ? 2 : 0) | (error !== undefined ? 4 : 0));
    if (big !== undefined) w.bigVarint(big);
    if (text !== undefined) w.string(text);
    if (error !== undefined) w.string(error);
    if ((k & 4095) === 4095) yield;
  }
}
