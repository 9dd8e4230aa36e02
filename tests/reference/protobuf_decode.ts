/**
 * `application/x-protobuf` bodies: a `stalker.SampleBatch` (proto/stalker.proto) → columnar batch.
 * proto3 semantics apply: an absent `valid` is false, and a `timestamp_ms` of 0 (absent) means "now".
 *
 * @module
 */
import { fromBinary } from "@bufbuild/protobuf";
import { SampleBatchSchema } from "../../src/gen/stalker_pb.ts";
import { FLAG_VALID, SampleBatch } from "../../src/model/batch.ts";
import { InputError } from "../../src/model/errors.ts";
import { KIND_CODE } from "../../src/model/sample.ts";
import {
  bad,
  checkCounter,
  checkError,
  checkGauge,
  checkIdentity,
  checkPollMs,
  checkText,
  checkTimestamp,
} from "../../src/ingest/validate.ts";

/**
 * Decodes and validates a protobuf body.
 *
 * @example
 * ```ts
 * import { create, toBinary } from "@bufbuild/protobuf";
 * import { SampleBatchSchema, SampleSchema } from "../../src/gen/stalker_pb.ts";
 * import { decodeProtobuf } from "./protobuf_decode.ts";
 * const body = toBinary(SampleBatchSchema, create(SampleBatchSchema, { samples: [create(SampleSchema, {
 *   namespace: "n", target: "t", poller: "p", timestampMs: 1000n, valid: true,
 *   value: { case: "valueCounter", value: 0n } })] }));
 * const b = decodeProtobuf(body, 2000);
 * if (b.length !== 1 || b.value[0] !== 0) throw new Error();
 * ```
 */
export function decodeProtobuf(body: Uint8Array, nowMs: number): SampleBatch {
  let msg;
  try {
    msg = fromBinary(SampleBatchSchema, body);
  } catch (err) {
    throw new InputError(
      "invalid_protobuf",
      `Cannot decode the body as stalker.SampleBatch: ${(err as Error).message}`,
    );
  }
  const batch = new SampleBatch(msg.samples.length);
  msg.samples.forEach((s, i) => {
    batch.namespace[i] = checkIdentity(s.namespace, "namespace", i);
    batch.target[i] = checkIdentity(s.target, "target", i);
    batch.poller[i] = checkIdentity(s.poller, "poller", i);
    batch.ts[i] = checkTimestamp(s.timestampMs === 0n ? undefined : Number(s.timestampMs), i, nowMs);
    batch.flags[i] = s.valid ? FLAG_VALID : 0;
    batch.setError(i, checkError(s.error, i));
    batch.pollMs[i] = checkPollMs(s.pollMs, i);
    batch.value[i] = NaN;
    switch (s.value.case) {
      case "valueGauge":
        batch.kind[i] = KIND_CODE.gauge;
        batch.value[i] = checkGauge(s.value.value, i);
        break;
      case "valueCounter": {
        batch.kind[i] = KIND_CODE.counter;
        const c = checkCounter(s.value.value, i);
        batch.value[i] = Number(c);
        if (typeof c === "bigint") batch.setBig(i, c);
        break;
      }
      case "valueText":
        batch.kind[i] = KIND_CODE.text;
        batch.setText(i, checkText(s.value.value, i));
        break;
      default:
        if (s.valid) bad(i, "has no value; a valid sample needs value_gauge, value_counter or value_text");
        batch.kind[i] = KIND_CODE.none;
    }
    batch.length = i + 1;
  });
  return batch;
}
