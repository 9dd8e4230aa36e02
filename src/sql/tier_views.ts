/**
 * The SQL views over the tier files: `raw`, and `agg_5min`, `agg_hourly`, `agg_daily`, `agg_weekly`
 * (partial rows merged: a key stored in several files — late data — comes out as one row; only the
 * files whose time range overlaps another's are grouped, the others are read as they are), plus
 * `agg_*_parts` with the stored rows as they are. Built from the manifest's live files.
 *
 * @module
 */
import { STATS } from "../model/aggregate_stats.ts";
import { AGGREGATE_TIERS, type AggregateTier } from "../model/tier.ts";
import { AGG_LAYOUT, RAW_LAYOUT } from "../parquet/mod.ts";
import { join } from "../platform/path.ts";
import type { TierFile } from "../tier/manifest.ts";
import type { SqlColumn, SqlView, SqlViewPart } from "./types.ts";

type SchemaElement = ReturnType<typeof AGG_LAYOUT.specs>[number]["element"];

/** The DuckDB type a Parquet column of a tier file reads as. */
function sqlType(e: SchemaElement): string {
  switch (e.converted_type) {
    case "UTF8":
      return "VARCHAR";
    case "TIMESTAMP_MILLIS":
      return "TIMESTAMP WITH TIME ZONE";
    case "UINT_8":
      return "UTINYINT";
    case "UINT_64":
      return "UBIGINT";
    case "DECIMAL":
      return `DECIMAL(${e.precision},${e.scale})`;
  }
  const plain: Record<string, string> = {
    BOOLEAN: "BOOLEAN",
    INT32: "INTEGER",
    INT64: "BIGINT",
    FLOAT: "FLOAT",
    DOUBLE: "DOUBLE",
    BYTE_ARRAY: "BLOB",
  };
  const type = plain[e.type ?? ""];
  if (!type) throw new TypeError(`Cannot map the Parquet column ${e.name} (${e.type}) to a SQL type`);
  return type;
}

const columnsOf = (specs: readonly { element: SchemaElement }[]): SqlColumn[] =>
  specs.map(({ element }) => ({ name: element.name, type: sqlType(element) }));

/** Physical columns of the raw tier (for an empty view; a file's own decimal scale may differ). */
export const RAW_COLUMNS: SqlColumn[] = columnsOf(RAW_LAYOUT.specs({ gaugeScale: 2 }));

/** Physical columns of the aggregate tiers (for an empty view). */
export const AGG_COLUMNS: SqlColumn[] = columnsOf(AGG_LAYOUT.specs({ gaugeScale: 0 }));

const RAW_SELECT = `namespace, target, poller, ts,
  CASE kind WHEN 1 THEN 'gauge' WHEN 2 THEN 'counter' WHEN 3 THEN 'text' ELSE 'none' END AS kind,
  coalesce(CAST(gauge_decimal AS DOUBLE), gauge_float, CAST(counter AS DOUBLE)) AS value,
  counter, text, valid, error, poll_ms`;

const KIND_NAME = "CASE any_value(kind) WHEN 1 THEN 'gauge' WHEN 2 THEN 'rate' WHEN 3 THEN 'text' END";
/** The percentile columns (`p50`, …) of the aggregate tier files. */
const PERCENTILES = AGG_COLUMNS.map((c) => c.name).filter((name) => /^p\d+$/.test(name));
const MERGE_SQL = { add: "sum", min: "min", max: "max" } as const;
const VALUE_STATS = STATS.filter((s) => s.type !== "time");
const TIME_STATS = STATS.filter((s) => s.type === "time");
const cast = (s: typeof STATS[number], sql: string) => (s.type === "count" ? `${sql}::BIGINT` : sql);

/**
 * The merged view: the statistics of `STATS`, each combined by its merge rule (in their order, `avg`
 * after the counts and values), exact for every key; then the percentiles, when the key has one
 * stored row.
 */
const AGG_SELECT = `namespace, target, poller, bucket, ${KIND_NAME} AS kind,
  ${VALUE_STATS.map((s) => `${cast(s, `${MERGE_SQL[s.merge]}(${s.column})`)} AS ${s.column}`).join(", ")},
  sum(sum) / nullif(sum(count), 0) AS avg,
  ${TIME_STATS.map((s) => `${MERGE_SQL[s.merge]}(${s.column}) AS ${s.column}`).join(", ")},
  ${
  PERCENTILES.map((p) => `CASE WHEN count(*) = 1 THEN any_value(${p}) END AS ${p}`).join(", ")
}, count(*) AS stored_rows`;

/** The same columns as {@link AGG_SELECT} from a file whose keys no other file holds: no grouping. */
const AGG_UNIQUE_SELECT = `namespace, target, poller, bucket,
  CASE kind WHEN 1 THEN 'gauge' WHEN 2 THEN 'rate' WHEN 3 THEN 'text' END AS kind,
  ${VALUE_STATS.map((s) => `${cast(s, s.column)} AS ${s.column}`).join(", ")},
  sum / nullif(count, 0) AS avg, ${TIME_STATS.map((s) => s.column).join(", ")}, ${PERCENTILES.join(", ")},
  1::BIGINT AS stored_rows`;

