/**
 * Head snapshots (docs/format/snapshot.md): the state of the head at a flush's cut that is not in
 * Parquet — the series with their last values, the counter states and the open 5-minute buckets.
 * Recovery loads the checkpoint's snapshot and replays only the WAL segments written after the cut.
 *
 * ```
 * 0   4  magic "STSN"
 * 4   1  version (2; 1 is read too)
 * 5   3  reserved, zero
 * 8   8  body length, u64 LE
 * 16  4  CRC-32 of the body, u32 LE
 * 20  …  body:
 *        varint  WAL segment of the cut (replay starts there)
 *        f64     wall time of the cut (ms)
 *        f64     5-minute close watermark (ms)
 *        f64     newest timestamp of a forgotten series (-Infinity: none)   — version 2 on
 *        varint  series count S, then S × (varint id, string namespace, string target, string poller,
 *                f64 last ts, u8 kind, u8 flags, f64 value, u8 extras bits (1 big, 2 text, 4 error),
 *                [varint big] [string text] [string error])    — only series with a last value
 *        aggregator state (counter states, open buckets; see the format doc)
 * ```
 *
 * @module
 */
import zlib from "node:zlib";
import { CorruptionError } from "../model/errors.ts";
import { ByteReader } from "../model/bytes.ts";
import { setImmediate } from "node:timers";
import {
  SNAPSHOT_HEADER as HEADER,
  SNAPSHOT_MAGIC as MAGIC,
  SNAPSHOT_VERSION as VERSION,
  type SnapshotCapture,
  type SnapshotMeta,
  snapshotParts,
} from "../tier/snapshot_encode.ts";
import type { Head } from "./head.ts";

export type { SnapshotCapture, SnapshotMeta };

/**
 * Copies what a snapshot of `head` holds, now (synchronously: it must reflect exactly the cut). The
 * names are the index's own (append-only) arrays, not copies: the capture reads ids below its count.
 */
export function captureSnapshot(head: Head, meta: SnapshotMeta): SnapshotCapture {
  const m = { ...meta, forgottenNewest: head.series.forgottenNewest };
  return { meta: m, series: head.series.capture(), agg: head.agg.captureState() };
}

/** Encodes the head's state now (synchronously). */
export function encodeSnapshot(head: Head, meta: SnapshotMeta): Uint8Array {
  const parts = snapshotParts(captureSnapshot(head, meta));
  for (;;) {
    const r = parts.next();
    if (r.done) return r.value;
  }
}

/**
 * Encodes a captured snapshot, letting the event loop run every few thousand series or buckets (a
 * snapshot of 100,000 series takes a few hundred milliseconds of CPU; requests must not wait for it).
 */
export async function encodeCapturedSnapshot(capture: SnapshotCapture): Promise<Uint8Array> {
  const parts = snapshotParts(capture);
  for (;;) {
    const r = parts.next();
    if (r.done) return r.value;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Loads a snapshot into an empty head; returns its metadata. Throws `CorruptionError` when damaged. */
export function loadSnapshot(bytes: Uint8Array, head: Head, path: string): SnapshotMeta {
  const body = checkedBody(bytes, path);
  try {
    const r = new ByteReader(body);
    const meta: SnapshotMeta = { walSegment: r.varint(), createdMs: r.f64(), watermark: r.f64() };
    if (bytes[4] >= 2) head.series.forgottenNewest = Math.max(head.series.forgottenNewest, r.f64());
    const ids = decodeSeries(r, head);
    head.agg.decodeState(r, (old) => {
      const id = ids.get(old);
      if (id === undefined) throw new RangeError(`open state refers to unknown series ${old}`);
      return id;
    });
    if (r.remaining !== 0) throw new RangeError(`${r.remaining} trailing bytes`);
    return meta;
  } catch (err) {
    if (err instanceof CorruptionError) throw err;
    throw new CorruptionError(path, HEADER, `Cannot decode snapshot: ${(err as Error).message}`, { cause: err });
  }
}

function checkedBody(bytes: Uint8Array, path: string): Uint8Array {
  if (bytes.length < HEADER || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new CorruptionError(path, 0, "not a stalker snapshot (bad magic)");
  }
  if (bytes[4] < 1 || bytes[4] > VERSION) {
    throw new CorruptionError(path, 4, `unsupported snapshot version ${bytes[4]}`);
  }
  const r = new ByteReader(bytes, 8);
  const length = r.u64();
  const crc = r.u32();
  if (HEADER + length !== bytes.length) {
    throw new CorruptionError(path, 8, `length ${length} does not match the file (${bytes.length - HEADER} bytes)`);
  }
  const body = bytes.subarray(HEADER);
  if ((zlib.crc32(body) >>> 0) !== crc) throw new CorruptionError(path, 16, "CRC mismatch");
  return body;
}

function decodeSeries(r: ByteReader, head: Head): Map<number, number> {
  const ids = new Map<number, number>();
  const count = r.varint();
  for (let k = 0; k < count; k++) {
    const old = r.varint();
    const id = head.series.resolve(r.string(), r.string(), r.string());
    ids.set(old, id);
    const ts = r.f64();
    const kind = r.u8();
    const valid = r.u8() === 1;
    const value = r.f64();
    const extras = r.u8();
    const big = extras & 1 ? r.varint64() : undefined;
    const text = extras & 2 ? r.string() : undefined;
    const error = extras & 4 ? r.string() : undefined;
    head.series.restoreLast(id, {
      ts,
      kind,
      valid,
      value,
      big: typeof big === "bigint" ? big : undefined,
      text,
      error,
    });
  }
  return ids;
}
