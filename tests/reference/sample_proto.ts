/**
 * Lossless conversion between {@link Sample} and the protocol's `stalker.Sample`, in both directions:
 * the kind is the oneof case, a counter stays an exact uint64 (also above 2^53), a counter of 0 and an
 * empty text keep their presence.
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import { type Sample as SampleMessage, SampleSchema } from "../../src/gen/stalker_pb.ts";
import type { Sample } from "../../src/model/sample.ts";

/**
 * Converts a sample to its protobuf message.
 *
 * @example
 * ```ts
 * import { counter } from "../../src/model/sample.ts";
 * import { sampleFromProto, sampleToProto } from "./sample_proto.ts";
 * const s = counter("ns", "t", "p", 1000, 2n ** 64n - 1n);
 * const back = sampleFromProto(sampleToProto(s));
 * if (back.counter !== s.counter || back.kind !== "counter") throw new Error("not lossless");
 * ```
 */
export function sampleToProto(s: Sample): SampleMessage {
  return create(SampleSchema, {
    namespace: s.namespace,
    target: s.target,
    poller: s.poller,
    timestampMs: BigInt(s.timestampMs),
    value: s.kind === "gauge"
      ? { case: "valueGauge", value: s.value }
      : s.kind === "counter"
      ? { case: "valueCounter", value: s.counter ?? BigInt(s.value) }
      : s.kind === "text"
      ? { case: "valueText", value: s.text ?? "" }
      : { case: undefined },
    valid: s.valid,
    error: s.error,
    pollMs: s.pollMs,
  });
}

/** Converts a protobuf message to a sample (no validation; see `ingest/validate.ts`). */
export function sampleFromProto(m: SampleMessage): Sample {
  const base = {
    namespace: m.namespace,
    target: m.target,
    poller: m.poller,
    timestampMs: Number(m.timestampMs),
    valid: m.valid,
    error: m.error,
    pollMs: m.pollMs,
  };
  switch (m.value.case) {
    case "valueGauge":
      return { ...base, kind: "gauge", value: m.value.value };
    case "valueCounter":
      return { ...base, kind: "counter", value: Number(m.value.value), counter: m.value.value };
    case "valueText":
      return { ...base, kind: "text", value: NaN, text: m.value.value };
    default:
      return { ...base, kind: "none", value: NaN };
  }
}
