/**
 * Converts `api_batches.jsonl` (one `{"samples":[…]}` per line) into length-prefixed
 * `stalker.SampleBatch` protobuf bodies (u32 little-endian length, then the message), once, with the
 * generated code of `src/gen/stalker_pb.ts`: counters (`value_counter`) as `value_counter`, gauges
 * (`value`) as `value_gauge`, `valid` true, `poll_ms` kept. `bench/post_bodies.mjs --format lp` sends
 * them.
 *
 * @module
 */
import fs from "node:fs";
import { create, toBinary } from "@bufbuild/protobuf";
import { SampleBatchSchema, SampleSchema } from "../../src/gen/stalker_pb.ts";

interface JsonSample {
  namespace: string;
  target: string;
  poller: string;
  timestamp_ms: number;
  value?: number;
  value_counter?: number;
  valid?: boolean;
  poll_ms?: number;
}

/** Converts `jsonl` into `out` (skipped when `out` exists and is newer); returns bodies and samples. */
export function convertToProtobuf(jsonl: string, out: string): { bodies: number; samples: number; bytes: number } {
  const meta = `${out}.json`;
  if (fs.existsSync(out) && fs.existsSync(meta) && fs.statSync(out).mtimeMs >= fs.statSync(jsonl).mtimeMs) {
    return JSON.parse(fs.readFileSync(meta, "utf8"));
  }
  const fd = fs.openSync(`${out}.tmp`, "w");
  let bodies = 0, samples = 0, bytes = 0;
  for (const line of readLines(jsonl)) {
    const doc = JSON.parse(line) as { samples: JsonSample[] };
    const msg = create(SampleBatchSchema, { samples: doc.samples.map(toProto) });
    const body = toBinary(SampleBatchSchema, msg);
    const prefix = new Uint8Array(4);
    new DataView(prefix.buffer).setUint32(0, body.length, true);
    fs.writeSync(fd, prefix);
    fs.writeSync(fd, body);
    bodies++;
    samples += doc.samples.length;
    bytes += body.length;
  }
  fs.closeSync(fd);
  fs.renameSync(`${out}.tmp`, out);
  const info = { bodies, samples, bytes };
  fs.writeFileSync(meta, JSON.stringify(info));
  return info;
}

function toProto(s: JsonSample) {
  const value = s.value_counter !== undefined
    ? { case: "valueCounter" as const, value: BigInt(s.value_counter) }
    : { case: "valueGauge" as const, value: s.value! };
  return create(SampleSchema, {
    namespace: s.namespace,
    target: s.target,
    poller: s.poller,
    timestampMs: BigInt(s.timestamp_ms),
    value,
    valid: s.valid ?? true,
    pollMs: s.poll_ms ?? 0,
  });
}

/** The lines of a (large) text file, read in chunks. */
function* readLines(file: string): Generator<string> {
  const fd = fs.openSync(file, "r");
  const chunk = new Uint8Array(8 << 20);
  const dec = new TextDecoder();
  let rest = "";
  for (;;) {
    const n = fs.readSync(fd, chunk, 0, chunk.length, null);
    if (n === 0) break;
    const text = rest + dec.decode(chunk.subarray(0, n), { stream: true });
    const lines = text.split("\n");
    rest = lines.pop()!;
    for (const l of lines) if (l.trim() !== "") yield l;
  }
  fs.closeSync(fd);
  if (rest.trim() !== "") yield rest;
}
