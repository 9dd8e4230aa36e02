/**
 * The PromQL evaluator: every query is evaluated as a range query over steps `start, start+step, …
 * ≤ end` (an instant query is one step), with Prometheus's semantics on raw samples — a 5-minute
 * lookback for instant selectors, windows `(t − range, t]`, `extrapolatedRate` for rate/increase/delta
 * with counter resets — and documented ones on aggregate tiers (docs/prometheus_api.md).
 *
 * Data is fetched once per selector, before evaluation, from the tier {@link planTier} picks.
 *
 * @module
 */
import { Aggregate } from "../model/aggregate.ts";
import { type AggregateTier, bucketMs, type Tier } from "../model/tier.ts";
import { type Aggregation, type BinaryOp, type Expr, PromError, type RangeFunction, type Selector } from "./ast.ts";
import type { AggData, DataSource, RawData, SeriesData, SeriesRef } from "./data.ts";
import { compareLabels, dropName, type Labels, labelsKey } from "./labels.ts";

/** Prometheus's default lookback for instant selectors. */
export const LOOKBACK_MS = 5 * 60_000;

/** Most points per series a range query may return (Prometheus's limit). */
export const MAX_POINTS_PER_SERIES = 11_000;

/** One series of an evaluated instant vector, over all steps. */
export interface Vec {
  labels: Labels;
  values: Float64Array;
  /** 1 where the series has a value at the step. */
  present: Uint8Array;
}

/** An evaluated expression. */
export type Value = { kind: "scalar"; values: Float64Array } | { kind: "vector"; series: Vec[] };

/** The time grid and where data comes from. */
export interface EvalRequest {
  startMs: number;
  endMs: number;
  /** > 0 for a range query; 0 for an instant query. */
  stepMs: number;
  source: DataSource;
  /**
   * Picks the tier for data needed over [fromMs, toMs] whose buckets may be up to `widthMs` wide (0: raw
   * samples are needed); see {@link planTier}.
   */
  tierFor: (fromMs: number, toMs: number, widthMs: number) => Tier;
  /** Called between reads: throws when the query ran out of time. */
  checkDeadline?: () => void;
  /** Aborted when the query runs out of time: the reads in progress stop at their next file. */
  signal?: AbortSignal;
}

/** The result of an evaluation. */
export interface EvalResult {
  value: Value;
  /** Evaluation times, Unix ms. */
  steps: Float64Array;
  warnings: string[];
  /** The tiers read. */
  tiers: Set<Tier>;
}

/** Functions whose answer the aggregate tiers hold (see docs/prometheus_api.md for how exactly). */
const AGG_CAPABLE: ReadonlySet<RangeFunction> = new Set([
  "rate",
  "increase",
  "avg_over_time",
  "min_over_time",
  "max_over_time",
  "sum_over_time",
  "count_over_time",
  "quantile_over_time",
]);

/**
 * The tier for data whose buckets may be up to `width` ms wide (the step, and the window of a function
 * over it): the coarsest aggregate tier whose bucket fits and whose retention still covers `fromMs`; raw
 * below 5 minutes. `covers(tier, fromMs)` says whether a tier's retention reaches back to `fromMs`; when
 * none does, `fallback` decides.
 */
export function planTier(
  width: number,
  fromMs: number,
  covers: (tier: Tier, fromMs: number) => boolean,
  fallback: Tier,
): Tier {
  const aggs: AggregateTier[] = ["weekly", "daily", "hourly", "5min"];
  if (covers("raw", fromMs) && width < bucketMs("5min")) return "raw";
  for (const t of aggs) if (bucketMs(t) <= width && covers(t, fromMs)) return t;
  return covers("raw", fromMs) ? "raw" : fallback;
}

/** Evaluates `expr`. */
export async function evaluate(expr: Expr, req: EvalRequest): Promise<EvalResult> {
  const n = req.stepMs > 0 ? Math.floor((req.endMs - req.startMs) / req.stepMs) + 1 : 1;
  if (n > MAX_POINTS_PER_SERIES) {
    throw new PromError(
      "bad_data",
      `exceeded maximum resolution of ${MAX_POINTS_PER_SERIES} points per timeseries. Try decreasing the query resolution (?step=XX)`,
    );
  }
  const steps = new Float64Array(n);
  for (let i = 0; i < n; i++) steps[i] = req.startMs + i * req.stepMs;
  const ev = new Evaluator(req, steps);
  await ev.prefetch(expr, null);
  return { value: ev.eval(expr), steps, warnings: ev.warnings, tiers: ev.tiers };
}

