/**
 * The PromQL subset on hand-made data: parse errors and refusals, the label mapping, and the evaluator's
 * edges (lookback and window boundaries, extrapolation limits, resets, quantiles, duplicate label sets,
 * aggregate-tier answers), each computed by hand from Prometheus's rules.
 */
import test from "node:test";
import assert from "node:assert/strict";
import { Aggregate } from "../../../src/model/aggregate.ts";
import type { Tier } from "../../../src/model/tier.ts";
import { formatFloat, parseTime } from "../../../src/prom/api.ts";
import { type Matcher, matches, parseDurationMs, parsePromQL, PromError, unquote } from "../../../src/prom/ast.ts";
import type { AggData, DataSource, SeriesData, SeriesRef } from "../../../src/prom/data.ts";
import { evaluate, extrapolatedRate, planTier, quantile, type Vec } from "../../../src/prom/eval.ts";
import { labelValue, seriesLabels } from "../../../src/prom/labels.ts";

const MIN = 60_000;

/** Raw series in memory: poller → [ts, value][] (namespace "n", target "t"). */
function rawSource(series: Record<string, [number, number][]>): DataSource {
  const refs: SeriesRef[] = Object.keys(series).map((p) => ({
    namespace: "n",
    target: "t",
    poller: p,
    labels: seriesLabels("n", "t", p),
  }));
  return {
    select: (ms: readonly Matcher[]) => refs.filter((r) => ms.every((m) => matches(m, labelValue(r.labels, m.name)))),
    fetch: (rs, from, to) =>
      Promise.resolve(rs.map((r): SeriesData => {
        const pts = series[r.poller].filter(([t]) => t >= from && t < to);
        return {
          tier: "raw",
          labels: r.labels,
          ts: Float64Array.from(pts.map(([t]) => t)),
          values: Float64Array.from(pts.map(([, v]) => v)),
        };
      })),
  };
}

async function instant(q: string, t: number, source: DataSource, tier: Tier = "raw"): Promise<Vec[] | number> {
  const r = await evaluate(parsePromQL(q), { startMs: t, endMs: t, stepMs: 0, source, tierFor: () => tier });
  return r.value.kind === "scalar" ? r.value.values[0] : r.value.series.filter((s) => s.present[0]);
}

async function one(q: string, t: number, source: DataSource): Promise<number | undefined> {
  const r = await instant(q, t, source);
  if (typeof r === "number") return r;
  assert.ok(r.length <= 1, `${q}: ${r.length} series`);
  return r[0]?.values[0];
}

