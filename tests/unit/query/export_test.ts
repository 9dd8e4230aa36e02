import test from "node:test";
import assert from "node:assert/strict";
import { testConfig } from "../../helpers.ts";
import { InputError } from "../../../src/model/errors.ts";
import { checkComplete, EXPORT_MAX_ROWS, parseExportParams } from "../../../src/query/export.ts";
import type { QueryResult } from "../../../src/query/query.ts";

const config = testConfig("/data");

test("an export asks for the whole selection (no row limit of the query API) and checks its format", () => {
  const { request, format } = parseExportParams(
    { namespace: "prod", from: "0", to: "1000", tier: "raw", limit: "5", format: "jsonl" },
    2_000,
    config,
  );
  assert.equal(format, "jsonl");
  assert.equal(request.limit, EXPORT_MAX_ROWS);
  assert.equal(parseExportParams({ namespace: "prod" }, 2_000, config).format, "csv");
  assert.throws(() => parseExportParams({ namespace: "prod", format: "xml" }, 2_000, config), InputError);
});

test("an export that hit the row cap is refused, never cut", () => {
  const result: QueryResult = {
    tier: "raw",
    fromMs: 0,
    toMs: 1,
    series: [],
    truncated: true,
    partial: false,
    warnings: [],
  };
  assert.throws(() => checkComplete(result), (e) => e instanceof InputError && e.code === "too_large");
  assert.doesNotThrow(() => checkComplete({ ...result, truncated: false }));
});
