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
import { gzipSync } from "node:zlib";
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

const etagOf = (body: string) => createHash("sha256").update(body).digest("base64url").slice(0, 22);

/** One servable file: its text and, made on first use, its gzip form. */
class Served {
  private gz: Uint8Array<ArrayBuffer> | null = null;
  readonly etag: string;
  constructor(readonly body: string, readonly type: string, readonly cacheControl: string) {
    this.etag = etagOf(body);
  }
  gzip(): Uint8Array<ArrayBuffer> {
    return (this.gz ??= new Uint8Array(gzipSync(this.body, { level: 9 })));
  }
}

function serve(c: Context, f: Served): Response {
  // The gzip form is another representation: its own ETag, and caches keyed on Accept-Encoding.
  const gzip = /\bgzip\b/.test(c.req.header("accept-encoding") ?? "");
  const etag = gzip ? `"${f.etag}-gz"` : `"${f.etag}"`;
  const headers: Record<string, string> = {
    ...SECURITY_HEADERS,
    "content-type": f.type,
    etag,
    "cache-control": f.cacheControl,
    vary: "Accept-Encoding",
  };
  const match = c.req.header("if-none-match");
  if (match !== undefined && match.split(",").some((m) => m.trim() === etag || m.trim() === "*")) {
    return c.body(null, 304, headers);
  }
  if (!gzip) return c.body(f.body, 200, headers);
  return c.body(f.gzip(), 200, { ...headers, "content-encoding": "gzip" });
}

/**
 * Mounts `GET /ui`, `/ui/` and `/ui/assets/<name>` on `app`; other paths fall through to its 404.
 * Answers are gzipped for clients that accept it (the 87 KiB of assets travel as 36 KiB).
 */
export function mountUi(app: Hono, assets: readonly UiAsset[] = UI_ASSETS, html: string = UI_HTML): void {
  const shellFile = new Served(html, "text/html; charset=utf-8", "no-cache");
  const byName = new Map(
    assets.map((a) => [a.name, new Served(a.body, a.type, "public, max-age=31536000, immutable")]),
  );
  const shell = (c: Context) => serve(c, shellFile);
  app.get("/ui", shell);
  app.get("/ui/", shell);
  app.get("/ui/assets/:name", (c) => {
    const a = byName.get(c.req.param("name"));
    return a ? serve(c, a) : c.notFound();
  });
}
