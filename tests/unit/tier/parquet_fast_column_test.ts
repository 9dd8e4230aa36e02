import test from "node:test";
import assert from "node:assert/strict";
import { parquetReadObjects } from "hyparquet";
import { ByteWriter, ParquetWriter } from "hyparquet-writer";
import {
  BooleanValues,
  DoubleValues,
  Int64Values,
  writeBooleanColumn,
  writeBytesColumn,
  writeDictionaryIdsColumn,
  writeDictionaryStringColumn,
  writeDoubleColumn,
  writeInt32DictionaryColumn,
  writeInt32PlainColumn,
  writeInt64DeltaColumn,
  writeNullColumn,
} from "../../../src/parquet/fast_column.ts";
import { type ColumnEncoder as Encoder, writeColumn } from "../../../src/parquet/_hyparquet_writer.ts";
import { pageCompressors, parquetCodec } from "../../../src/parquet/compressors.ts";
import { identityIds, SeriesDictionary } from "../../../src/parquet/identity.ts";
import {
  decimalColumn,
  floatColumn,
  identityColumn,
  kindColumn,
  STATISTICS_MAX_BYTES,
  textColumn,
  timeColumn,
  uint64Column,
} from "../../../src/parquet/schema.ts";
import type { ColumnSpec } from "../../../src/parquet/schema.ts";

function encoder(
  spec: ColumnSpec,
  pageSize: number,
  compressed: boolean,
  encoding = spec.encoding,
  columnIndex = true,
): Encoder {
  return {
    columnName: spec.element.name,
    element: spec.element,
    schemaPath: [{ name: "schema", num_children: 1 }, spec.element],
    codec: compressed ? parquetCodec("zstd") : undefined,
    compressors: compressed ? pageCompressors({ algorithm: "zstd", level: 3 }) : {},
    stats: true,
    statisticsTruncateLength: STATISTICS_MAX_BYTES,
    pageSize,
    columnIndex,
    offsetIndex: true,
    encoding,
  } as Encoder;
}

/** Both writers on the same input: bytes, chunk metadata and page indexes. */
function both(spec: ColumnSpec, data: Int64Values, pageSize: number, compressed: boolean) {
  const ours = new ByteWriter();
  const fast = writeInt64DeltaColumn(ours, encoder(spec, pageSize, compressed), data);
  assert.ok(fast, "the fast path takes safe values");
  const theirs = new ByteWriter();
  const values = data.toBigInts();
  const optional = spec.element.repetition_type !== "REQUIRED";
  const reference = writeColumn({
    writer: theirs,
    column: encoder(spec, pageSize, compressed),
    pageData: {
      values,
      definitionLevels: optional ? values.map((v) => (v === null ? 0 : 1)) : [],
      repetitionLevels: [],
      maxDefinitionLevel: optional ? 1 : 0,
    },
  });
  return { ours: ours.getBytes(), theirs: theirs.getBytes(), fast, reference };
}

function rng(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
}

const CASES: [string, ColumnSpec, () => Int64Values][] = [
  ["timestamps of several series (required, negative jumps between series)", timeColumn("ts"), () => {
    const v = new Float64Array(20_000);
    for (let i = 0; i < v.length; i++) v[i] = 1_795_392_000_000 + (i % 1_440) * 60_000 + (i % 7);
    return new Int64Values(v);
  }],
  ["counters up to 2^51 with nulls (wide deltas, > 24 bits)", uint64Column("counter"), () => {
    const r = rng(7);
    const v = new Float64Array(9_000), present = new Uint8Array(9_000);
    for (let i = 0; i < v.length; i++) {
      present[i] = r() < 0.8 ? 1 : 0;
      v[i] = present[i] ? Math.floor(r() * 2 ** 51) : 0;
    }
    return new Int64Values(v, present);
  }],
  ["negative and zero decimals with an all-null stretch", decimalColumn("gauge_decimal", 2), () => {
    const r = rng(3);
    const v = new Float64Array(12_000), present = new Uint8Array(12_000);
    for (let i = 0; i < v.length; i++) {
      present[i] = i >= 3_000 && i < 8_000 ? 0 : 1;
      v[i] = present[i] ? Math.round((r() - 0.5) * 2_000_000) : 0;
    }
    return new Int64Values(v, present);
  }],
  ["constant deltas, exactly 2^51 and -2^51", timeColumn("bucket"), () => {
    const v = Float64Array.from({ length: 1_000 }, (_, i) => i * 300_000);
    v[500] = 2 ** 51;
    v[501] = -(2 ** 51);
    return new Int64Values(v);
  }],
];

