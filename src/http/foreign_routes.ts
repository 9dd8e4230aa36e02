/**
 * The routes of the foreign ingest protocols (see docs/ingest_protocols.md): InfluxDB line protocol
 * (`POST /write`, `POST /api/v2/write`, `GET|HEAD /ping`, `POST /query` for `CREATE DATABASE`),
 * Prometheus remote-write (`POST /api/v1/write`) and collectd's `write_http` JSON (`POST /collectd`). Each stores through the same path as `POST /api/v1/ingest`
 * (`receiveBody` then `Storage.ingest`): the whole request is accepted or refused, the answer comes after
 * the durability point, backpressure is `429` + `Retry-After`, re-sent samples are skipped as duplicates.
 * Errors are answered in each protocol's own shape; authentication accepts each protocol's usual forms.
 *
 * These routes are mounted before the `/api/*` bearer-token middleware and check the token themselves.
 *
 * @module
 */
import type { Context, Hono } from "hono";
import { maxSampleAgeMs } from "../config/schema.ts";
import { parseCollectd } from "../ingest/collectd.ts";
import { isPrecision, parseLineProtocol } from "../ingest/influx.ts";
import { IdentityMapper } from "../ingest/mapping.ts";
import { RemoteWriteDecoder, snappyDecode } from "../ingest/remote_write.ts";
import { InputError } from "../model/errors.ts";
import { oldestAccepted } from "../ingest/validate.ts";
import type { SampleBatch } from "../model/batch.ts";
import type { Clock } from "../platform/clock.ts";
import type { Storage } from "../service/storage.ts";
import { presentedToken, tokenMatches } from "./auth.ts";
import { releaseBody } from "./body.ts";
import { HttpError, mapError } from "./errors.ts";
import { type IngestGate, receiveBody } from "./ingest_route.ts";
import { VERSION } from "../version.ts";

/** What the foreign routes need. */
export interface ForeignDeps {
  storage: Storage;
  clock: Clock;
  authToken: string;
}

/** InfluxDB's error codes (v2 `code`) by status. */
const INFLUX_CODES: Readonly<Record<number, string>> = {
  400: "invalid",
  401: "unauthorized",
  404: "not found",
  408: "request timeout",
  413: "request too large",
  415: "unsupported media type",
  429: "too many requests",
  503: "unavailable",
  507: "insufficient storage",
};

