import test from "node:test";
import assert from "node:assert/strict";
import { createApp } from "../../../src/http/app.ts";
import { mapError } from "../../../src/http/errors.ts";
import { InputError } from "../../../src/model/errors.ts";
import type { Logger } from "../../../src/platform/log.ts";
import { memStorage } from "../../helpers.ts";

async function setup() {
  const env = await memStorage();
  const errors: { msg: string; fields?: Record<string, unknown> }[] = [];
  const log: Logger = { debug() {}, info() {}, warn() {}, error: (msg, fields) => errors.push({ msg, fields }) };
  const app = createApp({ storage: env.storage, metrics: env.metrics, log, clock: env.clock, authToken: "" });
  return { ...env, app, errors };
}

for (const err of [new TypeError("Cannot read properties of undefined"), new RangeError("Invalid array length")]) {
  test(`a ${err.name} from a bug is a 500 with an id, and the log has the id and the stack`, async () => {
    const { app, storage, errors } = await setup();
    storage.query = () => Promise.reject(err);
    const res = await app.request("/api/v1/query?namespace=prod");
    assert.equal(res.status, 500);
    const body = (await res.json()).error;
    assert.equal(body.code, "internal");
    assert.match(body.id, /^[0-9a-f-]{36}$/);
    assert.match(body.message, new RegExp(`Internal error ${body.id}`));
    assert.doesNotMatch(body.message, /Cannot read|Invalid array/, "internals stay in the log");
    assert.equal(errors.length, 1);
    assert.equal(errors[0].fields?.id, body.id);
    assert.match(String(errors[0].fields?.stack), new RegExp(`${err.name}: ${err.message}\\n\\s+at `));
    await storage.close();
  });
}

test("every answer of an internal error has its own id", () => {
  const a = mapError(new TypeError("x"));
  const b = mapError(new TypeError("x"));
  assert.ok(a.id && b.id && a.id !== b.id);
  assert.equal(mapError(new InputError("invalid_sample", "sample 0: bad", 0)).id, undefined);
});

const CLIENT_MISTAKES: [string, string, RequestInit | undefined, number, string, RegExp][] = [
  ["query without namespace", "/api/v1/query", undefined, 400, "invalid_parameter", /namespace is required/],
  [
    "query with a bad time",
    "/api/v1/query?namespace=n&from=yesterday",
    undefined,
    400,
    "invalid_parameter",
    /from: "yesterday" is not a time/,
  ],
  [
    "query with a time out of range",
    "/api/v1/query?namespace=n&to=99999999999999999999",
    undefined,
    400,
    "invalid_parameter",
    /to: "99999999999999999999" is out of range/,
  ],
  [
    "query with a relative time before 1970",
    "/api/v1/query?namespace=n&from=-1000000w",
    undefined,
    400,
    "invalid_parameter",
    /from: "-1000000w" is out of range/,
  ],
  [
    "query with a bad duration",
    "/api/v1/query?namespace=n&from=-3x",
    undefined,
    400,
    "invalid_parameter",
    /not a duration/,
  ],
  [
    "query with an unknown tier",
    "/api/v1/query?namespace=n&tier=monthly",
    undefined,
    400,
    "invalid_parameter",
    /Unknown tier "monthly"/,
  ],
  [
    "query with a bad format",
    "/api/v1/query?namespace=n&format=xml",
    undefined,
    400,
    "invalid_parameter",
    /format must be json or csv/,
  ],
  [
    "query with a bad limit",
    "/api/v1/query?namespace=n&limit=0",
    undefined,
    400,
    "invalid_parameter",
    /limit must be a positive integer/,
  ],
  [
    "series with a bad limit",
    "/api/v1/series?limit=x",
    undefined,
    400,
    "invalid_parameter",
    /limit must be a positive integer/,
  ],
  [
    "sql with bad JSON",
    "/api/v1/sql",
    { method: "POST", body: "{", headers: { "content-type": "application/json" } },
    400,
    "invalid_json",
    /Cannot parse the body as JSON/,
  ],
  ["sql without text", "/api/v1/sql", { method: "POST", body: " " }, 400, "invalid_body", /The SQL text is empty/],
  [
    "ingest of bad JSON",
    "/api/v1/ingest",
    { method: "POST", body: "[{", headers: { "content-type": "application/json" } },
    400,
    "invalid_json",
    /./,
  ],
  [
    "ingest without a content type",
    "/api/v1/ingest",
    { method: "POST", body: "[]" },
    415,
    "unsupported_media_type",
    /not supported/,
  ],
  ["an unknown route", "/api/v1/nothing", undefined, 404, "not_found", /No route GET \/api\/v1\/nothing/],
];
for (const [name, url, init, status, code, message] of CLIENT_MISTAKES) {
  test(`client mistake: ${name} is ${status} ${code}, not logged as a server error`, async () => {
    const { app, storage, errors } = await setup();
    const res = await app.request(url, init);
    assert.equal(res.status, status);
    const body = (await res.json()).error;
    assert.equal(body.code, code);
    assert.match(body.message, message);
    assert.equal(body.id, undefined);
    assert.deepEqual(errors, []);
    await storage.close();
  });
}
