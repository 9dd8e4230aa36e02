import test from "node:test";
import assert from "node:assert/strict";
import { SeriesIndex } from "../../../src/head/series.ts";
import { decodeJson, decodeNdjson } from "../../reference/json_decode.ts";
import { scanJson } from "../../../src/ingest/json_scan.ts";
import { SeriesCache } from "../../../src/ingest/series_cache.ts";
import { InputError } from "../../../src/model/errors.ts";
import { rng } from "../../helpers.ts";
import { run } from "./decode_outcome.ts";

const NOW = Date.UTC(2026, 10, 25, 12);

/** Both decoders over the same text; ids from the reference are resolved in its own index. */
function both(text: string, mode: "json" | "ndjson", cache = new SeriesCache(), index = new SeriesIndex()) {
  const ref = run(() => {
    const b = mode === "json" ? decodeJson(text, NOW) : decodeNdjson(text, NOW);
    const refIndex = new SeriesIndex();
    refIndex.resolveBatch(b);
    return b;
  });
  const fast = run(() =>
    scanJson(new TextEncoder().encode(text), { cache, resolve: (n, t, p) => index.resolve(n, t, p) }, NOW, mode)
  );
  return { ref, fast };
}

function assertSame(text: string, mode: "json" | "ndjson", strictMessages: boolean) {
  const { ref, fast } = both(text, mode);
  if ("error" in ref) {
    assert.ok(
      "error" in fast,
      `reference failed (${ref.error.message}) but the scanner accepted: ${text.slice(0, 300)}`,
    );
    if (ref.error.code === "invalid_sample" && strictMessages) {
      assert.deepEqual(fast.error, ref.error, text.slice(0, 300));
    }
    return;
  }
  assert.ok(!("error" in fast), `scanner failed (${"error" in fast && fast.error.message}) on: ${text.slice(0, 300)}`);
  assert.deepEqual(fast.samples, ref.samples, text.slice(0, 300));
}

const NAMES = ["prod", "lab", "core-router-017", "Gi0-1-25", "ifHCInOctets.Gi0-1", "ünï", 'a"b', "tab\there", "😀"];

function randomSample(r: () => number): Record<string, unknown> {
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
  const o: Record<string, unknown> = {};
  const keys = r() < 0.5 ? ["namespace", "target", "poller"] : ["poller", "namespace", "target"];
  for (const k of keys) if (r() > 0.02) o[k] = r() < 0.03 ? pick([1, "", null, "x".repeat(257)]) : pick(NAMES);
  if (r() < 0.8) {
    o[r() < 0.5 ? "timestamp_ms" : "timestampMs"] = r() < 0.05
      ? pick([-1, 1.5, "123", NOW + 1e8, "x"])
      : NOW - Math.floor(r() * 1e7);
  }
  const kind = r();
  if (kind < 0.4) {
    o[pick(["value", "value_gauge", "valueGauge"])] = r() < 0.05
      ? pick(["1", true, {}])
      : pick([45.67, -0.25, 0, 1e-7, 123456789.123, 1e21, 3]);
  } else if (kind < 0.75) {
    o[pick(["value_counter", "valueCounter"])] = pick([
      0,
      42,
      2 ** 53 - 1,
      "18446744073709551615",
      "9007199254740993",
      -1,
      1.5,
      2 ** 60,
      "abc",
      "18446744073709551616",
    ]);
  } else if (kind < 0.9) o[pick(["value_text", "valueText"])] = pick(["", "hello", "Zürich 🚀", 5]);
  if (r() < 0.3) o.valid = r() < 0.9 ? r() < 0.5 : "yes";
  if (r() < 0.2) o.error = pick(["timeout", "", null, 3]);
  if (r() < 0.3) o[r() < 0.5 ? "poll_ms" : "pollMs"] = pick([0, 12, 2_147_483_647, -1, 1.5, "5"]);
  if (r() < 0.02) o.vaule = 1;
  if (r() < 0.05) o[pick(["value", "value_counter", "value_text"])] = null;
  return o;
}

function spaced(json: string, r: () => number): string {
  if (r() < 0.5) return json;
  return json.replace(/([,:{}[\]])/g, (c) => (r() < 0.3 ? ` ${c}\n\t` : c));
}

