/**
 * Storage tiers and their UTC, epoch-aligned buckets. Weeks start on Monday 00:00 UTC.
 *
 * @module
 */

/** Canonical tier names. */
export type Tier = "raw" | "5min" | "hourly" | "daily" | "weekly";

/** All tiers, finest first. */
export const TIERS: readonly Tier[] = ["raw", "5min", "hourly", "daily", "weekly"];

/** The aggregate tiers, finest first. */
export const AGGREGATE_TIERS: readonly AggregateTier[] = ["5min", "hourly", "daily", "weekly"];

/** A tier that holds aggregates (every tier but `raw`). */
export type AggregateTier = Exclude<Tier, "raw">;

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;
/** 1970-01-01 was a Thursday; the first Monday 00:00 UTC is four days later. */
const MONDAY_OFFSET_MS = 4 * DAY;

const BUCKET_MS: Readonly<Record<AggregateTier, number>> = {
  "5min": 5 * MINUTE,
  hourly: HOUR,
  daily: DAY,
  weekly: WEEK,
};

const ALIASES: Readonly<Record<string, Tier>> = {
  raw: "raw",
  "5min": "5min",
  "5m": "5min",
  five_min: "5min",
  hourly: "hourly",
  "1h": "hourly",
  daily: "daily",
  "1d": "daily",
  weekly: "weekly",
  "1w": "weekly",
};

/**
 * Parses a tier name or alias (`5m`, `1h`, `1d`, `1w`).
 *
 * @example
 * ```ts
 * import { parseTier } from "./tier.ts";
 * if (parseTier("1h") !== "hourly") throw new Error("alias not resolved");
 * ```
 */
export function parseTier(name: string): Tier {
  const tier = ALIASES[name.trim().toLowerCase()];
  if (!tier) {
    throw new RangeError(`Unknown tier "${name}": use raw, 5min (5m), hourly (1h), daily (1d) or weekly (1w)`);
  }
  return tier;
}

/** True for tiers that hold aggregates. */
export function isAggregateTier(tier: Tier): tier is AggregateTier {
  return tier !== "raw";
}

/** Bucket width of an aggregate tier in milliseconds. */
export function bucketMs(tier: AggregateTier): number {
  return BUCKET_MS[tier];
}

/**
 * The start of the bucket of `tier` containing `timestampMs`: aligned to the Unix epoch in UTC, weeks
 * to Monday 00:00 UTC.
 *
 * @example
 * ```ts
 * import { bucketStart } from "./tier.ts";
 * // 2026-11-25T10:07:00Z -> 10:05
 * if (bucketStart("5min", Date.UTC(2026, 10, 25, 10, 7)) !== Date.UTC(2026, 10, 25, 10, 5)) throw new Error();
 * // Wednesday 2026-11-25 -> Monday 2026-11-23
 * if (bucketStart("weekly", Date.UTC(2026, 10, 25, 10)) !== Date.UTC(2026, 10, 23)) throw new Error();
 * ```
 */
export function bucketStart(tier: AggregateTier, timestampMs: number): number {
  const width = BUCKET_MS[tier];
  const offset = tier === "weekly" ? MONDAY_OFFSET_MS : 0;
  return timestampMs - mod(timestampMs - offset, width);
}

/** The next coarser aggregate tier, or `null` for `weekly`. */
export function coarserTier(tier: AggregateTier): AggregateTier | null {
  const i = AGGREGATE_TIERS.indexOf(tier);
  return AGGREGATE_TIERS[i + 1] ?? null;
}

/** The next finer tier (the source a tier is compacted from). */
export function finerTier(tier: AggregateTier): Tier {
  return TIERS[TIERS.indexOf(tier) - 1];
}

/** Day in milliseconds. */
export const DAY_MS = DAY;

function mod(a: number, n: number): number {
  return ((a % n) + n) % n;
}
