/**
 * Reading the WAL: scanning segments record by record, resynchronising after damage, and replaying
 * batches into the head. A torn tail (the last segment ends inside a record, as after a crash during a
 * write) is truncated; damage in the middle of the log is reported with segment and offset, and every
 * readable record after it is still recovered.
 *
 * @module
 */
import type { SampleBatch } from "../model/batch.ts";
import { CorruptionError } from "../model/errors.ts";
import type { FileSystem } from "../platform/fs.ts";
import { decodeBatchPayload, type SeriesDef } from "./batch_codec.ts";
import { decodeSegmentHeader, findNextRecord, readRecordAt, SEGMENT_HEADER_SIZE, SEGMENT_MAGIC } from "./record.ts";
import { listSegments, type SegmentInfo, segmentPath } from "./segments.ts";

/** One event while scanning a segment. */
export type ScanEvent =
  | { kind: "record"; offset: number; type: number; payload: Uint8Array }
  | { kind: "damage"; offset: number; bytesSkipped: number; reason: string }
  | { kind: "torn"; offset: number; bytes: number; reason: string };

/**
 * Scans the bytes of one segment. `isLast` decides whether unreadable bytes at the end are a torn
 * tail (last segment) or damage (an older segment, which was complete when the writer left it).
 */
export function* scanSegment(bytes: Uint8Array, isLast: boolean): Generator<ScanEvent> {
  let offset = SEGMENT_HEADER_SIZE;
  while (offset < bytes.length) {
    const r = readRecordAt(bytes, offset);
    if (r.kind === "end") return;
    if (r.kind === "ok") {
      yield { kind: "record", offset, type: r.type, payload: r.payload };
      offset = r.next;
      continue;
    }
    const next = findNextRecord(bytes, offset + 1);
    if (next >= 0) {
      yield { kind: "damage", offset, bytesSkipped: next - offset, reason: r.reason };
      offset = next;
    } else if (isLast) {
      yield { kind: "torn", offset, bytes: bytes.length - offset, reason: r.reason };
      return;
    } else {
      yield { kind: "damage", offset, bytesSkipped: bytes.length - offset, reason: `${r.reason} (end of segment)` };
      return;
    }
  }
}

/** What a segment's header allows: reading it, reading it despite damage, or skipping it. */
export type HeaderCheck = { kind: "ok" } | { kind: "salvage" | "skip"; reason: string };

/**
 * Checks the header of segment `segment`. A header naming another WAL version is skipped (its records
 * may mean something else); a damaged one — bad magic, another segment number — costs nothing more:
 * every record carries its own CRC, so the records after it are read as usual ("salvage").
 */
export function headerCheck(bytes: Uint8Array, segment: number): HeaderCheck {
  const header = decodeSegmentHeader(bytes);
  if ("segment" in header) {
    if (header.segment === segment) return { kind: "ok" };
    return { kind: "salvage", reason: `damaged header (says segment ${header.segment}); records read by their CRC` };
  }
  if (bytes.length < SEGMENT_HEADER_SIZE) return { kind: "skip", reason: header.error };
  const magicOk = SEGMENT_MAGIC.every((b, i) => bytes[i] === b);
  if (magicOk) return { kind: "skip", reason: header.error }; // another version: not ours to read
  return { kind: "salvage", reason: `damaged header (${header.error}); records read by their CRC` };
}

/** Damage found while reading. */
export interface WalDamage {
  segment: number;
  path: string;
  offset: number;
  bytesSkipped: number;
  reason: string;
}

/** What a replay found. */
export interface ReplayReport {
  segments: number;
  records: number;
  samples: number;
  /** Samples that referred to a series whose definition was lost to damage. */
  orphanSamples: number;
  damages: WalDamage[];
  tornTail: { segment: number; offset: number; bytes: number } | null;
  /** The highest segment number seen (0 when there is none). */
  lastSegment: number;
  /**
   * Segments that should be there and are not (inclusive ranges): numbers are consecutive from the
   * checkpoint's segment to the last one, so a gap is a deleted or lost segment and its samples.
   */
  missing: { from: number; to: number }[];
  /**
   * The segment a writer continues in after this replay: the last one (from `fromSegment` on) holding
   * records, or the first header-only one when none does, or `fromSegment` when there is none.
   */
  appendSegment: number;
}

/** Callbacks of {@link replayWal}. */
export interface ReplayTarget {
  /** Resolves a series identity to a head series id. */
  resolve(namespace: string, target: string, poller: string): number;
  /** Applies a batch whose `seriesId` holds head ids. */
  apply(batch: SampleBatch): void;
}

/**
 * Replays segments numbered `fromSegment` and above, in order, into `target`. Truncates a torn tail
 * of the last segment when `truncateTornTail` is set. Gaps in the numbering are reported in `missing`,
 * and so is `fromSegment` itself when `fromMustExist` (a checkpoint's segment always exists: the
 * writer creates it durably before the checkpoint is committed).
 */
