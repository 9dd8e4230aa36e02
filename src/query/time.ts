/**
 * Time parameters of queries: Unix milliseconds, RFC 3339, or relative to now (`now`, `-24h`,
 * `now-30d`, `+1h`).
 *
 * @module
 */
import { parseDuration } from "../config/units.ts";

const RFC3339 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?$/i;

/**
 * Parses a time parameter to Unix ms.
 *
 * @example
 * ```ts
 * import { parseTime } from "./time.ts";
 * const now = Date.UTC(2026, 10, 25, 12);
 * if (parseTime("-24h", now) !== now - 86_400_000) throw new Error();
 * if (parseTime("2026-11-25T00:00:00Z", now) !== Date.UTC(2026, 10, 25)) throw new Error();
 * ```
 */
export function parseTime(text: string, nowMs: number): number {
  const ms = parse(text.trim(), nowMs);
  if (ms === null) {
    throw new RangeError(
      `"${text}" is not a time: use Unix milliseconds, RFC 3339 (2026-11-25T12:00:00Z) or a relative time (now, -24h)`,
    );
  }
  if (!(ms >= 0 && ms <= MAX_TIME_MS)) {
    throw new RangeError(`"${text}" is out of range: times go from 1970-01-01 to 275760-09-13 (Unix ms 0 to 8.64e15)`);
  }
  return ms;
}

/** The largest time a JavaScript `Date` holds. */
const MAX_TIME_MS = 8.64e15;

function parse(s: string, nowMs: number): number | null {
  if (/^\d+$/.test(s)) return Number(s);
  if (s.toLowerCase() === "now") return nowMs;
  const rel = /^(now)?\s*([+-])\s*(\S+)$/i.exec(s);
  if (rel) return nowMs + (rel[2] === "-" ? -1 : 1) * parseDuration(rel[3]);
  if (RFC3339.test(s)) {
    const ms = Date.parse(/T.*(Z|[+-]\d{2}:\d{2})$/i.test(s) || !s.includes("T") ? s : `${s}Z`);
    if (Number.isFinite(ms)) return ms;
  }
  return null;
}
