import test from "node:test";
import assert from "node:assert/strict";
import { MemFs } from "../../../src/platform/mem_fs.ts";
import { listSegments, segmentPath } from "../../../src/wal/segments.ts";
import { damageErrors, replayWal, scanSegment } from "../../../src/wal/reader.ts";
import { inspectWal } from "../../../src/wal/inspect.ts";
import { SeriesIndex } from "../../../src/head/series.ts";
import { batchOf, DIR, openWriter, replayAll, samples } from "./wal_helpers.ts";

/** Writes `records` batches of 4 samples into segment 1 (and optionally more segments); returns record offsets. */
async function writeLog(records: number, segments = 1): Promise<{ fs: MemFs; offsets: number[][] }> {
  const { fs, wal, index } = await openWriter();
  for (let s = 0; s < segments; s++) {
    if (s > 0) await wal.rotate(() => {});
    for (let k = 0; k < records; k++) {
      await wal.append(batchOf(index, samples(4, 1_795_392_000_000 + (s * 100 + k) * 10_000)), () => {});
    }
  }
  await wal.close();
  const offsets: number[][] = [];
  for (const seg of await listSegments(fs, DIR)) {
    const bytes = await fs.readFile(seg.path);
    offsets.push([...scanSegment(bytes, true)].map((e) => e.offset));
  }
  return { fs, offsets };
}

async function patch(fs: MemFs, segment: number, fn: (b: Uint8Array) => Uint8Array | void): Promise<void> {
  const path = segmentPath(DIR, segment);
  const bytes = await fs.readFile(path);
  await fs.writeFile(path, fn(bytes) ?? bytes);
}

test("every acknowledged batch survives a crash (fsync mode)", async () => {
  const { fs, wal, index } = await openWriter();
  for (let k = 0; k < 10; k++) await wal.append(batchOf(index, samples(4, 1_795_392_000_000 + k * 10_000)), () => {});
  fs.crash(); // no close: power loss right after the last answer
  const { samples: back, report } = await replayAll(fs);
  assert.equal(back.length, 40);
  assert.equal(report.damages.length, 0);
});

test("a torn tail is truncated and everything before it recovered", async () => {
  const { fs, offsets } = await writeLog(5);
  await patch(fs, 1, (b) => b.slice(0, offsets[0][4] + 12)); // the last record cut after 12 bytes
  const { samples: back, report } = await replayAll(fs);
  assert.equal(back.length, 16);
  assert.deepEqual(report.tornTail, { segment: 1, offset: offsets[0][4], bytes: 12 });
  assert.equal(report.damages.length, 0);
  assert.equal((await fs.stat(segmentPath(DIR, 1)))!.size, offsets[0][4], "the segment was truncated");
  const again = await replayAll(fs);
  assert.equal(again.report.tornTail, null, "a second replay finds a clean log");
  assert.equal(again.samples.length, 16);
});

test("a zero-filled tail (torn page) is truncated too", async () => {
  const { fs } = await writeLog(3);
  const end = (await fs.stat(segmentPath(DIR, 1)))!.size;
  await patch(fs, 1, (b) => {
    const out = new Uint8Array(b.length + 4096);
    out.set(b);
    return out;
  });
  const { samples: back, report } = await replayAll(fs);
  assert.equal(back.length, 12);
  assert.deepEqual(report.tornTail, { segment: 1, offset: end, bytes: 4096 });
  assert.equal(report.damages.length, 0);
});

test("a bad CRC in the middle is reported with segment and offset, and later records are recovered", async () => {
  const { fs, offsets } = await writeLog(5);
  await patch(fs, 1, (b) => void (b[offsets[0][2] + 12] ^= 0xff));
  const { samples: back, report } = await replayAll(fs);
  assert.equal(back.length, 16, "4 of 5 records recovered");
  assert.equal(report.damages.length, 1);
  assert.equal(report.damages[0].segment, 1);
  assert.equal(report.damages[0].offset, offsets[0][2]);
  assert.equal(report.damages[0].bytesSkipped, offsets[0][3] - offsets[0][2]);
  assert.match(report.damages[0].reason, /CRC mismatch/);
  assert.equal(report.tornTail, null);
});

test("a bad length in the middle is reported and the log resynchronises on the next record", async () => {
  const { fs, offsets } = await writeLog(5);
  await patch(fs, 1, (b) => new DataView(b.buffer).setUint32(offsets[0][1], 7, true));
  const { samples: back, report } = await replayAll(fs);
  assert.equal(back.length, 16);
  assert.equal(report.damages.length, 1);
  assert.equal(report.damages[0].offset, offsets[0][1]);
});

test("damage at the end of an older segment is reported, not truncated, and the next segment replays", async () => {
  const { fs, offsets } = await writeLog(3, 2);
  await patch(fs, 1, (b) => b.slice(0, offsets[0][2] + 5));
  const { samples: back, report } = await replayAll(fs);
  assert.equal(back.length, 8 + 12);
  assert.equal(report.tornTail, null);
  assert.equal(report.damages.length, 1);
  assert.equal(report.damages[0].segment, 1);
  assert.match(report.damages[0].reason, /end of segment/);
});

