/**
 * The storage as a PromQL data source: series from the series index (labels derived once per series
 * and cached), data through the structured query (`Storage.query`: Parquet files and the head merged,
 * hot data included), grouped so that one query reads a target or a namespace rather than one series.
 *
 * @module
 */
import { VALUE_KIND_CODE } from "../model/aggregate.ts";
import { bucketMs, type Tier } from "../model/tier.ts";
import { type QueryResult, seriesKey } from "../query/query.ts";
import type { RawField } from "../parquet/mod.ts";
import type { Storage } from "../service/storage.ts";
import { type Matcher, matches, PromError } from "./ast.ts";
import type { AggData, DataSource, RawData, SeriesData, SeriesRef } from "./data.ts";
import { labelValue, seriesLabels } from "./labels.ts";

/** Most samples (raw) or buckets one PromQL query may load. */
export const MAX_SAMPLES = 5_000_000;

/** What PromQL reads of raw samples (not their text, error or poll time: those columns are not decoded). */
const PROM_RAW_FIELDS: readonly RawField[] = ["kind", "value", "counter", "valid"];

/** Above this many targets of one namespace, one query reads the whole namespace. */
const TARGETS_PER_NAMESPACE_READ = 16;

/** Selections (matcher sets → series) kept while the series index holds the same series. */
const MAX_SELECTIONS = 64;

const keyOf = seriesKey;

/** Storage-backed data source; one per server (its label cache lives as long as the storage). */
export class StorageSource implements DataSource {
  private readonly labelCache = new Map<string, SeriesRef>();
  /** The last selections, least recently used first; valid for the series set named by {@link selectionsOf}. */
  private readonly selections = new Map<string, SeriesRef[]>();
  private selectionsOf: { index: object; generation: string } | null = null;

  constructor(private readonly storage: Storage) {}

  /** Every series (for `/series`, `/labels` without `match[]`); `newestMs` from the series index. */
  all(): (SeriesRef & { newestMs: number })[] {
    return this.storage.series(null).map((e) => ({
      ...this.ref(e.namespace, e.target, e.poller),
      newestMs: e.last.ts,
    }));
  }

  /**
   * The series the matchers select. A dashboard sends the same selectors at every refresh: the answer is
   * kept until a series appears, becomes visible or is forgotten (the index's counts of those change).
   */
  select(matchers: readonly Matcher[]): SeriesRef[] {
    const index = this.storage.core.head.series;
    const generation = `${index.size}/${index.dropped}/${index.visible}`;
    if (this.selectionsOf?.index !== index || this.selectionsOf.generation !== generation) {
      this.selections.clear();
      this.selectionsOf = { index, generation };
    }
    const key = matchers.map((m) => `${m.name}\u0000${m.op}\u0000${m.value}`).join("\u0001");
    let refs = this.selections.get(key);
    if (refs) this.selections.delete(key);
    else refs = this.selectWithTimes(matchers).map(({ newestMs: _, ...ref }) => ref);
    this.selections.set(key, refs);
    if (this.selections.size > MAX_SELECTIONS) this.selections.delete(this.selections.keys().next().value!);
    return refs;
  }

  /** Matching series with the time of their newest sample. */
  selectWithTimes(matchers: readonly Matcher[]): (SeriesRef & { newestMs: number })[] {
    const eq = (name: string) => matchers.find((m) => m.name === name && m.op === "=")?.value;
    const namespace = eq("namespace");
    const target = eq("target");
    const out: (SeriesRef & { newestMs: number })[] = [];
    for (const e of this.storage.series({ namespace, target })) {
      const ref = this.ref(e.namespace, e.target, e.poller);
      if (matchers.every((m) => matches(m, labelValue(ref.labels, m.name)))) out.push({ ...ref, newestMs: e.last.ts });
    }
    return out;
  }

  /** The series with its labels (cached). */
  ref(namespace: string, target: string, poller: string): SeriesRef {
    const key = keyOf(namespace, target, poller);
    let r = this.labelCache.get(key);
    if (!r) {
      r = { namespace, target, poller, labels: seriesLabels(namespace, target, poller) };
      this.labelCache.set(key, r);
    }
    return r;
  }

