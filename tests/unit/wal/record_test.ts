import test from "node:test";
import assert from "node:assert/strict";
import { rng } from "../../helpers.ts";
import { ByteWriter } from "../../../src/model/bytes.ts";
import { SampleBatch } from "../../../src/model/batch.ts";
import { counter, gauge, type Sample, text } from "../../../src/model/sample.ts";
import { decodeBatchPayload, DefinitionCache, encodeBatchPayload } from "../../../src/wal/batch_codec.ts";
import {
  decodeSegmentHeader,
  encodeSegmentHeader,
  frameRecord,
  readRecordAt,
  RecordType,
} from "../../../src/wal/record.ts";

test("the segment header is magic STWL, version 1, and the segment number", () => {
  const h = encodeSegmentHeader(258);
  assert.deepEqual([...h], [0x53, 0x54, 0x57, 0x4c, 1, 0, 0, 0, 2, 1, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(decodeSegmentHeader(h), { segment: 258 });
});

test("a foreign or newer header is refused", () => {
  assert.deepEqual(decodeSegmentHeader(new Uint8Array(16)), { error: "bad magic (not a stalker WAL segment)" });
  const h = encodeSegmentHeader(1);
  h[4] = 2;
  assert.deepEqual(decodeSegmentHeader(h), { error: "unsupported WAL version 2" });
});

test("the spec example record of docs/format/wal.md decodes", () => {
  // length 3, type 1, CRC-32 of [03 00 00 00 01 aa bb cc], payload aa bb cc
  const bytes = new Uint8Array([0x03, 0x00, 0x00, 0x00, 0x01, 0xb1, 0x9e, 0x1d, 0x12, 0xaa, 0xbb, 0xcc]);
  const r = readRecordAt(bytes, 0);
  assert.equal(r.kind, "ok");
  if (r.kind === "ok") assert.deepEqual([...r.payload], [0xaa, 0xbb, 0xcc]);
});

test("the CRC covers the length: a changed length is detected", () => {
  const out = new ByteWriter();
  frameRecord(out, RecordType.BATCH, new Uint8Array([1, 2, 3, 4]));
  const bytes = out.bytes().slice();
  bytes[0] = 3; // claims 3 bytes; CRC no longer matches
  const r = readRecordAt(bytes, 0);
  assert.equal(r.kind, "bad");
});

const CORRUPTIONS: [string, (b: Uint8Array) => void, string][] = [
  ["a flipped payload bit", (b) => (b[10] ^= 1), "bad"],
  ["a flipped CRC bit", (b) => (b[6] ^= 0x80), "bad"],
  ["an unknown record type", (b) => (b[4] = 9), "bad"],
  ["a huge length", (b) => new DataView(b.buffer).setUint32(0, 0xffffffff, true), "bad"],
];
for (const [name, damage, kind] of CORRUPTIONS) {
  test(`readRecordAt reports ${name}`, () => {
    const out = new ByteWriter();
    frameRecord(out, RecordType.BATCH, new Uint8Array([1, 2, 3, 4, 5]));
    const bytes = out.bytes().slice();
    damage(bytes);
    assert.equal(readRecordAt(bytes, 0).kind, kind);
  });
}

test("a record cut short is torn, not bad", () => {
  const out = new ByteWriter();
  frameRecord(out, RecordType.BATCH, new Uint8Array(100));
  assert.equal(readRecordAt(out.bytes().subarray(0, 50), 0).kind, "torn");
  assert.equal(readRecordAt(out.bytes().subarray(0, 5), 0).kind, "torn");
});

const EDGE: Sample[] = [
  gauge("prod", "r1", "cpu.load", 1_795_392_000_000, 45.67),
  gauge("prod", "r1", "temperature", 1_795_391_999_000, -0), // timestamp before the base
  { ...gauge("prod", "r1", "x", 5, 1e-300), pollMs: 2_147_483_647 },
  counter("prod", "r1", "ifInErrors", 1_795_392_001_000, 0n),
  counter("prod", "r1", "ifHCInOctets", 1_795_392_001_000, 2n ** 64n - 1n),
  counter("prod", "r1", "c53", 1_795_392_001_000, 2n ** 53n + 1n),
  text("prod", "r1", "sysDescr", 1_795_392_002_000, ""),
  text("prod", "ünïcødé", "sysLocation", 1_795_392_002_000, "Zürich 🚀"),
  {
    namespace: "prod",
    target: "r1",
    poller: "down",
    timestampMs: 1_795_392_003_000,
    kind: "none",
    value: NaN,
    valid: false,
    error: "timeout",
    pollMs: 2000,
  },
];

test("a batch payload round-trips every kind and edge value", () => {
  const batch = SampleBatch.of(EDGE);
  const names: [string, string, string][] = [];
  const ids = new Map<string, number>();
  for (let i = 0; i < batch.length; i++) {
    const key = `${batch.namespace[i]}/${batch.target[i]}/${batch.poller[i]}`;
    if (!ids.has(key)) {
      ids.set(key, ids.size);
      names.push([batch.namespace[i], batch.target[i], batch.poller[i]]);
    }
    batch.seriesId[i] = ids.get(key)!;
  }
  const defined = new Set<number>();
  const out = new ByteWriter();
  encodeBatchPayload(out, batch, {
    needsDefinition: (id) => !defined.has(id) && defined.add(id) !== undefined,
    names: (id) => names[id],
  });
  const { defs, batch: back } = decodeBatchPayload(out.bytes());
  assert.equal(defs.length, names.length);
  for (let i = 0; i < back.length; i++) {
    const d = defs.find((x) => x.id === back.seriesId[i])!;
    back.namespace[i] = d.namespace;
    back.target[i] = d.target;
    back.poller[i] = d.poller;
    assert.deepEqual(back.sample(i), EDGE[i], `sample ${i}`);
  }
  assert.ok(Object.is(back.value[1], -0), "negative zero survives");
});

test("a truncated payload fails to decode instead of producing garbage", () => {
  const batch = SampleBatch.of(EDGE.slice(0, 3));
  batch.seriesId.fill(0);
  const out = new ByteWriter();
  encodeBatchPayload(out, batch, { needsDefinition: () => false, names: () => ["a", "b", "c"] });
  const bytes = out.bytes();
  assert.throws(() => decodeBatchPayload(bytes.subarray(0, bytes.length - 3)), /unexpected end/);
  const longer = new Uint8Array(bytes.length + 1);
  longer.set(bytes);
  assert.throws(() => decodeBatchPayload(longer), /trailing bytes/);
});

test("definitions copied from the DefinitionCache are the bytes the strings encode to", () => {
  // identities of every length class: empty, multi-byte UTF-8, a varint length over one byte
  const names: [string, string, string][] = [
    ["prod", "r1", "cpu.load"],
    ["", "ünï😀", "x".repeat(200)],
    ["n".repeat(128), "t", "é".repeat(70)],
  ];
  const batch = SampleBatch.of(
    names.map(([ns, t, p], i) => ({ ...EDGE[0], namespace: ns, target: t, poller: p, timestampMs: 1000 + i })),
  );
  names.forEach((_, i) => (batch.seriesId[i] = i * 1000)); // ids beyond the cache's first size
  const nameOf = (id: number) => names[id / 1000];
  const cache = new DefinitionCache(nameOf);
  const encode = (withCache: boolean, repeat: number[]) => {
    const out = new ByteWriter();
    encodeBatchPayload(out, batch, {
      needsDefinition: () => true,
      names: nameOf,
      ...(withCache ? { writeNames: (o: ByteWriter, id: number) => cache.write(o, id) } : {}),
    }, repeat);
    return out.bytes().slice();
  };
  for (const repeat of [[], [2000, 0]]) {
    const cached = encode(true, repeat);
    assert.deepEqual(cached, encode(false, repeat));
    assert.deepEqual(encode(true, repeat), cached, "the second time from the cache");
  }
  const { defs } = decodeBatchPayload(encode(true, [2000]));
  assert.deepEqual(defs.map((d) => [d.id, d.namespace, d.target, d.poller]), [
    [2000, ...names[2]],
    ...names.map((n, i) => [i * 1000, ...n]),
  ]);
});

test("a batch without strings or big counters encodes to the same bytes on its fast path", () => {
  const r = rng(2026);
  for (let round = 0; round < 50; round++) {
    const n = 1 + Math.floor(r() * 5_000); // across the fast path's blocks of 4,096
    const batch = new SampleBatch(n);
    for (let i = 0; i < n; i++) {
      batch.seriesId[i] = Math.floor(r() * (r() < 0.5 ? 100 : 2 ** 31 - 1));
      batch.ts[i] = 1_780_000_000_000 + Math.floor((r() - 0.3) * 1e9); // before and after the first
      const kind = Math.floor(r() * 4);
      batch.kind[i] = kind;
      batch.flags[i] = r() < 0.8 ? 1 : 0;
      batch.value[i] = kind === 1
        ? [0, -0, 1.5, -1e300, 5e-324, 123.456][Math.floor(r() * 6)]
        : kind === 2
        ? Math.floor(r() * [10, 2 ** 32, 2 ** 53][Math.floor(r() * 3)])
        : NaN;
      batch.pollMs[i] = r() < 0.3 ? 0 : Math.floor(r() * 2 ** 31);
    }
    batch.length = n;
    const encode = () => {
      const out = new ByteWriter(16);
      encodeBatchPayload(out, batch, { needsDefinition: () => false, names: () => ["a", "b", "c"] });
      return out.bytes().slice();
    };
    const fast = encode();
    batch.error = new Map(); // an (empty) side map takes the sample-by-sample path
    assert.deepEqual(fast, encode(), `round ${round}`);
    const back = decodeBatchPayload(fast).batch;
    assert.deepEqual(
      Array.from(back.value.subarray(0, n), (v) => Object.is(v, -0) ? "-0" : v),
      Array.from(
        batch.value.subarray(0, n),
        (v, i) => batch.kind[i] === 3 || batch.kind[i] === 0 ? NaN : Object.is(v, -0) ? "-0" : v,
      ),
    );
  }
});
