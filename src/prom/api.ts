/**
 * The Prometheus HTTP API under `/prometheus` (what Grafana's Prometheus data source calls): `query`,
 * `query_range`, `series`, `labels`, `label/<name>/values`, `metadata`, `status/buildinfo`, plus the
 * empty `query_exemplars` and `rules` Grafana asks for. GET and POST (form-encoded), Prometheus's JSON
 * envelope (`status`, `data`, `errorType`, `error`, `warnings`) and status codes.
 *
 * @module
 */
import { type Context, Hono, type MiddlewareHandler } from "hono";
import { InputError, UnavailableError } from "../model/errors.ts";
import { KIND_CODE } from "../model/sample.ts";
import { type Tier, TIERS } from "../model/tier.ts";
import type { Clock } from "../platform/clock.ts";
import type { Logger } from "../platform/log.ts";
import { chooseTier, retentionMs } from "../query/planner.ts";
import { seriesKey } from "../query/query.ts";
import { seriesWithData } from "../query/series_index.ts";
import type { Storage } from "../service/storage.ts";
import { VERSION } from "../version.ts";
import { type Expr, type Matcher, parseDurationMs, parsePromQLCached, PromError } from "./ast.ts";
import { type EvalResult, evaluate, planTier } from "./eval.ts";
import { compareLabels, type Labels, labelsKey, labelsObject, labelValue } from "./labels.ts";
import type { SeriesRef } from "./data.ts";
import { StorageSource } from "./source.ts";

/** The Prometheus version whose HTTP API this one answers like (`/api/v1/status/buildinfo`). */
export const PROMETHEUS_API_VERSION = "2.53.0";

/** What the API needs. */
export interface PromApiDeps {
  storage: Storage;
  clock: Clock;
  log: Logger;
  /** The authentication of `/api/` (same token). */
  auth: MiddlewareHandler;
}

type Params = { get(name: string): string | undefined; all(name: string): string[] };

/**
 * The Hono app to mount at `/prometheus`.
 *
 * @example
 * ```ts ignore
 * app.route("/prometheus", promApi({ storage, clock, log, auth: requireToken(token) }));
 * ```
 */
export function promApi(deps: PromApiDeps): Hono {
  const { storage, clock, log } = deps;
  const source = new StorageSource(storage);
  const app = new Hono();
  app.onError((err, c) => errorAnswer(c, err, log));
  app.use("*", deps.auth);

  const route = (path: string, handler: (p: Params) => Promise<Response> | Response) => {
    app.get(path, (c) => handler(queryParams(c)));
    app.post(path, async (c) => handler(await formParams(c)));
  };

  route("/api/v1/query", async (p) => {
    storage.assertReady();
    const now = clock.now();
    const expr = parsePromQLCached(required(p, "query"));
    const t = p.get("time") ? parseTime(p.get("time")!, "time") : now;
    const r = await withTimeout(
      p,
      storage,
      clock,
      (check, signal) => evaluate(expr, evalRequest(storage, source, t, t, 0, now, check, signal)),
    );
    return success(instantData(r), r.warnings, tierHeader(r));
  });

  route("/api/v1/query_range", async (p) => {
    storage.assertReady();
    const now = clock.now();
    const expr = parsePromQLCached(required(p, "query"));
    const start = parseTime(required(p, "start"), "start");
    const end = parseTime(required(p, "end"), "end");
    if (end < start) {
      throw new PromError("bad_data", 'invalid parameter "end": end timestamp must not be before start time');
    }
    const step = parseStep(required(p, "step"));
    const r = await withTimeout(
      p,
      storage,
      clock,
      (check, signal) => evaluate(expr, evalRequest(storage, source, start, end, step, now, check, signal)),
    );
    return success(rangeData(r), r.warnings, tierHeader(r));
  });

  route("/api/v1/series", async (p) => {
    storage.assertReady();
    const selectors = p.all("match[]");
    if (selectors.length === 0) throw new PromError("bad_data", "no match[] parameter provided");
    const found = await matching(storage, source, selectors, p, clock.now());
    const limit = parseLimit(p.get("limit"));
    const list = [...found.values()].sort(compareLabels);
    const warnings = limit > 0 && list.length > limit ? ["results truncated due to limit"] : [];
    return success((limit > 0 ? list.slice(0, limit) : list).map(labelsObject), warnings);
  });

  route("/api/v1/labels", async (p) => {
    storage.assertReady();
    const names = new Set<string>();
    const found = await matching(storage, source, p.all("match[]"), p, clock.now());
    for (const labels of found.values()) for (const [n] of labels) names.add(n);
    return limited([...names].sort(), p);
  });

  app.get("/api/v1/label/:name/values", async (c) => {
    storage.assertReady();
    const p = queryParams(c);
    const name = c.req.param("name");
    const values = new Set<string>();
    for (const labels of (await matching(storage, source, p.all("match[]"), p, clock.now())).values()) {
      for (const [n, v] of labels) if (n === name) values.add(v);
    }
    return limited([...values].sort(), p);
  });

  route("/api/v1/metadata", (p) => {
    storage.assertReady();
    const metric = p.get("metric");
    const limit = parseLimit(p.get("limit"));
    const data: Record<string, { type: string; help: string; unit: string }[]> = {};
    let n = 0;
    for (const e of storage.series(null)) {
      const name = labelValue(source.ref(e.namespace, e.target, e.poller).labels, "__name__");
      if ((metric && name !== metric) || data[name]) continue;
      if (limit > 0 && n >= limit) break;
      const type = e.last.kind === KIND_CODE.counter
        ? "counter"
        : e.last.kind === KIND_CODE.gauge
        ? "gauge"
        : "unknown";
      data[name] = [{ type, help: `stalker-storage poller ${e.poller}`, unit: "" }];
      n++;
    }
    return success(data);
  });

  // `version` is the Prometheus API level answered (Grafana picks its requests by it; VictoriaMetrics
  // answers likewise); no `application` field, which Grafana reads as Mimir or Cortex with a ruler API
  route("/api/v1/status/buildinfo", () =>
    success({
      version: PROMETHEUS_API_VERSION,
      revision: "",
      branch: "",
      buildUser: "",
      buildDate: "",
      goVersion: "",
      stalkerVersion: VERSION,
    }));

  route("/api/v1/query_exemplars", () => success([]));
  route("/api/v1/rules", () => success({ groups: [] }));
  return app;
}