interface Fetched {
  series: SeriesData[];
  tier: Tier;
}

class Evaluator {
  readonly warnings: string[] = [];
  readonly tiers = new Set<Tier>();
  private readonly data = new Map<Selector, Fetched>();

  constructor(private readonly req: EvalRequest, private readonly steps: Float64Array) {}

  /** Fetches the data of every selector, from the tier its consumer can be answered from. */
  async prefetch(e: Expr, parent: RangeFunction | "selector" | null): Promise<void> {
    switch (e.type) {
      case "number":
        return;
      case "selector":
        return this.fetchSelector(e, LOOKBACK_MS, parent === null ? "selector" : parent);
      case "matrix":
        return this.fetchSelector(e.selector, e.rangeMs, parent ?? "selector");
      case "call":
        if (e.param) await this.prefetch(e.param, null);
        return this.prefetch(e.arg, e.func);
      case "aggregate":
        if (e.param) await this.prefetch(e.param, null);
        return this.prefetch(e.expr, null);
      case "binary":
        await this.prefetch(e.lhs, null);
        return this.prefetch(e.rhs, null);
      case "neg":
        return this.prefetch(e.expr, null);
    }
  }

  private async fetchSelector(s: Selector, windowMs: number, consumer: RangeFunction | "selector"): Promise<void> {
    const { req, steps } = this;
    const first = steps[0] - s.offsetMs;
    const last = steps[steps.length - 1] - s.offsetMs;
    const capable = consumer === "selector" || AGG_CAPABLE.has(consumer);
    // an aggregate bucket must fit both the step and the function's window
    const width = !capable || req.stepMs === 0
      ? 0
      : consumer === "selector"
      ? req.stepMs
      : Math.min(req.stepMs, windowMs);
    const tier = req.tierFor(first - windowMs, last, width);
    const refs = req.source.select(s.matchers);
    let from = first - windowMs;
    if (tier !== "raw") {
      windowMs = Math.max(windowMs, bucketMs(tier));
      from = first - windowMs - bucketMs(tier);
    }
    let series = refs.length === 0 ? [] : await req.source.fetch(
      refs,
      from,
      last + 1,
      tier,
      consumer === "quantile_over_time",
      this.warnings,
      req.signal,
    );
    req.checkDeadline?.();
    if (consumer === "selector" && tier !== "raw") series = await this.countersFromRaw(series, refs, first, last);
    // in label order, as Prometheus answers them
    series.sort((a, b) => compareLabels(a.labels, b.labels));
    this.data.set(s, { series, tier });
    this.tiers.add(tier);
  }

  /**
   * An aggregate tier keeps a counter's rates, not its values: a plain selector of counters reads their
   * raw samples instead, while the raw tier still holds the range.
   */
  private async countersFromRaw(
    series: SeriesData[],
    refs: SeriesRef[],
    first: number,
    last: number,
  ): Promise<SeriesData[]> {
    const counters = new Set(series.filter((d) => d.tier !== "raw" && d.rate).map((d) => d.labels));
    if (counters.size === 0 || this.req.tierFor(first - LOOKBACK_MS, last, 0) !== "raw") return series;
    const raw = await this.req.source.fetch(
      refs.filter((r) => counters.has(r.labels)),
      first - LOOKBACK_MS,
      last + 1,
      "raw",
      false,
      this.warnings,
      this.req.signal,
    );
    this.tiers.add("raw");
    return [...series.filter((d) => !counters.has(d.labels)), ...raw];
  }

  eval(e: Expr): Value {
    switch (e.type) {
      case "number":
        return { kind: "scalar", values: new Float64Array(this.steps.length).fill(e.value) };
      case "selector":
        return { kind: "vector", series: this.instant(e) };
      case "matrix":
        throw new PromError("bad_data", "A range vector cannot be the result of a query: wrap it in a function");
      case "call":
        return { kind: "vector", series: unique(this.call(e)) };
      case "aggregate":
        return { kind: "vector", series: this.aggregate(e) };
      case "binary":
        return this.binary(e.op, e.bool, this.eval(e.lhs), this.eval(e.rhs));
      case "neg": {
        const v = this.eval(e.expr);
        if (v.kind === "scalar") return { kind: "scalar", values: v.values.map((x) => -x) };
        return {
          kind: "vector",
          series: v.series.map((s) => ({
            labels: dropName(s.labels),
            values: s.values.map((x) => -x),
            present: s.present,
          })),
        };
      }
    }
  }

