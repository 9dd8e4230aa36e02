/**
 * `GET /api/v1/query` and `POST /api/v1/sql`.
 *
 * @module
 */
import type { Context } from "hono";
import type { Clock } from "../platform/clock.ts";
import { resultCsv, resultJson } from "../query/format.ts";
import { parseQueryParams } from "../query/params.ts";
import { toCsv } from "../sql/mod.ts";
import type { Storage } from "../service/storage.ts";
import { readBody } from "./body.ts";
import { HttpError } from "./errors.ts";

/** `GET /api/v1/query`. */
export function queryHandler(storage: Storage, clock: Clock): (c: Context) => Promise<Response> {
  return async (c) => {
    storage.assertReady();
    const parsed = parseQueryParams(c.req.query(), clock.now(), storage.config);
    const result = await storage.query(parsed.request);
    if (parsed.format === "csv") {
      return c.text(resultCsv(result), 200, {
        "content-type": "text/csv; charset=utf-8",
        "x-stalker-tier": result.tier,
        "x-stalker-partial": String(result.partial),
        "x-stalker-truncated": String(result.truncated),
      });
    }
    return c.json(resultJson(result, { auto: parsed.auto, ...(parsed.reason ? { tier_reason: parsed.reason } : {}) }));
  };
}

/** Largest SQL text accepted. */
const MAX_SQL_BYTES = 1 << 20;

/** `POST /api/v1/sql`: the SQL as `{"sql": "..."}` or as a plain-text body; JSON or CSV by `Accept`. */
export function sqlHandler(storage: Storage): (c: Context) => Promise<Response> {
  return async (c) => {
    storage.assertReady();
    const sql = await sqlText(c);
    const result = await storage.sql(sql);
    const wantsCsv = /\btext\/csv\b/.test(c.req.header("accept") ?? "") || c.req.query("format") === "csv";
    if (wantsCsv) {
      return c.text(toCsv(result), 200, {
        "content-type": "text/csv; charset=utf-8",
        "x-stalker-truncated": String(result.truncated),
        "x-stalker-partial": String(result.skipped.length > 0),
      });
    }
    return c.json({
      columns: result.columns,
      rows: result.rows,
      truncated: result.truncated,
      partial: result.skipped.length > 0,
      skipped: result.skipped,
      elapsed_ms: result.elapsedMs,
    });
  };
}

async function sqlText(c: Context): Promise<string> {
  const body = new TextDecoder().decode(await readBody(c.req.raw, MAX_SQL_BYTES));
  const type = (c.req.header("content-type") ?? "").split(";")[0].trim().toLowerCase();
  let sql = body;
  if (type === "application/json") {
    let doc: unknown;
    try {
      doc = JSON.parse(body);
    } catch (err) {
      throw new HttpError(400, "invalid_json", `Cannot parse the body as JSON: ${(err as Error).message}`);
    }
    sql = (doc as { sql?: unknown })?.sql as string;
    if (typeof sql !== "string") throw new HttpError(400, "invalid_body", 'Expected {"sql": "SELECT ..."}');
  }
  if (sql.trim() === "") throw new HttpError(400, "invalid_body", "The SQL text is empty");
  return sql;
}
