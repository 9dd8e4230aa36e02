/**
 * The HTTP app over a started memory storage (see `memStorage`), for route tests: `series()` lists the
 * stored series through `GET /api/v1/series` with the same token.
 */
import { createApp } from "../src/http/app.ts";
import { silentLogger } from "../src/platform/log.ts";
import { memStorage } from "./helpers.ts";

/** A started memory storage at `now` with `yaml`, its app guarded by `authToken` (empty: none). */
export async function memApp(authToken = "", yaml = "", now = Date.UTC(2026, 10, 25, 12)) {
  const env = await memStorage(yaml, now);
  const app = createApp({ storage: env.storage, metrics: env.metrics, log: silentLogger, clock: env.clock, authToken });
  const series = async () =>
    (await (await app.request("/api/v1/series", { headers: { authorization: `Bearer ${authToken}` } })).json()).series;
  return { ...env, app, series };
}
