import test from "node:test";
import assert from "node:assert/strict";
import { create, toBinary } from "@bufbuild/protobuf";
import { BinaryReader } from "@bufbuild/protobuf/wire";
import { type Sample as PbSample, SampleSchema } from "../../../src/gen/stalker_pb.ts";
import { SeriesIndex } from "../../../src/head/series.ts";
import { decodeProtobuf } from "../../reference/protobuf_decode.ts";
import { scanProtobuf } from "../../../src/ingest/protobuf_scan.ts";
import { SeriesCache } from "../../../src/ingest/series_cache.ts";
import { rng } from "../../helpers.ts";
import { type Outcome, run } from "./decode_outcome.ts";

const NOW = Date.UTC(2026, 10, 25, 12);

/** Both decoders over the same body; the reference resolves ids in its own index afterwards. */
function both(body: Uint8Array) {
  const ref = run(() => {
    const b = decodeProtobuf(body, NOW);
    new SeriesIndex().resolveBatch(b);
    return b;
  });
  const index = new SeriesIndex();
  const fast = run(() =>
    scanProtobuf(body, { cache: new SeriesCache(), resolve: (n, t, p) => index.resolve(n, t, p) }, NOW)
  );
  return { ref, fast };
}

const hex = (body: Uint8Array) => Array.from(body.subarray(0, 200), (b) => b.toString(16).padStart(2, "0")).join(" ");

function assertSame(body: Uint8Array): Outcome {
  const { ref, fast } = both(body);
  if ("error" in ref) {
    assert.ok("error" in fast, `reference failed (${ref.error.message}) but the scanner accepted: ${hex(body)}`);
    if (ref.error.code === "invalid_sample") assert.deepEqual(fast.error, ref.error, hex(body));
    else assert.equal(fast.error.code, ref.error.code, `${fast.error.message}: ${hex(body)}`);
    return ref;
  }
  assert.ok(!("error" in fast), `scanner failed (${"error" in fast && fast.error.message}) on: ${hex(body)}`);
  assert.deepEqual(fast, ref, hex(body));
  return ref;
}

// --- hand-made wire encoding (also non-canonical forms that protobuf-es never writes)

function varint(v: bigint | number, padTo = 0): number[] {
  let x = BigInt.asUintN(64, BigInt(v));
  const out: number[] = [];
  do {
    out.push(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  } while (x > 0n);
  while (out.length < padTo) out.push(0x80);
  out[out.length - 1] &= 0x7f;
  return out;
}

const tag = (field: number, wire: number) => varint((field << 3) | wire);
const len = (field: number, bytes: number[]) => [...tag(field, 2), ...varint(bytes.length), ...bytes];
const utf8 = (s: string) => Array.from(new TextEncoder().encode(s));
const batchOf = (...records: number[][]) => new Uint8Array(records.flat());
const sampleOf = (...fields: number[][]) => len(1, fields.flat());
const ID = [len(1, utf8("prod")), len(2, utf8("r1")), len(3, utf8("cpu"))].flat();
const TS = [...tag(4, 0), ...varint(NOW - 1000)];
const gauge = (v: number) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, v, true);
  return [...tag(7, 1), ...b];
};

/** An unknown field of each wire type. */
function unknownField(r: () => number): number[] {
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
  const field = pick([11, 15, 16, 99, 2047, 536_870_911]);
  switch (Math.floor(r() * 6)) {
    case 0:
      return [...tag(field, 0), ...varint(pick([0n, 1n, 300n, -1n, 2n ** 63n]), pick([0, 0, 10]))];
    case 1:
      return [...tag(field, 1), 1, 2, 3, 4, 5, 6, 7, 8];
    case 2:
      return len(field, pick([[], [0xff, 0xfe], utf8("nested"), ID]));
    case 3:
      return [...tag(field, 3), ...tag(1, 0), 5, ...len(2, [1, 2]), ...tag(7, 3), ...tag(7, 4), ...tag(field, 4)];
    case 4:
      return [...tag(field, 5), 1, 2, 3, 4];
    default:
      return [...tag(field, 0), ...Array(12).fill(0x80), 0x01]; // a skipped varint may be longer than 10 bytes
  }
}

// --- random samples built with protobuf-es, then reshuffled and decorated by hand

const NAMES = ["prod", "lab", "core-router-017", "ifHCInOctets.Gi0-1-25", "ünï", "😀", "\uFEFFbom", "tab\there"];