/** Mounts the routes on `app` (before the `/api/*` token middleware). */
export function mountForeignRoutes(app: Hono, deps: ForeignDeps): void {
  const { storage, clock, authToken } = deps;
  const mapper = new IdentityMapper(storage.config.ingestion.mapping);
  const gate: IngestGate = { active: 0 };

  /** Stores a decoded batch; answers the backpressure header, if any. */
  const store = async (batch: SampleBatch, deadline: number): Promise<Record<string, string>> => {
    if (batch.length > 0) await storage.ingest(batch, deadline);
    const level = storage.backpressure;
    return level === "none" ? {} : { "x-stalker-backpressure": level };
  };
  const now = () => {
    const nowMs = clock.now();
    return { nowMs, oldestMs: oldestAccepted(nowMs, maxSampleAgeMs(storage.config)) };
  };

  const influxHeaders = { "x-influxdb-version": `stalker-storage ${VERSION}`, "x-influxdb-build": "OSS" };
  const ping = (c: Context) => c.body(null, 204, influxHeaders);
  app.get("/ping", ping);
  app.on("HEAD", "/ping", ping);

  const influxWrite = (version: 1 | 2) => async (c: Context): Promise<Response> => {
    try {
      const q = c.req.query();
      authorize(c, authToken, version === 1 ? q.p : undefined);
      const precision = q.precision ?? "ns";
      const allowed = version === 1 ? isPrecision(precision) : ["ns", "us", "ms", "s"].includes(precision);
      if (!allowed) {
        throw new HttpError(
          400,
          "invalid",
          `precision "${precision}" is not supported: use ns, us, ms or s${version === 1 ? " (or n, u, m, h)" : ""}`,
        );
      }
      const database = version === 1 ? q.db : q.bucket;
      return await receiveBody(c, storage, gate, async (body, deadline) => {
        const batch = parseLineProtocol(body, mapper, { database, precision, ...now() });
        releaseBody(body); // decoded into strings: the bytes go back to the allocator now
        return c.body(null, 204, { ...influxHeaders, ...await store(batch, deadline) });
      });
    } catch (err) {
      return influxError(err, version);
    }
  };
  app.post("/write", influxWrite(1));
  app.post("/api/v2/write", influxWrite(2));

  const remote = new RemoteWriteDecoder(mapper);
  const snappyBody = (raw: Uint8Array, encoding: string | null, limit: number): Uint8Array => {
    const enc = (encoding ?? "snappy").trim().toLowerCase();
    if (enc !== "snappy") {
      throw new HttpError(
        415,
        "unsupported_encoding",
        `Content-Encoding "${encoding}" is not supported: a remote-write body is snappy-compressed`,
      );
    }
    try {
      return snappyDecode(raw, limit);
    } catch (err) {
      if (err instanceof InputError && err.code === "body_too_large") throw new HttpError(413, err.code, err.message);
      throw err;
    }
  };
  app.post("/api/v1/write", async (c) => {
    try {
      authorize(c, authToken, undefined);
      const type = c.req.header("content-type") ?? "";
      if (/proto=io\.prometheus\.write\.v2/i.test(type)) {
        throw new HttpError(
          415,
          "unsupported_media_type",
          "remote-write 2.0 is not supported: send remote-write 1.0 (prometheus.WriteRequest)",
        );
      }
      return await receiveBody(c, storage, gate, async (body, deadline) => {
        const { batch, stats } = remote.decode(body, now());
        releaseBody(body); // decoded into strings: the bytes go back to the allocator now
        const headers = await store(batch, deadline);
        if (stats.exemplars > 0) headers["x-stalker-ignored-exemplars"] = String(stats.exemplars);
        if (stats.histograms > 0) headers["x-stalker-ignored-histograms"] = String(stats.histograms);
        return c.body(null, 204, headers);
      }, snappyBody);
    } catch (err) {
      return remoteWriteError(err);
    }
  });

  // collectd's write_http plugin, Format "JSON": errors and answers are ours (collectd only logs them)
  app.post("/collectd", (c) => {
    authorize(c, authToken, undefined);
    return receiveBody(c, storage, gate, async (body, deadline) => {
      const batch = parseCollectd(body, mapper, now());
      releaseBody(body); // decoded into strings: the bytes go back to the allocator now
      const { accepted, duplicates, conflicts } = batch.length > 0
        ? await storage.ingest(batch, deadline)
        : { accepted: 0, duplicates: 0, conflicts: 0 };
      const level = storage.backpressure;
      return c.json(
        { accepted, duplicates, conflicts },
        200,
        level === "none" ? {} : { "x-stalker-backpressure": level },
      );
    });
  });

  // Telegraf's `outputs.influxdb` creates its database at start-up (unless `skip_database_creation`):
  // namespaces need no creating, so that statement succeeds; anything else is refused.
  app.post("/query", (c) => {
    try {
      authorize(c, authToken, c.req.query("p"));
      const statement = c.req.query("q") ?? "";
      if (!/^\s*CREATE\s+DATABASE\s/i.test(statement)) {
        throw new HttpError(
          400,
          "invalid",
          "only CREATE DATABASE is supported here: query with GET /api/v1/query, POST /api/v1/sql or /prometheus",
        );
      }
      return c.json({ results: [{ statement_id: 0 }] }, 200, influxHeaders);
    } catch (err) {
      return influxError(err, 1);
    }
  });
}

/** Checks the token (see `presentedToken`), when the server has one. */
function authorize(c: Context, token: string, fallback: string | undefined): void {
  if (token === "") return;
  const presented = presentedToken(c.req.header("authorization"), fallback);
  if (presented === undefined) {
    throw new HttpError(
      401,
      "unauthorized",
      "Missing token: send Authorization: Bearer <server.auth_token> (or Token, or basic auth with it as the password)",
      { "www-authenticate": 'Basic realm="stalker-storage"' },
    );
  }
  if (!tokenMatches(token, presented)) {
    throw new HttpError(401, "unauthorized", "Wrong token", { "www-authenticate": 'Basic realm="stalker-storage"' });
  }
}

/**
 * An error in InfluxDB's shape: v1 `{"error": message}`, v2 `{"code", "message"}`, both with the
 * `X-Influxdb-Error` header. Internal errors are rethrown for the app's handler (which logs them).
 */
function influxError(err: unknown, version: 1 | 2): Response {
  const m = mapError(err);
  if (m.status >= 500 && m.id !== undefined) throw err;
  const body = version === 1 ? { error: m.message } : { code: INFLUX_CODES[m.status] ?? "invalid", message: m.message };
  return new Response(JSON.stringify(body), {
    status: m.status,
    headers: { "content-type": "application/json", "x-influxdb-error": headerSafe(m.message), ...m.headers },
  });
}

/**
 * An error as remote-write senders expect it: the message as plain text. Backpressure (`429`) is answered
 * `503` + `Retry-After`: senders MUST retry 5xx, while retrying 429 is optional in the spec (Prometheus 2.42
 * drops the data unless `retry_on_http_429` is set). Internal errors are rethrown for the app's handler.
 */
function remoteWriteError(err: unknown): Response {
  const m = mapError(err);
  if (m.status >= 500 && m.id !== undefined) throw err;
  return new Response(m.message + "\n", {
    status: m.status === 429 ? 503 : m.status,
    headers: { "content-type": "text/plain; charset=utf-8", ...m.headers },
  });
}

/** A message as a header value (one line, Latin-1). */
function headerSafe(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, "?").slice(0, 1000);
}
