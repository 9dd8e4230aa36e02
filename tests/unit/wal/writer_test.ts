import test from "node:test";
import assert from "node:assert/strict";
import { DiskFullError } from "../../../src/model/errors.ts";
import { listSegments } from "../../../src/wal/segments.ts";
import { batchOf, DIR, openWriter, replayAll, samples, settle } from "./wal_helpers.ts";

test("append applies the batch once durable, then resolves", async () => {
  const { fs, wal, index } = await openWriter();
  const applied: number[] = [];
  await wal.append(batchOf(index, samples(5)), () => applied.push(fs.counts.datasync));
  assert.equal(applied.length, 1);
  assert.ok(applied[0] >= 2, "apply ran after the record's fdatasync"); // 1 for the header
  const { samples: back } = await replayAll(fs);
  assert.deepEqual(back, samples(5));
  await wal.close();
});

test("group commit: concurrent appends share fsyncs and apply in append order", async () => {
  const { fs, wal, index } = await openWriter();
  const before = fs.counts.datasync;
  const order: number[] = [];
  const all = Array.from(
    { length: 50 },
    (_, k) => wal.append(batchOf(index, samples(3, 1_795_392_000_000 + k * 10_000)), () => order.push(k)),
  );
  await Promise.all(all);
  const fsyncs = fs.counts.datasync - before;
  assert.deepEqual(order, Array.from({ length: 50 }, (_, k) => k));
  assert.ok(fsyncs < 50 && fsyncs >= 1, `50 appends took ${fsyncs} fsyncs`);
  const { samples: back } = await replayAll(fs);
  assert.equal(back.length, 150);
  await wal.close();
});

test("segments rotate at max_segment_size and each defines its own series", async () => {
  const { fs, wal, index } = await openWriter(undefined, { maxSegmentBytes: 1_000 });
  for (let k = 0; k < 20; k++) await wal.append(batchOf(index, samples(10, 1_795_392_000_000 + k * 100_000)), () => {});
  await wal.close();
  const segs = await listSegments(fs, DIR);
  assert.ok(segs.length > 3, `${segs.length} segments`);
  for (const s of segs.slice(0, -1)) assert.ok(s.size <= 1_000 + 1_000, `segment ${s.segment} is ${s.size} bytes`);
  assert.equal(segs[segs.length - 1].size, 16, "the spare: the next segment, created ahead");
  // Every segment replays on its own: all its series are defined inside it.
  const last = segs[segs.length - 2].segment;
  const { samples: tail, report } = await replayAll(fs, last);
  assert.equal(report.damages.length, 0);
  assert.ok(tail.length > 0 && tail.every((s) => s.namespace !== undefined));
  const { samples: everything } = await replayAll(fs);
  assert.equal(everything.length, 200);
});

test("rotate runs its cut exactly between the batches before and after", async () => {
  const { fs, wal, index } = await openWriter();
  const applied: string[] = [];
  const a = wal.append(batchOf(index, samples(2)), () => applied.push("a"));
  const cut = wal.rotate((seg) => applied.push(`cut@${seg}`));
  const b = wal.append(batchOf(index, samples(2, 1_795_392_100_000)), () => applied.push("b"));
  await Promise.all([a, cut, b]);
  assert.deepEqual(applied, ["a", "cut@2", "b"]);
  await wal.close();
  const { samples: after } = await replayAll(fs, 2);
  assert.equal(after.length, 2, "segment 2 holds only the batch after the cut");
});

test("a full disk rejects the whole batch with DiskFullError and leaves no trace", async () => {
  const { fs, wal, index } = await openWriter();
  await wal.append(batchOf(index, samples(3)), () => {});
  fs.capacityBytes = fs.usedBytes() + 100;
  let applied = false;
  await assert.rejects(
    wal.append(batchOf(index, samples(200, 1_795_393_000_000)), () => (applied = true)),
    (err) => err instanceof DiskFullError && err.retryAfterMs > 0,
  );
  assert.equal(applied, false);
  fs.capacityBytes = Infinity; // space returns: ingest resumes by itself
  await wal.append(batchOf(index, samples(4, 1_795_394_000_000)), () => {});
  await wal.close();
  const { samples: back, report } = await replayAll(fs);
  assert.equal(report.damages.length, 0);
  assert.equal(back.length, 7, "the refused batch is absent, the ones around it present");
});