  // ------------------------------------------------------------ selectors

  private instant(s: Selector): Vec[] {
    const { series, tier } = this.data.get(s)!;
    const n = this.steps.length;
    const out: Vec[] = [];
    let skipped = 0;
    for (const d of series) {
      const v: Vec = { labels: d.labels, values: new Float64Array(n), present: new Uint8Array(n) };
      if (d.tier === "raw") {
        let hi = 0;
        for (let i = 0; i < n; i++) {
          const t = this.steps[i] - s.offsetMs;
          while (hi < d.ts.length && d.ts[hi] <= t) hi++;
          const j = hi - 1;
          if (j >= 0 && d.ts[j] > t - LOOKBACK_MS) {
            v.values[i] = d.values[j];
            v.present[i] = 1;
          }
        }
      } else {
        if (d.rate) {
          skipped++;
          continue;
        }
        const lookback = Math.max(LOOKBACK_MS, bucketMs(tier as AggregateTier));
        let hi = 0;
        for (let i = 0; i < n; i++) {
          const t = this.steps[i] - s.offsetMs;
          while (hi < d.end.length && d.end[hi] <= t) hi++;
          const j = hi - 1;
          if (j >= 0 && d.end[j] > t - lookback && d.count[j] > 0) {
            v.values[i] = d.sum[j] / d.count[j];
            v.present[i] = 1;
          }
        }
      }
      if (v.present.some((p) => p === 1)) out.push(v);
    }
    if (skipped > 0) {
      this.warnings.push(
        `${s.text}: ${skipped} counter series left out: the ${tier} tier keeps their rates, not their values, ` +
          `and the raw tier no longer holds the range; use rate() or increase()`,
      );
    }
    return out;
  }

  // ------------------------------------------------------------ functions

  private call(e: Extract<Expr, { type: "call" }>): Vec[] {
    const sel = e.arg.selector;
    const { series, tier } = this.data.get(sel)!;
    const n = this.steps.length;
    const rangeMs = e.arg.rangeMs;
    const param = e.param ? this.scalarOf(e.param) : null;
    const out: Vec[] = [];
    let skipped = 0;
    for (const d of series) {
      if (d.tier !== "raw" && d.rate !== (e.func === "rate" || e.func === "increase")) {
        skipped++;
        continue;
      }
      const v: Vec = {
        labels: e.func === "last_over_time" ? d.labels : dropName(d.labels),
        values: new Float64Array(n),
        present: new Uint8Array(n),
      };
      const times = d.tier === "raw" ? d.ts : d.end;
      let lo = 0, hi = 0;
      for (let i = 0; i < n; i++) {
        const t = this.steps[i] - sel.offsetMs;
        while (hi < times.length && times[hi] <= t) hi++;
        while (lo < hi && times[lo] <= t - rangeMs) lo++;
        if (hi === lo) continue;
        const r = d.tier === "raw"
          ? rawFunction(e.func, d, lo, hi, t - rangeMs, t, rangeMs, param?.[i])
          : aggFunction(e.func, d, lo, hi, rangeMs, param?.[i]);
        if (r !== null) {
          v.values[i] = r;
          v.present[i] = 1;
        }
      }
      if (v.present.some((p) => p === 1)) out.push(v);
    }
    if (skipped > 0) {
      this.warnings.push(
        `${e.func}(${sel.text}[...]): ${skipped} series left out: the ${tier} tier keeps ${
          e.func === "rate" || e.func === "increase" ? "the values of gauges" : "the rates of counters"
        }, not what ${e.func}() needs; use a step below 5m (raw samples)`,
      );
    }
    return out;
  }

  private scalarOf(e: Expr): Float64Array {
    const v = this.eval(e);
    if (v.kind !== "scalar") throw new PromError("bad_data", "expected a scalar parameter");
    return v.values;
  }

  // ------------------------------------------------------------ aggregations