test("refused constructs are 400s naming them; syntax errors say where", () => {
  const refused: [string, RegExp][] = [
    ["histogram_quantile(0.9, x)", /function histogram_quantile\(\) is not supported/],
    ["abs(x)", /function abs\(\) is not supported/],
    ["x + y", /binary operation between two vectors/],
    ["x and y", /operator and is not supported/],
    ["x * on(a) 2", /modifier on\(a\) is not supported/],
    ["max_over_time(x[1h:5m])", /subquery is not supported/],
    ["x @ 100", /@ modifier is not supported/],
    ['"text"', /string literal is not supported/],
    ["stddev(x)", /aggregation stddev\(\) is not supported/],
    ["rate(x)", /expects a range vector/],
    ["x[5m]", /range vector is not supported as a query's result/],
    ["1 > 2", /must use the bool modifier/],
    ["x + bool 1", /bool modifier can only be used on comparison/],
    ['{a=~"(?!b)"}', /not RE2/],
    ['{a=""}', /at least one non-empty matcher/],
    ["sum(rate(x[5m]", /parse error at char \d+: unexpected end of input/],
  ];
  for (const [q, re] of refused) {
    assert.throws(
      () => parsePromQL(q),
      (e: unknown) => e instanceof PromError && e.status === 400 && re.test(e.message),
      q,
    );
  }
});

test("literals: durations, numbers, strings", () => {
  assert.equal(parseDurationMs("1h30m"), 5_400_000);
  assert.equal(parseDurationMs("90"), 90_000);
  assert.throws(() => parseDurationMs("5 minutes"), PromError);
  assert.equal(unquote('"a\\"b\\n\\x41\\u00e9"'), 'a"b\nAé');
  assert.equal(unquote("`raw\\n`"), "raw\\n");
  const e = parsePromQL("0x10 + 1e1 - Inf");
  assert.equal(e.type, "binary");
  assert.equal(parseTime("2026-11-25T12:00:00.5Z", "t"), Date.UTC(2026, 10, 25, 12, 0, 0, 500));
  assert.throws(() => parseTime("now", "time"), /invalid parameter "time"/);
  assert.equal(formatFloat(-2.5e-8), "-0.000000025");
  assert.equal(formatFloat(123456789012345680000), "123456789012345680000");
  assert.equal(formatFloat(NaN), "NaN");
  assert.equal(formatFloat(-Infinity), "-Inf");
});

test("label mapping: sanitized name plus poller, labelled pollers, collisions renamed", () => {
  assert.deepEqual(seriesLabels("prod", "r1", "ifHCInOctets.Gi0/1"), [
    ["__name__", "ifHCInOctets_Gi0_1"],
    ["namespace", "prod"],
    ["poller", "ifHCInOctets.Gi0/1"],
    ["target", "r1"],
  ]);
  assert.deepEqual(seriesLabels("prod", "r1", "sysUpTime"), [
    ["__name__", "sysUpTime"],
    ["namespace", "prod"],
    ["target", "r1"],
  ]);
  assert.deepEqual(seriesLabels("prod", "r1", 'ifInOctets{ifName="Gi0/1",target="x"}'), [
    ["__name__", "ifInOctets"],
    ["exported_target", "x"],
    ["ifName", "Gi0/1"],
    ["namespace", "prod"],
    ["target", "r1"],
  ]);
  assert.equal(labelValue(seriesLabels("a", "b", "9lives"), "__name__"), "_9lives");
});

test("instant selectors look back 5 minutes, left-open; offset shifts", async () => {
  const src = rawSource({ g: [[0, 1], [MIN, 2]] });
  assert.equal(await one("g", MIN, src), 2);
  assert.equal(await one("g", MIN + 5 * MIN - 1, src), 2);
  assert.equal(await one("g", MIN + 5 * MIN, src), undefined); // (t − 5m, t] excludes t − 5m
  assert.equal(await one("g", 30_000, src), 1);
  assert.equal(await one("g offset 1m", MIN + 30_000, src), 1);
  assert.equal(await one("g offset -1m", 0, src), 2);
});

test("range windows are (t − d, t]", async () => {
  const src = rawSource({ g: [0, 1, 2, 3, 4, 5].map((i) => [i * MIN, i] as [number, number]) });
  assert.equal(await one("count_over_time(g[5m])", 5 * MIN, src), 5); // samples 1..5
  assert.equal(await one("sum_over_time(g[5m])", 5 * MIN, src), 15);
  assert.equal(await one("min_over_time(g[2m])", 5 * MIN, src), 4);
  assert.equal(await one("last_over_time(g[2m])", 5 * MIN + 30_000, src), 5);
  assert.equal(await one("quantile_over_time(0.5, g[10m])", 5 * MIN, src), 2.5);
  assert.equal(await one("quantile_over_time(2, g[10m])", 5 * MIN, src), Infinity);
  assert.ok(Math.abs((await one("deriv(g[10m])", 5 * MIN, src))! - 1 / 60) < 1e-15);
});

test("extrapolatedRate: edges within 1.1 intervals, half an interval otherwise, never below zero", () => {
  const ts = [60_000, 120_000, 180_000];
  // window (0, 240s]: 60 s to each edge = 1 interval (< 1.1): extrapolated to the whole 240 s
  assert.equal(extrapolatedRate(ts, [100, 200, 300], 0, 3, 0, 240_000, 240_000, true, false), 200 * 240 / 120);
  // window (−120s, 300s]: 180 s and 120 s to the edges (≥ 66 s): half an interval (30 s) each
  assert.equal(extrapolatedRate(ts, [100, 200, 300], 0, 3, -120_000, 300_000, 420_000, true, false), 200 * 180 / 120);
  // a counter at 10 going up 100 per minute reaches zero 6 s before its first sample: no further
  assert.equal(
    extrapolatedRate(ts, [10, 110, 210], 0, 3, 0, 240_000, 240_000, true, false),
    200 * (120 + 6 + 60) / 120,
  );
  // delta (a gauge) extrapolates below zero freely
  assert.equal(extrapolatedRate(ts, [10, 110, 210], 0, 3, 0, 240_000, 240_000, false, false), 200 * 240 / 120);
  // one sample: no answer
  assert.equal(extrapolatedRate(ts, [1, 2, 3], 0, 1, 0, 240_000, 240_000, true, true), null);
});

test("counter resets: rate and irate add the value before the reset", async () => {
  const src = rawSource({ c: [[MIN, 100], [2 * MIN, 160], [3 * MIN, 20]] });
  // increase 60 + (20 after a reset from 160): 80 over 120 s, extrapolated by 60 s at the start: 80 · 180/120
  assert.equal(await one("increase(c[3m])", 3 * MIN, src), 80 * 180 / 120);
  assert.equal(await one("irate(c[5m])", 3 * MIN, src), 20 / 60);
  assert.equal(await one("delta(c[3m])", 3 * MIN, src), -80 * 180 / 120);
});

test("aggregations, topk, comparisons and duplicate label sets", async () => {
  const src = rawSource({ "a.x": [[0, 1]], "b.x": [[0, 5]], "c.x": [[0, 3]] });
  assert.equal(await one("sum(a_x)", 0, src), 1);
  assert.equal(await one('quantile(0.25, {target="t"})', 0, src), 2);
  assert.equal(await one('count({target="t"} > 2)', 0, src), 2);
  const top = await instant('topk(2, {target="t"})', 0, src) as Vec[];
  assert.deepEqual(top.map((s) => labelValue(s.labels, "poller")).sort(), ["b.x", "c.x"]);
  const byPoller = await instant('max by (poller) ({target="t"})', 0, src) as Vec[];
  assert.equal(byPoller.length, 3);
  assert.equal(await one("-(2 * 3) + 1", 0, src), -5);
  // poller keeps sanitized twins apart; when two series only differ by __name__, dropping it collides
  const twins = rawSource({ 'cpu{core="1"}': [[0, 1]], 'mem{core="1"}': [[0, 2]] });
  await assert.rejects(
    () => instant('{core="1"} * 2', 0, twins),
    (e: unknown) => e instanceof PromError && e.status === 422 && /same labelset/.test(e.message),
  );
  assert.equal((await instant('{core="1"} > 0', 0, twins) as Vec[]).length, 2); // a filter keeps the names
});

test("topk and bottomk: the k best at each step, ties to the first in label order, NaN last", async () => {
  const src = rawSource({ "a.x": [[0, 2]], "b.x": [[0, 7]], "c.x": [[0, 2]], "d.x": [[0, NaN]], "e.x": [[0, 9]] });
  const pollers = async (q: string) => (await instant(q, 0, src) as Vec[]).map((s) => labelValue(s.labels, "poller"));
  assert.deepEqual((await pollers('topk(2, {target="t"})')).sort(), ["b.x", "e.x"]);
  assert.deepEqual((await pollers('topk(4, {target="t"})')).sort(), ["a.x", "b.x", "c.x", "e.x"]);
  // a tie at the k-th place: the first in label order
  assert.deepEqual((await pollers('bottomk(1, {target="t"})')).sort(), ["a.x"]);
  assert.deepEqual((await pollers('topk(3, {target="t"})')).sort(), ["a.x", "b.x", "e.x"]);
  // NaN comes last for both
  assert.deepEqual((await pollers('bottomk(4, {target="t"})')).sort(), ["a.x", "b.x", "c.x", "e.x"]);
  assert.deepEqual((await pollers('topk(5, {target="t"})')).length, 5);
});

test("aggregate tiers: exact count/sum/min/max, sketch quantiles, rates; kinds that cannot answer are left out", async () => {
  const accuracy = 0.01;
  const bucket = (values: number[]) => {
    const a = Aggregate.empty(accuracy);
    values.forEach((v, i) => a.add(v, i));
    return a;
  };
  const gauge = [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]].map(bucket);
  const rates = [[10, 10, 10, 10], [20, 20, 20, 20, 20]].map(bucket);
  const agg = (poller: string, aggs: Aggregate[], rate: boolean): AggData => ({
    tier: "5min",
    labels: seriesLabels("n", "t", poller),
    rate,
    end: Float64Array.from([5 * MIN, 10 * MIN]),
    count: Float64Array.from(aggs.map((a) => a.count)),
    sum: Float64Array.from(aggs.map((a) => a.sum)),
    min: Float64Array.from(aggs.map((a) => a.min)),
    max: Float64Array.from(aggs.map((a) => a.max)),
    aggs,
  });
  const data = [agg("g", gauge, false), agg("c", rates, true)];
  const src: DataSource = {
    select: (ms) =>
      data.map((d) => ({ namespace: "n", target: "t", poller: labelValue(d.labels, "__name__"), labels: d.labels }))
        .filter((r) => ms.every((m) => matches(m, labelValue(r.labels, m.name)))),
    fetch: (rs) => Promise.resolve(data.filter((d) => rs.some((r) => r.labels === d.labels))),
  };
  const at = async (q: string) => {
    const r = await evaluate(parsePromQL(q), {
      startMs: 10 * MIN,
      endMs: 10 * MIN,
      stepMs: 5 * MIN,
      source: src,
      tierFor: () => "5min",
    });
    const v = r.value.kind === "vector" ? r.value.series[0]?.values[0] : r.value.values[0];
    return { v, warnings: r.warnings };
  };
  assert.equal((await at("avg_over_time(g[10m])")).v, 5.5);
  assert.equal((await at("max_over_time(g[5m])")).v, 10);
  assert.equal((await at("count_over_time(g[10m])")).v, 10);
  assert.equal((await at("g")).v, 8); // the newest bucket's mean
  const p90 = (await at("quantile_over_time(0.9, g[10m])")).v!;
  assert.ok(Math.abs(p90 - 9) <= 9 * accuracy, `p90 ${p90}`); // rank ⌊0.9 · 9⌋ = 8: the value 9
  assert.equal((await at("rate(c[10m])")).v, (40 + 100) / 9);
  assert.equal((await at("increase(c[5m])")).v, 20 * 300);
  const left = await at("rate(g[5m])");
  assert.equal(left.v, undefined);
  assert.match(left.warnings.join(), /1 series left out/);
  assert.match((await at("c")).warnings.join(), /counter series left out/);
});

test("tier plan: raw below 5 minutes, the coarsest fitting tier that still covers the range", () => {
  const all = () => true;
  assert.equal(planTier(60_000, 0, all, "weekly"), "raw");
  assert.equal(planTier(300_000, 0, all, "weekly"), "5min");
  assert.equal(planTier(7_200_000, 0, all, "weekly"), "hourly");
  assert.equal(planTier(86_400_000, 0, all, "weekly"), "daily");
  const noRaw = (t: Tier) => t !== "raw";
  assert.equal(planTier(60_000, 0, noRaw, "5min"), "5min");
  assert.equal(planTier(0, 0, (t) => t === "hourly", "hourly"), "hourly");
  assert.deepEqual(quantile(0.5, [3, 1, 2, 4]), 2.5);
});
