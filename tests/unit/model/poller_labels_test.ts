import { test } from "node:test";
import assert from "node:assert/strict";
import { canonicalLabels, formatPoller, parsePoller } from "../../../src/model/poller_labels.ts";

test("formatPoller: canonical order, empty values dropped, bare metric without labels", () => {
  assert.equal(
    formatPoller("ifHCInOctets", { ifName: "Gi0/1", ifIndex: "1" }),
    'ifHCInOctets{ifIndex="1",ifName="Gi0/1"}',
  );
  assert.equal(
    formatPoller("ifHCInOctets", [["ifName", "Gi0/1"], ["ifIndex", "1"]]),
    'ifHCInOctets{ifIndex="1",ifName="Gi0/1"}',
  );
  assert.equal(formatPoller("up", { job: "" }), "up");
  assert.equal(formatPoller("up", {}), "up");
});

test("formatPoller: escapes values, quotes names that are not label names, __name__ for a metric with {", () => {
  assert.equal(formatPoller("m", { d: 'a "b"\\c\nd' }), 'm{d="a \\"b\\"\\\\c\\nd"}');
  assert.equal(formatPoller("m", { "odd key": "v", a: "1" }), 'm{a="1","odd key"="v"}');
  assert.equal(formatPoller("a{b", { x: "1" }), '{__name__="a{b",x="1"}');
});

test("formatPoller and canonicalLabels refuse an empty metric, an empty or repeated label name", () => {
  assert.throws(() => formatPoller("", { a: "1" }), RangeError);
  assert.throws(() => canonicalLabels([["", "1"]]), RangeError);
  assert.throws(() => canonicalLabels([["a", "1"], ["a", "2"]]), /given twice/);
});

test("parsePoller inverts formatPoller on every shape", () => {
  const cases: [string, [string, string][]][] = [
    ["cpu_load", []],
    ["ifHCInOctets", [["ifIndex", "1"], ["ifName", "Gi0/1"]]],
    ["m", [["d", 'a "b"\\c\nd'], ["e", "{}=,"]]],
    ["m", [["odd key", "v"], ['x"y', "w"]]],
    ["a{b}", [["x", "1"]]],
    ["a{b}", []],
    ["cpu.load", [["__name__x", "1"]]],
  ];
  for (const [metric, labels] of cases) {
    const poller = formatPoller(metric, labels);
    assert.deepEqual(parsePoller(poller), { metric, labels: canonicalLabels(labels) }, poller);
  }
});

test("parsePoller: anything not canonical is a metric named as the whole poller", () => {
  for (
    const poller of [
      "ifHCInOctets.Gi0/1/25",
      "m{}",
      'm{b="1",a="2"}', // not sorted
      'm{a=""}', // empty value
      'm{a="1",a="2"}', // repeated
      'm{a="1",}',
      'm{a="1"',
      "m{a=1}",
      'm{a="\\x"}', // unknown escape
      '{a="1"}', // no __name__
      '{__name__="m",a="1"}', // __name__ form for a metric that needs none
      "weird{",
    ]
  ) {
    assert.deepEqual(parsePoller(poller), { metric: poller, labels: [] }, poller);
  }
});

test("different label sets never share a poller", () => {
  const seen = new Map<string, string>();
  const values = ["", "a", "a,b", 'a",b="c', "a\\", "\n", "{", "}"];
  for (const x of values) {
    for (const y of values) {
      const labels = { x, y };
      const poller = formatPoller("m", labels);
      const key = JSON.stringify(canonicalLabels(labels));
      const before = seen.get(poller);
      assert.ok(before === undefined || before === key, `${poller} from ${before} and ${key}`);
      seen.set(poller, key);
    }
  }
  assert.equal(seen.size, values.length * values.length);
});
