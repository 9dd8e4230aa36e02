/**
 * Validation rules for samples, shared by every decoder. A batch is validated whole before anything
 * is stored; the first bad sample fails the request with its index.
 *
 * @module
 */
import { InputError } from "../model/errors.ts";
import { MAX_COUNTER, MAX_ERROR_LENGTH, MAX_FUTURE_MS, MAX_IDENTITY_LENGTH, MAX_TEXT_LENGTH } from "../model/sample.ts";

// deno-lint-ignore no-control-regex -- identities must not contain control characters
const CONTROL = /[\u0000-\u001f\u007f]/;
const MAX_INT32 = 2_147_483_647;
/**
 * A lone UTF-16 surrogate (JSON allows `"\ud800"`): not a character, and UTF-8 — the WAL, Parquet —
 * cannot hold it (it would come back as U+FFFD after a restart, another series or value).
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const SURROGATE = /[\uD800-\uDFFF]/;

/** Whether `v` holds a lone surrogate (the cheap test first: most strings have no surrogate at all). */
function hasLoneSurrogate(v: string): boolean {
  return SURROGATE.test(v) && LONE_SURROGATE.test(v);
}

/** Fails sample `index` with code `invalid_sample`. */
export function bad(index: number, message: string): never {
  throw new InputError("invalid_sample", `sample ${index}: ${message}`, index);
}

/** Checks an identity field (namespace, target, poller). */
export function checkIdentity(v: unknown, field: string, index: number): string {
  if (typeof v !== "string") bad(index, v === undefined ? `${field} is required` : `${field} must be a string`);
  if (v.length === 0) bad(index, `${field} must not be empty`);
  if (v.length > MAX_IDENTITY_LENGTH) bad(index, `${field} is longer than ${MAX_IDENTITY_LENGTH} characters`);
  if (CONTROL.test(v)) bad(index, `${field} must not contain control characters`);
  if (hasLoneSurrogate(v)) bad(index, `${field} must not contain a lone UTF-16 surrogate (not a character)`);
  return v;
}

/** Earliest accepted timestamp: 2000-01-01T00:00Z. Anything earlier is a unit mistake, not history. */
export const MIN_TIMESTAMP_MS = Date.UTC(2000, 0, 1);

/**
 * The earliest timestamp accepted at `nowMs` when samples may be at most `maxSampleAgeMs` old
 * (`ingestion.max_sample_age`): never before {@link MIN_TIMESTAMP_MS}.
 *
 * @example
 * ```ts
 * import { MIN_TIMESTAMP_MS, oldestAccepted } from "./validate.ts";
 * if (oldestAccepted(Date.UTC(2026, 0, 1), Infinity) !== MIN_TIMESTAMP_MS) throw new Error();
 * if (oldestAccepted(Date.UTC(2026, 0, 2), 86_400_000) !== Date.UTC(2026, 0, 1)) throw new Error();
 * ```
 */
export function oldestAccepted(nowMs: number, maxSampleAgeMs: number): number {
  return Math.max(MIN_TIMESTAMP_MS, nowMs - maxSampleAgeMs);
}

/**
 * Checks a timestamp in Unix ms (number or decimal string); undefined means `nowMs`. Accepted:
 * `oldestMs` (see {@link oldestAccepted}) up to {@link MAX_FUTURE_MS} ahead of `nowMs`.
 */
export function checkTimestamp(v: unknown, index: number, nowMs: number, oldestMs = MIN_TIMESTAMP_MS): number {
  if (v === undefined || v === null) return nowMs;
  const ts = typeof v === "string" && /^-?\d+$/.test(v) ? Number(v) : v;
  if (typeof ts !== "number" || !Number.isInteger(ts)) {
    bad(index, "timestamp_ms must be an integer number of milliseconds since 1970-01-01 UTC");
  }
  if (ts < oldestMs || ts > nowMs + MAX_FUTURE_MS) timestampOutOfRange(ts, index, nowMs, oldestMs);
  return ts;
}

function timestampOutOfRange(ts: number, index: number, nowMs: number, oldestMs: number): never {
  const scaled = (factor: number) => ts * factor >= MIN_TIMESTAMP_MS && ts * factor <= nowMs + MAX_FUTURE_MS;
  const hint = scaled(1000)
    ? "; it looks like seconds: send milliseconds"
    : scaled(1 / 1000)
    ? "; it looks like microseconds: send milliseconds"
    : scaled(1 / 1_000_000)
    ? "; it looks like nanoseconds: send milliseconds"
    : "";
  if (ts > nowMs) {
    bad(index, `timestamp_ms ${ts} is more than ${MAX_FUTURE_MS / 60_000} minutes ahead of the server clock${hint}`);
  }
  if (ts < MIN_TIMESTAMP_MS) bad(index, `timestamp_ms ${ts} is before 2000-01-01T00:00:00Z${hint}`);
  bad(
    index,
    `timestamp_ms ${ts} (${new Date(ts).toISOString()}) is older than ingestion.max_sample_age allows ` +
      `(oldest accepted now: ${new Date(oldestMs).toISOString()})${hint}`,
  );
}

/** Checks a gauge value. */
export function checkGauge(v: unknown, index: number): number {
  if (typeof v !== "number") bad(index, "a gauge value must be a number");
  if (!Number.isFinite(v)) bad(index, "a gauge value must be finite");
  return v;
}

/** Checks a counter (JSON number up to 2^53, or decimal string up to 2^64 − 1). */
export function checkCounter(v: unknown, index: number): number | bigint {
  if (typeof v === "number") {
    if (!Number.isInteger(v) || v < 0) bad(index, "a counter must be a non-negative integer");
    if (v > Number.MAX_SAFE_INTEGER) bad(index, "a counter above 2^53 must be sent as a decimal string to stay exact");
    return v;
  }
  if (typeof v === "bigint") return checkBigCounter(v, index);
  if (typeof v === "string" && /^\d{1,20}$/.test(v)) {
    const n = Number(v);
    return n <= Number.MAX_SAFE_INTEGER ? n : checkBigCounter(BigInt(v), index);
  }
  bad(index, "a counter must be a non-negative integer or a decimal string");
}

function checkBigCounter(v: bigint, index: number): number | bigint {
  if (v < 0n || v > MAX_COUNTER) bad(index, "a counter must be between 0 and 2^64 - 1");
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** Checks a text value. */
export function checkText(v: unknown, index: number): string {
  if (typeof v !== "string") bad(index, "a text value must be a string");
  if (v.length > MAX_TEXT_LENGTH) bad(index, `a text value is longer than ${MAX_TEXT_LENGTH} characters`);
  if (hasLoneSurrogate(v)) bad(index, "a text value must not contain a lone UTF-16 surrogate (not a character)");
  return v;
}

/** Checks `valid` (default true). */
export function checkValid(v: unknown, index: number): boolean {
  if (v === undefined || v === null) return true;
  if (typeof v !== "boolean") bad(index, "valid must be true or false");
  return v;
}

/** Checks an error message. */
export function checkError(v: unknown, index: number): string {
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") bad(index, "error must be a string");
  if (v.length > MAX_ERROR_LENGTH) bad(index, `error is longer than ${MAX_ERROR_LENGTH} characters`);
  if (hasLoneSurrogate(v)) bad(index, "error must not contain a lone UTF-16 surrogate (not a character)");
  return v;
}

/** Checks a poll duration in ms. */
export function checkPollMs(v: unknown, index: number): number {
  if (v === undefined || v === null) return 0;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > MAX_INT32) {
    bad(index, "poll_ms must be an integer between 0 and 2147483647");
  }
  return v;
}
