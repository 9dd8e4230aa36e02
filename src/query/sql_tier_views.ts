/**
 * The SQL views over the tier files: `raw`, and `agg_5min`, `agg_hourly`, `agg_daily`, `agg_weekly`
 * (partial rows merged: a key stored in several files — late data — comes out as one row; only the
 * files whose time range overlaps another's are grouped, the others are read as they are), plus
 * `agg_*_parts` with the stored rows as they are. Built from the manifest's live files.
 *
 * @module
 */
import { AGGREGATE_TIERS, type AggregateTier } from "../model/tier.ts";
import { join } from "../platform/path.ts";
import type { TierFile } from "../tier/manifest.ts";
import type { SqlColumn, SqlView } from "./sql_types.ts";

const ID: SqlColumn[] = [
  { name: "namespace", type: "VARCHAR" },
  { name: "target", type: "VARCHAR" },
  { name: "poller", type: "VARCHAR" },
];

/** Physical columns of the raw tier (for an empty view). */
export const RAW_COLUMNS: SqlColumn[] = [
  ...ID,
  { name: "ts", type: "TIMESTAMP WITH TIME ZONE" },
  { name: "kind", type: "UTINYINT" },
  { name: "gauge_decimal", type: "DECIMAL(18,2)" },
  { name: "gauge_float", type: "DOUBLE" },
  { name: "counter", type: "UBIGINT" },
  { name: "text", type: "VARCHAR" },
  { name: "valid", type: "BOOLEAN" },
  { name: "error", type: "VARCHAR" },
  { name: "poll_ms", type: "INTEGER" },
];

/** Physical columns of the aggregate tiers (for an empty view). */
export const AGG_COLUMNS: SqlColumn[] = [
  ...ID,
  { name: "bucket", type: "TIMESTAMP WITH TIME ZONE" },
  { name: "kind", type: "UTINYINT" },
  { name: "count", type: "BIGINT" },
  { name: "error_count", type: "BIGINT" },
  { name: "sum", type: "DOUBLE" },
  { name: "min", type: "DOUBLE" },
  { name: "max", type: "DOUBLE" },
  { name: "first_ts", type: "TIMESTAMP WITH TIME ZONE" },
  { name: "last_ts", type: "TIMESTAMP WITH TIME ZONE" },
  { name: "p50", type: "DOUBLE" },
  { name: "p90", type: "DOUBLE" },
  { name: "p95", type: "DOUBLE" },
  { name: "p99", type: "DOUBLE" },
  { name: "sketch", type: "BLOB" },
];

const RAW_SELECT = `namespace, target, poller, ts,
  CASE kind WHEN 1 THEN 'gauge' WHEN 2 THEN 'counter' WHEN 3 THEN 'text' ELSE 'none' END AS kind,
  coalesce(CAST(gauge_decimal AS DOUBLE), gauge_float, CAST(counter AS DOUBLE)) AS value,
  counter, text, valid, error, poll_ms`;

const KIND_NAME = "CASE any_value(kind) WHEN 1 THEN 'gauge' WHEN 2 THEN 'rate' WHEN 3 THEN 'text' END";
const PERCENTILE = (p: string) => `CASE WHEN count(*) = 1 THEN any_value(${p}) END AS ${p}`;

/** The merged view: exact count/sum/min/max for every key; percentiles when the key has one stored row. */
const AGG_SELECT = `namespace, target, poller, bucket, ${KIND_NAME} AS kind,
  sum(count)::BIGINT AS count, sum(error_count)::BIGINT AS error_count, sum(sum) AS sum, min(min) AS min, max(max) AS max,
  sum(sum) / nullif(sum(count), 0) AS avg, min(first_ts) AS first_ts, max(last_ts) AS last_ts,
  ${["p50", "p90", "p95", "p99"].map(PERCENTILE).join(", ")}, count(*) AS stored_rows`;

/** The same columns as {@link AGG_SELECT} from a file whose keys no other file holds: no grouping. */
const AGG_UNIQUE_SELECT = `namespace, target, poller, bucket,
  CASE kind WHEN 1 THEN 'gauge' WHEN 2 THEN 'rate' WHEN 3 THEN 'text' END AS kind,
  count::BIGINT AS count, error_count::BIGINT AS error_count, sum, min, max,
  sum / nullif(count, 0) AS avg, first_ts, last_ts, p50, p90, p95, p99, 1::BIGINT AS stored_rows`;

/**
 * The files of one tier whose time range overlaps no other file's: no other file can hold one of
 * their keys (series and bucket), so their rows need no merging. Late data and not yet merged
 * partial files overlap; a tier's files otherwise follow one another in time.
 */
export function filesWithUniqueKeys(files: readonly TierFile[]): TierFile[] {
  const sorted = [...files].sort((a, b) => a.minTs - b.minTs || a.maxTs - b.maxTs);
  const overlaps = new Array<boolean>(sorted.length).fill(false);
  let reach = -Infinity, owner = -1;
  for (let i = 0; i < sorted.length; i++) {
    if (sorted[i].minTs <= reach) {
      overlaps[i] = true;
      overlaps[owner] = true;
    }
    if (sorted[i].maxTs > reach) {
      reach = sorted[i].maxTs;
      owner = i;
    }
  }
  return sorted.filter((_, i) => !overlaps[i]);
}

/** Views over the live files of `files` (relative paths under `dataDir`). */
export function tierViews(files: readonly TierFile[], dataDir: string): SqlView[] {
  const paths = (tier: string) => files.filter((f) => f.tier === tier).map((f) => join(dataDir, f.path));
  const views: SqlView[] = [{ name: "raw", files: paths("raw"), select: RAW_SELECT, columns: RAW_COLUMNS }];
  for (const tier of AGGREGATE_TIERS) {
    const name = viewName(tier);
    const unique = filesWithUniqueKeys(files.filter((f) => f.tier === tier)).map((f) => join(dataDir, f.path));
    views.push({
      name,
      files: paths(tier),
      select: AGG_SELECT,
      groupBy: "namespace, target, poller, bucket",
      uniqueFiles: unique,
      uniqueSelect: AGG_UNIQUE_SELECT,
      columns: AGG_COLUMNS,
    });
    views.push({ name: `${name}_parts`, files: paths(tier), columns: AGG_COLUMNS });
  }
  return views;
}

/** The SQL view name of an aggregate tier. */
export function viewName(tier: AggregateTier): string {
  return tier === "5min" ? "agg_5min" : `agg_${tier}`;
}