function randomPbSample(r: () => number): PbSample {
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
  const name = () => (r() < 0.05 ? pick(["", "x".repeat(257), "a\u0000b"]) : pick(NAMES));
  const s = create(SampleSchema, {
    namespace: r() < 0.97 ? name() : "",
    target: r() < 0.97 ? name() : "",
    poller: r() < 0.97 ? name() : "",
    timestampMs: r() < 0.9
      ? BigInt(NOW - Math.floor(r() * 1e7))
      : pick([0n, -1n, -(2n ** 63n), BigInt(NOW + 1e8), 2n ** 62n, 2n ** 53n + 1n, 1n]),
    valid: r() < 0.8,
    error: r() < 0.2 ? pick(["timeout", "Zeitüberschreitung", "e".repeat(4097)]) : "",
    pollMs: r() < 0.3 ? pick([0, 12, -1, 2_147_483_647, -2_147_483_648, 1_000_000]) : 0,
  });
  const kind = r();
  if (kind < 0.35) {
    s.value = {
      case: "valueGauge",
      value: r() < 0.9 ? pick([45.67, -0.25, 0, -0, 1e-300, 1.7976931348623157e308]) : pick([NaN, Infinity, -Infinity]),
    };
  } else if (kind < 0.7) {
    s.value = {
      case: "valueCounter",
      value: pick([0n, 42n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n]),
    };
  } else if (kind < 0.85) {
    s.value = { case: "valueText", value: pick(["", "hello", "Zürich 🚀", "\uFEFF", "t".repeat(65_537)]) };
  }
  return s;
}

/** The records (tag + payload) of a message encoded by protobuf-es. */
function records(bytes: Uint8Array): number[][] {
  const reader = new BinaryReader(bytes);
  const out: number[][] = [];
  while (reader.pos < reader.len) {
    const start = reader.pos;
    const [field, wire] = reader.tag();
    reader.skip(wire, field);
    out.push(Array.from(bytes.subarray(start, reader.pos)));
  }
  return out;
}

/** A record for a known field encoded in a way protobuf-es accepts but never writes. */
function oddRecord(r: () => number): number[] {
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
  switch (Math.floor(r() * 7)) {
    case 0: // padded varints, for every varint field
      return [...tag(pick([4, 5, 8, 10]), 0), ...varint(pick([0n, 1n, 2n, 127n, 2n ** 32n, BigInt(NOW - 5)]), 10)];
    case 1: // a known field read by number whatever its wire type
      return [...tag(pick([4, 5, 8, 10]), pick([1, 2, 3, 4, 5])), ...varint(pick([1n, 7n, BigInt(NOW - 7)]))];
    case 2: // a string field with a varint wire type: the "varint" is its length
      return [...tag(pick([1, 2, 3, 6, 9]), 0), 3, ...utf8("abc")];
    case 3: // more than 64 bits: the extra bits are dropped (this is 2^63 + 1 plus a stray high bit)
      return [...tag(pick([4, 5, 8]), 0), 0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f];
    case 4: // poll_ms beyond 32 bits: only the low 32 bits count
      return [...tag(10, 0), ...varint(pick([2n ** 32n + 5n, 2n ** 35n - 1n, 2n ** 31n]))];
    case 5: // tags of five bytes (valid when they fit 32 bits) and six bytes (never valid)
      return [
        ...pick([[0x8a, 0x80, 0x80, 0x80, 0x00], [0x8a, 0x80, 0x80, 0x80, 0x10], varint(10, 6)]),
        2,
        ...utf8("ns"),
      ];
    default: // invalid UTF-8 in a string that a later one overrides, or in the one that counts
      return len(pick([1, 6, 9]), pick([[0xff], [0xed, 0xa0, 0x80], [0xc0, 0x80], [0xe2, 0x82]]));
  }
}

function randomSampleRecord(r: () => number): number[] {
  let fields = records(toBinary(SampleSchema, randomPbSample(r)));
  if (r() < 0.3) fields = fields.concat(records(toBinary(SampleSchema, randomPbSample(r))).filter(() => r() < 0.3));
  if (r() < 0.4) fields.sort(() => r() - 0.5); // out of order
  if (r() < 0.3) fields.splice(Math.floor(r() * (fields.length + 1)), 0, unknownField(r));
  if (r() < 0.1) fields.splice(Math.floor(r() * (fields.length + 1)), 0, oddRecord(r));
  return sampleOf(...fields);
}