for (const [name, spec, make] of CASES) {
  for (const compressed of [false, true]) {
    test(`INT64 fast path writes hyparquet-writer's bytes: ${name}${compressed ? ", zstd" : ""}`, () => {
      const { ours, theirs, fast, reference } = both(spec, make(), 4_096 * 8, compressed);
      assert.deepEqual(fast.chunk, reference.chunk);
      assert.deepEqual(fast.offsetIndex, reference.offsetIndex);
      assert.deepEqual(fast.columnIndex, reference.columnIndex);
      assert.equal(Buffer.compare(ours, theirs), 0, "identical column chunk bytes");
    });
  }
}

test("INT64 fast path declines values beyond ±2^51 or not integers, writing nothing", () => {
  for (const bad of [2 ** 51 + 2, -(2 ** 52), 1.5, NaN]) {
    const w = new ByteWriter();
    const out = writeInt64DeltaColumn(
      w,
      encoder(timeColumn("ts"), 0, false),
      new Int64Values(new Float64Array([1, bad])),
    );
    assert.equal(out, null);
    assert.equal(w.offset, 0);
  }
});

test("a file written through the fast path reads back exactly with hyparquet", async () => {
  const data = CASES[1][2]();
  const spec = uint64Column("counter");
  const sink = new ByteWriter();
  const parquet = new ParquetWriter({ writer: sink, schema: [{ name: "schema", num_children: 1 }, spec.element] });
  const result = writeInt64DeltaColumn(parquet.writer, encoder(spec, 4_096 * 8, false), data)!;
  parquet.pendingIndexes.push(result);
  parquet.num_rows = BigInt(data.values.length);
  parquet.row_groups.push({
    columns: [result.chunk],
    total_byte_size: result.chunk.meta_data!.total_uncompressed_size,
    num_rows: BigInt(data.values.length),
  });
  parquet.finish();
  const bytes = sink.getBytes();
  const rows = await parquetReadObjects({
    file: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length),
  });
  const expected = data.toBigInts();
  assert.equal(rows.length, expected.length);
  rows.forEach((row, i) => assert.equal(row.counter === null ? null : BigInt(row.counter), expected[i], `row ${i}`));
});

for (const spec of [textColumn("text"), floatColumn("gauge_float", "DOUBLE"), uint64Column("counter")]) {
  for (const compressed of [false, true]) {
    test(`an all-null ${spec.element.name} column is written as hyparquet-writer writes it${compressed ? ", zstd" : ""}`, () => {
      for (const length of [1, 7, 70_000]) {
        const ours = new ByteWriter();
        const fast = writeNullColumn(ours, encoder(spec, 4_096 * 8, compressed), length);
        assert.ok(fast);
        const theirs = new ByteWriter();
        const reference = writeColumn({
          writer: theirs,
          column: encoder(spec, 4_096 * 8, compressed),
          pageData: {
            values: new Array(length).fill(null),
            definitionLevels: new Array(length).fill(0),
            repetitionLevels: [],
            maxDefinitionLevel: 1,
          },
        });
        assert.deepEqual(fast.chunk, reference.chunk);
        assert.equal(fast.columnIndex, reference.columnIndex);
        assert.equal(fast.offsetIndex, reference.offsetIndex);
        assert.equal(Buffer.compare(ours.getBytes(), theirs.getBytes()), 0, `identical bytes for ${length} nulls`);
      }
    });
  }
}

const STRING_CASES: [string, () => string[]][] = [
  ["sorted identity runs", () => {
    const out: string[] = [];
    for (let t = 0; t < 400; t++) for (let k = 0; k < 30; k++) out.push(`router-${String(t).padStart(4, "0")}`);
    return out;
  }],
  ["unsorted pollers repeating across targets", () => {
    const out: string[] = [];
    for (let t = 0; t < 300; t++) for (let p = 0; p < 20; p++) out.push(`if${(p * 7) % 20}.octets`);
    return out;
  }],
  ["astral and private-use characters, a 2,000-byte string (truncated statistics)", () => {
    const out: string[] = [];
    const words = ["\u{1F600}x", "\uE000y", "plain", "é", "x".repeat(2_000), "\u{10FFFF}", ""];
    for (let i = 0; i < 9_000; i++) out.push(words[Math.floor(i / 37) % words.length]);
    return out;
  }],
  ["one value", () => new Array(5_000).fill("prod")],
];

