/**
 * Building a flush's job for the encoder thread from the head at its cut (`src/tier/flush_job.ts`):
 * references to the raw log's chunk ranges (shared memory, no copy), the closed buckets and the
 * snapshot's copies. Series stay head ids; the encoder names and numbers them.
 *
 * @module
 */
import type { ClosedSlice, FlushBatch } from "../aggregate/flush_batch.ts";
import { copyReusing } from "../model/typed.ts";
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
  const closed = head.closedSpare = sharedCopy(cut.closed, head.closedSpare);
  return { raw, closed, accuracy: head.opts.accuracy, watermarks, keepFrom, snapshot };
}

/**
 * A copy of the closed buckets for the encoder, in shared memory reused from one flush to the next
 * (`spare`: the previous flush's, done with by now): the cut's own stay with the head, where queries
 * read them and a failed flush puts them back. A copy into memory already touched is a memcpy; cloning
 * them into a worker's message costs far more on Bun (about 40 ms per MB), fresh memory a page fault
 * per 4 KiB.
 */
export function sharedCopy(c: ClosedSlice, spare: ClosedSlice | null): ClosedSlice {
  const out: Record<string, unknown> = { ...c, sketches: c.sketches.map(([i, b]) => [i, b.slice()]) };
  const old = spare as unknown as Record<string, Typed | undefined> | null;
  for (const [key, column] of Object.entries(c)) {
    if (!ArrayBuffer.isView(column)) continue;
    const a = column as Typed;
    out[key] = copyReusing(a, a.length, old?.[key] ?? null);
  }
  return out as unknown as ClosedSlice;
}

type Typed = Float64Array | Int32Array | Uint8Array;