/**
 * The files of an aggregate tier cut into parts for {@link SqlView.parts}, per UTC-day partition:
 * the time ranges two or more files cover (flush windows meet at a bucket, late data spans more)
 * are read grouped, from the files that reach into them; the rest of the partition is read without
 * grouping. Each row is in exactly one part, and a query's time range drops whole partitions.
 *
 * @example
 * ```ts
 * import { tierParts } from "./tier_views.ts";
 * const f = (seq: number, minTs: number, maxTs: number) =>
 *   ({ path: `5min/${seq}.parquet`, tier: "5min" as const, partition: 0, seq, minTs, maxTs, rows: 1, bytes: 1, level: 0 });
 * const parts = tierParts([f(1, 0, 10), f(2, 10, 20), f(3, 30, 40)], "/d");
 * const shape = parts.map((p) => [p.unique, p.files.length, p.within ?? p.outside]);
 * console.assert(JSON.stringify(shape) === "[[false,2,[[10,10]]],[true,3,[[10,10]]]]");
 * ```
 */
export function tierParts(files: readonly TierFile[], dataDir: string): SqlViewPart[] {
  const parts: SqlViewPart[] = [];
  for (const group of byPartition(files)) {
    const shared = sharedRanges(group);
    const minMs = Math.min(...group.map((f) => f.minTs)), maxMs = Math.max(...group.map((f) => f.maxTs));
    const path = (f: TierFile) => join(dataDir, f.path);
    if (shared.length === 0) {
      parts.push({ files: group.map(path), unique: true, minMs, maxMs });
      continue;
    }
    const touches = (f: TierFile) => shared.some(([from, to]) => f.minTs <= to && f.maxTs >= from);
    const inside = (f: TierFile) => shared.some(([from, to]) => f.minTs >= from && f.maxTs <= to);
    parts.push({
      files: group.filter(touches).map(path),
      unique: false,
      minMs: shared[0][0],
      maxMs: shared[shared.length - 1][1],
      within: shared,
    });
    const rest = group.filter((f) => !inside(f));
    if (rest.length > 0) parts.push({ files: rest.map(path), unique: true, minMs, maxMs, outside: shared });
  }
  return parts;
}

/** One unique part per partition: rows that are never merged (raw samples, stored rows as they are). */
export function partitionParts(files: readonly TierFile[], dataDir: string): SqlViewPart[] {
  return byPartition(files).map((group) => ({
    files: group.map((f) => join(dataDir, f.path)),
    unique: true,
    minMs: Math.min(...group.map((f) => f.minTs)),
    maxMs: Math.max(...group.map((f) => f.maxTs)),
  }));
}

function byPartition(files: readonly TierFile[]): TierFile[][] {
  const groups = new Map<number, TierFile[]>();
  for (const f of [...files].sort((a, b) => a.partition - b.partition || a.minTs - b.minTs || a.seq - b.seq)) {
    let g = groups.get(f.partition);
    if (!g) groups.set(f.partition, g = []);
    g.push(f);
  }
  return [...groups.values()];
}

/** The inclusive time ranges that two or more of `files` cover, in order, merged. */
function sharedRanges(files: readonly TierFile[]): [number, number][] {
  const events = files.flatMap((f) => [[f.minTs, 1], [f.maxTs + 1, -1]] as const).sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  let depth = 0;
  for (let i = 0; i < events.length; i++) {
    depth += events[i][1];
    const from = events[i][0], next = events[i + 1]?.[0];
    if (depth < 2 || next === undefined || next === from) continue;
    const last = out[out.length - 1];
    if (last && last[1] + 1 === from) last[1] = next - 1;
    else out.push([from, next - 1]);
  }
  return out;
}

/** Views over the live files of `files` (relative paths under `dataDir`). */
export function tierViews(files: readonly TierFile[], dataDir: string): SqlView[] {
  const of = (tier: string) => files.filter((f) => f.tier === tier);
  const paths = (tier: string) => of(tier).map((f) => join(dataDir, f.path));
  // raw rows are never merged: one unique part per partition
  const rawParts = partitionParts(of("raw"), dataDir);
  const views: SqlView[] = [{
    name: "raw",
    files: paths("raw"),
    select: RAW_SELECT,
    uniqueSelect: RAW_SELECT,
    parts: rawParts,
    timeColumn: "ts",
    columns: RAW_COLUMNS,
  }];
  for (const tier of AGGREGATE_TIERS) {
    const name = viewName(tier);
    views.push({
      name,
      files: paths(tier),
      select: AGG_SELECT,
      groupBy: "namespace, target, poller, bucket",
      parts: tierParts(of(tier), dataDir),
      timeColumn: "bucket",
      uniqueSelect: AGG_UNIQUE_SELECT,
      columns: AGG_COLUMNS,
    });
    views.push({
      name: `${name}_parts`,
      files: paths(tier),
      parts: partitionParts(of(tier), dataDir),
      timeColumn: "bucket",
      columns: AGG_COLUMNS,
    });
  }
  return views;
}

/** The SQL view name of an aggregate tier. */
export function viewName(tier: AggregateTier): string {
  return tier === "5min" ? "agg_5min" : `agg_${tier}`;
}
