import test from "node:test";
import assert from "node:assert/strict";
import { Head } from "../../../src/head/head.ts";
import { captureSnapshot, encodeCapturedSnapshot, encodeSnapshot, loadSnapshot } from "../../../src/head/snapshot.ts";
import { SampleBatch } from "../../../src/model/batch.ts";
import { counter, gauge, type Sample, text } from "../../../src/model/sample.ts";

const META = { walSegment: 3, createdMs: 1_795_392_600_000, watermark: 1_795_392_300_000 };

/** Mixed samples: counters (one above 2^62), gauges with more values per bucket than kept inline, texts, errors. */
function batch(round: number): SampleBatch {
  const samples: Sample[] = [];
  for (let k = 0; k < 2_000; k++) {
    const n = round * 2_000 + k, series = n % 500, t = 1_795_392_000_000 + round * 15_000 + k;
    const s = series % 4 === 0
      ? counter("ns", `t${series}`, "octets", t, series === 8 ? 2n ** 62n + BigInt(n) : BigInt(n * 1_000))
      : series % 4 === 1
      ? gauge("ns", `t${series}`, "cpu", t, Math.sin(n))
      : series % 4 === 2
      ? text("ns", `t${series}`, "descr", t, `text ${n}`)
      : { ...gauge("ns", `t${series}`, "mem", t, n), valid: n % 3 !== 0, error: n % 3 === 0 ? "timeout" : "" };
    samples.push(s);
  }
  return SampleBatch.of(samples);
}

function headAfter(rounds: number, accuracy: number | null = 0.01): Head {
  const head = new Head({ accuracy, hotWindowMs: 3_600_000, hotMemoryBytes: 1 << 28 });
  for (let r = 0; r < rounds; r++) {
    const b = batch(r);
    head.series.resolveBatch(b);
    head.apply(b);
  }
  return head;
}

test("a captured snapshot encodes the head as it was at the capture, whatever happens after", async () => {
  for (const accuracy of [0.01, null]) {
    const head = headAfter(10, accuracy);
    const capture = captureSnapshot(head, META);
    const expected = encodeSnapshot(headAfter(10, accuracy), META);
    const apply = (r: number) => {
      const b = batch(r);
      head.series.resolveBatch(b);
      head.apply(b);
    };
    for (let r = 10; r < 20; r++) apply(r); // the same open buckets and series change
    head.cut(META.watermark + 600_000); // closes them: their slots are freed...
    for (let r = 20; r < 30; r++) apply(r); // ...and reused by the next buckets
    const bytes = await encodeCapturedSnapshot(capture);
    assert.equal(Buffer.compare(bytes, expected), 0, `accuracy ${accuracy}`);
  }
});

test("a snapshot loads back into a head that snapshots to the same bytes", () => {
  const bytes = encodeSnapshot(headAfter(25), META);
  const fresh = new Head({ accuracy: 0.01, hotWindowMs: 3_600_000, hotMemoryBytes: 1 << 28 });
  assert.deepEqual(loadSnapshot(bytes, fresh, "snap"), META);
  assert.equal(Buffer.compare(encodeSnapshot(fresh, META), bytes), 0);
});
