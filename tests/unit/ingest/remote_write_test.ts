import test from "node:test";
import assert from "node:assert/strict";
import { create, toBinary } from "@bufbuild/protobuf";
import {
  type MetricMetadata_MetricType,
  MetricMetadata_MetricType as T,
  WriteRequestSchema,
} from "../../../src/gen/prometheus_remote_pb.ts";
import { DEFAULT_MAPPING, IdentityMapper } from "../../../src/ingest/mapping.ts";
import { RemoteWriteDecoder, snappyDecode } from "../../../src/ingest/remote_write.ts";
import { InputError } from "../../../src/model/errors.ts";
import { snappyLiterals } from "../../snappy_helper.ts";

const NOW = Date.UTC(2026, 10, 25, 12);
const clock = { nowMs: NOW, oldestMs: Date.UTC(2000, 0, 1) };

type Series = { labels: Record<string, string>; samples: [number, number][]; exemplars?: number; histograms?: number };

function request(series: Series[], metadata: [string, MetricMetadata_MetricType][] = []): Uint8Array {
  return toBinary(
    WriteRequestSchema,
    create(WriteRequestSchema, {
      timeseries: series.map((s) => ({
        labels: Object.entries(s.labels).map(([name, value]) => ({ name, value })),
        samples: s.samples.map(([value, t]) => ({ value, timestamp: BigInt(t) })),
        exemplars: Array.from({ length: s.exemplars ?? 0 }, () => ({ value: 1, timestamp: BigInt(NOW) })),
        histograms: Array.from({ length: s.histograms ?? 0 }, () => ({})),
      })),
      metadata: metadata.map(([metricFamilyName, type]) => ({ metricFamilyName, type })),
    }),
  );
}

function decoder() {
  return new RemoteWriteDecoder(new IdentityMapper(DEFAULT_MAPPING));
}

test("labels: __name__ is the metric, instance the target, namespace label the namespace, the rest stays", () => {
  const { batch } = decoder().decode(
    request([{
      labels: { __name__: "ifHCInOctets", instance: "10.0.0.1", job: "snmp", ifName: "Gi0/1", namespace: "lab" },
      samples: [[100, NOW - 60_000], [200, NOW]],
    }]),
    clock,
  );
  assert.equal(batch.length, 2);
  const s = batch.sample(1);
  assert.deepEqual([s.namespace, s.target, s.poller, s.kind, s.counter, s.timestampMs], [
    "lab",
    "10.0.0.1",
    'ifHCInOctets{ifName="Gi0/1",job="snmp"}',
    "counter",
    200n,
    NOW,
  ]);
  const d = decoder().decode(request([{ labels: { __name__: "up" }, samples: [[1, NOW]] }]), clock).batch.sample(0);
  assert.deepEqual([d.namespace, d.target, d.poller, d.kind], ["default", "unknown", "up", "gauge"]);
});

test("kinds: _total and IF-MIB names are counters; metadata TYPE wins and is remembered across requests", () => {
  const dec = decoder();
  const kinds = (series: Series[], metadata: [string, MetricMetadata_MetricType][] = []) => {
    const { batch } = dec.decode(request(series, metadata), clock);
    return Array.from({ length: batch.length }, (_, i) => batch.sample(i).kind);
  };
  const one = (name: string, value = 5) => ({
    labels: { __name__: name },
    samples: [[value, NOW]] as [number, number][],
  });
  assert.deepEqual(
    kinds([one("http_requests_total"), one("ifInErrors"), one("sysUpTime"), one("cpu_seconds_total", 1.5)]),
    [
      "counter",
      "counter",
      "gauge",
      "gauge", // fractional: our counters are exact integers
    ],
  );
  // metadata in a request of its own (as Prometheus sends it), then samples
  assert.deepEqual(
    kinds([], [["sysUpTime", T.COUNTER], ["ifInErrors", T.GAUGE], ["lat", T.HISTOGRAM], ["rpc", T.SUMMARY], [
      "x",
      T.COUNTER,
    ]]),
    [],
  );
  assert.deepEqual(
    kinds([
      one("sysUpTime"),
      one("ifInErrors"),
      one("lat_bucket"),
      one("lat_count"),
      one("lat_sum"),
      one("rpc_count"),
      one("x_total"),
    ]),
    ["counter", "gauge", "counter", "counter", "gauge", "counter", "counter"],
  );
});