test("a torn write rejects the batch and is cut off the segment", async () => {
  const { fs, wal, index } = await openWriter();
  await wal.append(batchOf(index, samples(3)), () => {});
  fs.tearNextWriteAt = 20;
  await assert.rejects(wal.append(batchOf(index, samples(50, 1_795_393_000_000)), () => {}), /torn write/);
  await wal.append(batchOf(index, samples(2, 1_795_394_000_000)), () => {});
  await wal.close();
  const { samples: back, report } = await replayAll(fs);
  assert.equal(report.damages.length, 0);
  assert.equal(report.tornTail, null);
  assert.equal(back.length, 5);
});

test("sync mode answers after the write and fsyncs on the interval", async () => {
  const { fs, wal, index, clock } = await openWriter(undefined, { syncMode: "sync", syncIntervalMs: 20 });
  const before = fs.counts.datasync;
  await wal.append(batchOf(index, samples(3)), () => {});
  assert.equal(fs.counts.datasync, before, "no fsync before the answer");
  clock.advance(19);
  await settle();
  assert.equal(fs.counts.datasync, before, "none before the interval");
  clock.advance(1);
  await settle();
  assert.ok(fs.counts.datasync > before, "fsynced at sync_interval");
  fs.crash();
  const { samples: back } = await replayAll(fs);
  assert.equal(back.length, 3);
  await wal.close();
});

test("async mode answers at once and makes data durable within sync_interval", async () => {
  const { fs, wal, index, clock } = await openWriter(undefined, { syncMode: "async", syncIntervalMs: 20 });
  let applied = false;
  await wal.append(batchOf(index, samples(3)), () => (applied = true));
  assert.ok(applied, "applied at once");
  clock.advance(20);
  await settle();
  fs.crash();
  const { samples: back } = await replayAll(fs);
  assert.equal(back.length, 3);
  await wal.close();
});

test("async mode keeps acknowledged data queued through a full disk and writes it when space returns", async () => {
  const { fs, wal, index, clock } = await openWriter(undefined, { syncMode: "async", syncIntervalMs: 10 });
  fs.capacityBytes = fs.usedBytes() + 10;
  await wal.append(batchOf(index, samples(20)), () => {});
  clock.advance(10);
  await settle();
  await assert.rejects(wal.append(batchOf(index, samples(1)), () => {}), DiskFullError);
  fs.capacityBytes = Infinity;
  clock.advance(10);
  await settle();
  await wal.append(batchOf(index, samples(1, 1_795_399_000_000)), () => {});
  await wal.close();
  const { samples: back } = await replayAll(fs);
  assert.equal(back.length, 21);
});

test("async mode writes what was appended even when the caller reuses the batch right after", async () => {
  const { fs, wal, index, clock } = await openWriter(undefined, { syncMode: "async", syncIntervalMs: 20 });
  const sent = samples(6);
  const batch = batchOf(index, sent);
  await wal.append(batch, () => {});
  // the request is answered: its batch goes back to the pool and the next request overwrites it
  const next = batchOf(index, samples(6, 1_795_399_000_000, "x"));
  batch.reset();
  for (let i = 0; i < next.length; i++) {
    batch.seriesId[i] = next.seriesId[i];
    batch.ts[i] = next.ts[i];
    batch.kind[i] = next.kind[i];
    batch.value[i] = next.value[i];
  }
  batch.length = next.length;
  clock.advance(20);
  await settle();
  await wal.close();
  const { samples: back } = await replayAll(fs);
  assert.deepEqual(back, sent);
});
