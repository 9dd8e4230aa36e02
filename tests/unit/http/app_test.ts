import test from "node:test";
import assert from "node:assert/strict";
import { createApp } from "../../../src/http/app.ts";
import { silentLogger } from "../../../src/platform/log.ts";
import { memStorage } from "../../helpers.ts";

async function app(token = "") {
  const env = await memStorage();
  return {
    ...env,
    app: createApp({
      storage: env.storage,
      metrics: env.metrics,
      log: silentLogger,
      clock: env.clock,
      authToken: token,
    }),
  };
}

test("GET /healthz answers ok", async () => {
  const { app: a, storage } = await app();
  const res = await a.request("/healthz");
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { status: "ok" });
  await storage.close();
});

test("GET /readyz is 200 when ready and 503 after shutdown", async () => {
  const { app: a, storage } = await app();
  assert.equal((await a.request("/readyz")).status, 200);
  await storage.close();
  const res = await a.request("/readyz");
  assert.equal(res.status, 503);
  assert.deepEqual(await res.json(), { status: "stopped" });
});

test("GET /metrics is Prometheus text", async () => {
  const { app: a, storage } = await app();
  await a.request("/healthz");
  const res = await a.request("/metrics");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  assert.match(text, /^# TYPE stalker_up gauge$/m);
  assert.match(text, /^stalker_up 1$/m);
  assert.match(text, /^stalker_http_requests_total\{route="\/healthz",status="200"\} 1$/m);
  await storage.close();
});

test("GET /api/v1/status reports version, state and data dir", async () => {
  const { app: a, storage } = await app();
  const body = await (await a.request("/api/v1/status")).json();
  assert.equal(body.state, "ready");
  assert.equal(body.data_dir, "/data");
  assert.match(body.version, /^\d+\.\d+\.\d+/);
  await storage.close();
});

test("unknown routes get a JSON 404", async () => {
  const { app: a, storage } = await app();
  const res = await a.request("/nope");
  assert.equal(res.status, 404);
  assert.deepEqual(await res.json(), { error: { code: "not_found", message: "No route GET /nope" } });
  await storage.close();
});

const AUTH_CASES: [string, Record<string, string>, number][] = [
  ["no header", {}, 401],
  ["wrong token", { authorization: "Bearer nope" }, 401],
  ["a prefix of the token", { authorization: "Bearer s3cre" }, 401],
  ["not a bearer scheme", { authorization: "Basic czNjcmV0" }, 401],
  ["the right token", { authorization: "Bearer s3cret" }, 200],
  ["the right token, lower-case scheme", { authorization: "bearer s3cret" }, 200],
];
for (const [name, headers, status] of AUTH_CASES) {
  test(`with auth_token set, /api/ with ${name} answers ${status}`, async () => {
    const { app: a, storage } = await app("s3cret");
    const res = await a.request("/api/v1/status", { headers });
    assert.equal(res.status, status);
    if (status === 401) {
      assert.equal((await res.json()).error.code, "unauthorized");
      assert.equal(res.headers.get("www-authenticate"), "Bearer");
    }
    await storage.close();
  });
}

test("health and metrics stay open when a token is set", async () => {
  const { app: a, storage } = await app("s3cret");
  assert.equal((await a.request("/healthz")).status, 200);
  assert.equal((await a.request("/metrics")).status, 200);
  await storage.close();
});
