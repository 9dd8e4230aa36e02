/**
 * The flush job (`src/tier/flush_job.ts`) on a real encoder thread: raw rows read from the log's
 * shared memory, series names sent once and again to a restarted worker, the snapshot written there
 * byte for byte as the main thread writes it.
 */
import test from "node:test";
import assert from "node:assert/strict";
import { flushJobOf } from "../../../src/head/batch_builder.ts";
import { Head } from "../../../src/head/head.ts";
import { captureSnapshot, encodeSnapshot } from "../../../src/head/snapshot.ts";
import { SampleBatch } from "../../../src/model/batch.ts";
import { counter, gauge, text } from "../../../src/model/sample.ts";
import { MemFs } from "../../../src/platform/mem_fs.ts";
import { nodeFs } from "../../../src/platform/node_fs.ts";
import { type FlushJob, namesDelta, NamesOutOfStep, NameTable } from "../../../src/tier/flush_job.ts";
import { readAggFile, readRawFile } from "../../../src/parquet/reader.ts";
import { BinSketch, summarizeValues } from "../../../src/model/bin_sketch.ts";
import { QUANTILES } from "../../../src/model/aggregate.ts";
import { FLUSH_ZSTD_LEVEL, flushCompression } from "../../../src/tier/flush_encode.ts";
import { collectWhenGrown, newTierJobContext, runTierJob } from "../../../src/tier/tier_job.ts";
import { encode as encodeFile } from "../../../src/tier/encode_file.ts";
import type { EncodedFile } from "../../../src/aggregate/flush_batch.ts";
import { type AggColumns, type RawColumns, SeriesDictionary } from "../../../src/parquet/mod.ts";
import { writeTierFile } from "../../../src/parquet/writer.ts";
import { TierRunner } from "../../../src/tier/tier_runner.ts";

const T0 = Date.UTC(2026, 10, 25, 10);
const WM = { hourly: 0, daily: 0, weekly: 0 };
const OPTS = { compression: { algorithm: "zstd" as const, level: 3 } };

function round(head: Head, r: number, targets: string[]): void {
  const b = SampleBatch.of(targets.flatMap((t, k) => [
    gauge("ns", t, "cpu", T0 + r * 60_000, r + k),
    counter("ns", t, "octets", T0 + r * 60_000, BigInt(r * 1000 + k)),
    text("ns", t, "descr", T0 + r * 60_000, `d${r}`),
  ]));
  head.series.resolveBatch(b);
  head.apply(b);
}

/** The identity of every row of the raw files, in file order. */
async function identities(files: { tier: string; bytes: Uint8Array }[], tier: string): Promise<string[]> {
  const out: string[] = [];
  const fs = new MemFs();
  for (const f of files.filter((f) => f.tier === tier)) {
    await fs.writeFile("/f.parquet", f.bytes);
    const c = await readRawFile(fs, "/f.parquet");
    for (let i = 0; i < c.length; i++) out.push(`${c.namespace[i]}/${c.target[i]}/${c.poller[i]}`);
  }
  return out;
}

test("names go to the encoder once, again after it restarts, and the files and snapshot are right", async () => {
  const runner = new TierRunner("worker", nodeFs, "flush encoder");
  const head = new Head({ accuracy: 0.01, hotWindowMs: 3_600_000, hotMemoryBytes: 1 << 28 });
  const sent: number[] = [];
  const names = (from: number) => {
    const d = head.series.namesSince(from);
    sent.push(d.lengths.length / 3);
    return d;
  };
  try {
    for (let r = 0; r < 3; r++) round(head, r, ["b", "a", "c"]);
    const meta = { walSegment: 2, createdMs: T0, watermark: T0 };
    const cut1 = head.cut(-Infinity);
    const capture = captureSnapshot(head, meta);
    const expected = encodeSnapshot(head, meta);
    const first = await runner.encode(flushJobOf(head, cut1, capture, WM), names, OPTS);
    assert.equal(Buffer.compare(first.snapshot!, expected), 0, "the worker writes the main thread's snapshot");
    assert.deepEqual(
      (await identities(first.files, "raw")).slice(0, 3),
      ["ns/a/cpu", "ns/a/cpu", "ns/a/cpu"],
      "rows in identity order, named from the worker's table",
    );
    assert.equal((await identities(first.files, "raw")).length, 27);
    head.flushed(cut1.rawTo, T0);

    for (let r = 3; r < 5; r++) round(head, r, ["a", "c"]); // known series only
    const cut2 = head.cut(-Infinity);
    const second = await runner.encode(flushJobOf(head, cut2, null, WM), names, OPTS);
    assert.equal((await identities(second.files, "raw")).length, 12);
    head.flushed(cut2.rawTo, T0);

    await runner.close(); // a new worker starts with an empty table
    round(head, 5, ["c"]);
    const cut3 = head.cut(-Infinity);
    const third = await runner.encode(flushJobOf(head, cut3, null, WM), names, OPTS);
    assert.deepEqual(await identities(third.files, "raw"), ["ns/c/cpu", "ns/c/descr", "ns/c/octets"]);
    assert.deepEqual(sent, [9, 0, 9], "all names, then none, then all again for the new worker");
  } finally {
    await runner.close();
  }
});