for (const [name, make] of STRING_CASES) {
  for (const [column, compressed] of [["target", false], ["poller", true], ["namespace", true]] as const) {
    test(`dictionary strings are written as hyparquet-writer writes them: ${name}, ${column}${compressed ? ", zstd" : ""}`, () => {
      const spec = identityColumn(column);
      const values = make();
      for (const pageSize of [0, 1_024 * 4, 5 * 4]) {
        const ours = new ByteWriter();
        const fast = writeDictionaryStringColumn(ours, encoder(spec, pageSize, compressed), values);
        assert.ok(fast);
        const theirs = new ByteWriter();
        const reference = writeColumn({
          writer: theirs,
          column: encoder(spec, pageSize, compressed),
          pageData: { values, definitionLevels: [], repetitionLevels: [], maxDefinitionLevel: 0 },
        });
        assert.deepEqual(fast.chunk, reference.chunk, `chunk, page size ${pageSize}`);
        assert.deepEqual(fast.offsetIndex, reference.offsetIndex);
        assert.deepEqual(fast.columnIndex, reference.columnIndex);
        assert.equal(Buffer.compare(ours.getBytes(), theirs.getBytes()), 0, `identical bytes, page size ${pageSize}`);
      }
    });
  }
}

test("dictionary strings decline a non-string value, writing nothing", () => {
  const w = new ByteWriter();
  assert.equal(writeDictionaryStringColumn(w, encoder(identityColumn("target"), 0, false), ["a", null, "b"]), null);
  assert.equal(w.offset, 0);
});

/** Both writers on optional values (null where `isNull`): bytes, chunk metadata, offset index. */
function sameAsLibrary(
  spec: ColumnSpec,
  pageSize: number,
  compressed: boolean,
  ours: (w: ByteWriter, e: Encoder) => ReturnType<typeof writeColumn> | null,
  values: unknown[],
): void {
  const mine = new ByteWriter();
  const fast = ours(mine, encoder(spec, pageSize, compressed, spec.encoding, false));
  assert.ok(fast);
  const theirs = new ByteWriter();
  const reference = writeColumn({
    writer: theirs,
    column: encoder(spec, pageSize, compressed, spec.encoding, false),
    pageData: {
      values: values as never,
      definitionLevels: values.map((v) => (v === null ? 0 : 1)),
      repetitionLevels: [],
      maxDefinitionLevel: 1,
    },
  });
  assert.deepEqual(fast.chunk, reference.chunk, `chunk, page size ${pageSize}`);
  assert.deepEqual(fast.offsetIndex, reference.offsetIndex);
  assert.equal(fast.columnIndex, reference.columnIndex);
  assert.equal(Buffer.compare(mine.getBytes(), theirs.getBytes()), 0, `identical bytes, page size ${pageSize}`);
}

test("optional doubles (NaN as null, signed zeros, infinities) are written as hyparquet-writer writes them", () => {
  const r = rng(11);
  const cases = [
    Float64Array.from({ length: 20_000 }, (_, i) => (i % 7 === 0 ? NaN : (r() - 0.5) * 1e6)),
    Float64Array.from({ length: 3_000 }, (_, i) => (i % 2 ? -0 : 0)),
    Float64Array.from({ length: 5_000 }, (_, i) => (i < 4_000 ? NaN : i === 4_500 ? Infinity : -i)),
    new Float64Array(100).fill(NaN),
  ];
  for (const values of cases) {
    for (const compressed of [false, true]) {
      for (const pageSize of [0, 1_024 * 8]) {
        const data = new DoubleValues(values);
        sameAsLibrary(
          floatColumn("sum", "DOUBLE"),
          pageSize,
          compressed,
          (w, e) => writeDoubleColumn(w, e, data),
          data.toNullable(),
        );
      }
    }
  }
});

test("optional byte arrays (sketches) are written as hyparquet-writer writes them", () => {
  const r = rng(5);
  const spec: ColumnSpec = {
    element: { name: "sketch", type: "BYTE_ARRAY", repetition_type: "OPTIONAL" },
    encoding: "PLAIN",
  };
  const values = Array.from(
    { length: 12_000 },
    (_, i) => i % 9 === 0 ? null : Uint8Array.from({ length: 5 + Math.floor(r() * 40) }, () => Math.floor(r() * 256)),
  );
  values[17] = new Uint8Array(0);
  values[18] = new Uint8Array(2_000).fill(0xff); // longer than the statistics limit: truncated bounds
  for (const compressed of [false, true]) {
    for (const pageSize of [0, 1_024 * 16]) {
      sameAsLibrary(spec, pageSize, compressed, (w, e) => writeBytesColumn(w, e, values), values);
    }
  }
  assert.equal(writeBytesColumn(new ByteWriter(), encoder(spec, 0, false, "PLAIN", false), ["text"]), null);
});

