import test from "node:test";
import assert from "node:assert/strict";
import { memApp } from "../app_helper.ts";

const NOW = Date.UTC(2026, 10, 25, 12);
const TOKEN = "collectd-token";

const setup = (authToken = "", yaml = "") => memApp(authToken, yaml, NOW);

test("POST /collectd (write_http JSON): 200 with our counts after storing, basic auth, 400 leaves no trace", async () => {
  const { app, series, storage } = await setup(TOKEN);
  const list = [{
    values: [100, 200],
    dstypes: ["derive", "derive"],
    dsnames: ["rx", "tx"],
    time: NOW / 1000,
    interval: 1,
    host: "sw1",
    plugin: "snmp",
    plugin_instance: "",
    type: "if_octets",
    type_instance: "eth0",
  }];
  const post = (body: unknown, auth = "Basic " + btoa(`collectd:${TOKEN}`)) =>
    app.request("/collectd", {
      method: "POST",
      body: JSON.stringify(body),
      headers: { "content-type": "application/json", authorization: auth },
    });
  const res = await post(list);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { accepted: 2, duplicates: 0, conflicts: 0 });
  assert.deepEqual(await (await post(list)).json(), { accepted: 0, duplicates: 2, conflicts: 0 });
  assert.equal((await post(list, "Basic " + btoa("collectd:nope"))).status, 401);
  const bad = await post([{ ...list[0], type_instance: "eth1" }, { ...list[0], values: [1] }]);
  assert.equal(bad.status, 400);
  assert.match((await bad.json()).error.message, /^value list 1:/);
  assert.deepEqual(
    (await series()).map((s: { poller: string; kind: string }) => [s.poller, s.kind]),
    [['snmp_if_octets_rx{type_instance="eth0"}', "counter"], ['snmp_if_octets_tx{type_instance="eth0"}', "counter"]],
  );
  await storage.close();
});