test("the name table sorts by identity, takes overlapping deltas, and refuses a gap", () => {
  const t = new NameTable();
  t.apply(namesDelta(["n", "n", "m"], ["b", "a", "z"], ["p", "p", "p"], 0));
  assert.deepEqual([...t.sortedIds()], [2, 1, 0]);
  t.apply(namesDelta(["n", "n", "m", "a"], ["b", "a", "z", "a"], ["p", "p", "p", "p"], 1)); // ids 1..3 again
  assert.deepEqual([...t.sortedIds()], [3, 2, 1, 0]);
  t.apply({ ...namesDelta([], [], [], 4), forget: Int32Array.of(0) }); // idle expiry: the name leaves the table
  assert.deepEqual([t.namespace[0], t.target[0], t.poller[0]], ["", "", ""]);
  assert.throws(
    () => t.apply(namesDelta(["x", "y", "z", "w", "v", "u"], ["", "", "", "", "", ""], ["", "", "", "", "", ""], 5)),
    NamesOutOfStep,
  );
});

test("the encoder's hook runs after every row-group batch of a flush (the worker collects garbage there)", async () => {
  const head = new Head({ accuracy: 0.01, hotWindowMs: 3_600_000, hotMemoryBytes: 1 << 28 });
  const b = SampleBatch.of(Array.from({ length: 70_000 }, (_, i) => gauge("ns", `t${i % 7_000}`, "cpu", T0 + i, i)));
  head.series.resolveBatch(b);
  head.apply(b);
  const ctx = newTierJobContext();
  let calls = 0;
  ctx.afterBatch = () => calls++;
  const job = { ...flushJobOf(head, head.cut(T0 + 3_600_000), null, WM), names: head.series.namesSince(0) };
  await runTierJob(nodeFs, { type: "encode", job, options: OPTS }, ctx);
  assert.equal(calls, 3, "two raw row groups (65,536 rows each at most) and one of 5-minute buckets");
});

test("a flush's 5-minute rows carry each bucket's sketch and percentiles; its files are zstd level 1", async () => {
  const head = new Head({ accuracy: 0.01, hotWindowMs: 3_600_000, hotMemoryBytes: 1 << 28 });
  const samples = [];
  for (let i = 0; i < 10; i++) samples.push(gauge("ns", "a", "cpu", T0 + i * 60_000, i * 1.5 - 3)); // values inline
  for (let i = 0; i < 600; i++) samples.push(gauge("ns", "b", "cpu", T0 + i * 1_000, (i * 37) % 101)); // a sketch
  samples.push(text("ns", "c", "descr", T0, "up")); // a bucket without percentiles
  const b = SampleBatch.of(samples);
  head.series.resolveBatch(b);
  head.apply(b);
  const job = { ...flushJobOf(head, head.cut(T0 + 3_600_000), null, WM), names: head.series.namesSince(0) };
  const encode = async (algorithm: "zstd" | "gzip", level: number) => {
    const options = { compression: { algorithm, level } };
    return ((await runTierJob(nodeFs, { type: "encode", job, options }, newTierJobContext())).result as {
      files: EncodedFile[];
    }).files;
  };
  const [three, one] = [await encode("zstd", 3), await encode("zstd", 1)];
  assert.deepEqual(three.map((f) => f.tier), ["raw", "5min"]);
  three.forEach((f, k) => assert.equal(Buffer.compare(f.bytes, one[k].bytes), 0, `${f.tier}: written at level 1`));
  const gzip = await encode("gzip", 6);
  assert.ok(gzip.every((f, k) => Buffer.compare(f.bytes, one[k].bytes) !== 0), "other algorithms keep their own");

  const fs = new MemFs();
  await fs.writeFile("/raw.parquet", three[0].bytes);
  await fs.writeFile("/5min.parquet", three[1].bytes);
  const rows = await readAggFile(fs, "/5min.parquet");
  // the flush's rows name their series by number (identity.ts); the same rows as strings give the same bytes
  const level1 = { compression: { algorithm: "zstd" as const, level: 1 } };
  const raw = await readRawFile(fs, "/raw.parquet");
  assert.equal(raw.identity, undefined);
  for (const [k, tier, cols] of [[0, "raw", raw], [1, "5min", rows]] as const) {
    const again = await encodeFile(tier, three[k].partition, [cols as RawColumns & AggColumns], level1);
    assert.equal(Buffer.compare(again.bytes, three[k].bytes), 0, `${tier}: the same file from strings`);
  }
  assert.deepEqual([...rows.target], ["a", "a", "b", "b", "c"]);
  const q = new Float64Array(4);
  for (const [row, values] of [[0, [-3, -1.5, 0, 1.5, 3]], [1, [4.5, 6, 7.5, 9, 10.5]]] as const) {
    const expected = summarizeValues(values, 0, values.length, 0.01, QUANTILES, q);
    assert.deepEqual(rows.sketch[row], expected, `row ${row}: the sketch of the bucket's values`);
    assert.deepEqual([rows.p50[row], rows.p90[row], rows.p95[row], rows.p99[row]], [...q]);
  }
  for (const row of [2, 3]) {
    const s = BinSketch.decode(rows.sketch[row]!, 0.01);
    assert.equal(s.count, 300, `row ${row}: the bucket's whole sketch`);
    assert.ok(Math.abs(rows.p50[row] - 50) <= 2, `row ${row}: median ${rows.p50[row]}`);
  }
  assert.equal(rows.sketch[4], null, "a text bucket has no sketch");
  assert.ok(Number.isNaN(rows.p50[4]));
});

