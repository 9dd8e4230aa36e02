/**
 * Tier choice for queries. `auto` picks the finest tier that still holds data for the whole range —
 * judged by the age of the range's start against each tier's retention, not only by the range's
 * length — and whose number of points per series stays reasonable.
 *
 * @module
 */
import type { Config } from "../config/schema.ts";
import { type AggregateTier, bucketMs, type Tier, TIERS } from "../model/tier.ts";

/** Most points per series `auto` aims for. */
export const AUTO_MAX_POINTS = 1_000;

/** Retention of a tier in ms. */
export function retentionMs(tier: Tier, r: Config["retention"]): number {
  switch (tier) {
    case "raw":
      return r.rawMs;
    case "5min":
      return r.fiveMinMs;
    case "hourly":
      return r.hourlyMs;
    case "daily":
      return r.dailyMs;
    case "weekly":
      return r.weeklyMs;
  }
}

/** Expected points per series of a tier over a range. */
export function expectedPoints(tier: Tier, fromMs: number, toMs: number, pollIntervalSec: number): number {
  const width = tier === "raw" ? pollIntervalSec * 1000 : bucketMs(tier as AggregateTier);
  return Math.ceil((toMs - fromMs) / width);
}

/** The decision and why. */
export interface TierChoice {
  tier: Tier;
  reason: string;
}

/**
 * Chooses the tier for [fromMs, toMs).
 *
 * @example
 * ```ts
 * import { chooseTier } from "./planner.ts";
 * import { defaultConfig } from "../config/load.ts";
 * const c = defaultConfig(), now = Date.UTC(2026, 10, 25);
 * if (chooseTier(now - 3_600_000, now, now, c).tier !== "raw") throw new Error();
 * if (chooseTier(now - 86_400_000, now, now, c).tier !== "5min") throw new Error();
 * if (chooseTier(now - 7 * 86_400_000, now - 6 * 86_400_000, now, c).tier !== "5min") throw new Error("raw expired");
 * ```
 */
export function chooseTier(fromMs: number, toMs: number, nowMs: number, config: Config): TierChoice {
  const poll = config.scale.pollIntervalSec;
  let coarsestCovering: Tier | null = null;
  for (const tier of TIERS) {
    if (fromMs < nowMs - retentionMs(tier, config.retention)) continue;
    coarsestCovering = tier;
    const points = expectedPoints(tier, fromMs, toMs, poll);
    if (points <= AUTO_MAX_POINTS) {
      return {
        tier,
        reason: `finest tier whose retention covers the range with ≤ ${AUTO_MAX_POINTS} points (${points})`,
      };
    }
  }
  if (coarsestCovering) return { tier: coarsestCovering, reason: "coarsest tier whose retention covers the range" };
  return { tier: "weekly", reason: "the range starts before every tier's retention; weekly holds the most history" };
}
