import test from "node:test";
import assert from "node:assert/strict";
import { parquetWriteBuffer } from "hyparquet-writer";
import { CorruptionError } from "../../../src/model/errors.ts";
import { MemFs } from "../../../src/platform/mem_fs.ts";
import { readTierFileInfo } from "../../../src/parquet/footer.ts";
import { readAggFile, readRawFile } from "../../../src/parquet/reader.ts";
import { writeTierFile } from "../../../src/parquet/writer.ts";
import { syntheticRaw, ZSTD } from "./_fixtures.ts";

const RAW = "/data/raw/date=2026-11-25/raw-000000000001.parquet";

async function validFile(): Promise<Uint8Array> {
  const fs = new MemFs();
  await writeTierFile(fs, RAW, { tier: "raw", compression: ZSTD, pageRows: 256 }, syntheticRaw(20, 100));
  return await fs.readFile(RAW);
}

async function fsWith(bytes: Uint8Array): Promise<MemFs> {
  const fs = new MemFs();
  await fs.mkdir("/data/raw/date=2026-11-25");
  await fs.writeFile(RAW, bytes);
  return fs;
}

/** Asserts that reading `bytes` as a raw tier file fails with a CorruptionError matching `message`. */
async function assertCorrupt(bytes: Uint8Array, message: RegExp): Promise<void> {
  const fs = await fsWith(bytes);
  for (const read of [() => readRawFile(fs, RAW), () => readTierFileInfo(fs, RAW)]) {
    await assert.rejects(read(), (err: unknown) => {
      assert.ok(err instanceof CorruptionError, `not a CorruptionError: ${err}`);
      assert.equal(err.file, RAW);
      assert.match(err.message, message);
      return true;
    });
  }
}

function foreignParquet(kv?: Record<string, string>): Uint8Array {
  const buffer = parquetWriteBuffer({
    columnData: [{ name: "x", data: [1, 2, 3], type: "INT32" }],
    kvMetadata: kv && Object.entries(kv).map(([key, value]) => ({ key, value })),
  });
  return new Uint8Array(buffer);
}

const STALKER_KV = {
  "stalker.format": "stalker-tier",
  "stalker.format_version": "1",
  "stalker.tier": "raw",
  "stalker.rows": "3",
  "stalker.min_ts": "0",
  "stalker.max_ts": "1",
};

test("a file that is not Parquet is rejected", async () => {
  await assertCorrupt(new TextEncoder().encode("hello, I am a CSV file\n1,2,3\n"), /not a Parquet file/);
});

test("an empty or tiny file is rejected", async () => {
  await assertCorrupt(new Uint8Array(0), /too small for a Parquet file \(0 bytes\)/);
  await assertCorrupt(new TextEncoder().encode("PAR1PAR1"), /too small/);
});

test("a Parquet file written by someone else is rejected, not read as empty", async () => {
  await assertCorrupt(foreignParquet(), /not a stalker tier file \(stalker.format is null\)/);
  await assertCorrupt(foreignParquet({ "stalker.format": "other" }), /stalker.format is "other"/);
});

test("a newer format version is rejected with a hint", async () => {
  const bytes = await validFile();
  const key = new TextEncoder().encode("stalker.format_version");
  const at = indexOf(bytes, key) + key.length + 2; // thrift: field header, length 1, then the value
  assert.equal(String.fromCharCode(bytes[at]), "1");
  bytes[at] = "2".charCodeAt(0);
  await assertCorrupt(bytes, /tier format version 2 is not supported \(this build reads 1\)/);
});

test("a file with the stalker metadata but the wrong columns is rejected", async () => {
  await assertCorrupt(foreignParquet(STALKER_KV), /column namespace is missing or not REQUIRED BYTE_ARRAY/);
});

test("a row count that disagrees with the footer is rejected", async () => {
  await assertCorrupt(foreignParquet({ ...STALKER_KV, "stalker.rows": "5" }), /stalker.rows is 5 but the footer has 3/);
});

test("a file truncated anywhere is rejected", async () => {
  const bytes = await validFile();
  for (
    const length of [
      3,
      4,
      100,
      bytes.length >> 1,
      bytes.length - 9,
      bytes.length - 8,
      bytes.length - 4,
      bytes.length - 1,
    ]
  ) {
    await assertCorrupt(bytes.slice(0, length), /.+/);
  }
});

test("a damaged footer length is rejected", async () => {
  const bytes = await validFile();
  new DataView(bytes.buffer).setUint32(bytes.length - 8, 0x7fff_ffff, true);
  await assertCorrupt(bytes, /damaged Parquet footer/);
});

test("a damaged data page is reported (zstd page checksums), not decoded to wrong values", async () => {
  const bytes = await validFile();
  const info = await readTierFileInfo(await fsWith(bytes), RAW);
  const meta = info.metadata.row_groups[0].columns.find((c) => c.meta_data?.path_in_schema[0] === "counter")!
    .meta_data!;
  const middle = Number(meta.data_page_offset) + Math.floor(Number(meta.total_compressed_size) / 2);
  bytes[middle] ^= 0x5a;
  const fs = await fsWith(bytes);
  await assert.rejects(readRawFile(fs, RAW), (err: unknown) => {
    assert.ok(err instanceof CorruptionError, `not a CorruptionError: ${err}`);
    assert.match(err.message, /cannot decode Parquet data/);
    return true;
  });
});

test("a missing file is an I/O error, not corruption", async () => {
  const fs = new MemFs();
  await assert.rejects(readAggFile(fs, "/nope.parquet"), (err: unknown) => {
    assert.ok(!(err instanceof CorruptionError));
    assert.equal((err as { code?: string }).code, "ENOENT");
    return true;
  });
});

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