test("flushCompression caps zstd at the flush level and leaves other algorithms alone", () => {
  assert.deepEqual(flushCompression({ algorithm: "zstd", level: 19 }), { algorithm: "zstd", level: FLUSH_ZSTD_LEVEL });
  assert.deepEqual(flushCompression({ algorithm: "gzip", level: 9 }), { algorithm: "gzip", level: 9 });
  assert.deepEqual(flushCompression({ algorithm: "none", level: 3 }), { algorithm: "none", level: 3 });
});

test("the encoder thread collects a flush's garbage once its heap grew by the set amount, not after every batch", () => {
  let heap = 100, collections = 0;
  const hook = collectWhenGrown(30, () => heap, () => {
    collections++;
    heap = 105;
  });
  for (const h of [110, 120, 129]) {
    heap = h;
    hook.afterBatch();
  }
  assert.equal(collections, 0, "less than 30 above the start");
  heap = 130;
  hook.afterBatch();
  assert.equal(collections, 1);
  heap = 134; // 29 above what the collection left
  hook.afterBatch();
  assert.equal(collections, 1);
  heap = 200;
  hook.reset(); // a collection made elsewhere
  heap = 229;
  hook.afterBatch();
  assert.equal(collections, 1);
});

test("rows numbered by series are checked for order by their numbers, and refused out of order by name", async () => {
  const table = new SeriesDictionary(["ns", "ns"], ["a", "b"], ["cpu", "cpu"]);
  const rows = (series: number[], ts: number[]): RawColumns => ({
    length: series.length,
    namespace: series.map(() => "ns"),
    target: series.map((s) => ["a", "b"][s]),
    poller: series.map(() => "cpu"),
    ts: Float64Array.from(ts),
    kind: new Uint8Array(series.length).fill(1),
    value: new Float64Array(series.length).fill(1),
    counter: series.map(() => null),
    text: series.map(() => null),
    valid: new Uint8Array(series.length).fill(1),
    error: series.map(() => null),
    pollMs: new Int32Array(series.length),
    identity: { series: Int32Array.from(series), table },
  });
  const options = { tier: "raw" as const, compression: { algorithm: "zstd" as const, level: 1 } };
  await writeTierFile(new MemFs(), "/ok.parquet", options, rows([0, 0, 1], [T0, T0 + 1, T0]));
  await assert.rejects(
    writeTierFile(new MemFs(), "/series.parquet", options, rows([0, 1, 0], [T0, T0, T0 + 1])),
    /row 2 \(ns\/a\/cpu @ \d+\) comes after \(ns\/b\/cpu/,
  );
  await assert.rejects(
    writeTierFile(new MemFs(), "/time.parquet", options, rows([0, 0], [T0 + 1, T0])),
    /row 1 \(ns\/a\/cpu @ \d+\) comes after \(ns\/a\/cpu @ \d+\)/,
  );
});

test("encoding reused batch arrays refuses a batch after one that was not a whole row group", async () => {
  const rows = (n: number, from: number): RawColumns => ({
    length: n,
    namespace: new Array(n).fill("ns"),
    target: new Array(n).fill("t"),
    poller: new Array(n).fill("p"),
    ts: Float64Array.from({ length: n }, (_, i) => T0 + from + i),
    kind: new Uint8Array(n).fill(1),
    value: new Float64Array(n).fill(1),
    counter: new Array(n).fill(null),
    text: new Array(n).fill(null),
    valid: new Uint8Array(n).fill(1),
    error: new Array(n).fill(null),
    pollMs: new Int32Array(n),
  });
  const opts = { compression: { algorithm: "zstd" as const, level: 1 } };
  const whole = await encodeFile("raw", 0, [rows(65_536, 0), rows(10, 65_536)], opts, "reused");
  assert.equal(whole.rows, 65_546);
  await assert.rejects(
    encodeFile("raw", 0, [rows(10, 0), rows(10, 10)], opts, "reused"),
    /a reused batch was left pending/,
  );
  assert.equal((await encodeFile("raw", 0, [rows(10, 0), rows(10, 10)], opts)).rows, 20, "fresh arrays: any sizes");
});

test("an encoder keeps the raw rows' arrays from flush to flush: the files are those of a fresh encoder", async () => {
  const head = new Head({ accuracy: 0.01, hotWindowMs: 3_600_000, hotMemoryBytes: 1 << 28 });
  const ctx = newTierJobContext();
  const run = async (job: FlushJob, context: ReturnType<typeof newTierJobContext>) =>
    ((await runTierJob(nodeFs, { type: "encode", job, options: OPTS }, context)).result as { files: EncodedFile[] })
      .files;
  let kept: unknown = null;
  for (const [r, targets] of [[0, ["a", "b", "c", "d"]], [1, ["b"]], [2, ["a", "b", "c", "d", "e", "f"]]] as const) {
    round(head, r, [...targets]);
    const cut = head.cut(-Infinity);
    const job = { ...flushJobOf(head, cut, null, WM), names: head.series.namesSince(0) };
    const files = await run(job, ctx);
    const fresh = await run(job, newTierJobContext());
    files.forEach((f, k) => assert.equal(Buffer.compare(f.bytes, fresh[k].bytes), 0, `round ${r}: ${f.tier}`));
    if (r === 1) assert.equal(ctx.raw.arrays, kept, "a smaller flush copies into the same arrays");
    if (r === 2) assert.notEqual(ctx.raw.arrays, kept, "a larger one takes larger arrays");
    kept = ctx.raw.arrays;
    assert.ok(kept);
    head.flushed(cut.rawTo, T0);
  }
});

test("late samples and columns grown after a cut change nothing of the closed buckets the flush writes", async () => {
  const encodeCut = async (after: (head: Head) => void) => {
    const head = new Head({ accuracy: 0.01, hotWindowMs: 3_600_000, hotMemoryBytes: 1 << 28 });
    for (let r = 0; r < 7; r++) round(head, r, ["a", "b", "c"]);
    const cut = head.cut(T0 + 300_000);
    const job = flushJobOf(head, cut, null, WM);
    after(head);
    const full = { ...job, names: head.series.namesSince(0) };
    const result = await runTierJob(nodeFs, { type: "encode", job: full, options: OPTS }, newTierJobContext());
    return { cut, files: (result.result as { files: EncodedFile[] }).files };
  };
  const plain = await encodeCut(() => {});
  const changed = await encodeCut((head) => {
    round(head, 0.5, ["a"]); // late samples of sealed buckets: new buckets of their own
    const b = SampleBatch.of(Array.from({ length: 5_000 }, (_, i) => gauge("ns", `new${i}`, "cpu", T0 + 400_000, i)));
    head.series.resolveBatch(b);
    head.apply(b); // more slots than the aggregator had: its columns are new arrays now
  });
  assert.equal(changed.cut.closed.n, 9, "3 targets × (gauge, counter rate, text) in the first 5 minutes");
  const fiveMin = (f: EncodedFile[]) => f.filter((x) => x.tier === "5min");
  assert.equal(fiveMin(changed.files).length, 1);
  assert.equal(Buffer.compare(fiveMin(changed.files)[0].bytes, fiveMin(plain.files)[0].bytes), 0);
  const fs = new MemFs();
  await fs.writeFile("/5min.parquet", fiveMin(changed.files)[0].bytes);
  const rows = await readAggFile(fs, "/5min.parquet");
  assert.deepEqual(Array.from({ length: rows.length }, (_, i) => rows.count[i]), [5, 5, 4, 5, 5, 4, 5, 5, 4]);
});
