/**
 * Building a flush's job for the encoder thread from the head at its cut (`src/tier/flush_job.ts`):
 * references to the raw log's chunk ranges (shared memory, no copy), the closed buckets and the
 * snapshot's copies. Series stay head ids; the encoder names and numbers them.
 *
 * @module
 */
import type { FlushBatch } from "../aggregate/flush_batch.ts";
import type { FlushJob, RawPart } from "../tier/flush_job.ts";
import type { Head, HeadCut } from "./head.ts";
import type { SnapshotCapture } from "./snapshot.ts";

/** The job of a cut, its names left to the runner (it knows which names the encoder has). */
export function flushJobOf(
  head: Head,
  cut: HeadCut,
  capture: SnapshotCapture | null,
  watermarks: FlushBatch["watermarks"],
  keepFrom?: FlushBatch["keepFrom"],
): Omit<FlushJob, "names"> {
  const raw: RawPart[] = [];
  for (const { chunk, lo, hi } of head.raw.ranges(cut.rawFrom, cut.rawTo)) {
    const side = <V>(m: Map<number, V> | null, f: (v: V) => string): [number, string][] => {
      const out: [number, string][] = [];
      for (const [i, v] of m ?? []) if (i >= lo && i < hi) out.push([i, f(v)]);
      return out;
    };
    raw.push({
      lo,
      hi,
      series: chunk.series,
      ts: chunk.ts,
      value: chunk.value,
      kind: chunk.kind,
      flags: chunk.flags,
      pollMs: chunk.pollMs,
      big: side(chunk.big, (v) => v.toString()),
      text: side(chunk.text, (v) => v),
      error: side(chunk.error, (v) => v),
    });
  }
  let snapshot: FlushJob["snapshot"] = null;
  if (capture) {
    const { lastTs, lastKind, lastFlags, lastValue, lastBig, lastText, lastError } = capture.series;
    snapshot = {
      meta: capture.meta,
      series: { lastTs, lastKind, lastFlags, lastValue, lastBig, lastText, lastError },
      agg: capture.agg,
    };
  }
  // the cut's closed buckets are sealed in the aggregator's shared memory (`Aggregator.seal`): the
  // encoder reads them there; only the sketches, which move to the encoder thread, are the job's own copies
  const closed = { ...cut.closed, sketches: cut.closed.sketches.map(([i, b]): [number, Uint8Array] => [i, b.slice()]) };
  return { raw, closed, accuracy: head.opts.accuracy, watermarks, keepFrom, snapshot };
}