/** Re-encodes some string characters as \\u escapes (same meaning). */
function escaped(json: string, r: () => number): string {
  if (r() < 0.8) return json;
  return json.replace(/"([a-z])/g, (m, c) => (r() < 0.3 ? `"\\u00${c.charCodeAt(0).toString(16)}` : m));
}

test("the fast JSON scanner decodes exactly what JSON.parse + validation decode (random documents)", () => {
  const r = rng(12345);
  for (let round = 0; round < 400; round++) {
    const n = 1 + Math.floor(r() * 8);
    const samples = Array.from({ length: n }, () => randomSample(r));
    const doc = r() < 0.5 ? samples : { samples, ...(r() < 0.2 ? { received_at_ms: 1 } : {}) };
    assertSame(escaped(spaced(JSON.stringify(doc), r), r), "json", true);
  }
});

test("the fast scanner agrees on NDJSON bodies", () => {
  const r = rng(777);
  for (let round = 0; round < 200; round++) {
    const lines = Array.from({ length: 1 + Math.floor(r() * 5) }, () => JSON.stringify(randomSample(r)));
    if (r() < 0.2) lines.splice(1, 0, "");
    assertSame(lines.join(r() < 0.5 ? "\n" : "\r\n") + (r() < 0.5 ? "\n" : ""), "ndjson", true);
  }
});

test("the fast scanner rejects every corrupted document the reference rejects", () => {
  const r = rng(99);
  const base = JSON.stringify({ samples: [randomValid(), randomValid()] });
  for (let round = 0; round < 300; round++) {
    const cut = Math.floor(r() * base.length);
    const mutated = r() < 0.5
      ? base.slice(0, cut)
      : base.slice(0, cut) + String.fromCharCode(32 + Math.floor(r() * 95)) + base.slice(cut + (r() < 0.5 ? 1 : 0));
    assertSame(mutated, "json", false);
  }
});

function randomValid(): Record<string, unknown> {
  return { namespace: "prod", target: "r1", poller: "cpu.load", timestamp_ms: NOW - 1000, value: 12.5, poll_ms: 3 };
}

const NUMBERS = [
  "0",
  "-0",
  "1",
  "45.67",
  "0.1",
  "0.05",
  "100.5",
  "1e3",
  "1E-3",
  "1.5e+2",
  "123456789012345",
  "1234567890123456789",
  "0.000000000000000000000000123",
  "9007199254740993",
  "1e308",
  "4.9e-324",
  "2.2250738585072014e-308",
  "1.7976931348623157e308",
  "3.141592653589793238462643383279",
];
for (const n of NUMBERS) {
  test(`gauge ${n} decodes to the same double as JSON.parse`, () => {
    const text = `[{"namespace":"n","target":"t","poller":"p","timestamp_ms":1000,"value":${n}}]`;
    const { ref, fast } = both(text, "json");
    assert.deepEqual(fast, ref);
    if (!("error" in fast)) assert.ok(Object.is((fast.samples[0] as { value: number }).value, JSON.parse(n)));
  });
}

test("a known series is resolved from the cache, and escapes map to the same series", () => {
  const index = new SeriesIndex();
  const cache = new SeriesCache();
  const ctx = { cache, resolve: (n: string, t: string, p: string) => index.resolve(n, t, p) };
  const enc = (s: string) => new TextEncoder().encode(s);
  const a = scanJson(enc('[{"namespace":"prod","target":"r1","poller":"cpu","value":1}]'), ctx, NOW, "json");
  const b = scanJson(enc('[{"poller":"cpu","target":"r1","namespace":"prod","value":2}]'), ctx, NOW, "json");
  const c = scanJson(enc('[{"namespace":"\\u0070rod","target":"r1","poller":"cpu","value":3}]'), ctx, NOW, "json");
  assert.equal(a.seriesId[0], b.seriesId[0]);
  assert.equal(a.seriesId[0], c.seriesId[0]);
  assert.equal(index.size, 1);
  assert.equal(cache.size, 1);
});

test("a body of the smallest samples grows the batch as often as it needs: every sample is kept", () => {
  const index = new SeriesIndex();
  const ctx = { cache: new SeriesCache(), resolve: (n: string, t: string, p: string) => index.resolve(n, t, p) };
  const n = 5_000; // ~55 bytes each: the first allocation holds about half of them
  const body = JSON.stringify(
    Array.from({ length: n }, (_, i) => ({ namespace: "n", target: "t", poller: `${i % 7}`, value: i })),
  );
  const b = scanJson(new TextEncoder().encode(body), ctx, NOW, "json");
  assert.equal(b.length, n);
  for (let i = 0; i < n; i++) {
    // every sample, the ones at each growth boundary included, is whole
    assert.deepEqual([b.value[i], b.ts[i], b.poller[i], b.flags[i]], [i, NOW, `${i % 7}`, 1], `sample ${i}`);
  }
  assert.equal(index.size, 7);
});

test("invalid UTF-8 anywhere in the body is rejected", () => {
  const ctx = { cache: new SeriesCache(), resolve: () => 0 };
  const body = new TextEncoder().encode('{"samples":[],"received_at_ms":"xx"}');
  body[body.length - 3] = 0xff;
  assert.throws(() => scanJson(body, ctx, NOW, "json"), (e) => e instanceof InputError && e.code === "invalid_utf8");
});

test("a text starting with U+FEFF keeps it (like JSON.parse)", () => {
  const text = JSON.stringify([{
    namespace: "n",
    target: "t",
    poller: "p",
    timestamp_ms: NOW - 1000,
    value_text: "\uFEFFné",
  }]);
  const { ref, fast } = both(text, "json");
  assert.deepEqual(fast, ref);
  assert.equal(("samples" in fast) && (fast.samples[0] as { text: string }).text, "\uFEFFné");
});

test("a lone UTF-16 surrogate in an identity, a text or an error is refused with the sample's index", () => {
  const sample = (extra: Record<string, unknown>) => ({
    namespace: "n",
    target: "t",
    poller: "p",
    timestamp_ms: NOW - 1000,
    value: 1,
    ...extra,
  });
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ target: "router-\ud800" }, /sample 1: target must not contain a lone UTF-16 surrogate/],
    [{ namespace: "\udc00x" }, /sample 1: namespace must not contain a lone UTF-16 surrogate/],
    [{ poller: "p\ude00\ud83d" }, /sample 1: poller must not contain a lone UTF-16 surrogate/],
    [{ value: undefined, value_text: "up \ud800" }, /sample 1: a text value must not contain a lone UTF-16 surrogate/],
    [{ valid: false, error: "\udfff timeout" }, /sample 1: error must not contain a lone UTF-16 surrogate/],
  ];
  for (const [extra, message] of cases) {
    for (const mode of ["json", "ndjson"] as const) {
      const samples = [sample({}), sample(extra)];
      // JSON.stringify writes a lone surrogate as its \u escape, as a client would
      const text = mode === "json" ? JSON.stringify(samples) : samples.map((s) => JSON.stringify(s)).join("\n");
      const { ref, fast } = both(text, mode);
      for (const outcome of [ref, fast]) {
        assert.ok("error" in outcome, `${mode} accepted ${JSON.stringify(extra)}`);
        assert.equal(outcome.error.code, "invalid_sample");
        assert.equal(outcome.error.index, 1);
        assert.match(outcome.error.message, message);
      }
    }
  }
  // a surrogate pair is a character: accepted, and read back the same
  const { fast } = both(JSON.stringify([sample({ target: "router-\ud83d\ude00" })]), "json");
  assert.ok(!("error" in fast));
  assert.equal((fast.samples[0] as { target: string }).target, "router-\u{1F600}");
});

test("a key that differs from the previous sample's key at its place is still read exactly", () => {
  // the scanner tries the previous sample's k-th key first: a prefix, an extension, an escape, another
  // alias or an unknown key at that place must decode (or be refused) exactly as the reference does
  const head = '"namespace":"n","target":"t","poller":"p","timestamp_ms":1000';
  const first = `{${head},"value":1,"poll_ms":3}`;
  for (
    const second of [
      `{${head},"value_gauge":2,"poll_ms":3}`,
      `{${head},"valu":2,"poll_ms":3}`,
      `{${head},"valueX":2,"poll_ms":3}`,
      `{${head},"v\\u0061lue":2,"poll_ms":3}`,
      `{${head},"value_counter":2,"pollMs":3}`,
      `{"poller":"p","namespace":"n","target":"t","timestampMs":2000,"value":2}`,
      `{${head},"value":2,"value":3,"poll_ms":3,"poll_ms":4}`,
      `{${head},"value":2,"poll_ms":3,"valid":false,"error":"e"}`,
      `{${head},"value":2,"poll_ms`,
      `{${head},"value":2,"poll_ms":3}`,
    ]
  ) {
    assertSame(`[${first},${second},${first}]`, "json", true);
    assertSame(`${first}\n${second}\n${second}\n`, "ndjson", true);
  }
});
