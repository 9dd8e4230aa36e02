/**
 * WAL segment header and record framing (docs/format/wal.md).
 *
 * ```
 * segment header (16 bytes)
 *   0  4  magic "STWL" (0x53 0x54 0x57 0x4C)
 *   4  1  format version (1)
 *   5  3  reserved, zero
 *   8  8  segment number, u64 LE
 * record
 *   0  4  payload length L, u32 LE
 *   4  1  record type (1 = BATCH)
 *   5  4  CRC-32 (IEEE) of bytes 0..5 followed by the payload, u32 LE
 *   9  L  payload
 * ```
 *
 * @module
 */
import zlib from "node:zlib";
import { ByteReader, ByteWriter } from "../model/bytes.ts";

/** Segment magic bytes, "STWL". */
export const SEGMENT_MAGIC = new Uint8Array([0x53, 0x54, 0x57, 0x4c]);
/** Current segment format version. */
export const WAL_VERSION = 1;
/** Size of the segment header. */
export const SEGMENT_HEADER_SIZE = 16;
/** Size of a record header. */
export const RECORD_HEADER_SIZE = 9;
/** Largest payload accepted when reading (guards against a damaged length field). */
export const MAX_RECORD_PAYLOAD = 256 * 1024 * 1024;

/** Record types. On-disk values are explicit and never reused. */
export const RecordType = {
  /** A batch of samples with the series it defines first (docs/format/wal.md). */
  BATCH: 1,
} as const;

/** Encodes a segment header. */
export function encodeSegmentHeader(segment: number): Uint8Array {
  const w = new ByteWriter(SEGMENT_HEADER_SIZE);
  w.raw(SEGMENT_MAGIC);
  w.u8(WAL_VERSION);
  w.u8(0);
  w.u8(0);
  w.u8(0);
  w.u64(segment);
  return w.bytes().slice();
}

/** Decodes a segment header; returns the segment number or an error description. */
export function decodeSegmentHeader(bytes: Uint8Array): { segment: number } | { error: string } {
  if (bytes.length < SEGMENT_HEADER_SIZE) return { error: `header too short (${bytes.length} bytes)` };
  for (let i = 0; i < 4; i++) {
    if (bytes[i] !== SEGMENT_MAGIC[i]) return { error: "bad magic (not a stalker WAL segment)" };
  }
  if (bytes[4] !== WAL_VERSION) return { error: `unsupported WAL version ${bytes[4]}` };
  return { segment: new ByteReader(bytes, 8).u64() };
}

/**
 * Frames a record around `payload` into `out` (appending).
 *
 * @example
 * ```ts
 * import { ByteWriter } from "../model/bytes.ts";
 * import { frameRecord, readRecordAt, RecordType } from "./record.ts";
 * const out = new ByteWriter();
 * frameRecord(out, RecordType.BATCH, new Uint8Array([1, 2, 3]));
 * const r = readRecordAt(out.bytes(), 0);
 * if (r.kind !== "ok" || r.payload.length !== 3) throw new Error();
 * ```
 */
export function frameRecord(out: ByteWriter, type: number, payload: Uint8Array): void {
  out.ensure(RECORD_HEADER_SIZE + payload.length);
  const start = out.pos;
  out.u32(payload.length);
  out.u8(type);
  out.pos += 4;
  out.raw(payload);
  out.view.setUint32(start + 5, recordCrc(out.buf, start, payload), true);
}

/** Starts a record in `out` whose payload is written directly after; finish with {@link endRecord}. */
export function beginRecord(out: ByteWriter, type: number): number {
  const start = out.pos;
  out.ensure(RECORD_HEADER_SIZE);
  out.pos += 4;
  out.u8(type);
  out.pos += 4;
  return start;
}

/** Completes a record begun with {@link beginRecord}: writes its length and CRC. */
export function endRecord(out: ByteWriter, start: number): void {
  const payloadLength = out.pos - start - RECORD_HEADER_SIZE;
  out.view.setUint32(start, payloadLength, true);
  const payload = out.buf.subarray(start + RECORD_HEADER_SIZE, out.pos);
  out.view.setUint32(start + 5, recordCrc(out.buf, start, payload), true);
}

function recordCrc(buf: Uint8Array, start: number, payload: Uint8Array): number {
  return zlib.crc32(payload, zlib.crc32(buf.subarray(start, start + 5))) >>> 0;
}

/** The outcome of reading one record. */
export type RecordRead =
  | { kind: "ok"; type: number; payload: Uint8Array; next: number }
  | { kind: "end" }
  | { kind: "torn"; reason: string }
  | { kind: "bad"; reason: string };

/**
 * Reads the record at `offset` of `bytes`: `end` exactly at the end, `torn` when the data stops inside
 * a record, `bad` when the header or CRC is wrong.
 */
export function readRecordAt(bytes: Uint8Array, offset: number): RecordRead {
  if (offset === bytes.length) return { kind: "end" };
  if (bytes.length - offset < RECORD_HEADER_SIZE) return { kind: "torn", reason: "incomplete record header" };
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, RECORD_HEADER_SIZE);
  const length = view.getUint32(0, true);
  const type = view.getUint8(4);
  if (type !== RecordType.BATCH) return { kind: "bad", reason: `unknown record type ${type}` };
  if (length > MAX_RECORD_PAYLOAD) return { kind: "bad", reason: `implausible record length ${length}` };
  const next = offset + RECORD_HEADER_SIZE + length;
  if (next > bytes.length) return { kind: "torn", reason: `record of ${length} bytes cut off` };
  const payload = bytes.subarray(offset + RECORD_HEADER_SIZE, next);
  if (recordCrc(bytes, offset, payload) !== view.getUint32(5, true)) return { kind: "bad", reason: "CRC mismatch" };
  return { kind: "ok", type, payload, next };
}

/** The offset of the next valid record at or after `from`, or -1. Used to resynchronise after damage. */
export function findNextRecord(bytes: Uint8Array, from: number): number {
  for (let p = from; p + RECORD_HEADER_SIZE <= bytes.length; p++) {
    if (bytes[p + 4] !== RecordType.BATCH) continue;
    const r = readRecordAt(bytes, p);
    if (r.kind === "ok") return p;
  }
  return -1;
}