test("a zero-length last segment (crash right after creating it) is harmless", async () => {
  const { fs } = await writeLog(3);
  await fs.writeFile(segmentPath(DIR, 2), new Uint8Array(0));
  const { samples: back, report } = await replayAll(fs);
  assert.equal(back.length, 12);
  assert.equal(report.damages.length, 0);
});

test("a zero-length segment in the middle is reported", async () => {
  const { fs } = await writeLog(2, 3);
  await fs.writeFile(segmentPath(DIR, 2), new Uint8Array(0));
  const { samples: back, report } = await replayAll(fs);
  assert.equal(back.length, 16);
  assert.deepEqual(report.damages.map((d) => [d.segment, d.reason]), [[2, "empty segment"]]);
});

test("a damaged segment header is reported and costs nothing more: the records are read by their CRC", async () => {
  const { fs } = await writeLog(2, 2);
  await patch(fs, 1, (b) => void b.set([0x50, 0x4b, 0x03, 0x04], 0)); // the magic
  await patch(fs, 2, (b) => void (b[8] ^= 0x01)); // the segment number: 2 becomes 3
  const { samples: back, report } = await replayAll(fs);
  assert.equal(back.length, 16);
  assert.deepEqual(report.damages.map((d) => [d.segment, d.bytesSkipped]), [[1, 0], [2, 0]]);
  assert.match(report.damages[0].reason, /damaged header \(bad magic .*records read by their CRC/);
  assert.match(report.damages[1].reason, /damaged header \(says segment 3\)/);
  const inspected = await inspectWal(fs, DIR);
  assert.equal(inspected.totalSamples, 16);
  assert.equal(inspected.damages.length, 2);
});

test("a segment of another WAL version is reported and skipped; a foreign file is never truncated", async () => {
  const { fs } = await writeLog(2, 2);
  await patch(fs, 1, (b) => void (b[4] = 2));
  const foreign = new TextEncoder().encode("PK\u0003\u0004 not a WAL segment at all, just bytes");
  await fs.writeFile(segmentPath(DIR, 4), foreign); // after the spare (3): the last segment
  const { samples: back, report } = await replayAll(fs);
  assert.equal(back.length, 8, "segment 2 only");
  assert.match(report.damages[0].reason, /unsupported WAL version 2/);
  assert.equal((await fs.readFile(segmentPath(DIR, 4))).length, foreign.length, "not truncated");
  assert.equal(report.tornTail, null);
});

test("a damaged first record costs only its own samples: the next record defines its series again", async () => {
  const { fs, offsets } = await writeLog(4);
  // damage the first record, which defines the series the later records use
  await patch(fs, 1, (b) => void (b[offsets[0][0] + 12] ^= 0xff));
  const { samples: back, report } = await replayAll(fs);
  assert.equal(report.orphanSamples, 0);
  assert.equal(back.length, 12, "records 2-4 whole");
  assert.deepEqual(
    back.map((x) => `${x.target}/${x.poller}`),
    [1, 2, 3].flatMap(() => samples(4).map((x) => `${x.target}/${x.poller}`)),
  );
  assert.equal(report.damages.length, 1);
  assert.match(report.damages[0].reason, /CRC mismatch/);
});

test("two damaged records in a row: samples whose series definition was lost are reported, the rest recovered", async () => {
  const { fs, offsets } = await writeLog(3);
  await patch(fs, 1, (b) => {
    b[offsets[0][0] + 12] ^= 0xff;
    b[offsets[0][1] + 12] ^= 0xff;
  });
  const { samples: back, report } = await replayAll(fs);
  assert.ok(report.orphanSamples > 0);
  assert.equal(back.length + report.orphanSamples, 4);
  assert.ok(report.damages.some((d) => /undefined series/.test(d.reason)));
});

test("segments missing between the checkpoint and the last one are reported; the others replay", async () => {
  const { fs } = await writeLog(2, 5);
  await fs.unlink(segmentPath(DIR, 2));
  await fs.unlink(segmentPath(DIR, 3));
  const { samples: back, report } = await replayAll(fs);
  assert.equal(back.length, 3 * 8);
  assert.deepEqual(report.missing, [{ from: 2, to: 3 }]);
  assert.match(
    damageErrors(report, DIR)[0].message,
    /0000000000000002\.wal at offset 0: WAL segments 2 to 3 are missing: the acknowledged samples they held are lost/,
  );
  const inspected = await inspectWal(fs, DIR);
  assert.deepEqual(inspected.damages.map((d) => [d.segment, d.reason]), [[2, "segments 2 to 3 are missing"]]);
});

test("a missing checkpoint segment is reported when the checkpoint requires it", async () => {
  const { fs } = await writeLog(2, 3);
  await fs.unlink(segmentPath(DIR, 1));
  const index = new SeriesIndex();
  const target = { resolve: (ns: string, t: string, p: string) => index.resolve(ns, t, p), apply: () => {} };
  assert.deepEqual((await replayWal(fs, DIR, 1, target, false, true)).missing, [{ from: 1, to: 1 }]);
  assert.deepEqual((await replayWal(fs, DIR, 1, target, false, false)).missing, [], "not for a new directory");
  for (const n of [2, 3, 4]) await fs.unlink(segmentPath(DIR, n)); // 4: the writer's spare
  assert.deepEqual((await replayWal(fs, DIR, 4, target, false, true)).missing, [{ from: 4, to: 4 }]);
});
