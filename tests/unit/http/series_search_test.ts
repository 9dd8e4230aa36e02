import test from "node:test";
import assert from "node:assert/strict";
import { createApp } from "../../../src/http/app.ts";
import { HttpError } from "../../../src/http/errors.ts";
import { seriesSearch } from "../../../src/http/series_search.ts";
import { silentLogger } from "../../../src/platform/log.ts";
import { memStorage } from "../../helpers.ts";

const S = [
  { namespace: "prod", target: "core-router-1", poller: "cpu.load" },
  { namespace: "prod", target: "edge-2", poller: "ifHCInOctets.Gi0-1" },
  { namespace: "lab", target: "cpu-box", poller: "uptime" },
];
const pollers = (q: string | undefined) => S.filter(seriesSearch(q)).map((s) => s.poller);

test("q: every word must match namespace, target or poller, case-insensitively", () => {
  assert.deepEqual(pollers(undefined), ["cpu.load", "ifHCInOctets.Gi0-1", "uptime"]);
  assert.deepEqual(pollers("  "), ["cpu.load", "ifHCInOctets.Gi0-1", "uptime"]);
  assert.deepEqual(pollers("CPU"), ["cpu.load", "uptime"]);
  assert.deepEqual(pollers("cpu prod"), ["cpu.load"]);
  assert.deepEqual(pollers("octets gi0"), ["ifHCInOctets.Gi0-1"]);
  assert.deepEqual(pollers("nothing"), []);
});

test("q: namespace:, target: and poller: limit a word to one field; other colons are plain text", () => {
  assert.deepEqual(pollers("poller:cpu"), ["cpu.load"]);
  assert.deepEqual(pollers("target:cpu"), ["uptime"]);
  assert.deepEqual(pollers("namespace:prod target:edge"), ["ifHCInOctets.Gi0-1"]);
  assert.deepEqual(pollers("host:cpu"), []);
  assert.throws(() => seriesSearch("target:"), (e) => e instanceof HttpError && e.status === 400);
});

test("GET /api/v1/series?q= searches; a bad q is a 400", async () => {
  const env = await memStorage();
  try {
    const app = createApp({ ...env, log: silentLogger, authToken: "" });
    const body = JSON.stringify({ samples: S.map((s) => ({ ...s, value: 1 })) });
    const ingest = await app.request("/api/v1/ingest", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    assert.equal(ingest.status, 200);
    const res = await app.request("/api/v1/series?q=cpu&limit=1");
    assert.equal(res.status, 200);
    const json = await res.json();
    assert.deepEqual(json.series.map((s: { poller: string }) => s.poller), ["uptime"]);
    assert.equal(json.total, 2);
    assert.equal(json.truncated, true);
    const bad = await app.request("/api/v1/series?q=poller:");
    assert.equal(bad.status, 400);
    assert.equal((await bad.json()).error.code, "invalid_parameter");
  } finally {
    await env.storage.close();
  }
});
