/**
 * Serves the web UI from the assets embedded in the binary: the HTML shell at `/ui` (revalidated by
 * ETag, so a new binary's UI shows at once) and its hashed script and stylesheet at `/ui/assets/<name>`
 * (cached for a year, immutable). Every answer carries a strict Content-Security-Policy: only the
 * server's own script, styles and API, no inline code, no framing. The shell holds no data; the data
 * routes under `/api/` keep their own bearer-token check.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { Context, Hono } from "hono";
import type { UiAsset } from "./assets.ts";
import { UI_ASSETS, UI_HTML } from "./assets_gen.ts";

/** The Content-Security-Policy of every UI answer. */
export const UI_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy": UI_CSP,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

const etagOf = (body: string) => `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`;

function serve(c: Context, body: string, type: string, etag: string, cacheControl: string): Response {
  const headers = { ...SECURITY_HEADERS, "content-type": type, etag, "cache-control": cacheControl };
  const match = c.req.header("if-none-match");
  if (match !== undefined && match.split(",").some((m) => m.trim() === etag || m.trim() === "*")) {
    return c.body(null, 304, headers);
  }
  return c.body(body, 200, headers);
}

/** Mounts `GET /ui`, `/ui/` and `/ui/assets/<name>` on `app`; other paths fall through to its 404. */
export function mountUi(app: Hono, assets: readonly UiAsset[] = UI_ASSETS, html: string = UI_HTML): void {
  const htmlEtag = etagOf(html);
  const byName = new Map(assets.map((a) => [a.name, { ...a, etag: etagOf(a.body) }]));
  const shell = (c: Context) => serve(c, html, "text/html; charset=utf-8", htmlEtag, "no-cache");
  app.get("/ui", shell);
  app.get("/ui/", shell);
  app.get("/ui/assets/:name", (c) => {
    const a = byName.get(c.req.param("name"));
    if (!a) return c.notFound();
    return serve(c, a.body, a.type, a.etag, "public, max-age=31536000, immutable");
  });
}
