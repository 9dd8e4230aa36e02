/**
 * The one place where errors become HTTP answers. Every answer body is
 * `{"error": {"code", "message", "index"?, "id"?}}`.
 *
 * Only errors that say what the client did wrong are 4xx: `HttpError`, `InputError` and the domain
 * errors below. Anything else (a `TypeError` from a bug included) is a 500 `internal` with an `id` that
 * the log line carrying the stack also has, so a bug is never blamed on the client nor lost.
 *
 * @module
 */
import type { Context } from "hono";
import { DiskFullError, InputError, LockedError, OverloadedError, UnavailableError } from "../model/errors.ts";
import type { Logger } from "../platform/log.ts";
import { SqlEngineError, SqlError, SqlTimeoutError } from "../sql/mod.ts";

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
  /** Set for internal errors: the id of the log line with the stack. */
  id?: string;
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
  const id = crypto.randomUUID();
  return {
    status: 500,
    code: "internal",
    message: `Internal error ${id}: the server log has the details`,
    id,
    headers: {},
  };
}

/** The JSON error answer for `err`; internal errors are logged with their id and stack. */
export function errorResponse(c: Context, err: unknown, log: Logger): Response {
  const m = mapError(err);
  if (m.id !== undefined) {
    log.error("request failed", {
      id: m.id,
      method: c.req.method,
      path: c.req.path,
      error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
      stack: err instanceof Error ? err.stack : undefined,
    });
  }
  const body: { code: string; message: string; index?: number; id?: string } = { code: m.code, message: m.message };
  if (m.index !== undefined) body.index = m.index;
  if (m.id !== undefined) body.id = m.id;
  return new Response(JSON.stringify({ error: body }), {
    status: m.status,
    headers: { "content-type": "application/json", ...m.headers },
  });
}

function retryAfter(ms: number): Record<string, string> {
  return { "retry-after": String(Math.max(1, Math.ceil(ms / 1000))) };
}
