/**
 * The one place where errors become HTTP answers. Every answer body is
 * `{"error": {"code", "message", "index"?}}`.
 *
 * @module
 */
import type { Context } from "hono";
import { DiskFullError, InputError, LockedError, OverloadedError, UnavailableError } from "../model/errors.ts";
import type { Logger } from "../platform/log.ts";
import { SqlEngineError, SqlError, SqlTimeoutError } from "../query/sql_errors.ts";

/** An error that already knows its HTTP status and code. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "HttpError";
  }
}

interface Mapped {
  status: number;
  code: string;
  message: string;
  index?: number;
  headers: Record<string, string>;
}

/** Maps any thrown value to status, code, message and headers. */
export function mapError(err: unknown): Mapped {
  if (err instanceof HttpError) {
    return { status: err.status, code: err.code, message: err.message, headers: err.headers };
  }
  if (err instanceof InputError) {
    return { status: 400, code: err.code, message: err.message, index: err.index, headers: {} };
  }
  if (err instanceof OverloadedError) {
    return { status: 429, code: "overloaded", message: err.message, headers: retryAfter(err.retryAfterMs) };
  }
  if (err instanceof DiskFullError) {
    return { status: 507, code: "disk_full", message: err.message, headers: retryAfter(err.retryAfterMs) };
  }
  if (err instanceof UnavailableError) {
    return { status: 503, code: "unavailable", message: err.message, headers: retryAfter(err.retryAfterMs) };
  }
  if (err instanceof LockedError) return { status: 409, code: "locked", message: err.message, headers: {} };
  if (err instanceof SqlError) return { status: 400, code: "sql_error", message: err.message, headers: {} };
  if (err instanceof SqlTimeoutError) return { status: 503, code: "query_timeout", message: err.message, headers: {} };
  if (err instanceof SqlEngineError) {
    return { status: 503, code: "engine_unavailable", message: err.message, headers: retryAfter(1_000) };
  }
  if (err instanceof SyntaxError || err instanceof TypeError || err instanceof RangeError) {
    return { status: 400, code: "bad_request", message: err.message, headers: {} };
  }
  return { status: 500, code: "internal", message: err instanceof Error ? err.message : String(err), headers: {} };
}

/** The JSON error answer for `err`; server errors are logged. */
export function errorResponse(c: Context, err: unknown, log: Logger): Response {
  const m = mapError(err);
  if (m.status >= 500 && m.status !== 503 && m.status !== 507) {
    log.error("request failed", { method: c.req.method, path: c.req.path, error: err, stack: (err as Error)?.stack });
  }
  const body: { code: string; message: string; index?: number } = { code: m.code, message: m.message };
  if (m.index !== undefined) body.index = m.index;
  return new Response(JSON.stringify({ error: body }), {
    status: m.status,
    headers: { "content-type": "application/json", ...m.headers },
  });
}

function retryAfter(ms: number): Record<string, string> {
  return { "retry-after": String(Math.max(1, Math.ceil(ms / 1000))) };
}
