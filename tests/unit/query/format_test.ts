import test from "node:test";
import assert from "node:assert/strict";
import { Aggregate, VALUE_KIND_CODE } from "../../../src/model/aggregate.ts";
import { STATS } from "../../../src/model/aggregate_stats.ts";
import { exportBody } from "../../../src/query/export.ts";
import { POINT_COLUMNS, pointJson, resultCsv } from "../../../src/query/format.ts";
import type { QueryResult } from "../../../src/query/query.ts";
import { parquetMetadata } from "hyparquet";

const T = Date.UTC(2026, 10, 25, 10);

function result(agg: Aggregate): QueryResult {
  const point = { namespace: "prod", target: "r1", poller: "cpu", bucket: T, kind: VALUE_KIND_CODE.gauge, agg };
  return {
    tier: "5min",
    fromMs: T,
    toMs: T + 300_000,
    series: [{ namespace: "prod", target: "r1", poller: "cpu", kind: "gauge", points: [point] }],
    truncated: false,
    partial: false,
    warnings: [],
  };
}

test("an aggregate point has every statistic, avg and the percentiles, in the documented order", () => {
  // docs/http_api.md: count, sum, min, max, avg, p50…p99, first_ts, last_ts, error_count
  const names = POINT_COLUMNS.map((c) => c.name);
  assert.deepEqual(names, [
    "count",
    "sum",
    "min",
    "max",
    "avg",
    "p50",
    "p90",
    "p95",
    "p99",
    "first_ts",
    "last_ts",
    "error_count",
  ]);
  for (const s of STATS) assert.ok(names.includes(s.column), s.column);
  const a = Aggregate.empty(0.01);
  a.add(2, T + 1_000);
  a.add(4, T + 61_000);
  a.addError(T + 121_000);
  const r = result(a);
  const json = pointJson(r.series[0].points![0]);
  assert.deepEqual(Object.keys(json), ["t", ...names]);
  assert.deepEqual(
    { ...json, p50: undefined, p90: undefined, p95: undefined, p99: undefined },
    {
      t: T,
      count: 2,
      sum: 6,
      min: 2,
      max: 4,
      avg: 3,
      p50: undefined,
      p90: undefined,
      p95: undefined,
      p99: undefined,
      first_ts: T + 1_000,
      last_ts: T + 121_000,
      error_count: 1,
    },
  );
  const [header, line] = resultCsv(r).trim().split("\n");
  assert.equal(header, `namespace,target,poller,tier,t,time,kind,${names.join(",")}`);
  assert.equal(line.split(",").length, header.split(",").length);
});

test("an empty bucket's values are null, its counts numbers; the export's Parquet types follow the columns", () => {
  const json = pointJson(result(Aggregate.empty(0.01)).series[0].points![0]);
  assert.equal(json.count, 0);
  assert.equal(json.error_count, 0);
  for (const k of ["sum", "min", "max", "avg", "p50", "first_ts", "last_ts"]) assert.equal(json[k], null, k);
  const file = exportBody(result(Aggregate.empty(0.01)), "parquet");
  const schema = parquetMetadata(file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength) as ArrayBuffer)
    .schema;
  for (const c of POINT_COLUMNS) assert.equal(schema.find((e) => e.name === c.name)?.type, c.type, c.name);
});
