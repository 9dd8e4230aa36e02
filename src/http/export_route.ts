/**
 * `GET /api/v1/export`: a selection over a range as a CSV, JSON-lines or Parquet file (docs/http_api.md).
 *
 * @module
 */
import type { Context } from "hono";
import type { Clock } from "../platform/clock.ts";
import { checkComplete, EXPORT_CONTENT_TYPES, exportBody, parseExportParams } from "../query/export.ts";
import type { Storage } from "../service/storage.ts";

/** The handler of `GET /api/v1/export`. */
export function exportHandler(storage: Storage, clock: Clock): (c: Context) => Promise<Response> {
  return async (c) => {
    storage.assertReady();
    const { request, format } = parseExportParams(c.req.query(), clock.now(), storage.config);
    const result = await storage.query(request);
    checkComplete(result);
    const ext = format === "jsonl" ? "jsonl" : format;
    return new Response(exportBody(result, format) as Uint8Array<ArrayBuffer>, {
      headers: {
        "content-type": EXPORT_CONTENT_TYPES[format],
        "content-disposition": `attachment; filename="stalker-export-${result.tier}.${ext}"`,
        "x-stalker-tier": result.tier,
        "x-stalker-partial": String(result.partial),
      },
    });
  };
}