// ------------------------------------------------------------ evaluation

/**
 * Runs a query under the smaller of `query.timeout` and the request's `timeout`: past it the answer is
 * `503 timeout`, and the evaluation's reads stop at their next file (the signal passed to `run`).
 */
async function withTimeout<T>(
  p: Params,
  storage: Storage,
  clock: Clock,
  run: (checkDeadline: () => void, signal: AbortSignal) => Promise<T>,
): Promise<T> {
  let limit = storage.config.query.timeoutMs;
  const asked = p.get("timeout");
  if (asked) {
    let ms: number;
    try {
      ms = parseDurationMs(asked);
    } catch {
      throw new PromError("bad_data", `invalid parameter "timeout": cannot parse "${asked}" to a valid duration`);
    }
    if (ms > 0) limit = Math.min(limit, ms);
  }
  const error = () => new PromError("timeout", `query timed out in query execution (after ${limit} ms)`);
  const deadline = clock.now() + limit;
  // aborted at the deadline: the reads still running stop at their next file instead of working on
  // for an answer nobody waits for
  const reads = new AbortController();
  const expire = () => {
    if (!reads.signal.aborted) reads.abort(error());
    return reads.signal.reason as PromError;
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => timer = setTimeout(() => reject(expire()), limit));
  try {
    return await Promise.race([
      run(() => {
        if (clock.now() > deadline) throw expire();
      }, reads.signal),
      expired,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function evalRequest(
  storage: Storage,
  source: StorageSource,
  start: number,
  end: number,
  step: number,
  now: number,
  checkDeadline: () => void,
  signal: AbortSignal,
) {
  const config = storage.config;
  const covers = (tier: Tier, fromMs: number) => fromMs >= now - retentionMs(tier, config.retention);
  return {
    startMs: start,
    endMs: end,
    stepMs: step,
    source,
    checkDeadline,
    signal,
    tierFor: (fromMs: number, toMs: number, widthMs: number): Tier =>
      planTier(widthMs, fromMs, covers, chooseTier(fromMs, Math.max(toMs, fromMs + 1), now, config).tier),
  };
}

function instantData(r: EvalResult): unknown {
  const t = r.steps[0] / 1000;
  if (r.value.kind === "scalar") return { resultType: "scalar", result: [t, formatFloat(r.value.values[0])] };
  return {
    resultType: "vector",
    result: r.value.series.filter((s) => s.present[0]).map((s) => ({
      metric: labelsObject(s.labels),
      value: [t, formatFloat(s.values[0])],
    })),
  };
}

function rangeData(r: EvalResult): unknown {
  const series = r.value.kind === "scalar"
    ? [{ labels: [] as Labels, values: r.value.values, present: new Uint8Array(r.steps.length).fill(1) }]
    : [...r.value.series].sort((a, b) => compareLabels(a.labels, b.labels));
  return {
    resultType: "matrix",
    result: series.map((s) => {
      const values: [number, string][] = [];
      for (let i = 0; i < r.steps.length; i++) {
        if (s.present[i]) values.push([r.steps[i] / 1000, formatFloat(s.values[i])]);
      }
      return { metric: labelsObject(s.labels), values };
    }),
  };
}

/**
 * A float as Prometheus writes it (Go's `strconv.FormatFloat(f, 'f', -1, 64)`: the shortest digits
 * that read back exactly, never an exponent), `NaN`, `+Inf`, `-Inf`.
 *
 * @example
 * ```ts
 * import { formatFloat } from "./api.ts";
 * if (formatFloat(1e21) !== "1000000000000000000000" || formatFloat(1.5e-7) !== "0.00000015") throw new Error();
 * if (formatFloat(Infinity) !== "+Inf" || formatFloat(0.1) !== "0.1") throw new Error();
 * ```
 */
export function formatFloat(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  const s = String(v);
  const e = s.indexOf("e");
  if (e < 0) return s;
  const neg = s[0] === "-";
  const mantissa = s.slice(neg ? 1 : 0, e);
  const exp = Number(s.slice(e + 1));
  const dot = mantissa.indexOf(".");
  const digits = mantissa.replace(".", "");
  const point = (dot < 0 ? mantissa.length : dot) + exp;
  let out: string;
  if (point <= 0) out = "0." + "0".repeat(-point) + digits;
  else if (point >= digits.length) out = digits + "0".repeat(point - digits.length);
  else out = digits.slice(0, point) + "." + digits.slice(point);
  return (neg ? "-" : "") + out;
}

// ------------------------------------------------------------ series, labels

/**
 * Label sets of the series matching any of `selectors` (all series when none) with data in
 * [start, end]. The series index knows each series' newest sample: one silent since before `start` is
 * out, one whose newest sample is in the range is in; for one with newer data than `end`, the files
 * (series index per row group, to the hour: see {@link presenceTier}) and memory tell whether it had
 * data in the range.
 */
async function matching(
  storage: Storage,
  source: StorageSource,
  selectors: string[],
  p: Params,
  now: number,
): Promise<Map<string, Labels>> {
  const start = p.get("start") ? parseTime(p.get("start")!, "start") : -Infinity;
  const end = p.get("end") ? parseTime(p.get("end")!, "end") : Infinity;
  if (end < start) {
    throw new PromError("bad_data", 'invalid parameter "end": end timestamp must not be before start time');
  }
  const found = new Map<string, SeriesRef>();
  const lists = selectors.length === 0
    ? [source.all()]
    : selectors.map((s) => source.selectWithTimes(selectorMatchers(s)));
  const later = new Set<string>();
  for (const list of lists) {
    for (const r of list) {
      if (r.newestMs < start) continue;
      const key = seriesKey(r.namespace, r.target, r.poller);
      found.set(key, r);
      if (r.newestMs > end) later.add(key);
    }
  }
  if (later.size > 0) {
    const tier = presenceTier(start, end, now, storage.config);
    const present = await seriesWithData(storage.queryView(), later, start, end, tier);
    for (const key of later) if (!present.has(key)) found.delete(key);
  }
  const out = new Map<string, Labels>();
  for (const r of found.values()) out.set(labelsKey(r.labels), r.labels);
  return out;
}

/**
 * The tier that tells which series had data in [start, end]: the one a query of the range reads, but
 * never finer than hourly — an hourly file has 24 rows a series a day, a raw one 1,440 — so a series
 * that began after `end` within the same hour still counts (VictoriaMetrics answers to the day,
 * Prometheus to its blocks of 2 hours or more).
 */
function presenceTier(start: number, end: number, now: number, config: Storage["config"]): Tier {
  const chosen = chooseTier(start, Math.max(end, start + 1), now, config).tier;
  return TIERS[Math.max(TIERS.indexOf(chosen), TIERS.indexOf("hourly"))];
}

function selectorMatchers(text: string): Matcher[] {
  let e: Expr;
  try {
    e = parsePromQLCached(text);
  } catch (err) {
    throw new PromError("bad_data", `invalid parameter "match[]": ${(err as Error).message}`);
  }
  if (e.type !== "selector" || e.offsetMs !== 0) {
    throw new PromError(
      "bad_data",
      `invalid parameter "match[]": "${text}" is not a series selector such as up{job="x"}`,
    );
  }
  return e.matchers;
}

function limited(list: string[], p: Params): Response {
  const limit = parseLimit(p.get("limit"));
  if (limit > 0 && list.length > limit) return success(list.slice(0, limit), ["results truncated due to limit"]);
  return success(list);
}

// ------------------------------------------------------------ parameters

function queryParams(c: Context): Params {
  const url = new URL(c.req.url);
  return { get: (n) => url.searchParams.get(n) ?? undefined, all: (n) => url.searchParams.getAll(n) };
}

/** POST parameters: the form body (application/x-www-form-urlencoded or multipart) and the URL's. */
async function formParams(c: Context): Promise<Params> {
  const url = new URL(c.req.url);
  const type = (c.req.header("content-type") ?? "").split(";")[0].trim().toLowerCase();
  let form: URLSearchParams | FormData | null = null;
  if (type === "application/x-www-form-urlencoded") form = new URLSearchParams(await c.req.text());
  else if (type === "multipart/form-data") form = await c.req.raw.formData();
  else if (type !== "") {
    throw new PromError(
      "bad_data",
      `Send the parameters form-encoded (application/x-www-form-urlencoded), not ${type}`,
    );
  }
  const str = (v: unknown) => typeof v === "string" ? v : undefined;
  return {
    get: (n) => str(form?.get(n)) ?? url.searchParams.get(n) ?? undefined,
    all: (
      n,
    ) => [...(form?.getAll(n) ?? []).filter((v): v is string => typeof v === "string"), ...url.searchParams.getAll(n)],
  };
}

function required(p: Params, name: string): string {
  const v = p.get(name);
  if (v === undefined || v === "") throw new PromError("bad_data", `invalid parameter "${name}": missing`);
  return v;
}

/**
 * A Prometheus time parameter: Unix seconds (with a fraction) or RFC 3339; answers Unix ms.
 *
 * @example
 * ```ts
 * import { parseTime } from "./api.ts";
 * if (parseTime("1700000000.5", "time") !== 1_700_000_000_500) throw new Error();
 * if (parseTime("2023-11-14T22:13:20Z", "time") !== 1_700_000_000_000) throw new Error();
 * ```
 */
export function parseTime(text: string, name: string): number {
  const t = text.trim();
  if (/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(t)) {
    const ms = Math.round(Number(t) * 1000);
    if (Number.isFinite(ms)) return ms;
  }
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(t)) {
    const ms = Date.parse(t);
    if (Number.isFinite(ms)) return ms;
  }
  throw new PromError("bad_data", `invalid parameter "${name}": cannot parse "${text}" to a valid timestamp`);
}

function parseStep(text: string): number {
  let ms: number;
  try {
    ms = parseDurationMs(text);
  } catch {
    throw new PromError("bad_data", `invalid parameter "step": cannot parse "${text}" to a valid duration`);
  }
  if (!(ms > 0)) {
    throw new PromError(
      "bad_data",
      'invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer',
    );
  }
  return ms;
}

function parseLimit(v: string | undefined): number {
  if (v === undefined || v === "") return 0;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) {
    throw new PromError("bad_data", `invalid parameter "limit": "${v}" is not a non-negative integer`);
  }
  return n;
}

// ------------------------------------------------------------ envelope

function success(data: unknown, warnings: string[] = [], headers: Record<string, string> = {}): Response {
  const body: Record<string, unknown> = { status: "success", data };
  if (warnings.length > 0) body.warnings = [...new Set(warnings)];
  return new Response(JSON.stringify(body), { headers: { "content-type": "application/json", ...headers } });
}

/** `x-stalker-tier`: the tiers the query read (comma-separated), for operators and tests. */
function tierHeader(r: EvalResult): Record<string, string> {
  const tiers = TIERS.filter((t) => r.tiers.has(t));
  return tiers.length > 0 ? { "x-stalker-tier": tiers.join(",") } : {};
}

function errorBody(errorType: string, error: string): Record<string, string> {
  return { status: "error", errorType, error };
}

function errorAnswer(c: Context, err: unknown, log: Logger): Response {
  let status = 500, type = "internal", message: string;
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (err instanceof PromError) [status, type, message] = [err.status, err.errorType, err.message];
  else if (err instanceof InputError) [status, type, message] = [400, "bad_data", err.message];
  else if (err instanceof UnavailableError) {
    [status, type, message] = [503, "unavailable", err.message];
    headers["retry-after"] = String(Math.max(1, Math.ceil(err.retryAfterMs / 1000)));
  } else if (isHttpError(err)) {
    // the shared authentication (401) and body limits
    [status, message] = [err.status, err.message];
    type = err.status === 401 ? "unauthorized" : err.status < 500 ? "bad_data" : "internal";
    Object.assign(headers, err.headers);
  } else {
    const id = crypto.randomUUID();
    log.error("prometheus API request failed", {
      id,
      path: c.req.path,
      error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
      stack: err instanceof Error ? err.stack : undefined,
    });
    message = `Internal error ${id}: the server log has the details`;
  }
  return new Response(JSON.stringify(errorBody(type, message)), { status, headers });
}

function isHttpError(err: unknown): err is { status: number; message: string; headers: Record<string, string> } {
  return err instanceof Error && typeof (err as { status?: unknown }).status === "number" &&
    typeof (err as { headers?: unknown }).headers === "object";
}