  private aggregate(e: Extract<Expr, { type: "aggregate" }>): Vec[] {
    const inner = this.eval(e.expr);
    if (inner.kind !== "vector") {
      throw new PromError("bad_data", `${e.op}() expects an instant vector, got a scalar`);
    }
    const param = e.param ? this.scalarOf(e.param) : null;
    const groups = new Map<string, { labels: Labels; members: Vec[] }>();
    for (const s of inner.series) {
      const labels = groupLabels(s.labels, e.by, e.without);
      const key = labelsKey(labels);
      let g = groups.get(key);
      if (!g) groups.set(key, g = { labels, members: [] });
      g.members.push(s);
    }
    const n = this.steps.length;
    const out: Vec[] = [];
    for (const g of groups.values()) {
      if (e.op === "topk" || e.op === "bottomk") {
        out.push(...selectK(e.op, g.members, param!, n));
        continue;
      }
      const v: Vec = { labels: g.labels, values: new Float64Array(n), present: new Uint8Array(n) };
      const vals: number[] = [];
      for (let i = 0; i < n; i++) {
        vals.length = 0;
        for (const m of g.members) if (m.present[i]) vals.push(m.values[i]);
        if (vals.length === 0) continue;
        v.values[i] = aggregateValues(e.op, vals, param?.[i] ?? NaN);
        v.present[i] = 1;
      }
      if (v.present.some((p) => p === 1)) out.push(v);
    }
    return out;
  }

  // ------------------------------------------------------------ binary operators

  private binary(op: BinaryOp, bool: boolean, lhs: Value, rhs: Value): Value {
    const comparison = op === "==" || op === "!=" || op === ">" || op === "<" || op === ">=" || op === "<=";
    if (lhs.kind === "scalar" && rhs.kind === "scalar") {
      return { kind: "scalar", values: lhs.values.map((a, i) => arith(op, a, rhs.values[i])) };
    }
    const vectorLeft = lhs.kind === "vector";
    const vec = (vectorLeft ? lhs : rhs) as Extract<Value, { kind: "vector" }>;
    const scalar = (vectorLeft ? rhs : lhs) as Extract<Value, { kind: "scalar" }>;
    const out: Vec[] = [];
    for (const s of vec.series) {
      const n = s.values.length;
      const v: Vec = {
        labels: comparison && !bool ? s.labels : dropName(s.labels),
        values: new Float64Array(n),
        present: new Uint8Array(n),
      };
      for (let i = 0; i < n; i++) {
        if (!s.present[i]) continue;
        const a = vectorLeft ? s.values[i] : scalar.values[i];
        const b = vectorLeft ? scalar.values[i] : s.values[i];
        const r = arith(op, a, b);
        if (comparison && !bool) {
          if (r !== 1) continue;
          v.values[i] = s.values[i];
        } else v.values[i] = r;
        v.present[i] = 1;
      }
      if (v.present.some((p) => p === 1)) out.push(v);
    }
    return { kind: "vector", series: unique(out) };
  }
}

/**
 * Refuses a result in which two series have the same labels at the same step (a function or operator
 * dropped the metric name that told them apart), as Prometheus does.
 */
function unique(series: Vec[]): Vec[] {
  const byKey = new Map<string, Vec>();
  for (const s of series) {
    const key = labelsKey(s.labels);
    const other = byKey.get(key);
    if (other && s.present.some((p, i) => p === 1 && other.present[i] === 1)) {
      throw new PromError("execution", "vector cannot contain metrics with the same labelset");
    }
    if (other) {
      // disjoint in time: one series
      for (let i = 0; i < s.present.length; i++) {
        if (s.present[i]) {
          other.values[i] = s.values[i];
          other.present[i] = 1;
        }
      }
    } else byKey.set(key, s);
  }
  return [...byKey.values()];
}

/** `a op b`; comparisons answer 1 or 0. */
function arith(op: BinaryOp, a: number, b: number): number {
  switch (op) {
    case "+":
      return a + b;
    case "-":
      return a - b;
    case "*":
      return a * b;
    case "/":
      return a / b;
    case "%":
      return a % b;
    case "^":
      return Math.pow(a, b);
    case "==":
      return a === b ? 1 : 0;
    case "!=":
      return a !== b ? 1 : 0;
    case ">":
      return a > b ? 1 : 0;
    case "<":
      return a < b ? 1 : 0;
    case ">=":
      return a >= b ? 1 : 0;
    case "<=":
      return a <= b ? 1 : 0;
  }
}

function groupLabels(labels: Labels, by?: string[], without?: string[]): Labels {
  if (by) return labels.filter(([n]) => by.includes(n));
  if (without) return labels.filter(([n]) => n !== "__name__" && !without.includes(n));
  return [];
}

