import test from "node:test";
import assert from "node:assert/strict";
import { Hono } from "hono";
import { createApp } from "../../../src/http/app.ts";
import { allowedMethods } from "../../../src/http/root_route.ts";
import { silentLogger } from "../../../src/platform/log.ts";
import { VERSION } from "../../../src/version.ts";
import { memStorage } from "../../helpers.ts";

async function app(token = "") {
  const env = await memStorage();
  const a = createApp({
    storage: env.storage,
    metrics: env.metrics,
    log: silentLogger,
    clock: env.clock,
    authToken: token,
  });
  return { app: a, storage: env.storage };
}

test("GET / names the server and links the UI, the status and the docs (JSON, or HTML for a browser)", async () => {
  const { app: a, storage } = await app("secret");
  const res = await a.request("/");
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.name, "stalker-storage");
  assert.equal(body.version, VERSION);
  assert.equal(body.links.ui, "/ui");
  assert.equal(body.links.status, "/api/v1/status");
  assert.match(body.links.docs, /docs/);
  const html = await a.request("/", { headers: { accept: "text/html,*/*" } });
  assert.match(html.headers.get("content-type")!, /text\/html/);
  assert.match(await html.text(), /<a href="\/api\/v1\/status">/);
  await storage.close();
});

test("a known path with the wrong method is 405 with Allow; an unknown path stays 404", async () => {
  const { app: a, storage } = await app();
  const get = await a.request("/api/v1/ingest");
  assert.equal(get.status, 405);
  assert.equal(get.headers.get("allow"), "POST");
  const body = await get.json();
  assert.equal(body.error.code, "method_not_allowed");
  assert.match(body.error.message, /GET is not allowed on \/api\/v1\/ingest; use POST/);
  const post = await a.request("/api/v1/query", { method: "POST", body: "{}" });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get("allow"), "GET, HEAD");
  assert.equal((await a.request("/healthz", { method: "DELETE" })).status, 405);
  assert.equal((await a.request("/api/v1/nothing")).status, 404);
  assert.equal((await a.request("/api/v1/ingest/more")).status, 404);
  await storage.close();
});

test("the token still comes first: a wrong method without the token is 401", async () => {
  const { app: a, storage } = await app("secret");
  assert.equal((await a.request("/api/v1/ingest")).status, 401);
  const authed = await a.request("/api/v1/ingest", { headers: { authorization: "Bearer secret" } });
  assert.equal(authed.status, 405);
  await storage.close();
});

test("allowedMethods matches parameters, optional parameters and wildcards of routes added later", () => {
  const h = new Hono();
  h.use("*", async (_c, next) => await next());
  h.get("/a/:id", (c) => c.text(""));
  h.put("/a/:id", (c) => c.text(""));
  h.delete("/b/:name?", (c) => c.text(""));
  h.post("/c/*", (c) => c.text(""));
  assert.deepEqual(allowedMethods(h, "/a/7"), ["GET", "HEAD", "PUT"]);
  assert.deepEqual(allowedMethods(h, "/a"), []);
  assert.deepEqual(allowedMethods(h, "/b"), ["DELETE"]);
  assert.deepEqual(allowedMethods(h, "/b/x"), ["DELETE"]);
  assert.deepEqual(allowedMethods(h, "/c/x/y"), ["POST"]);
  assert.deepEqual(allowedMethods(h, "/d"), []);
});