function randomBody(r: () => number): Uint8Array {
  const parts: number[][] = [];
  const n = Math.floor(r() * 6);
  for (let i = 0; i < n; i++) {
    if (r() < 0.1) parts.push(unknownField(r));
    if (r() < 0.05) parts.push([...tag(2, 0), ...varint(BigInt(NOW) * (r() < 0.5 ? 1n : -1n))]); // received_at_ms
    parts.push(randomSampleRecord(r));
  }
  return batchOf(...parts);
}

test("the fast protobuf scanner decodes exactly what protobuf-es + validation decode (random bodies)", () => {
  const r = rng(2024);
  const seen = { accepted: 0, invalid_sample: 0, invalid_protobuf: 0 };
  for (let round = 0; round < 3000; round++) {
    const out = assertSame(randomBody(r));
    seen["error" in out ? out.error.code as "invalid_sample" | "invalid_protobuf" : "accepted"]++;
  }
  // the generator must exercise all three outcomes
  assert.ok(seen.accepted > 300 && seen.invalid_sample > 300 && seen.invalid_protobuf > 30, JSON.stringify(seen));
});

test("the fast scanner rejects every truncated or corrupted body the reference rejects, and only those", () => {
  const r = rng(99);
  for (let round = 0; round < 300; round++) {
    const base = randomBody(r);
    if (base.length === 0) continue;
    for (let k = 0; k < 8; k++) {
      const body = base.slice(0, k < 3 ? Math.floor(r() * base.length) : base.length);
      const flips = k < 3 ? 0 : 1 + Math.floor(r() * 3);
      for (let f = 0; f < flips; f++) body[Math.floor(r() * body.length)] = Math.floor(r() * 256);
      assertSame(body);
    }
  }
  for (let round = 0; round < 300; round++) {
    assertSame(new Uint8Array(Array.from({ length: Math.floor(r() * 40) }, () => Math.floor(r() * 256))));
  }
});

const CASES: [string, Uint8Array, (o: Outcome) => void][] = [
  [
    "an empty body is an empty batch",
    batchOf(),
    (o) => assert.deepEqual(o, { samples: [], ids: [] }),
  ],
  [
    "a known field is read by its number whatever its wire type (the length prefix becomes the timestamp)",
    batchOf(sampleOf(ID, [...tag(4, 2), ...varint(NOW - 1)], gauge(1))),
    (o) => assert.equal("samples" in o && (o.samples[0] as { timestampMs: number }).timestampMs, NOW - 1),
  ],
  [
    "a field may run past its sample's length prefix; the batch continues after it",
    batchOf([...tag(1, 2), ID.length + TS.length + 2, ...ID, ...TS, ...gauge(1)], sampleOf(ID, TS, gauge(2))),
    (o) => assert.deepEqual("samples" in o && o.samples.map((s) => (s as { value: number }).value), [1, 2]),
  ],
  [
    "of the oneof value, the last value field seen wins",
    batchOf(sampleOf(ID, TS, gauge(NaN), [...tag(5, 0), 7], len(6, []))),
    (o) => assert.equal("samples" in o && (o.samples[0] as { kind: string }).kind, "text"),
  ],
  [
    "invalid UTF-8 in a string that a later occurrence overrides is still rejected",
    batchOf(sampleOf(len(1, [0xff]), ID, TS, gauge(1))),
    (o) => assert.equal("error" in o && o.error.code, "invalid_protobuf"),
  ],
  [
    "a leading U+FEFF in a string is text, not a byte-order mark",
    batchOf(sampleOf(ID, TS, len(6, [0xef, 0xbb, 0xbf]), [...tag(8, 0), 1])),
    (o) => assert.equal("samples" in o && (o.samples[0] as { text: string }).text, "\uFEFF"),
  ],
  [
    "an end-group tag outside a group is rejected",
    batchOf(sampleOf(ID, TS, gauge(1), tag(12, 4))),
    (o) => assert.equal("error" in o && o.error.code, "invalid_protobuf"),
  ],
  [
    "a wire error after an invalid sample wins over the validation error",
    batchOf(sampleOf(TS, gauge(1)), [0x0a, 0x05]),
    (o) => assert.equal("error" in o && o.error.code, "invalid_protobuf"),
  ],
  [
    "a negative timestamp is a 10-byte varint and rejected as before 2000",
    batchOf(sampleOf(ID, [...tag(4, 0), ...varint(-5n)], gauge(1))),
    (o) => assert.equal("error" in o && o.error.message, "sample 0: timestamp_ms -5 is before 2000-01-01T00:00:00Z"),
  ],
  [
    "a bool is true when any of its 64 bits is set (valid = 2^32 and no value is rejected)",
    batchOf(sampleOf(ID, TS, [...tag(8, 0), ...varint(2n ** 32n)])),
    (o) => assert.match("error" in o ? o.error.message : "", /has no value/),
  ],
  [
    "a counter of 2^64 - 1 stays exact",
    batchOf(sampleOf(ID, TS, [...tag(5, 0), ...varint(2n ** 64n - 1n)], [...tag(8, 0), 1])),
    (o) => assert.equal("samples" in o && (o.samples[0] as { counter: bigint }).counter, 2n ** 64n - 1n),
  ],
];
for (let depth = 97; depth <= 100; depth++) {
  const group = (field: number) => [
    ...Array.from({ length: depth }, () => tag(field, 3)).flat(),
    ...Array.from({ length: depth }, () => tag(field, 4)).flat(),
  ];
  CASES.push([
    `groups nested ${depth} deep: ${depth <= 99 ? "skipped" : "rejected"} in the batch`,
    batchOf(group(15), sampleOf(ID, TS, gauge(1))),
    (o) => assert.equal("error" in o, depth > 99),
  ], [
    `groups nested ${depth} deep: ${depth <= 98 ? "skipped" : "rejected"} in a sample`,
    batchOf(sampleOf(ID, TS, gauge(1), group(15))),
    (o) => assert.equal("error" in o, depth > 98),
  ]);
}
for (const [name, body, expect] of CASES) {
  test(`like protobuf-es: ${name}`, () => expect(assertSame(body)));
}

