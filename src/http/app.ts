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
import { mountForeignRoutes } from "./foreign_routes.ts";
import { ingestHandler } from "./ingest_route.ts";
import { methodNotAllowed, mountRoot } from "./root_route.ts";
import { queryHandler, sqlHandler } from "./query_routes.ts";
import { mountAdminRoutes } from "./admin_routes.ts";
import { exportHandler } from "./export_route.ts";
import { parseLimit, seriesJson } from "./json_out.ts";
import { promApi } from "../prom/api.ts";
import { seriesSearch } from "./series_search.ts";
import { mountUi } from "../ui/route.ts";
import type { Clock } from "../platform/clock.ts";

/** What the app needs. */
export interface AppDeps {
  storage: Storage;
  metrics: Metrics;
  log: Logger;
  clock: Clock;
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
  app.notFound((c) =>
    errorResponse(
      c,
      methodNotAllowed(app, c) ?? new HttpError(404, "not_found", `No route ${c.req.method} ${c.req.path}`),
      log,
    )
  );
  mountRoot(app);

  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", (c) => {
    const ready = storage.ready;
    return c.json({ status: ready ? "ready" : storage.state }, ready ? 200 : 503);
  });
  app.get("/metrics", (c) => c.text(metrics.render(), 200, { "content-type": "text/plain; version=0.0.4" }));

  mountUi(app);

  // before the /api/* middleware: these routes accept their protocols' own token forms
  mountForeignRoutes(app, { storage, clock: deps.clock, authToken: deps.authToken });
  app.use("/api/*", requireToken(deps.authToken));
  app.get("/api/v1/status", async (c) => c.json(await storage.status()));
  app.post("/api/v1/ingest", ingestHandler(storage, deps.clock));
  app.get("/api/v1/query", queryHandler(storage, deps.clock));
  app.post("/api/v1/sql", sqlHandler(storage));
  mountAdminRoutes(app, storage, deps.clock);
  app.get("/api/v1/export", exportHandler(storage, deps.clock));
  app.get("/api/v1/series", (c) => {
    const q = c.req.query();
    const filter = { namespace: q.namespace, target: q.target, poller: q.poller };
    const limit = parseLimit(q.limit, storage.config.query.maxRows);
    const all = storage.series(filter).filter(seriesSearch(q.q));
    return c.json({ series: all.slice(0, limit).map(seriesJson), total: all.length, truncated: all.length > limit });
  });
  app.route("/prometheus", promApi({ storage, clock: deps.clock, log, auth: requireToken(deps.authToken) }));
  return app;
}
