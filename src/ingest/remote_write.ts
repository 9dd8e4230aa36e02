/**
 * The Prometheus remote-write 1.0 decoder (`POST /api/v1/write`): a snappy block-compressed
 * `prometheus.WriteRequest` (read by `remote_write_scan.ts`, checked against the protobuf-es code generated
 * from `proto/prometheus_remote.proto`; snappy from hyparquet) into a batch. The series identity comes from `mapping.ts`, with `__name__` as the metric.
 *
 * Kinds: a series is a counter when its metric family's metadata says `COUNTER` (the family itself or
 * `family_total`), it is a histogram's or summary's `_bucket` or `_count`, or — without metadata — its
 * name matches `ingestion.mapping.counter_patterns` (`*_total` and the IF-MIB counters by default); and
 * only while its value is a whole number ≥ 0 (our counters are exact unsigned 64-bit integers: a
 * fractional counter such as `process_cpu_seconds_total` is a gauge). Everything else is a gauge.
 * Metadata arrives in requests of its own (Prometheus sends it every minute), so the decoder remembers
 * each family's type across requests.
 *
 * Special values: Prometheus staleness markers (a series that disappeared) are skipped; any other NaN or
 * infinity is stored as a failed sample (`valid: false`) whose error is `NaN`, `+Inf` or `-Inf`.
 * Exemplars and native histograms are ignored (counted in the answer's headers).
 *
 * @module
 */
import { snappyUncompress } from "hyparquet";
import { MetricMetadata_MetricType } from "../gen/prometheus_remote_pb.ts";
import { FLAG_VALID, SampleBatch } from "../model/batch.ts";
import { InputError } from "../model/errors.ts";
import { KIND_CODE, MAX_COUNTER, MAX_FUTURE_MS } from "../model/sample.ts";
import type { IdentityMapper } from "./mapping.ts";
import { type ScannedRequest, scanWriteRequest, WireError } from "./remote_write_scan.ts";

/** Most metric families whose metadata type is remembered (then the memory starts over). */
const METADATA_LIMIT = 100_000;

/**
 * Decodes a snappy block (the remote-write body encoding), refusing one that would decode to more than
 * `limit` bytes before decoding it. Throws an `InputError` on a malformed block.
 */
export function snappyDecode(body: Uint8Array, limit: number): Uint8Array {
  let length = 0;
  let shift = 0;
  let i = 0;
  for (;; i++) {
    if (i >= body.length || i >= 5) throw new InputError("invalid_snappy", "the snappy block has no valid length");
    const b = body[i];
    length += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if (b < 0x80) break;
  }
  if (length > limit) {
    throw new InputError(
      "body_too_large",
      `the request body decodes to ${length} bytes, more than server.max_body_bytes (${limit} bytes)`,
    );
  }
  const out = new Uint8Array(length);
  try {
    snappyUncompress(body, out);
  } catch (err) {
    throw new InputError("invalid_snappy", `cannot decode the snappy body: ${(err as Error).message}`);
  }
  return out;
}

/** What a decoded request held besides its samples. */
export interface RemoteWriteStats {
  /** Samples skipped as staleness markers. */
  stale: number;
  /** Exemplars ignored. */
  exemplars: number;
  /** Native histogram samples ignored. */
  histograms: number;
  /** Metadata entries read. */
  metadata: number;
}

/**
 * Decodes remote-write requests, remembering metric metadata across them.
 *
 * @example
 * ```ts
 * import { create, toBinary } from "@bufbuild/protobuf";
 * import { WriteRequestSchema } from "../gen/prometheus_remote_pb.ts";
 * import { DEFAULT_MAPPING, IdentityMapper } from "./mapping.ts";
 * import { RemoteWriteDecoder } from "./remote_write.ts";
 * const body = toBinary(WriteRequestSchema, create(WriteRequestSchema, { timeseries: [{
 *   labels: [{ name: "__name__", value: "up" }, { name: "instance", value: "sw1" }, { name: "job", value: "snmp" }],
 *   samples: [{ value: 1, timestamp: 1_700_000_000_000n }] }] }));
 * const { batch } = new RemoteWriteDecoder(new IdentityMapper(DEFAULT_MAPPING))
 *   .decode(body, { nowMs: 1_700_000_000_000, oldestMs: 0 });
 * if (batch.target[0] !== "sw1" || batch.poller[0] !== 'up{job="snmp"}') throw new Error();
 * ```
 */
export class RemoteWriteDecoder {
  private readonly types = new Map<string, MetricMetadata_MetricType>();

  constructor(private readonly mapper: IdentityMapper) {}

