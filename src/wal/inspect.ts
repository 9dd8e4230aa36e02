/**
 * What `wal inspect` and `wal verify` report: every segment with its records, samples, series and
 * time range, and every damaged place — read only, nothing is truncated.
 *
 * @module
 */
import type { FileSystem } from "../platform/fs.ts";
import { decodeBatchPayload } from "./batch_codec.ts";
import { headerCheck, lastWritten, scanSegment, type WalDamage } from "./reader.ts";
import { listSegments, segmentPath } from "./segments.ts";

/** One segment's summary. */
export interface SegmentSummary {
  segment: number;
  path: string;
  bytes: number;
  records: number;
  samples: number;
  seriesDefined: number;
  firstTs: number | null;
  lastTs: number | null;
  status: "ok" | "damaged" | "torn tail" | "empty";
}

/** The whole report. */
export interface WalReport {
  segments: SegmentSummary[];
  damages: WalDamage[];
  tornTail: { segment: number; offset: number; bytes: number } | null;
  totalRecords: number;
  totalSamples: number;
  records?: { segment: number; offset: number; samples: number; bytes: number }[];
}

/**
 * Reads every segment of `dir`.
 *
 * @example
 * ```ts
 * import { MemFs } from "../platform/mem_fs.ts";
 * import { inspectWal } from "./inspect.ts";
 * const r = await inspectWal(new MemFs(), "/none");
 * if (r.segments.length !== 0) throw new Error();
 * ```
 */
export async function inspectWal(
  fs: FileSystem,
  dir: string,
  { records = false }: { records?: boolean } = {},
): Promise<WalReport> {
  const all = await listSegments(fs, dir);
  const report: WalReport = { segments: [], damages: [], tornTail: null, totalRecords: 0, totalSamples: 0 };
  if (records) report.records = [];
  for (let k = 0; k < all.length; k++) {
    const seg = all[k];
    const gapFrom = k > 0 ? all[k - 1].segment + 1 : seg.segment;
    if (seg.segment > gapFrom) {
      // numbers are consecutive: a gap is a lost segment
      const which = seg.segment - 1 === gapFrom
        ? `segment ${gapFrom} is`
        : `segments ${gapFrom} to ${seg.segment - 1} are`;
      report.damages.push({
        segment: gapFrom,
        path: segmentPath(dir, gapFrom),
        offset: 0,
        bytesSkipped: 0,
        reason: `${which} missing`,
      });
    }
    const bytes = await fs.readFile(seg.path);
    const s: SegmentSummary = {
      segment: seg.segment,
      path: seg.path,
      bytes: bytes.length,
      records: 0,
      samples: 0,
      seriesDefined: 0,
      firstTs: null,
      lastTs: null,
      status: "ok",
    };
    report.segments.push(s);
    if (bytes.length === 0) {
      s.status = "empty";
      continue;
    }
    const header = headerCheck(bytes, seg.segment);
    if (header.kind !== "ok") {
      s.status = "damaged";
      report.damages.push({
        segment: seg.segment,
        path: seg.path,
        offset: 0,
        bytesSkipped: header.kind === "skip" ? bytes.length : 0,
        reason: header.reason,
      });
      if (header.kind === "skip") continue;
    }
    for (const ev of scanSegment(bytes, k >= lastWritten(all) && header.kind === "ok")) {
      if (ev.kind === "damage") {
        s.status = "damaged";
        report.damages.push({
          segment: seg.segment,
          path: seg.path,
          offset: ev.offset,
          bytesSkipped: ev.bytesSkipped,
          reason: ev.reason,
        });
      } else if (ev.kind === "torn") {
        s.status = "torn tail";
        report.tornTail = { segment: seg.segment, offset: ev.offset, bytes: ev.bytes };
      } else summarize(s, report, ev.offset, ev.payload);
    }
  }
  return report;
}

function summarize(s: SegmentSummary, report: WalReport, offset: number, payload: Uint8Array): void {
  let decoded;
  try {
    decoded = decodeBatchPayload(payload);
  } catch (err) {
    s.status = "damaged";
    report.damages.push({
      segment: s.segment,
      path: s.path,
      offset,
      bytesSkipped: payload.length,
      reason: (err as Error).message,
    });
    return;
  }
  const b = decoded.batch;
  s.records++;
  s.samples += b.length;
  s.seriesDefined += decoded.defs.length;
  report.totalRecords++;
  report.totalSamples += b.length;
  for (let i = 0; i < b.length; i++) {
    if (s.firstTs === null || b.ts[i] < s.firstTs) s.firstTs = b.ts[i];
    if (s.lastTs === null || b.ts[i] > s.lastTs) s.lastTs = b.ts[i];
  }
  report.records?.push({ segment: s.segment, offset, samples: b.length, bytes: payload.length });
}