  async fetch(
    refs: readonly SeriesRef[],
    fromMs: number,
    toMs: number,
    tier: Tier,
    sketches: boolean,
    warnings: string[],
    signal?: AbortSignal,
  ): Promise<SeriesData[]> {
    const { wanted, only } = wantedOf(refs);
    const out: SeriesData[] = [];
    let budget = MAX_SAMPLES;
    for (const filter of readPlan(refs)) {
      const request = {
        filter,
        fromMs,
        toMs,
        tier,
        limit: budget + 1,
        sketches,
        signal,
        rawFields: PROM_RAW_FIELDS,
        numeric: true,
      };
      const result = await this.storage.query(filter.poller === undefined ? { ...request, only } : request);
      if (result.truncated) {
        throw new PromError(
          "execution",
          `query processing would load too many samples into memory (more than ${MAX_SAMPLES}): narrow the selector or the time range, or use a step of 5m or more`,
        );
      }
      if (result.partial) warnings.push(...result.warnings);
      budget -= addSeries(result, wanted, out);
    }
    return out;
  }
}

const wantedCache = new WeakMap<readonly SeriesRef[], { wanted: Map<string, SeriesRef>; only: ReadonlySet<string> }>();

/**
 * The series of `refs` by key, and their keys: a read of a target or a namespace keeps only the selected
 * series' rows. Kept per selection (a cached {@link StorageSource.select} answer), so the query cache's
 * digest of the keys is worked out once, not at every refresh.
 */
function wantedOf(refs: readonly SeriesRef[]): { wanted: Map<string, SeriesRef>; only: ReadonlySet<string> } {
  let w = wantedCache.get(refs);
  if (!w) {
    const wanted = new Map<string, SeriesRef>();
    for (const r of refs) wanted.set(keyOf(r.namespace, r.target, r.poller), r);
    wantedCache.set(refs, w = { wanted, only: new Set(wanted.keys()) });
  }
  return w;
}

/** The structured queries that read `refs`: per target, or per namespace when it has many targets. */
function readPlan(refs: readonly SeriesRef[]): { namespace: string; target?: string; poller?: string }[] {
  const byNs = new Map<string, Map<string, string[]>>();
  for (const r of refs) {
    let targets = byNs.get(r.namespace);
    if (!targets) byNs.set(r.namespace, targets = new Map());
    let pollers = targets.get(r.target);
    if (!pollers) targets.set(r.target, pollers = []);
    pollers.push(r.poller);
  }
  const plan: { namespace: string; target?: string; poller?: string }[] = [];
  for (const [namespace, targets] of byNs) {
    if (targets.size > TARGETS_PER_NAMESPACE_READ) {
      plan.push({ namespace });
      continue;
    }
    for (const [target, pollers] of targets) {
      plan.push(pollers.length === 1 ? { namespace, target, poller: pollers[0] } : { namespace, target });
    }
  }
  return plan;
}

/** Adds the wanted series of a structured answer; answers the number of points taken. */
function addSeries(result: QueryResult, wanted: Map<string, SeriesRef>, out: SeriesData[]): number {
  let taken = 0;
  for (const s of result.series) {
    const ref = wanted.get(keyOf(s.namespace, s.target, s.poller));
    if (!ref) continue;
    if (s.numeric) {
      const { ts, values } = s.numeric;
      taken += ts.length;
      if (ts.length > 0) out.push({ tier: "raw", labels: ref.labels, ts, values } satisfies RawData);
    } else if (s.stats && result.tier !== "raw") {
      const { bucket, count, sum, min, max } = s.stats;
      const width = bucketMs(result.tier);
      const end = bucket.map((b) => b + width);
      const rate = s.kind === "rate";
      taken += bucket.length;
      if (bucket.length > 0) {
        out.push({ tier: result.tier, labels: ref.labels, rate, end, count, sum, min, max, aggs: [] });
      }
    } else if (s.points && result.tier !== "raw") {
      const pts = s.points.filter((p) => p.kind !== VALUE_KIND_CODE.text && p.agg.count > 0);
      const n = pts.length;
      const d: AggData = {
        tier: result.tier,
        labels: ref.labels,
        rate: s.kind === "rate",
        end: new Float64Array(n),
        count: new Float64Array(n),
        sum: new Float64Array(n),
        min: new Float64Array(n),
        max: new Float64Array(n),
        aggs: pts.map((p) => p.agg),
      };
      const width = bucketMs(result.tier);
      for (let i = 0; i < n; i++) {
        const p = pts[i];
        d.end[i] = p.bucket + width;
        d.count[i] = p.agg.count;
        d.sum[i] = p.agg.sum;
        d.min[i] = p.agg.min;
        d.max[i] = p.agg.max;
      }
      taken += s.points.length;
      if (n > 0) out.push(d);
    }
  }
  return taken;
}
