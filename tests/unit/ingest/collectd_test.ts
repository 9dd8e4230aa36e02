import test from "node:test";
import assert from "node:assert/strict";
import { parseCollectd } from "../../../src/ingest/collectd.ts";
import { DEFAULT_MAPPING, IdentityMapper } from "../../../src/ingest/mapping.ts";
import { InputError } from "../../../src/model/errors.ts";
import type { Sample } from "../../../src/model/sample.ts";

const NOW = Date.UTC(2026, 10, 25, 12);
const clock = { nowMs: NOW, oldestMs: Date.UTC(2000, 0, 1) };

function parse(lists: unknown): Sample[] {
  const b = parseCollectd(new TextEncoder().encode(JSON.stringify(lists)), new IdentityMapper(DEFAULT_MAPPING), clock);
  return Array.from({ length: b.length }, (_, i) => b.sample(i));
}

const octets = {
  values: [197141504, 175136768],
  dstypes: ["derive", "derive"],
  dsnames: ["rx", "tx"],
  time: NOW / 1000 + 0.1234,
  interval: 1.0,
  host: "sw1",
  plugin: "snmp",
  plugin_instance: "",
  type: "if_octets",
  type_instance: "Gi0/1",
  meta: { "network:received": true },
};

test("a collectd snmp if_octets value list: one counter per data source, host the target, instances as labels", () => {
  const s = parse([octets]);
  assert.deepEqual(s.map((x) => [x.namespace, x.target, x.poller, x.kind, x.counter, x.timestampMs]), [
    ["default", "sw1", 'snmp_if_octets_rx{type_instance="Gi0/1"}', "counter", 197141504n, NOW + 123],
    ["default", "sw1", 'snmp_if_octets_tx{type_instance="Gi0/1"}', "counter", 175136768n, NOW + 123],
  ]);
});

test("gauges, the dsname 'value', plugin_instance, null (NaN) and negative derives", () => {
  const s = parse([
    {
      ...octets,
      values: [0.5],
      dstypes: ["gauge"],
      dsnames: ["value"],
      plugin: "cpu",
      plugin_instance: "0",
      type: "percent",
      type_instance: "idle",
    },
    { ...octets, values: [null, -5, 7], dstypes: ["gauge", "derive", "absolute"], dsnames: ["a", "b", "c"] },
  ]);
  assert.deepEqual(s.map((x) => [x.poller, x.kind, x.valid, x.error]), [
    ['cpu_percent{plugin_instance="0",type_instance="idle"}', "gauge", true, ""],
    ['snmp_if_octets_a{type_instance="Gi0/1"}', "none", false, "NaN"],
    ['snmp_if_octets_b{type_instance="Gi0/1"}', "gauge", true, ""],
    ['snmp_if_octets_c{type_instance="Gi0/1"}', "counter", true, ""],
  ]);
});

test("bad bodies are refused naming the value list", () => {
  const refused = (lists: unknown, pattern: RegExp) =>
    assert.throws(() => parse(lists), (e) => e instanceof InputError && pattern.test(e.message));
  refused({ values: [] }, /must be a JSON array/);
  refused([{ ...octets, values: [1] }], /^value list 0: "values", "dstypes" and "dsnames" must have the same length/);
  refused([octets, { ...octets, dstypes: ["derive", "bogus"] }], /^value list 1: dstypes\[1\] must be/);
  refused([{ ...octets, time: NOW }], /older than accepted|ahead/);
  refused([{ ...octets, time: "x" }], /"time" must be a number/);
  refused([{ ...octets, host: 5 }], /"host" must be a string/);
  refused([{ ...octets, values: ["1", 2] }], /values\[0\] must be a number or null/);
  refused([{ ...octets, plugin: "" }], /must not be empty/);
  assert.throws(
    () => parseCollectd(new TextEncoder().encode("[{"), new IdentityMapper(DEFAULT_MAPPING), clock),
    /the body is not JSON/,
  );
});
