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
