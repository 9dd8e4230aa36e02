import test from "node:test";
import assert from "node:assert/strict";
import zlib from "node:zlib";
import { memApp } from "../app_helper.ts";

const NOW = Date.UTC(2026, 10, 25, 12);
const TOKEN = "s3cret";

const setup = (authToken = "", yaml = "") => memApp(authToken, yaml, NOW);

const LINES = `interface,agent_host=sw1,ifName=Gi0/1 ifHCInOctets=100i,ifOperStatus=1i ${NOW / 1000}\n` +
  `interface,agent_host=sw1,ifName=Gi0/2 ifHCInOctets=200i,ifOperStatus=2i ${NOW / 1000}\n`;

test("v1 POST /write: 204 after storing; db is the namespace; re-sent lines are duplicates", async () => {
  const { app, series, storage } = await setup();
  const write = () => app.request("/write?db=snmp&precision=s", { method: "POST", body: LINES });
  const res = await write();
  assert.equal(res.status, 204);
  assert.equal(await res.text(), "");
  const all = await series();
  assert.deepEqual(
    all.map((
      s: { namespace: string; target: string; poller: string; kind: string },
    ) => [s.namespace, s.target, s.poller, s.kind]),
    [
      ["snmp", "sw1", 'interface_ifHCInOctets{ifName="Gi0/1"}', "counter"],
      ["snmp", "sw1", 'interface_ifHCInOctets{ifName="Gi0/2"}', "counter"],
      ["snmp", "sw1", 'interface_ifOperStatus{ifName="Gi0/1"}', "gauge"],
      ["snmp", "sw1", 'interface_ifOperStatus{ifName="Gi0/2"}', "gauge"],
    ].sort((a, b) => a[2] < b[2] ? -1 : 1),
  );
  const before = (await storage.status()).ingest!;
  assert.equal((await write()).status, 204);
  const after = (await storage.status()).ingest!;
  assert.equal(after.samples, before.samples, "a re-sent body stores nothing new");
  await storage.close();
});

test("v2 POST /api/v2/write with gzip, bucket and Authorization: Token; v1 with u/p and basic auth", async () => {
  const { app, series, storage } = await setup(TOKEN);
  const gz = new Uint8Array(zlib.gzipSync(new TextEncoder().encode(LINES)));
  const v2 = (auth: string) =>
    app.request("/api/v2/write?org=o&bucket=b2&precision=s", {
      method: "POST",
      body: gz,
      headers: { "content-encoding": "gzip", authorization: auth },
    });
  assert.equal((await v2(`Token ${TOKEN}`)).status, 204);
  const wrong = await v2("Token nope");
  assert.equal(wrong.status, 401);
  assert.deepEqual(await wrong.json(), { code: "unauthorized", message: "Wrong token" });
  assert.equal((await v2("")).status, 401);
  assert.ok((await series()).every((s: { namespace: string }) => s.namespace === "b2"));

  const v1 = (query: string, headers: Record<string, string> = {}) =>
    app.request(`/write?db=b1&precision=s${query}`, { method: "POST", body: LINES, headers });
  assert.equal((await v1(`&u=telegraf&p=${TOKEN}`)).status, 204);
  assert.equal((await v1("", { authorization: "Basic " + btoa(`telegraf:${TOKEN}`) })).status, 204);
  assert.equal((await v1("", { authorization: `Bearer ${TOKEN}` })).status, 204);
  const bad = await v1("&u=telegraf&p=nope");
  assert.equal(bad.status, 401);
  assert.deepEqual(await bad.json(), { error: "Wrong token" });
  assert.equal((await v1("")).status, 401);
  // the /api/ routes still want the token
  assert.equal((await app.request("/api/v1/series")).status, 401);
  await storage.close();
});

test("an invalid line refuses the whole body in InfluxDB's error shape and leaves no trace", async () => {
  const { app, series, storage } = await setup();
  const body = `m f=1 ${NOW}000000\nm f=oops ${NOW}000000\n`;
  const v1 = await app.request("/write", { method: "POST", body });
  assert.equal(v1.status, 400);
  const e1 = await v1.json();
  assert.match(e1.error, /^line 2: invalid field value "oops": 'm f=oops \d+'$/);
  assert.equal(v1.headers.get("x-influxdb-error"), e1.error);
  const v2 = await app.request("/api/v2/write?bucket=b", { method: "POST", body });
  assert.equal(v2.status, 400);
  const e2 = await v2.json();
  assert.equal(e2.code, "invalid");
  assert.match(e2.message, /^line 2: invalid field value/);
  assert.deepEqual(await series(), []);
  const p = await app.request("/api/v2/write?bucket=b&precision=n", { method: "POST", body });
  assert.equal(p.status, 400);
  assert.match((await p.json()).message, /precision "n" is not supported/);
  await storage.close();
});

test("GET /ping answers 204 with a version header; POST /query accepts CREATE DATABASE only", async () => {
  const { app, storage } = await setup();
  const ping = await app.request("/ping");
  assert.equal(ping.status, 204);
  assert.match(ping.headers.get("x-influxdb-version") ?? "", /stalker-storage/);
  const create = await app.request(`/query?q=${encodeURIComponent('CREATE DATABASE "telegraf"')}`, { method: "POST" });
  assert.equal(create.status, 200);
  assert.deepEqual(await create.json(), { results: [{ statement_id: 0 }] });
  const select = await app.request(`/query?q=${encodeURIComponent("SELECT * FROM cpu")}`, { method: "POST" });
  assert.equal(select.status, 400);
  assert.match((await select.json()).error, /only CREATE DATABASE/);
  await storage.close();
});

test("backpressure: a body over server.max_body_bytes is 413 in InfluxDB's shape", async () => {
  const { app, storage } = await setup("", "server:\n  max_body_bytes: 1024\n");
  const res = await app.request("/api/v2/write?bucket=b", { method: "POST", body: "m f=1\n".repeat(400) });
  assert.equal(res.status, 413);
  assert.equal((await res.json()).code, "request too large");
  await storage.close();
});
