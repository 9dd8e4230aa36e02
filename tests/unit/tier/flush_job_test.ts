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
import { namesDelta, NamesOutOfStep, NameTable } from "../../../src/tier/flush_job.ts";
import { readRawFile } from "../../../src/parquet/reader.ts";
import { newTierJobContext, runTierJob } from "../../../src/tier/tier_job.ts";
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
