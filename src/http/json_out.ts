/**
 * JSON shapes of API answers, and parameter parsing shared by routes.
 *
 * @module
 */
import type { SeriesEntry } from "../head/series.ts";
import { KIND_BY_CODE } from "../model/sample.ts";
import { counterJson } from "../query/format.ts";
import { HttpError } from "./errors.ts";

/** A series with its last value. */
export function seriesJson(e: SeriesEntry): Record<string, unknown> {
  const kind = KIND_BY_CODE[e.last.kind];
  const out: Record<string, unknown> = {
    namespace: e.namespace,
    target: e.target,
    poller: e.poller,
    last_timestamp_ms: e.last.ts,
    last_time: new Date(e.last.ts).toISOString(),
    kind,
    valid: e.last.valid,
  };
  if (kind === "gauge") out.value = e.last.value;
  if (kind === "counter") out.value_counter = counterJson(e.last.big ?? BigInt(e.last.value));
  if (kind === "text") out.value_text = e.last.text ?? "";
  if (e.last.error) out.error = e.last.error;
  return out;
}

/** Parses a `limit` parameter (default and maximum `max`). */
export function parseLimit(v: string | undefined, max: number): number {
  if (v === undefined || v === "") return max;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    throw new HttpError(400, "invalid_parameter", `limit must be a positive integer, got "${v}"`);
  }
  return Math.min(n, max);
}
