/**
 * Query parameters (`GET /api/v1/query`, `stalker-storage query`) → a query request. Bad parameters are
 * `InputError`s (400) that say what to send instead.
 *
 * @module
 */
import type { Config } from "../config/schema.ts";
import { InputError } from "../model/errors.ts";
import { parseTier, type Tier } from "../model/tier.ts";
import { chooseTier } from "./planner.ts";
import type { QueryRequest } from "./query.ts";
import { parseTime } from "./time.ts";

/** Raw parameter values by name. */
export type QueryParams = Record<string, string | undefined>;

/** A parsed request with how its tier was chosen. */
export interface ParsedQuery {
  request: QueryRequest;
  auto: boolean;
  reason?: string;
  format: "json" | "csv";
}

/** Default range: the last 24 hours. */
export const DEFAULT_RANGE_MS = 86_400_000;

/**
 * Parses query parameters.
 *
 * @example
 * ```ts
 * import { parseQueryParams } from "./params.ts";
 * import { defaultConfig } from "../config/load.ts";
 * const q = parseQueryParams({ namespace: "prod", from: "-1h" }, Date.UTC(2026, 10, 25), defaultConfig());
 * if (q.request.tier !== "raw" || !q.auto) throw new Error();
 * ```
 */
export function parseQueryParams(p: QueryParams, nowMs: number, config: Config): ParsedQuery {
  const namespace = p.namespace?.trim();
  if (!namespace) throw new InputError("invalid_parameter", "namespace is required (target and poller narrow it down)");
  if (p.poller && !p.target) throw new InputError("invalid_parameter", "poller needs target");
  const toMs = p.to ? time(p.to, "to", nowMs) : nowMs;
  const fromMs = p.from ? time(p.from, "from", nowMs) : toMs - DEFAULT_RANGE_MS;
  if (!(fromMs < toMs)) throw new InputError("invalid_parameter", `from (${fromMs}) must be before to (${toMs})`);
  const tierParam = (p.tier ?? "auto").trim().toLowerCase();
  let tier: Tier;
  let reason: string | undefined;
  if (tierParam === "auto" || tierParam === "") {
    ({ tier, reason } = chooseTier(fromMs, toMs, nowMs, config));
  } else {
    try {
      tier = parseTier(tierParam);
    } catch (err) {
      throw new InputError("invalid_parameter", (err as Error).message);
    }
  }
  const format = (p.format ?? "json").toLowerCase();
  if (format !== "json" && format !== "csv") {
    throw new InputError("invalid_parameter", `format must be json or csv, got "${p.format}"`);
  }
  return {
    request: {
      filter: { namespace, target: p.target || undefined, poller: p.poller || undefined },
      fromMs,
      toMs,
      tier,
      limit: limitOf(p.limit, config.query.maxRows),
    },
    auto: tierParam === "auto" || tierParam === "",
    reason,
    format,
  };
}

function time(v: string, name: string, now: number): number {
  try {
    return parseTime(v, now);
  } catch (err) {
    throw new InputError("invalid_parameter", `${name}: ${(err as Error).message}`);
  }
}

function limitOf(v: string | undefined, max: number): number {
  if (v === undefined || v === "") return max;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    throw new InputError("invalid_parameter", `limit must be a positive integer, got "${v}"`);
  }
  return Math.min(n, max);
}