function aggregateValues(op: Aggregation, vals: number[], param: number): number {
  switch (op) {
    case "sum": {
      let s = 0;
      for (const v of vals) s += v;
      return s;
    }
    case "avg": {
      let s = 0;
      for (const v of vals) s += v;
      return s / vals.length;
    }
    case "min": {
      let m = NaN;
      for (const v of vals) if (Number.isNaN(m) || v < m) m = v;
      return m;
    }
    case "max": {
      let m = NaN;
      for (const v of vals) if (Number.isNaN(m) || v > m) m = v;
      return m;
    }
    case "count":
      return vals.length;
    case "quantile":
      return quantile(param, vals);
    default:
      throw new PromError("internal", `aggregation ${op} is not a value aggregation`);
  }
}

/**
 * topk / bottomk within one group: the members selected at each step keep their own labels. Between
 * equal values the choice is arbitrary, as in Prometheus (here: the first in label order).
 */
function selectK(op: "topk" | "bottomk", members: Vec[], param: Float64Array, n: number): Vec[] {
  const picked = members.map((m) => ({ labels: m.labels, values: m.values, present: new Uint8Array(n) }));
  const top: number[] = [];
  for (let i = 0; i < n; i++) {
    const k = Math.floor(param[i]);
    if (!(k >= 1)) continue;
    // NaN sorts last for both, as in Prometheus
    const before = (a: number, b: number): boolean => {
      const x = members[a].values[i], y = members[b].values[i];
      if (Number.isNaN(x)) return false;
      if (Number.isNaN(y)) return true;
      return op === "topk" ? x > y : x < y;
    };
    // the first k of a stable sort, kept by insertion: a member goes after those it does not beat
    top.length = 0;
    for (let j = 0; j < members.length; j++) {
      if (!members[j].present[i]) continue;
      if (top.length >= k && !before(j, top[top.length - 1])) continue;
      let p = top.length;
      while (p > 0 && before(j, top[p - 1])) p--;
      top.splice(p, 0, j);
      if (top.length > k) top.pop();
    }
    for (const j of top) picked[j].present[i] = 1;
  }
  return picked.filter((p) => p.present.some((x) => x === 1));
}