test("a known series is resolved from the cache, whatever the order of its fields", () => {
  const index = new SeriesIndex();
  const cache = new SeriesCache();
  let resolved = 0;
  const ctx = { cache, resolve: (n: string, t: string, p: string) => (resolved++, index.resolve(n, t, p)) };
  const a = scanProtobuf(batchOf(sampleOf(ID, TS, gauge(1))), ctx, NOW);
  assert.equal(resolved, 1);
  const reordered = [len(3, utf8("cpu")), len(1, utf8("prod")), gauge(2), len(2, utf8("r1"))];
  const b = scanProtobuf(batchOf(sampleOf(...reordered), sampleOf(ID, TS, gauge(3))), ctx, NOW);
  assert.equal(resolved, 1);
  assert.deepEqual([b.seriesId[0], b.seriesId[1]], [a.seriesId[0], a.seriesId[0]]);
  assert.deepEqual([b.namespace[1], b.target[1], b.poller[1]], ["prod", "r1", "cpu"]);
  assert.equal(cache.size, 1);
  assert.equal(index.size, 1);
});

test("a body of the smallest samples grows the batch as often as it needs: every sample is kept", () => {
  const index = new SeriesIndex();
  const ctx = { cache: new SeriesCache(), resolve: (n: string, t: string, p: string) => index.resolve(n, t, p) };
  const n = 3_000; // ~30 bytes each: the first allocation holds about half of them
  const b = scanProtobuf(batchOf(...Array.from({ length: n }, (_, i) => sampleOf(ID, TS, gauge(i)))), ctx, NOW);
  assert.equal(b.length, n);
  for (let i = 0; i < n; i++) {
    assert.deepEqual([b.value[i], b.ts[i], b.poller[i], b.flags[i]], [i, NOW - 1000, "cpu", 0], `sample ${i}`); // proto3: valid absent is false
  }
  assert.equal(index.size, 1);
});

test("an invalid sample resolves no series of its own", () => {
  const index = new SeriesIndex();
  const ctx = { cache: new SeriesCache(), resolve: (n: string, t: string, p: string) => index.resolve(n, t, p) };
  assert.throws(() => scanProtobuf(batchOf(sampleOf(ID, [...tag(4, 0), ...varint(-1n)], gauge(1))), ctx, NOW));
  assert.equal(index.size, 0);
});

test("a body that is a view into a larger buffer decodes like a copy", () => {
  const body = batchOf(sampleOf(ID, TS, gauge(45.67)), sampleOf(ID, TS, gauge(-0.25)));
  const outer = new Uint8Array(body.length + 7).fill(0xff);
  outer.set(body, 3);
  assert.deepEqual(assertSame(outer.subarray(3, 3 + body.length)), assertSame(body));
});