/** Both writers on a required column: bytes, chunk metadata, page indexes. */
function sameAsLibraryRequired(
  spec: ColumnSpec,
  pageSize: number,
  compressed: boolean,
  ours: (w: ByteWriter, e: Encoder) => ReturnType<typeof writeColumn> | null,
  values: unknown[] | Int32Array,
): void {
  const mine = new ByteWriter();
  const fast = ours(mine, encoder(spec, pageSize, compressed, spec.encoding, false));
  assert.ok(fast, "the fast path takes the column");
  const theirs = new ByteWriter();
  const reference = writeColumn({
    writer: theirs,
    column: encoder(spec, pageSize, compressed, spec.encoding, false),
    pageData: { values: values as never, definitionLevels: [], repetitionLevels: [], maxDefinitionLevel: 0 },
  });
  assert.deepEqual(fast.chunk, reference.chunk, `chunk, page size ${pageSize}`);
  assert.deepEqual(fast.offsetIndex, reference.offsetIndex);
  assert.equal(fast.columnIndex, reference.columnIndex);
  assert.equal(Buffer.compare(mine.getBytes(), theirs.getBytes()), 0, `identical bytes, page size ${pageSize}`);
}

test("kinds (INT32 UINT_8, RLE_DICTIONARY) are written as hyparquet-writer writes them", () => {
  const r = rng(3);
  const cases = [
    Int32Array.from({ length: 20_000 }, (_, i) => [1, 2, 3][Math.floor(i / 50) % 3]), // runs, first seen 1, 2, 3
    Int32Array.from({ length: 9_000 }, () => Math.floor(r() * 4)), // no runs, 0 among them (signed zero bound)
    new Int32Array(40).fill(2),
    Int32Array.of(3),
  ];
  for (const values of cases) {
    for (const compressed of [false, true]) {
      for (const pageSize of [0, 1_024 * 4, 7 * 4]) {
        sameAsLibraryRequired(
          kindColumn(),
          pageSize,
          compressed,
          (w, e) => writeInt32DictionaryColumn(w, e, values),
          values,
        );
      }
    }
  }
  const asked = encoder(kindColumn(), 0, false, "RLE_DICTIONARY", true);
  assert.equal(writeInt32DictionaryColumn(new ByteWriter(), asked, Int32Array.of(1, 2)), null, "no column index");
});

test("booleans (`valid`, RLE) are written as hyparquet-writer writes them; 16 or fewer are left to it", () => {
  const r = rng(8);
  const spec: ColumnSpec = { element: { name: "valid", type: "BOOLEAN", repetition_type: "REQUIRED" } };
  const cases = [
    Uint8Array.from({ length: 30_000 }, (_, i) => (i % 1_000 < 990 ? 1 : 0)),
    Uint8Array.from({ length: 5_000 }, () => (r() < 0.5 ? 1 : 0)),
    new Uint8Array(17).fill(1),
    new Uint8Array(100),
  ];
  for (const bytes of cases) {
    for (const compressed of [false, true]) {
      for (const pageSize of [0, 256]) {
        const data = new BooleanValues(bytes);
        sameAsLibraryRequired(spec, pageSize, compressed, (w, e) => writeBooleanColumn(w, e, data), data.toBooleans());
      }
    }
  }
  const twos = new BooleanValues(Uint8Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? 2 : 0)));
  sameAsLibraryRequired(spec, 0, false, (w, e) => writeBooleanColumn(w, e, twos), twos.toBooleans());
  const few = new BooleanValues(new Uint8Array(16).fill(1));
  const w = new ByteWriter();
  assert.equal(writeBooleanColumn(w, encoder(spec, 0, false, undefined, false), few), null);
  assert.equal(w.offset, 0);
});