/** Prometheus's `quantile`: linear interpolation between the closest ranks. */
export function quantile(q: number, values: number[]): number {
  if (values.length === 0 || Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  const rank = q * (n - 1);
  const lower = Math.max(0, Math.floor(rank));
  const upper = Math.min(n - 1, lower + 1);
  const weight = rank - Math.floor(rank);
  return sorted[lower] * (1 - weight) + sorted[upper] * weight;
}

// ------------------------------------------------------------ range functions over raw samples

/** A function over the raw samples `[lo, hi)` of window `(rangeStart, rangeEnd]`; null: no value. */
function rawFunction(
  f: RangeFunction,
  d: RawData,
  lo: number,
  hi: number,
  rangeStart: number,
  rangeEnd: number,
  rangeMs: number,
  param: number | undefined,
): number | null {
  const { ts, values } = d;
  const count = hi - lo;
  switch (f) {
    case "rate":
    case "increase":
    case "delta":
      return extrapolatedRate(ts, values, lo, hi, rangeStart, rangeEnd, rangeMs, f !== "delta", f === "rate");
    case "irate": {
      if (count < 2) return null;
      const last = values[hi - 1], prev = values[hi - 2];
      const dt = ts[hi - 1] - ts[hi - 2];
      if (dt === 0) return null;
      return (last < prev ? last : last - prev) / (dt / 1000);
    }
    case "deriv": {
      if (count < 2) return null;
      return linearRegressionSlope(ts, values, lo, hi);
    }
    case "avg_over_time": {
      let s = 0;
      for (let i = lo; i < hi; i++) s += values[i];
      return s / count;
    }
    case "sum_over_time": {
      let s = 0;
      for (let i = lo; i < hi; i++) s += values[i];
      return s;
    }
    case "min_over_time": {
      let m = NaN;
      for (let i = lo; i < hi; i++) if (Number.isNaN(m) || values[i] < m) m = values[i];
      return m;
    }
    case "max_over_time": {
      let m = NaN;
      for (let i = lo; i < hi; i++) if (Number.isNaN(m) || values[i] > m) m = values[i];
      return m;
    }
    case "count_over_time":
      return count;
    case "last_over_time":
      return values[hi - 1];
    case "quantile_over_time":
      return quantile(param ?? NaN, Array.from(values.subarray(lo, hi)));
  }
}

/**
 * Prometheus's `extrapolatedRate` (promql/functions.go): the increase between the first and last sample
 * in the window (counters: plus the value before each reset), extrapolated to the window's edges when
 * the samples reach within 1.1 average intervals of them (else by half an interval), never below a
 * counter's zero point; `rate` divides by the window in seconds.
 */
export function extrapolatedRate(
  ts: ArrayLike<number>,
  values: ArrayLike<number>,
  lo: number,
  hi: number,
  rangeStart: number,
  rangeEnd: number,
  rangeMs: number,
  isCounter: boolean,
  isRate: boolean,
): number | null {
  if (hi - lo < 2) return null;
  const firstT = ts[lo], lastT = ts[hi - 1];
  let result = values[hi - 1] - values[lo];
  if (isCounter) {
    let prev = values[lo];
    for (let i = lo + 1; i < hi; i++) {
      if (values[i] < prev) result += prev;
      prev = values[i];
    }
  }
  let durationToStart = (firstT - rangeStart) / 1000;
  let durationToEnd = (rangeEnd - lastT) / 1000;
  const sampledInterval = (lastT - firstT) / 1000;
  const averageDurationBetweenSamples = sampledInterval / (hi - lo - 1);
  const threshold = averageDurationBetweenSamples * 1.1;
  if (durationToStart >= threshold) durationToStart = averageDurationBetweenSamples / 2;
  if (isCounter && result > 0 && values[lo] >= 0) {
    const durationToZero = sampledInterval * (values[lo] / result);
    if (durationToZero < durationToStart) durationToStart = durationToZero;
  }
  if (durationToEnd >= threshold) durationToEnd = averageDurationBetweenSamples / 2;
  let factor = (sampledInterval + durationToStart + durationToEnd) / sampledInterval;
  if (isRate) factor /= rangeMs / 1000;
  return result * factor;
}

/** The least-squares slope per second of the samples `[lo, hi)` (Prometheus's `deriv`). */
function linearRegressionSlope(ts: Float64Array, values: Float64Array, lo: number, hi: number): number {
  const t0 = ts[lo];
  let n = 0, sumX = 0, sumY = 0, sumXY = 0, sumX2 = 0;
  let constY = true;
  for (let i = lo; i < hi; i++) {
    const x = (ts[i] - t0) / 1000;
    const y = values[i];
    if (y !== values[lo]) constY = false;
    n++;
    sumX += x;
    sumY += y;
    sumXY += x * y;
    sumX2 += x * x;
  }
  if (constY) return 0;
  const covXY = sumXY - (sumX * sumY) / n;
  const varX = sumX2 - (sumX * sumX) / n;
  return covXY / varX;
}

// ------------------------------------------------------------ range functions over aggregate buckets

/**
 * A function over the buckets `[lo, hi)` ending in the window. Gauges: count, sum, min and max are
 * exact; quantiles come from the merged sketches. Counters (`rate` buckets): the mean of the stored
 * per-second rates between consecutive samples, weighted by their number.
 */
function aggFunction(
  f: RangeFunction,
  d: AggData,
  lo: number,
  hi: number,
  rangeMs: number,
  param: number | undefined,
): number | null {
  let count = 0, sum = 0, min = Infinity, max = -Infinity;
  for (let i = lo; i < hi; i++) {
    count += d.count[i];
    sum += d.sum[i];
    if (d.min[i] < min) min = d.min[i];
    if (d.max[i] > max) max = d.max[i];
  }
  if (count === 0) return null;
  switch (f) {
    case "rate":
      return sum / count;
    case "increase":
      return (sum / count) * (rangeMs / 1000);
    case "avg_over_time":
      return sum / count;
    case "sum_over_time":
      return sum;
    case "min_over_time":
      return min;
    case "max_over_time":
      return max;
    case "count_over_time":
      return count;
    case "quantile_over_time": {
      const q = param ?? NaN;
      if (Number.isNaN(q)) return NaN;
      if (q < 0) return -Infinity;
      if (q > 1) return Infinity;
      const merged = Aggregate.empty(d.aggs[lo].accuracy);
      for (let i = lo; i < hi; i++) merged.merge(d.aggs[i]);
      const v = merged.quantile(q);
      return Number.isNaN(v) ? null : v;
    }
    default:
      return null;
  }
}
