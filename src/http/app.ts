/**
 * The HTTP API (Hono). Routes are thin: they parse parameters, call the storage service and shape the
 * answer. Errors go through `errors.ts`.
 *
 * @module
 */
import { Hono } from "hono";
import type { Logger } from "../platform/log.ts";
import type { Metrics } from "../platform/metrics.ts";
import type { Storage } from "../service/storage.ts";
import { requireToken } from "./auth.ts";
import { errorResponse, HttpError } from "./errors.ts";

/** What the app needs. */
export interface AppDeps {
  storage: Storage;
  metrics: Metrics;
  log: Logger;
  authToken: string;
}

/**
 * Builds the Hono app.
 *
 * @example
 * ```ts ignore
 * const app = createApp({ storage, metrics, log, authToken: "" });
 * const res = await app.request("/healthz");
 * ```
 */
export function createApp(deps: AppDeps): Hono {
  const { storage, metrics, log } = deps;
  const app = new Hono();
  const requests = metrics.counter("stalker_http_requests_total", "HTTP requests by route and status.");

  app.use("*", async (c, next) => {
    await next();
    requests.inc(1, { route: c.req.routePath, status: String(c.res.status) });
  });
  app.onError((err, c) => errorResponse(c, err, log));
  app.notFound((c) => errorResponse(c, new HttpError(404, "not_found", `No route ${c.req.method} ${c.req.path}`), log));

  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", (c) => {
    const ready = storage.ready;
    return c.json({ status: ready ? "ready" : storage.state }, ready ? 200 : 503);
  });
  app.get("/metrics", (c) => c.text(metrics.render(), 200, { "content-type": "text/plain; version=0.0.4" }));

  app.use("/api/*", requireToken(deps.authToken));
  app.get("/api/v1/status", (c) => c.json(storage.status()));
  return app;
}