test("staleness markers are skipped; other NaN and infinities are failed samples; exemplars and histograms counted", () => {
  // the marker built straight into the message: an array of numbers would canonicalize the NaN
  const stale = new DataView(new Uint8Array([0x7f, 0xf0, 0, 0, 0, 0, 0, 2]).buffer).getFloat64(0);
  const body = toBinary(
    WriteRequestSchema,
    create(WriteRequestSchema, {
      timeseries: [{
        labels: [{ name: "__name__", value: "q" }, { name: "quantile", value: "0.5" }],
        samples: [
          { value: stale, timestamp: BigInt(NOW - 3000) },
          { value: NaN, timestamp: BigInt(NOW - 2000) },
          { value: Infinity, timestamp: BigInt(NOW - 1000) },
          { value: -Infinity, timestamp: BigInt(NOW) },
        ],
        exemplars: [{ value: 1, timestamp: BigInt(NOW) }, { value: 2, timestamp: BigInt(NOW) }],
        histograms: [{}],
      }],
    }),
  );
  const { batch, stats } = decoder().decode(body, clock);
  assert.equal(batch.length, 3);
  assert.deepEqual(
    [0, 1, 2].map((i) => [batch.sample(i).valid, batch.sample(i).kind, batch.sample(i).error]),
    [[false, "none", "NaN"], [false, "none", "+Inf"], [false, "none", "-Inf"]],
  );
  assert.deepEqual(stats, { stale: 1, exemplars: 2, histograms: 1, metadata: 0 });
});

test("bad requests are refused naming the series", () => {
  const refused = (body: Uint8Array, pattern: RegExp) =>
    assert.throws(() => decoder().decode(body, clock), (e) => e instanceof InputError && pattern.test(e.message));
  refused(request([{ labels: { job: "x" }, samples: [[1, NOW]] }]), /series 0 \(job="x"\): the series has no __name__/);
  refused(request([{ labels: { __name__: "m" }, samples: [[1, NOW / 1000]] }]), /series 0 .*older than accepted/);
  refused(request([{ labels: { __name__: "m" }, samples: [[1, NOW + 2 * 3_600_000]] }]), /ahead of the server clock/);
  refused(request([{ labels: { __name__: "m", host: "h".repeat(300) }, samples: [[1, NOW]] }]), /target is longer/);
  refused(new Uint8Array([0x0a, 0x05, 0x01]), /cannot decode the WriteRequest/);
});

test("snappy: a literal block decodes; a corrupt block or one decoding past the limit is refused before decoding", () => {
  const data = new TextEncoder().encode("hello ".repeat(30_000));
  assert.deepEqual(snappyDecode(snappyLiterals(data), 1 << 20), data);
  assert.throws(() => snappyDecode(snappyLiterals(data), 1000), /decodes to 180000 bytes, more than/);
  assert.throws(() => snappyDecode(new Uint8Array([10, 0xff, 0xff]), 100), /cannot decode the snappy body/);
  assert.throws(() => snappyDecode(new Uint8Array([]), 100), /no valid length/);
});

test("a label value holding what looks like another label never shares a remembered identity", () => {
  const dec = decoder();
  const two = dec.decode(request([{ labels: { __name__: "m", a: "b", c: "d" }, samples: [[1, NOW]] }]), clock).batch;
  assert.equal(two.poller[0], 'm{a="b",c="d"}');
  const one = dec.decode(request([{ labels: { __name__: "m", a: "b4:c1:d" }, samples: [[1, NOW]] }]), clock).batch;
  assert.equal(one.poller[0], 'm{a="b4:c1:d"}');
});

test("the fast scanner reads what protobuf-es reads, and refuses what it refuses", async () => {
  const { referenceScan, scanWriteRequest } = await import("../../../src/ingest/remote_write_scan.ts");
  const stale = new DataView(new Uint8Array([0x7f, 0xf0, 0, 0, 0, 0, 0, 2]).buffer).getFloat64(0);
  const body = toBinary(
    WriteRequestSchema,
    create(WriteRequestSchema, {
      timeseries: [
        {
          labels: [{ name: "__name__", value: "m" }, { name: "é", value: "ü 🚀" }, { name: "", value: "" }],
          samples: [
            { value: stale, timestamp: BigInt(NOW) },
            { value: -0.5, timestamp: -5n },
            { value: 1e300, timestamp: 9007199254740991n },
            { value: NaN, timestamp: 0n },
          ],
          exemplars: [{ value: 1, timestamp: 2n, labels: [{ name: "trace_id", value: "x" }] }],
          histograms: [{}, {}],
        },
        { labels: [], samples: [] },
      ],
      metadata: [{ metricFamilyName: "m", type: T.COUNTER, help: "h", unit: "u" }, { type: T.STATESET }],
    }),
  );
  const fast = scanWriteRequest(body);
  assert.deepEqual(fast, referenceScan(body));
  assert.deepEqual(fast.series[0].stale, [true, false, false, false]);
  // every truncation is refused by both (or accepted by both, where it cuts at a field boundary)
  for (let n = 0; n < body.length; n++) {
    const cut = body.subarray(0, n);
    let ref: unknown, got: unknown;
    try {
      ref = referenceScan(cut);
    } catch {
      ref = "error";
    }
    try {
      got = scanWriteRequest(cut);
    } catch {
      got = "error";
    }
    assert.deepEqual(got, ref, `truncated at ${n}`);
  }
  // invalid UTF-8 in a label
  const bad = toBinary(
    WriteRequestSchema,
    create(WriteRequestSchema, { timeseries: [{ labels: [{ name: "a", value: "b" }] }] }),
  );
  bad[bad.length - 1] = 0xff;
  assert.throws(() => referenceScan(bad));
  assert.throws(() => scanWriteRequest(bad), /invalid UTF-8/);
});
