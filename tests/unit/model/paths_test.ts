import test from "node:test";
import assert from "node:assert/strict";
import {
  parsePartitionName,
  parseSnapshotName,
  parseTierFileName,
  parseTierFilePath,
  parseWalSegmentName,
  partitionName,
  partitionStart,
  snapshotName,
  tierFileName,
  tierFilePath,
  walSegmentName,
} from "../../../src/model/paths.ts";
import { TIERS } from "../../../src/model/tier.ts";

const SEQS = [0, 1, 42, 999_999_999_999];
const TIMES = [Date.UTC(2000, 0, 1), Date.UTC(2026, 10, 25, 13, 7), Date.UTC(2028, 1, 29, 23, 59, 59)];

test("every builder has a parser: tier files, paths, partitions, WAL segments and snapshots round-trip", () => {
  for (const tier of TIERS) {
    for (const seq of SEQS) {
      assert.deepEqual(parseTierFileName(tierFileName(tier, seq)), { tier, seq });
      for (const t of TIMES) {
        const partition = partitionStart(tier, t);
        assert.deepEqual(parseTierFilePath(tierFilePath(tier, partition, seq)), { tier, partition, seq });
      }
    }
  }
  for (const t of TIMES) {
    const start = partitionStart("raw", t);
    assert.equal(parsePartitionName(partitionName(start)), start);
  }
  for (const n of [0, 1, 123_456, Number.MAX_SAFE_INTEGER]) {
    assert.equal(parseWalSegmentName(walSegmentName(n)), n);
  }
  for (const seq of SEQS) assert.equal(parseSnapshotName(snapshotName(seq)), seq);
});

test("names sort as strings in the order of their numbers", () => {
  const sorted = (names: string[]) => [...names].sort();
  const tiers = SEQS.map((s) => tierFileName("raw", s));
  assert.deepEqual(sorted(tiers), tiers);
  const wal = [0, 9, 10, 1_000_000].map(walSegmentName);
  assert.deepEqual(sorted(wal), wal);
  const parts = TIMES.map((t) => partitionName(partitionStart("raw", t)));
  assert.deepEqual(sorted(parts), parts);
});

/** [name, parser, what it is not] */
const NOT_NAMES: [string, (s: string) => unknown][] = [
  ["raw-42.parquet", parseTierFileName],
  ["minute-000000000042.parquet", parseTierFileName],
  ["raw-000000000042.parquet.tmp", parseTierFileName],
  ["5min/date=2026-11-25/raw-000000000042.parquet", parseTierFilePath],
  ["raw/date=2026-11-25/extra/raw-000000000042.parquet", parseTierFilePath],
  ["date=2026-02-30", parsePartitionName],
  ["date=2026-1-05", parsePartitionName],
  ["0000000000000001.wal.tmp", parseWalSegmentName],
  ["1.wal", parseWalSegmentName],
  ["snapshot-1.bin", parseSnapshotName],
];
for (const [name, parse] of NOT_NAMES) {
  test(`${JSON.stringify(name)} is not parsed as a data-directory name`, () => {
    assert.equal(parse(name), null);
  });
}
