/**
 * `GET /`: what this server is and where to go (a browser gets a small page, anything else JSON), and
 * the answer to a known path asked with the wrong method: `405` with `Allow` instead of `404`.
 *
 * @module
 */
import type { Context, Hono } from "hono";
import { VERSION } from "../version.ts";
import { HttpError } from "./errors.ts";

/** The links `GET /` gives. */
export const ROOT_LINKS: Record<string, string> = {
  ui: "/ui",
  status: "/api/v1/status",
  health: "/healthz",
  ready: "/readyz",
  metrics: "/metrics",
  ingest: "/api/v1/ingest",
  query: "/api/v1/query",
  sql: "/api/v1/sql",
  series: "/api/v1/series",
  docs: "https://github.com/stalker/stalker-storage/tree/main/docs",
};

/** Mounts `GET /`. */
export function mountRoot(app: Hono): void {
  app.get("/", (c) => {
    const body = { name: "stalker-storage", version: VERSION, links: ROOT_LINKS };
    if (!(c.req.header("accept") ?? "").includes("text/html")) return c.json(body);
    const items = Object.entries(ROOT_LINKS).map(([k, v]) => `<li>${k}: <a href="${v}">${v}</a></li>`).join("");
    return c.html(
      `<!doctype html><meta charset="utf-8"><title>stalker-storage ${VERSION}</title>` +
        `<h1>stalker-storage ${VERSION}</h1><p>Edge time-series collector.</p><ul>${items}</ul>`,
    );
  });
}

/** Hono's path pattern as a regular expression (`:name`, `:name?`, `:name{re}`, `*`). */
function patternOf(path: string): RegExp {
  let re = "";
  for (const part of path.split("/").slice(1)) {
    const param = /^:[^{?]+(\{(.+)\})?(\?)?$/.exec(part);
    if (param) re += param[3] ? `(?:/(?:${param[2] ?? "[^/]+"}))?` : `/(?:${param[2] ?? "[^/]+"})`;
    else if (part === "*") re += "(?:/.*)?";
    else re += "/" + part.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replaceAll("*", ".*");
  }
  return new RegExp(`^${re || "/"}/?$`);
}

/**
 * The methods the app answers for `path` (middleware, which answers every method, left out); empty when
 * no route has the path.
 */
export function allowedMethods(app: Hono, path: string): string[] {
  const methods = new Set<string>();
  for (const r of app.routes) {
    if (r.method === "ALL" || r.method === "all") continue;
    if (patternOf(r.path).test(path)) methods.add(r.method.toUpperCase());
  }
  if (methods.has("GET")) methods.add("HEAD");
  return [...methods].sort();
}

/** The `405` error (with `Allow`) when the request's path exists under other methods, else null. */
export function methodNotAllowed(app: Hono, c: Context): HttpError | null {
  const allow = allowedMethods(app, c.req.path);
  if (allow.length === 0 || allow.includes(c.req.method)) return null;
  return new HttpError(
    405,
    "method_not_allowed",
    `${c.req.method} is not allowed on ${c.req.path}; use ${allow.join(" or ")}`,
    { allow: allow.join(", ") },
  );
}