  /** Decodes an uncompressed `WriteRequest`. Throws an `InputError` on a bad request (nothing is kept). */
  decode(
    body: Uint8Array,
    clock: { nowMs: number; oldestMs: number },
  ): { batch: SampleBatch; stats: RemoteWriteStats } {
    let req: ScannedRequest;
    try {
      req = scanWriteRequest(body);
    } catch (err) {
      if (!(err instanceof WireError)) throw err;
      throw new InputError("invalid_protobuf", `cannot decode the WriteRequest: ${err.message}`);
    }
    const stats: RemoteWriteStats = { stale: 0, exemplars: 0, histograms: 0, metadata: req.metadata.length };
    for (const m of req.metadata) {
      if (m.family === "") continue;
      if (this.types.size >= METADATA_LIMIT && !this.types.has(m.family)) this.types.clear();
      this.types.set(m.family, m.type);
    }
    let count = 0;
    for (const ts of req.series) count += ts.values.length;
    const batch = new SampleBatch(count);
    const { nowMs, oldestMs } = clock;
    for (let s = 0; s < req.series.length; s++) {
      const ts = req.series[s];
      stats.exemplars += ts.exemplars;
      stats.histograms += ts.histograms;
      if (ts.values.length === 0) continue;
      let metric = "";
      let key = "rw";
      const labels: [string, string][] = [];
      for (const l of ts.labels) {
        key += l[0].length + ":" + l[0] + l[1].length + ":" + l[1]; // unambiguous: length-prefixed
        if (l[0] === "__name__") metric = l[1];
        else labels.push(l);
      }
      const fail = (message: string): never => {
        throw new InputError("invalid_sample", `series ${s} (${describe(ts.labels)}): ${message}`);
      };
      if (metric === "") fail("the series has no __name__ label");
      let id;
      try {
        id = this.mapper.mapMemo(key, metric, labels);
      } catch (err) {
        if (err instanceof InputError) fail(err.message);
        throw err;
      }
      const counterSeries = this.isCounter(metric);
      for (let k = 0; k < ts.values.length; k++) {
        const value = ts.values[k];
        const t = ts.timestamps[k];
        if (!Number.isSafeInteger(t)) fail(`timestamp ${t} is not a millisecond timestamp`);
        if (t < oldestMs || t > nowMs + MAX_FUTURE_MS) {
          fail(
            `timestamp ${t} (${new Date(t).toISOString()}) is ${
              t > nowMs ? "more than 1 hour ahead of the server clock" : "older than accepted"
            } (accepted now: ${new Date(oldestMs).toISOString()} … ${new Date(nowMs + MAX_FUTURE_MS).toISOString()})`,
          );
        }
        const i = batch.length;
        batch.namespace[i] = id.namespace;
        batch.target[i] = id.target;
        batch.poller[i] = id.poller;
        batch.ts[i] = t;
        batch.pollMs[i] = 0;
        if (!Number.isFinite(value)) {
          if (ts.stale[k]) {
            stats.stale++;
            continue;
          }
          batch.kind[i] = KIND_CODE.none;
          batch.flags[i] = 0;
          batch.value[i] = NaN;
          batch.setError(i, Number.isNaN(value) ? "NaN" : value > 0 ? "+Inf" : "-Inf");
        } else if (counterSeries && value >= 0 && Number.isInteger(value) && value <= Number(MAX_COUNTER)) {
          batch.kind[i] = KIND_CODE.counter;
          batch.flags[i] = FLAG_VALID;
          batch.value[i] = value;
          if (value > Number.MAX_SAFE_INTEGER) batch.setBig(i, BigInt(value));
        } else {
          batch.kind[i] = KIND_CODE.gauge;
          batch.flags[i] = FLAG_VALID;
          batch.value[i] = value;
        }
        batch.length++;
      }
    }
    return { batch, stats };
  }

  /** Whether the series named `metric` holds a counter (see the module doc). */
  private isCounter(metric: string): boolean {
    const types = this.types;
    if (types.size > 0) {
      const own = types.get(metric);
      if (own !== undefined) return own === MetricMetadata_MetricType.COUNTER;
      if (metric.endsWith("_total") && types.get(metric.slice(0, -6)) === MetricMetadata_MetricType.COUNTER) {
        return true;
      }
      for (const suffix of ["_bucket", "_count"]) {
        if (!metric.endsWith(suffix)) continue;
        const type = types.get(metric.slice(0, -suffix.length));
        if (type === MetricMetadata_MetricType.HISTOGRAM || type === MetricMetadata_MetricType.SUMMARY) return true;
        if (type !== undefined) return false;
      }
      if (metric.endsWith("_sum")) {
        const type = types.get(metric.slice(0, -4));
        if (type === MetricMetadata_MetricType.HISTOGRAM || type === MetricMetadata_MetricType.SUMMARY) return false;
      }
    }
    return this.mapper.isCounterName(metric);
  }
}

function describe(labels: readonly [string, string][]): string {
  const text = labels.map(([n, v]) => `${n}="${v}"`).join(",");
  return text.length > 200 ? text.slice(0, 197) + "..." : text;
}