test("poll times (INT32, PLAIN, one page) are written as hyparquet-writer writes them", () => {
  const r = rng(21);
  const spec: ColumnSpec = {
    element: { name: "poll_ms", type: "INT32", repetition_type: "REQUIRED" },
    encoding: "PLAIN",
  };
  const cases = [
    Int32Array.from({ length: 20_000 }, () => Math.floor(r() * 5_000)),
    Int32Array.from({ length: 100 }, (_, i) => -i), // max 0: a signed zero bound
    new Int32Array(10).fill(2 ** 31 - 1),
  ];
  for (const values of cases) {
    for (const compressed of [false, true]) {
      for (const pageSize of [0, 1_024]) {
        sameAsLibraryRequired(spec, pageSize, compressed, (w, e) => writeInt32PlainColumn(w, e, values), values);
      }
    }
  }
});

test("scratch arrays left by a longer column change nothing in the next, shorter ones", () => {
  // the writers reuse their scratch arrays (indexes, presence, sizes) from column to column
  const r = rng(21);
  const long = Float64Array.from({ length: 30_000 }, (_, i) => (i % 3 === 0 ? NaN : r()));
  const short = Float64Array.from({ length: 700 }, (_, i) => (i % 5 === 1 ? NaN : -i));
  const spec = floatColumn("sum", "DOUBLE");
  for (const values of [long, short, long]) {
    const data = new DoubleValues(values);
    sameAsLibrary(spec, 1_024 * 8, false, (w, e) => writeDoubleColumn(w, e, data), data.toNullable());
  }
  const sketches = Array.from({ length: 500 }, (_, i) => (i % 4 === 2 ? null : Uint8Array.of(i & 0xff, 7)));
  const sketchSpec: ColumnSpec = {
    element: { name: "sketch", type: "BYTE_ARRAY", repetition_type: "OPTIONAL" },
    encoding: "PLAIN",
  };
  sameAsLibrary(sketchSpec, 64, true, (w, e) => writeBytesColumn(w, e, sketches), sketches);
  const nulls = new ByteWriter();
  const fast = writeNullColumn(nulls, encoder(spec, 0, false, "PLAIN", false), 300);
  const theirs = new ByteWriter();
  const values = new Array(300).fill(null);
  const reference = writeColumn({
    writer: theirs,
    column: encoder(spec, 0, false, "PLAIN", false),
    pageData: { values, definitionLevels: values.map(() => 0), repetitionLevels: [], maxDefinitionLevel: 1 },
  });
  assert.deepEqual(fast!.chunk, reference.chunk);
  assert.equal(Buffer.compare(nulls.getBytes(), theirs.getBytes()), 0, "all-null levels after the presence of others");
  const targets = STRING_CASES[0][1]();
  for (const values of [targets, targets.slice(0, 50), targets]) {
    const ours = new ByteWriter();
    const mine = writeDictionaryStringColumn(ours, encoder(identityColumn("target"), 4 * 64, true), values);
    const lib = new ByteWriter();
    const ref = writeColumn({
      writer: lib,
      column: encoder(identityColumn("target"), 4 * 64, true),
      pageData: { values, definitionLevels: [], repetitionLevels: [], maxDefinitionLevel: 0 },
    });
    assert.deepEqual(mine!.columnIndex, ref.columnIndex);
    assert.equal(Buffer.compare(ours.getBytes(), lib.getBytes()), 0);
  }
});

test("identity columns as interned ids are written as hyparquet-writer writes their strings", () => {
  for (const [name, make] of STRING_CASES) {
    const values = make();
    // the flush's table holds each series once, sorted; rows name series by number
    const distinct = [...new Set(values)].sort();
    const table = new SeriesDictionary(distinct, distinct, distinct);
    const series = Int32Array.from(values, (v) => distinct.indexOf(v));
    for (const column of ["namespace", "target", "poller"] as const) {
      for (const pageSize of [0, 1_024 * 4, 5 * 4]) {
        const spec = identityColumn(column);
        const data = identityIds({ series, table }, column);
        assert.deepEqual(data.toStrings(), values);
        const ours = new ByteWriter();
        const fast = writeDictionaryIdsColumn(ours, encoder(spec, pageSize, true), data);
        assert.ok(fast);
        const theirs = new ByteWriter();
        const reference = writeColumn({
          writer: theirs,
          column: encoder(spec, pageSize, true),
          pageData: { values, definitionLevels: [], repetitionLevels: [], maxDefinitionLevel: 0 },
        });
        assert.deepEqual(fast.chunk, reference.chunk, `${name}: chunk, page size ${pageSize}`);
        assert.deepEqual(fast.offsetIndex, reference.offsetIndex);
        assert.deepEqual(fast.columnIndex, reference.columnIndex);
        assert.equal(Buffer.compare(ours.getBytes(), theirs.getBytes()), 0, `${name}: identical bytes`);
      }
    }
  }
});
