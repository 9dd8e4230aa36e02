/**
 * Bearer-token authentication for `/api/` routes, compared in constant time.
 *
 * @module
 */
import { timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { HttpError } from "./errors.ts";

/** Middleware that requires `Authorization: Bearer <token>` when `token` is non-empty. */
export function requireToken(token: string): MiddlewareHandler {
  const expected = new TextEncoder().encode(token);
  return async (c, next) => {
    if (token !== "") {
      const header = c.req.header("authorization") ?? "";
      const m = /^Bearer\s+(.+)$/i.exec(header);
      if (!m) {
        throw new HttpError(
          401,
          "unauthorized",
          "Missing bearer token: send Authorization: Bearer <server.auth_token>",
          { "www-authenticate": "Bearer" },
        );
      }
      if (!sameBytes(new TextEncoder().encode(m[1].trim()), expected)) {
        throw new HttpError(401, "unauthorized", "Wrong bearer token", { "www-authenticate": "Bearer" });
      }
    }
    await next();
  };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  // Compare equal-length buffers so the time does not depend on where they differ or on their length.
  const len = Math.max(a.length, b.length, 1);
  const pa = new Uint8Array(len);
  const pb = new Uint8Array(len);
  pa.set(a);
  pb.set(b);
  return timingSafeEqual(pa, pb) && a.length === b.length;
}

/**
 * The token a foreign-protocol request presents: `Authorization: Bearer <t>` or `Token <t>` (InfluxDB
 * v2, Telegraf), HTTP basic auth (Influx v1 clients, Prometheus `basic_auth`: the password is the token,
 * the user name is ignored), else `fallback` (Influx v1's `p` query parameter). Undefined when none.
 */
export function presentedToken(header: string | undefined, fallback?: string): string | undefined {
  const m = /^(Bearer|Token|Basic)\s+(.+)$/i.exec(header ?? "");
  if (m === null) return fallback === "" ? undefined : fallback;
  const value = m[2].trim();
  if (m[1].toLowerCase() !== "basic") return value;
  let decoded: string;
  try {
    decoded = new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(atob(value), (ch) => ch.charCodeAt(0)));
  } catch {
    return undefined;
  }
  const colon = decoded.indexOf(":");
  return colon < 0 ? decoded : decoded.slice(colon + 1);
}

/** Whether `presented` is `token`, compared in constant time. */
export function tokenMatches(token: string, presented: string): boolean {
  return sameBytes(new TextEncoder().encode(presented), new TextEncoder().encode(token));
}
