import test from "node:test";
import assert from "node:assert/strict";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { SampleSchema } from "../../../src/gen/stalker_pb.ts";
import { counter, gauge, type Sample, text } from "../../../src/model/sample.ts";
import { sampleFromProto, sampleToProto } from "../../reference/sample_proto.ts";

const failed: Sample = {
  namespace: "prod",
  target: "sw1",
  poller: "ifInErrors.Gi0-1",
  timestampMs: 1_795_392_000_000,
  kind: "none",
  value: NaN,
  valid: false,
  error: "timeout after 2000 ms",
  pollMs: 2000,
};

const CASES: [string, Sample][] = [
  ["a gauge", { ...gauge("prod", "r1", "cpu.load", 1_795_392_000_000, 45.67), pollMs: 12 }],
  ["a negative gauge", gauge("prod", "r1", "temperature", 1, -12.5)],
  ["a counter of exactly 0", counter("prod", "r1", "ifInErrors.Gi0-1", 1_000, 0n)],
  ["a counter above 2^53", counter("prod", "r1", "ifHCInOctets.Gi0-1", 1_000, 2n ** 53n + 1n)],
  ["the largest counter", counter("prod", "r1", "ifHCInOctets.Gi0-1", 1_000, 2n ** 64n - 1n)],
  ["an empty text", text("prod", "r1", "sysDescr", 1_000, "")],
  ["a unicode text", text("prod", "r1", "sysLocation", 1_000, "Zürich — Rack 4 🚀")],
  ["a failed poll without value", failed],
];

for (const [name, sample] of CASES) {
  test(`Sample → protobuf → Sample is lossless for ${name}`, () => {
    const wire = toBinary(SampleSchema, sampleToProto(sample));
    const back = sampleFromProto(fromBinary(SampleSchema, wire));
    assert.deepEqual(back, sample);
  });

  test(`protobuf → Sample → protobuf is lossless for ${name}`, () => {
    const wire = toBinary(SampleSchema, sampleToProto(sample));
    const again = toBinary(SampleSchema, sampleToProto(sampleFromProto(fromBinary(SampleSchema, wire))));
    assert.deepEqual(again, wire);
  });
}

test("a counter of 0 is present on the wire (field 5), unlike a plain proto3 zero", () => {
  const wire = toBinary(SampleSchema, sampleToProto(counter("a", "b", "c", 1, 0n)));
  assert.ok(wire.includes(0x28), "tag of field 5 (varint) must be present"); // (5 << 3) | 0
});