export async function replayWal(
  fs: FileSystem,
  dir: string,
  fromSegment: number,
  target: ReplayTarget,
  truncateTornTail = true,
  fromMustExist = false,
): Promise<ReplayReport> {
  const all = await listSegments(fs, dir);
  const report: ReplayReport = {
    segments: 0,
    records: 0,
    samples: 0,
    orphanSamples: 0,
    damages: [],
    tornTail: null,
    lastSegment: all.length > 0 ? all[all.length - 1].segment : 0,
    missing: [],
    appendSegment: fromSegment,
  };
  const todo = all.filter((s) => s.segment >= fromSegment);
  let expected = fromMustExist || todo.length === 0 ? fromSegment : todo[0].segment;
  for (const s of todo) {
    if (s.segment > expected) report.missing.push({ from: expected, to: s.segment - 1 });
    expected = s.segment + 1;
  }
  if (fromMustExist && todo.length === 0) report.missing.push({ from: fromSegment, to: fromSegment });
  const last = lastWritten(todo);
  for (let i = 0; i < todo.length; i++) {
    await replaySegment(fs, todo[i], i >= last, target, report, truncateTornTail);
  }
  if (todo.length > 0) report.appendSegment = todo[Math.max(0, Math.min(last, todo.length - 1))].segment;
  return report;
}

/**
 * Index of the last segment written to: the last one, unless header-only segments follow it (the
 * writer's spare, created ahead of use). Unreadable bytes at its end are a torn tail, not damage.
 */
export function lastWritten(segments: readonly SegmentInfo[]): number {
  let i = segments.length - 1;
  while (i > 0 && segments[i].size === SEGMENT_HEADER_SIZE) i--;
  return i;
}

async function replaySegment(
  fs: FileSystem,
  seg: SegmentInfo,
  isLast: boolean,
  target: ReplayTarget,
  report: ReplayReport,
  truncateTornTail: boolean,
): Promise<void> {
  report.segments++;
  const bytes = await fs.readFile(seg.path);
  if (bytes.length === 0) {
    if (!isLast) report.damages.push(damage(seg, 0, 0, "empty segment"));
    return;
  }
  if (isLast && bytes.length < SEGMENT_HEADER_SIZE) {
    report.tornTail = { segment: seg.segment, offset: 0, bytes: bytes.length };
    return;
  }
  const header = headerCheck(bytes, seg.segment);
  if (header.kind === "skip") {
    report.damages.push(damage(seg, 0, bytes.length, header.reason));
    return;
  }
  if (header.kind === "salvage") report.damages.push(damage(seg, 0, 0, header.reason));
  const ids = new Map<number, number>();
  // a segment whose header is damaged is never truncated (nor appended to): its end is reported
  for (const ev of scanSegment(bytes, isLast && header.kind === "ok")) {
    if (ev.kind === "damage") report.damages.push(damage(seg, ev.offset, ev.bytesSkipped, ev.reason));
    else if (ev.kind === "torn") {
      report.tornTail = { segment: seg.segment, offset: ev.offset, bytes: ev.bytes };
      if (truncateTornTail) await truncate(fs, seg.path, ev.offset);
    } else applyRecord(seg, ev.offset, ev.payload, ids, target, report);
  }
}

function applyRecord(
  seg: SegmentInfo,
  offset: number,
  payload: Uint8Array,
  ids: Map<number, number>,
  target: ReplayTarget,
  report: ReplayReport,
): void {
  let decoded;
  try {
    decoded = decodeBatchPayload(payload);
  } catch (err) {
    report.damages.push(damage(seg, offset, payload.length, `undecodable batch: ${(err as Error).message}`));
    return;
  }
  defineAll(decoded.defs, ids, target);
  let b = decoded.batch;
  const kept: number[] = [];
  for (let i = 0; i < b.length; i++) {
    const headId = ids.get(b.seriesId[i]);
    if (headId === undefined) continue;
    b.seriesId[i] = headId;
    kept.push(i);
  }
  report.records++;
  if (kept.length < b.length) {
    // The definitions were lost to earlier damage: recover what can still be attributed.
    report.orphanSamples += b.length - kept.length;
    report.damages.push(damage(seg, offset, 0, `${b.length - kept.length} samples refer to undefined series`));
    b = b.subset(kept);
  }
  report.samples += b.length;
  if (b.length > 0) target.apply(b);
}

function defineAll(defs: SeriesDef[], ids: Map<number, number>, target: ReplayTarget): void {
  for (const d of defs) ids.set(d.id, target.resolve(d.namespace, d.target, d.poller));
}

function damage(seg: SegmentInfo, offset: number, bytesSkipped: number, reason: string): WalDamage {
  return { segment: seg.segment, path: seg.path, offset, bytesSkipped, reason };
}

async function truncate(fs: FileSystem, path: string, length: number): Promise<void> {
  const h = await fs.open(path, "r+");
  try {
    await h.truncate(length);
    await h.datasync();
  } finally {
    await h.close();
  }
}

/** The damages and missing segments of a report as `CorruptionError`s (for logs and status). */
export function damageErrors(report: ReplayReport, dir: string): CorruptionError[] {
  const missing = report.missing.map(({ from, to }) =>
    new CorruptionError(
      segmentPath(dir, from),
      0,
      from === to
        ? `WAL segment ${from} is missing: the acknowledged samples it held are lost`
        : `WAL segments ${from} to ${to} are missing: the acknowledged samples they held are lost`,
    )
  );
  return [
    ...missing,
    ...report.damages.map((d) =>
      new CorruptionError(d.path, d.offset, `${d.reason}; ${d.bytesSkipped} bytes skipped, later records recovered`)
    ),
  ];
}
