import test from "node:test";
import assert from "node:assert/strict";
import { create, toBinary } from "@bufbuild/protobuf";
import { SampleBatchSchema, SampleSchema } from "../../../src/gen/stalker_pb.ts";
import { SeriesIndex } from "../../../src/head/series.ts";
import { scanJson } from "../../../src/ingest/json_scan.ts";
import { scanProtobuf } from "../../../src/ingest/protobuf_scan.ts";
import { SeriesCache } from "../../../src/ingest/series_cache.ts";
import { InputError } from "../../../src/model/errors.ts";

const NOW = Date.UTC(2026, 10, 25);
const index = new SeriesIndex();
const ctx = () => ({
  cache: new SeriesCache(),
  resolve: (n: string, t: string, p: string) => index.resolve(n, t, p),
  maxSampleAgeMs: 86_400_000,
});

const PROTOBUF = toBinary(
  SampleBatchSchema,
  create(SampleBatchSchema, {
    samples: [
      create(SampleSchema, {
        namespace: "n",
        target: "t",
        poller: "p",
        timestampMs: BigInt(NOW),
        valid: true,
        value: { case: "valueGauge", value: 1 },
      }),
      create(SampleSchema, {
        namespace: "n",
        target: "t",
        poller: "q",
        timestampMs: BigInt(NOW - 1),
        valid: true,
        value: { case: "valueCounter", value: 5n },
      }),
    ],
  }),
);
const JSON_BODY = new TextEncoder().encode(JSON.stringify({
  samples: [
    { namespace: "n", target: "t", poller: "p", timestamp_ms: NOW, value: 1.5 },
    { namespace: "n", target: "t", poller: "q", value_counter: "123", valid: true, error: "x", poll_ms: 3 },
  ],
}));

const DECODERS: [string, Uint8Array, (b: Uint8Array) => unknown][] = [
  ["protobuf", PROTOBUF, (b) => scanProtobuf(b, ctx(), NOW)],
  ["JSON", JSON_BODY, (b) => scanJson(b, ctx(), NOW, "json")],
  ["NDJSON", JSON_BODY, (b) => scanJson(b, ctx(), NOW, "ndjson")],
];

// the HTTP edge answers 400 only for InputError: any other error from a decoder would be a 500 (a bug)
for (const [name, body, decode] of DECODERS) {
  test(`${name}: every damaged body decodes or fails with an InputError, never a built-in error`, () => {
    let seed = 11;
    const r = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    let refused = 0;
    for (let i = 0; i < 5_000; i++) {
      const b = new Uint8Array(body);
      for (let k = 1 + Math.floor(r() * 4); k > 0; k--) b[Math.floor(r() * b.length)] = Math.floor(r() * 256);
      const damaged = r() < 0.3 ? b.subarray(0, Math.floor(r() * b.length)) : b;
      try {
        decode(damaged);
      } catch (err) {
        assert.ok(err instanceof InputError, `${(err as Error).name}: ${(err as Error).message} for [${[...damaged]}]`);
        refused++;
      }
    }
    assert.ok(refused > 250, `only ${refused} bodies refused: the damage does not reach the decoder`);
  });
}
